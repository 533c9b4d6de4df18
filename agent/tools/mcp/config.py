"""The servers file every MCP client reads: `{"mcpServers": {NAME: {"command", "args", "env"} | {"url", "headers"}}}`.

A server's tools are named `NAME.TOOL`, so NAME holds no dot (two servers can never give one name to two tools).
Optional keys of our own per server: `timeout` (seconds per call, default 60), `start_timeout` (seconds to start
and list its tools, default 30) and `examples` ({TOOL: [[OBJECTIVE, ARGUMENTS], ...]}, worked examples shown to
the model)."""

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import UsageError, describe

SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
INSTALL_HINT = "MCP support needs the mcp extra: pip install 'agent[mcp]'"
Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]


class _Server(BaseModel):
    model_config = ConfigDict(extra="ignore")  # other clients' keys (disabled, autoApprove, ...) are left alone

    timeout: Seconds = 60.0
    start_timeout: Seconds = 30.0
    # worked examples of a tool's use, {TOOL: [[OBJECTIVE, ARGUMENTS], ...]}: a small model rarely picks a tool it
    # has never seen used ("{a}" in an argument stands for the objective's first quoted passage)
    examples: dict[str, list[tuple[str, dict[str, Any]]]] = Field(default_factory=dict)


class StdioServer(_Server):
    """A server the agent starts as a child process and talks to over its stdin and stdout."""

    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None


class HttpServer(_Server):
    """A server already listening, reached over streamable HTTP."""

    url: str = Field(pattern=r"^https?://\S+$")
    headers: dict[str, str] = Field(default_factory=dict)


ServerSpec = StdioServer | HttpServer


def require_sdk() -> None:
    """A UsageError saying what to install when the MCP SDK is not there."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        raise UsageError(INSTALL_HINT)


def read_servers(path: Path) -> dict[str, ServerSpec]:
    """The servers a file declares, by name; anything wrong with the file is one UsageError naming it."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the MCP servers file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"the MCP servers file {path} is not JSON: {exc}") from exc
    return parse_servers(document, str(path))


def parse_servers(document: Any, origin: str = "the MCP servers") -> dict[str, ServerSpec]:
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    if not isinstance(servers, dict):
        raise UsageError(f'{origin}: expected {{"mcpServers": {{NAME: {{"command": ...}} or {{"url": ...}}}}}}')
    found: dict[str, ServerSpec] = {}
    for name, entry in servers.items():
        if not SERVER_NAME.fullmatch(name):
            raise UsageError(f"{origin}: server name {name!r} must be letters, digits, '_' and '-' "
                             "(its tools are named NAME.TOOL)")
        if not isinstance(entry, dict) or ("command" in entry) == ("url" in entry):
            raise UsageError(f"{origin}: server {name!r} needs either a \"command\" or a \"url\"")
        try:
            kind: type[_Server] = StdioServer if "command" in entry else HttpServer
            found[name] = kind.model_validate(entry)  # type: ignore[assignment]
        except ValidationError as exc:
            raise UsageError(f"{origin}: server {name!r}: {describe(exc, limit=1)}") from exc
    return found
