"""One MCP server, driven from plain threads: the SDK is async, so every server of a tool set lives on one event
loop in a daemon thread, and a call waits for its result there with a timeout.

A server starts on first use and stays up until `stop()`; one that fails to start, or dies mid-call, is a
ToolError naming it, in one line, with the last line it wrote to stderr, and the next call starts it again. A
child's stderr goes to a temporary file, never to the user's terminal (a crashing server prints a traceback)."""

import asyncio
import contextlib
import os
import tempfile
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from agent.errors import ToolError
from agent.tools.mcp.config import HttpServer, ServerSpec, StdioServer

T = TypeVar("T")
_STOP_SECONDS = 5.0


class EventLoopThread:
    """An asyncio loop in a daemon thread, started on first use; `run(coro, timeout)` from any other thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="mcp-client", daemon=True).start()
                self._loop = loop
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> "Future[T]":
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise


class ServerConnection:
    """A live session with one server: `start()`, `list_tools()`, `call(tool, arguments)`, `stop()`."""

    def __init__(self, name: str, spec: ServerSpec, loop: EventLoopThread) -> None:
        self.name, self.spec, self._loop = name, spec, loop
        self._client: Any = None
        self._stopped: asyncio.Event | None = None
        self._served: Future[None] | None = None
        self._errlog: Any = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._client is not None and self._served is not None and not self._served.done()

    def start(self) -> None:
        """Start the server and open a session, once; a ToolError naming the server when it does not come up."""
        with self._lock:
            if self.running:
                return
            self._discard()
            ready: Future[Any] = Future()
            self._served = self._loop.submit(self._serve(ready))
            try:
                self._client = ready.result(self.spec.start_timeout)
            except FutureTimeout:
                self._served.cancel()
                raise ToolError(f"MCP server {self.name!r} did not start within {self.spec.start_timeout:g} s"
                                f"{self._said()}") from None
            except Exception as exc:
                raise ToolError(f"MCP server {self.name!r} did not start: {_reason(exc)}{self._said()}") from None

    async def _serve(self, ready: "Future[Any]") -> None:
        """The session's whole life in one task (the SDK's contexts must be left in the task that entered them)."""
        from mcp import Client

        self._stopped = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                transport = self._transport(stack)
                client = await stack.enter_async_context(
                    Client(transport, read_timeout_seconds=self.spec.start_timeout))
                ready.set_result(client)
                await self._stopped.wait()
        except BaseException as exc:  # told to the thread waiting in start(); a later failure ends the session
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ToolError("start cancelled"))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._client = None

    def _transport(self, stack: contextlib.AsyncExitStack) -> Any:
        """The SDK transport of this server; what it opens is closed by `stack`."""
        if isinstance(self.spec, StdioServer):
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            # closed in _discard, when the server is started again or the set is dropped
            self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            params = StdioServerParameters(command=self.spec.command, args=self.spec.args, env=self.spec.env or None,
                                           cwd=self.spec.cwd, encoding_error_handler="replace")
            return stdio_client(params, errlog=self._errlog)
        assert isinstance(self.spec, HttpServer)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers=self.spec.headers,
                                  timeout=httpx2.Timeout(self.spec.timeout, read=self.spec.timeout + 5))
        stack.push_async_callback(http.aclose)
        return streamable_http_client(self.spec.url, http_client=http)

    def list_tools(self) -> list[Any]:
        """Every tool the server offers, all pages."""
        self.start()

        async def listing() -> list[Any]:
            found, cursor = [], None
            for _ in range(100):  # a server whose pages never end cannot hold the listing
                page = await self._client.list_tools(cursor=cursor)
                found += page.tools
                cursor = page.next_cursor
                if not cursor:
                    break
            return found

        return self._await(listing(), "listing its tools", self.spec.start_timeout)

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """The server's `CallToolResult` for `tool(arguments)`."""
        self.start()
        client = self._client
        return self._await(client.call_tool(tool, arguments, read_timeout_seconds=self.spec.timeout),
                           f"calling {tool}", self.spec.timeout + 1)

    def _await(self, coro: Coroutine[Any, Any, T], doing: str, timeout: float) -> T:
        written = self._written()
        try:
            return self._loop.run(coro, timeout)
        except FutureTimeout:
            raise ToolError(f"MCP server {self.name!r} gave no answer within {timeout:g} s {doing}") from None
        except ToolError:
            raise
        except Exception as exc:
            if _error_code(exc) == _REQUEST_TIMEOUT:
                raise ToolError(f"MCP server {self.name!r} gave no answer within {self.spec.timeout:g} s "
                                f"{doing}") from None
            if not self.running or _error_code(exc) == _CONNECTION_CLOSED:
                self.stop()
                raise ToolError(f"MCP server {self.name!r} stopped while {doing}: {_reason(exc)}"
                                f"{self._said(written)}") from None
            raise ToolError(f"MCP server {self.name!r} failed {doing}: {_reason(exc)}") from None

    def stop(self) -> None:
        """End the session and the child process, waiting a few seconds at most."""
        served, stopped = self._served, self._stopped
        if served is not None and not served.done() and stopped is not None:
            self._loop.loop.call_soon_threadsafe(stopped.set)
            with contextlib.suppress(Exception):
                served.result(_STOP_SECONDS)
        self._client = None

    def _discard(self) -> None:
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
            self._errlog = None

    def _written(self) -> int:
        """How much the child has written to stderr so far."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            return os.fstat(self._errlog.fileno()).st_size
        return 0

    def _said(self, since: int = 0) -> str:
        """`; it said: LAST LINE` from what the child wrote to stderr after `since`, when it wrote a line."""
        if self._errlog is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            size = self._written()
            self._errlog.seek(max(since, size - 4000))
            lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
            if lines:
                return f"; it said: {lines[-1][:200]}"
        return ""


_CONNECTION_CLOSED = -32000  # the JSON-RPC codes the SDK gives a call whose server went away, or that timed out
_REQUEST_TIMEOUT = -32001


def _error_code(exc: BaseException) -> int | None:
    """The JSON-RPC error code an SDK error carries (`MCPError.code`), if any."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


def _reason(exc: BaseException) -> str:
    """One line for an error, whatever its shape (an exception group keeps its first leaf)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
