"""Finding tools: the built-ins, plus third-party tools from the `agent.tools` entry-point group."""

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from agent.config import explicit_device
from agent.errors import UsageError
from agent.tools.base import Tool
from agent.tools.builtin import calculator, convert, dates, python

ENTRY_POINT_GROUP = "agent.tools"
BY_NAME_ONLY = ("python",)  # built-ins a user allows by name: never in "every tool" (`--all-tools`)


def builtin_tools() -> list[Tool]:
    return [calculator, dates, convert, python]


def _as_tool(obj: Any, origin: str) -> Tool:
    if isinstance(obj, type) and issubclass(obj, Tool):
        obj = obj()
    if not isinstance(obj, Tool):
        raise UsageError(f"{origin} is not a Tool (use @tool or subclass agent.Tool)")
    return obj


def plugin_tools() -> list[Tool]:
    """Tools that installed packages declare under [project.entry-points."agent.tools"]."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plugin is reported, it never takes the agent down
            raise UsageError(f"tool plugin {point.name!r} ({point.value}) failed to load: {exc}") from exc
        found.append(_as_tool(loaded, f"plugin {point.name!r}"))
    return found


def available_tools() -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for candidate in builtin_tools() + plugin_tools():
        tools.setdefault(candidate.name, candidate)
    return tools


MEMORY_SEARCH = "search_memory"  # needs the run's memory: the Agent adds it (memory_search=True)


def tools_for(names: list[str], heads: list[Path], workspace: Path | None, device: str) -> list[Tool]:
    """The allow-list the CLI builds from settings: named tools, head directories, workspace file tools."""
    from agent.tools.heads import HeadTool
    from agent.tools.workspace import workspace_tools

    allowed = select_tools([n for n in names if n != MEMORY_SEARCH])
    allowed += [HeadTool(directory, device=explicit_device(device)) for directory in heads]
    return allowed + (workspace_tools(workspace) if workspace else [])


def select_tools(names: list[str]) -> list[Tool]:
    """The run's allow-list, by name; an unknown name is a usage error listing what exists."""
    tools = available_tools()
    unknown = [n for n in names if n not in tools]
    if unknown:
        raise UsageError(f"unknown tool(s) {', '.join(unknown)}; available: {', '.join(sorted(tools))}")
    return [tools[n] for n in dict.fromkeys(names)]
