"""MCP on the command line: the tools of `--mcp FILE` for a run, and `agent mcp serve`."""

from pathlib import Path
from typing import Any

import click

from agent.config import Settings, load_settings
from agent.errors import UsageError
from agent.tools.base import Tool

MCP_HELP = ('MCP servers file ({"mcpServers": {NAME: {"command", "args", "env"} | {"url", "headers"}}}): their '
            "tools join the allowed ones as NAME.TOOL (see --tool); default: AGENT_MCP.")


def mcp_toolset(path: Path | None) -> Any:
    """The tool set of a servers file (no server starts yet), or None without one; a one-line UsageError
    when the file is wrong or the MCP extra is not installed."""
    if path is None:
        return None
    from agent.tools.mcp.config import require_sdk
    from agent.tools.mcp.toolset import McpToolSet

    require_sdk()
    return McpToolSet.from_file(path)


def split_names(names: list[str], toolset: Any) -> tuple[list[str], list[str]]:
    """(the names of this agent's own tools, the SERVER.TOOL names of the servers file)."""
    if toolset is None:
        return names, []
    return [n for n in names if not toolset.owns(n)], [n for n in names if toolset.owns(n)]


def mcp_allowed(toolset: Any, names: list[str], *, exact: bool = False) -> list[Tool]:
    """The servers' tools a run allows: the SERVER.TOOL names given, or every one when none is (`exact`: only
    those named, as for a resumed run)."""
    return [] if toolset is None else toolset.select(names, exact=exact)


@click.group("mcp")
def mcp() -> None:
    """The Model Context Protocol: serve this agent to MCP clients (desktop assistants, IDEs)."""


@mcp.command("serve")
@click.option("--http", "port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Serve streamable HTTP on 127.0.0.1:PORT (path /mcp) instead of stdio.")
@click.option("--model", metavar="SPEC", help="As for `agent run`.")
@click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Directory holding runs.")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Default cycle budget of a run.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Default time budget of a run.")
@click.option("--memory", "memory_name", metavar="NAME", help="Persistent memory runs recall from and search.")
@click.option("--tool", "tools", multiple=True, metavar="NAME", help="Allow this tool (repeatable), as for run.")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Allow the file tools confined to DIR.")
@click.option("--mcp", "mcp_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE", help=MCP_HELP)
@click.option("--yes", is_flag=True, help="Approve risky tools (without it they are refused: no one is there "
              "to ask).")
def serve(port: int | None, model: str | None, run_dir: Path | None, max_cycles: int | None,
          max_seconds: float | None, memory_name: str | None, tools: tuple[str, ...], workspace: Path | None,
          mcp_file: Path | None, yes: bool) -> None:
    """Serve this agent over MCP: tools to run an objective (with progress), resume a run, list runs and
    search memory. Settings as for `agent run` (flags, then AGENT_* variables)."""
    from agent.tools.mcp.config import require_sdk

    require_sdk()
    from agent.cli.mcp_server import AgentService, serve_http, serve_stdio

    settings = load_settings(model=model, run_dir=run_dir, max_cycles=max_cycles, max_seconds=max_seconds,
                             memory_name=memory_name, tools=list(tools) or None, workspace=workspace, mcp=mcp_file)
    if settings.workspace is not None and not settings.workspace.is_dir():
        raise UsageError(f"workspace {settings.workspace} is not a directory")
    service = AgentService(settings, approve_all=yes)
    if port is None:
        serve_stdio(service)
    else:
        serve_http(service, port)


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
