"""A local, autonomous task agent.

The public names load on first use (PEP 562), so `agent run` on a resident engine starts without importing
the loop, the memory store or the engines it does not need."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

_HOMES = {
    "Agent": "agent.run.agent", "Settings": "agent.config", "Event": "agent.events",
    "ScriptedModel": "agent.models.fake", "Tool": "agent.tools.base", "tool": "agent.tools.base",
    "mcp_tools": "agent.tools.mcp",
    **dict.fromkeys(["AgentError", "BackendError", "BudgetExhausted", "ModelNotFoundError", "ModelOutputError",
                     "ToolError", "UsageError"], "agent.errors"),
    **dict.fromkeys(["RunResult", "RunStatus", "Task", "TaskStatus", "Usage"], "agent.records"),
}

__all__ = [
    "Agent", "AgentError", "BackendError", "BudgetExhausted", "Event", "ModelNotFoundError", "ModelOutputError",
    "RunResult", "RunStatus", "ScriptedModel", "Settings", "Task", "TaskStatus", "Tool", "ToolError", "Usage",
    "UsageError", "mcp_tools", "tool",
]
assert sorted(__all__) == sorted(_HOMES)

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.errors import (
        AgentError,
        BackendError,
        BudgetExhausted,
        ModelNotFoundError,
        ModelOutputError,
        ToolError,
        UsageError,
    )
    from agent.events import Event
    from agent.models.fake import ScriptedModel
    from agent.records import RunResult, RunStatus, Task, TaskStatus, Usage
    from agent.run.agent import Agent
    from agent.tools.base import Tool, tool
    from agent.tools.mcp import mcp_tools


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
