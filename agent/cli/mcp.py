"""`agent mcp serve`: this agent as an MCP server."""

from pathlib import Path

import click

from agent.cli.mcp_tools import MCP_HELP
from agent.config import load_settings
from agent.errors import UsageError


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

