"""The tools of `--mcp FILE` for a run: which of the servers' tools it allows, beside its own."""

from pathlib import Path

from agent.config import Settings
from agent.tools.base import Tool
from agent.tools.mcp.toolset import McpToolSet

MCP_HELP = ('MCP servers file ({"mcpServers": {NAME: {"command", "args", "env"} | {"url", "headers"}}}): their '
            "tools join the allowed ones as NAME.TOOL (see --tool); default: AGENT_MCP.")


def mcp_toolset(path: Path | None) -> McpToolSet | None:
    """The tool set of a servers file (no server starts yet), or None without one; a one-line UsageError
    when the file is wrong or the MCP extra is not installed."""
    if path is None:
        return None
    from agent.tools.mcp.config import require_sdk

    require_sdk()
    return McpToolSet.from_file(path)


def split_names(names: list[str], toolset: McpToolSet | None) -> tuple[list[str], list[str]]:
    """(the names of this agent's own tools, the SERVER.TOOL names of the servers file)."""
    if toolset is None:
        return names, []
    return [n for n in names if not toolset.owns(n)], [n for n in names if toolset.owns(n)]


def mcp_allowed(toolset: McpToolSet | None, names: list[str], *, exact: bool = False) -> list[Tool]:
    """The servers' tools a run allows: the SERVER.TOOL names given, or every one when none is (`exact`: only
    those named, as for a resumed run)."""
    return [] if toolset is None else toolset.select(names, exact=exact)


def allowed_tools(settings: Settings, names: list[str], *, started_with: list[str] | None = None) -> list[Tool]:
    """The tools a run allows: its own (`names`, as `tools_for` reads them) and those of the servers file in
    `settings.mcp`. A resumed run passes the tools it `started_with`: it gets exactly their SERVER.TOOL ones.
    The servers start here, to list their tools, and stop when the process ends."""
    from agent.tools.registry import tools_for

    toolset = mcp_toolset(settings.mcp)
    own, served = split_names(names, toolset)
    if started_with is not None:
        served = split_names(started_with, toolset)[1]
    return [*tools_for(own, settings.heads, settings.workspace, settings.device),
            *mcp_allowed(toolset, served, exact=started_with is not None)]
