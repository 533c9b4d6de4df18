"""An MCP server for the tests, written with the SDK: `python tools_server.py` serves stdio,
`python tools_server.py --http PORT` streamable HTTP on 127.0.0.1. Its tools: a read-only one, a risky one
(it appends to the file named by TOOLS_SERVER_LOG, so a test can tell whether it ran), a slow one, one that
raises, one that exits the server mid-call, one with a picture in its result, and one with structured output."""

import os
import sys
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ImageContent, TextContent, ToolAnnotations

server = MCPServer("tools", log_level="CRITICAL")  # a failing tool is the point here, not news
READ_ONLY = ToolAnnotations(read_only_hint=True)


@server.tool(annotations=READ_ONLY)
def echo(text: str, times: int = 1) -> str:
    """Repeat a text."""
    return " ".join([text] * times)


@server.tool(annotations=READ_ONLY)
def measure(unit: Literal["cm", "in"], values: list[float]) -> dict:
    """Sum lengths given in one unit."""
    return {"unit": unit, "total": sum(values)}


@server.tool(annotations=READ_ONLY)
def picture(caption: str) -> list:
    """A captioned picture."""
    return [TextContent(type="text", text=caption), ImageContent(type="image", data="iVBORw0KGgo=",
                                                                  mimeType="image/png")]


@server.tool()
def delete_everything(target: str) -> str:
    """Delete a target (risky: it declares no read-only hint)."""
    with open(os.environ["TOOLS_SERVER_LOG"], "a", encoding="utf-8") as log:
        log.write(f"deleted {target}\n")
    return f"deleted {target}"


@server.tool(annotations=READ_ONLY)
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "slept"


@server.tool(annotations=READ_ONLY)
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"exploded: {reason}")


@server.tool(annotations=READ_ONLY)
def die(code: int = 3) -> str:
    """Exit the whole server mid-call."""
    os._exit(code)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
