"""The tools of the servers in an MCP servers file, as tools of this agent named `SERVER.TOOL`.

`mcp_tools("servers.json")` starts each server on first use (listing the tools is the first use), and stops
them all on `close()`, at the end of a `with` block, or when the process exits. A tool that does not declare
itself read-only (`readOnlyHint`) is risky: it runs only with the user's approval. A server that does not start
is one warning line naming it, and the run goes on without its tools."""

import logging
import re
import threading
import unicodedata
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.errors import ToolError, UsageError
from agent.tools.base import Tool
from agent.tools.mcp.config import ServerSpec, read_servers, require_sdk
from agent.tools.mcp.connection import EventLoopThread, ServerConnection
from agent.tools.mcp.results import result_value
from agent.tools.mcp.schema import McpArguments, arguments_model

logger = logging.getLogger("agent")
TOOL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_DESCRIPTION_CHARS = 300


class McpTool(Tool[BaseModel]):
    """One tool of one MCP server. Runs in this process (the call is a message to the server); a server that
    fails or dies during the call fails this step only."""

    isolated = False

    def __init__(self, connection: ServerConnection, remote: Any) -> None:
        super().__init__()
        self.connection = connection
        self.remote_name = str(remote.name)
        self.name = f"{connection.name}.{self.remote_name}"
        self.description = _plain(remote.description or getattr(remote, "title", None) or self.remote_name)
        self.Arguments = arguments_model(self.name, remote.input_schema or {})
        annotations = getattr(remote, "annotations", None)
        self.risky = not bool(annotations is not None and annotations.read_only_hint)
        self.timeout_seconds = connection.spec.timeout + connection.spec.start_timeout + 5
        self.examples = _valid_examples(self, connection.spec.examples.get(self.remote_name, []))

    def run(self, args: BaseModel) -> Any:
        arguments = args.model_dump(by_alias=True, exclude_none=True, mode="json")
        return result_value(self.name, self.connection.call(self.remote_name, arguments))


class UnavailableTool(Tool[BaseModel]):
    """A tool a run was given whose server does not start now (a resumed run): each call fails, saying why."""

    isolated = False
    Arguments = McpArguments

    def __init__(self, name: str, reason: str) -> None:
        super().__init__()
        self.name, self.reason = name, reason
        self.description = f"unavailable: {reason}"

    def run(self, args: BaseModel) -> Any:
        raise ToolError(f"{self.name} is unavailable: {self.reason}")


class McpToolSet:
    """The servers of one servers file and their tools. Iterate it for every tool, or `select(names)`."""

    def __init__(self, servers: dict[str, ServerSpec]) -> None:
        require_sdk()
        self._loop = EventLoopThread()
        self.connections = {name: ServerConnection(name, spec, self._loop) for name, spec in servers.items()}
        self.failures: dict[str, str] = {}
        self._tools: list[Tool] | None = None
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop_all, list(self.connections.values()))

    @classmethod
    def from_file(cls, path: str | Path) -> "McpToolSet":
        return cls(read_servers(Path(path)))

    def owns(self, name: str) -> bool:
        """Whether a tool name is one of this set's (`SERVER.TOOL` of a server in the file)."""
        return name.split(".", 1)[0] in self.connections and "." in name

    def tools(self) -> list[Tool]:
        """Every tool of every server that starts; the servers start together, on the first call."""
        with self._lock:
            if self._tools is None:
                with ThreadPoolExecutor(max(1, len(self.connections))) as pool:
                    listed = list(pool.map(self._listed, self.connections.values()))
                self._tools = [tool for group in listed for tool in group]
            return list(self._tools)

    def _listed(self, connection: ServerConnection) -> list[Tool]:
        try:
            remote = connection.list_tools()
        except ToolError as exc:
            self.failures[connection.name] = str(exc)
            logger.warning("%s; its tools are left out", exc)
            return []
        found: list[Tool] = []
        for item in remote:
            if not TOOL_NAME.fullmatch(str(item.name)):
                logger.warning("MCP server %r: tool %r is left out (a name of letters, digits, '_', '.' and '-' "
                               "is needed)", connection.name, str(item.name)[:80])
                continue
            found.append(McpTool(connection, item))
        return found

    def select(self, names: Sequence[str], *, exact: bool = False) -> list[Tool]:
        """The tools among `names` that are this set's; with none of them named, every tool (unless `exact`,
        as for a resumed run, which gets exactly the tools it was started with). A named tool of a server that
        did not start is there, failing each call; a name the server does not have is a usage error."""
        wanted = [n for n in dict.fromkeys(names) if self.owns(n)]
        tools = {t.name: t for t in self.tools()}
        if not wanted:
            return [] if exact else list(tools.values())
        chosen: list[Tool] = []
        for name in wanted:
            server = name.split(".", 1)[0]
            if name in tools:
                chosen.append(tools[name])
            elif server in self.failures:
                chosen.append(UnavailableTool(name, self.failures[server]))
            else:
                offered = sorted(t for t in tools if t.startswith(server + ".")) or ["none"]
                raise UsageError(f"MCP server {server!r} has no tool {name.split('.', 1)[1]!r}; "
                                 f"it offers: {', '.join(offered)}")
        return chosen

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools())

    def __enter__(self) -> "McpToolSet":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop every server; a later call starts its server again."""
        _stop_all(list(self.connections.values()))


def _stop_all(connections: list[ServerConnection]) -> None:
    for connection in connections:
        connection.stop()


def _valid_examples(tool: Tool, examples: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The worked examples from the servers file whose arguments the tool accepts; the others are said and left."""
    kept = []
    for objective, arguments in examples:
        try:
            tool.parse(arguments)
        except ToolError as exc:
            logger.warning("an example of %s is left out: %s", tool.name, exc)
            continue
        kept.append((objective, arguments))
    return kept


def _plain(text: str) -> str:
    """A server's description as one short line of text: it is shown to the model, so it is kept brief and
    free of control characters (it comes from a third party)."""
    kept = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(text))
    line = " ".join(kept.split())
    return line if len(line) <= MAX_DESCRIPTION_CHARS else line[: MAX_DESCRIPTION_CHARS - 1] + "…"


def mcp_tools(servers: str | Path | dict[str, Any]) -> McpToolSet:
    """The tools of the MCP servers in a servers file (or the same document as a dict):
    `Agent(tools=[*mcp_tools("servers.json")])`, or `with mcp_tools(...) as tools:` to stop the servers after."""
    from agent.tools.mcp.config import parse_servers

    if isinstance(servers, dict):
        return McpToolSet(parse_servers(servers))
    return McpToolSet.from_file(servers)
