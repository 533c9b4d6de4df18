"""The Agent a suite item runs in: its tools (its own, or the whole pool), a workspace with its files, and the
memory store its memory key shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import UsageError
from agent.evaluation.suite import DEFAULT_TOOLS, EvalItem, SharedMemories

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.models.base import ChatModel
    from agent.run.agent import Agent
    from agent.tools.base import Tool


def item_tools(item: EvalItem, pool: dict[str, Tool], whole: bool = False,
               workspaces: Path | None = None) -> list[Tool]:
    """The tools an item may use, from a pool: its own, or with `whole` (and no `tools` of its own) the whole
    pool, else the default tools the pool holds. An item with `files` gets them written into a workspace of
    its own under `workspaces`, with the workspace file tools."""
    defaults = [name for name in DEFAULT_TOOLS if name in pool]  # the defaults the pool was given
    names = (list(pool) if whole else defaults) if item.tools is None else item.tools
    tools = [pool[name] for name in names]
    if item.files:
        from agent.tools.workspace import workspace_tools

        if workspaces is None:
            raise UsageError(f"item {item.id!r} has files: its evaluation needs a scratch directory for them")
        root = workspaces / item.id
        root.mkdir(parents=True, exist_ok=True)
        for name, content in item.files.items():
            (root / name).write_text(content, encoding="utf-8")
        tools += workspace_tools(root)
    return tools


class ItemAgents:
    """Makes the Agent of each item on a given model, with scratch memories and workspaces under `scratch`.
    With `whole`, an item without tools of its own is offered the whole pool and memory search, as a
    configured user's `agent run` is."""

    def __init__(self, settings: Settings, pool: dict[str, Tool], whole: bool, scratch: Path) -> None:
        self.settings, self.pool, self.whole, self.scratch = settings, pool, whole, scratch
        self.memories = SharedMemories(scratch / "memories")

    def __call__(self, item: EvalItem, model: ChatModel) -> Agent:
        from agent.run.agent import Agent

        return Agent(model=model, tools=item_tools(item, self.pool, self.whole, self.scratch / "workspaces"),
                     memory=self.memories(item.memory), memory_search=self.whole and item.tools is None,
                     settings=self.settings)
