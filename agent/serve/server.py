"""`agent serve`: one process keeps the model loaded, its engine's prefix cache warm and the tools set up, and
runs the objectives that clients send on loopback, one at a time in the order they arrive (one model never
serves two runs at once), streaming each run's events and then its result document as JSON lines.

A request carries the client's whole settings; the server refuses one whose model key differs from its own
(another model, backend, device or adapter) and one with MCP servers (their processes belong to the client).
Risky tools run only when the client approved them up front (`agent run --yes`); a client that would ask
runs in its own process instead."""

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.config import Settings, build_settings
from agent.errors import AgentError, UsageError
from agent.events import Event
from agent.models.base import ChatModel
from agent.run.agent import Agent, load_configured_model
from agent.serve.endpoint import Endpoint, model_key, new_token, publish, withdraw
from agent.tools.base import Tool
from agent.tools.registry import MEMORY_SEARCH, tools_for

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 1 << 20


class Resident:
    """One loaded model that every run sent to it uses, one run at a time in the order of arrival, with the
    tools of earlier runs kept (a head loads its weights once). `agent serve` and `agent mcp serve` hold one.
    The model loads on first use unless `model` is given."""

    def __init__(self, settings: Settings, model: ChatModel | None = None) -> None:
        self.settings = settings
        self.key = model_key(settings)
        self._model = model
        self._turn = threading.Lock()
        self._tools: dict[str, list[Tool]] = {}

    @property
    def model(self) -> ChatModel:
        if self._model is None:
            self._model = load_configured_model(self.settings)
        return self._model

    def tools(self, names: list[str], settings: Settings) -> list[Tool]:
        """The tools `names` under these settings, made once."""
        key = json.dumps([names, [str(h) for h in settings.heads], str(settings.workspace), settings.device])
        if key not in self._tools:
            self._tools[key] = tools_for(names, settings.heads, settings.workspace, settings.device)
        return self._tools[key]

    @contextlib.contextmanager
    def turn(self, settings: Settings, tools: list[Tool], approve_risky: bool,
             memory_search: bool) -> Iterator[Agent]:
        """An Agent on the one model, while no other run uses it."""
        with self._turn:
            yield Agent(self.model, tools=tools, settings=settings, approve=lambda tool, arguments: approve_risky,
                        memory_search=memory_search)

    def run(self, objective: str, values: dict[str, Any], approve_risky: bool,
            emit: Callable[[Event], None]) -> dict[str, Any]:
        """A client's run: its whole settings, which must serve the same model as this one's."""
        settings = build_settings({**values, "api_key": self.settings.api_key})
        if model_key(settings) != self.key:
            raise UsageError(f"this resident engine serves {self.settings.model} with other settings; run the "
                             "objective in its own process")
        if settings.mcp is not None:
            raise UsageError("a run with MCP servers starts them in its own process, not on the resident engine")
        tools = self.tools(settings.tools, settings)
        with self.turn(settings, tools, approve_risky, MEMORY_SEARCH in settings.tools) as agent:
            return agent.run(objective, on_event=emit).to_json_document()


def make_server(resident: Resident, port: int = 0) -> tuple[ThreadingHTTPServer, Endpoint]:
    """The HTTP server on 127.0.0.1 (`port` 0: any free one) and the endpoint that describes it."""
    token = new_token()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the end of a streamed reply is the end of the connection
        listening = True  # the client still reads the stream

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _allowed(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {token}":
                return True
            self.send_error(403, "a request without this server's token")
            return False

        def do_GET(self) -> None:
            if not self._allowed():
                return
            if self.path != "/health":
                self.send_error(404)
                return
            self._send_json({"model": resident.key, "pid": os.getpid()})

        def do_POST(self) -> None:
            if not self._allowed():
                return
            if self.path != "/run":
                self.send_error(404)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_REQUEST_BYTES:
                    raise ValueError(f"a request body of {length} bytes")
                request = json.loads(self.rfile.read(length))
                objective, values = str(request["objective"]), dict(request["settings"])
                approve_risky = request.get("approve_risky") is True
            except (ValueError, KeyError, TypeError) as exc:
                self.send_error(400, f"not a run request: {exc}"[:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            self.listening = True
            try:
                self._line({"result": resident.run(objective, values, approve_risky, self._event)})
            except AgentError as exc:
                self._line({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__})
            except Exception as exc:  # the server stays up for the next run; the client gets one line
                log.exception("a run on the resident engine failed")
                self._line({"error": f"the run failed on the resident engine: {type(exc).__name__}: {exc}"[:300]})

        def _event(self, event: Event) -> None:
            self._line({"event": event.model_dump(mode="json")})

        def _line(self, message: dict[str, Any]) -> None:
            if not self.listening:  # the client went away: the run still finishes and is stored
                return
            try:
                self.wfile.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
                self.wfile.flush()
            except OSError:
                self.listening = False

        def _send_json(self, message: dict[str, Any]) -> None:
            body = json.dumps(message).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server, Endpoint(port=server.server_address[1], pid=os.getpid(), token=token, model=resident.key)


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve(settings: Settings, port: int = 0, ready: Callable[[Endpoint], None] | None = None) -> None:
    """Load the model, listen, publish the discovery file, and serve until interrupted."""
    resident = Resident(settings, load_configured_model(settings))  # loaded before the endpoint is published
    server, endpoint = make_server(resident, port)
    publish(endpoint, settings.cache_dir)
    signal.signal(signal.SIGTERM, _stop)  # a terminated server withdraws its discovery file as an interrupted one
    try:
        if ready:
            ready(endpoint)
        server.serve_forever()
    finally:
        withdraw(endpoint, settings.cache_dir)
        server.server_close()
