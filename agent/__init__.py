"""A local, autonomous task agent."""

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

__all__ = [
    "Agent", "AgentError", "BackendError", "BudgetExhausted", "Event", "ModelNotFoundError", "ModelOutputError",
    "RunResult", "RunStatus", "ScriptedModel", "Settings", "Task", "TaskStatus", "Tool", "ToolError", "Usage",
    "UsageError", "mcp_tools", "tool",
]
