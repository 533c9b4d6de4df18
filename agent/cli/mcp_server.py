"""`agent mcp serve`: this agent as an MCP server, for desktop assistants and IDEs.

Its tools: `run_objective` (the result document; each cycle and finished task as an MCP progress
notification), `resume_run`, `list_runs` and `search_memory`. One model is loaded on the first run and serves
every run after it; runs take turns. Errors a user can act on (an empty objective, an unknown run) come back as
tool errors with the one-line message the CLI would print."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from agent.config import Settings, build_settings
from agent.errors import AgentError
from agent.events import CycleStarted, Event, RunFinished, TaskFinished
from agent.models.base import ChatModel
from agent.run.agent import Agent, check_run_id
from agent.serve.server import Resident
from agent.tools.registry import MEMORY_SEARCH


class AgentService:
    """What the server's tools do, in plain Python: `run`, `resume`, `runs`, `search`, on one resident model
    (loaded on the first run) that runs take turns on. `model` replaces the settings' model (a ScriptedModel in
    tests)."""

    def __init__(self, settings: Settings, *, approve_all: bool = False, model: ChatModel | None = None) -> None:
        from agent.cli.mcp_tools import mcp_toolset

        self.settings = settings
        self.approve_all = approve_all
        self.resident = Resident(settings, model)
        self._toolset = mcp_toolset(settings.mcp)

    @contextlib.contextmanager
    def _turn(self, settings: Settings, names: list[str], exact: bool) -> Iterator[Agent]:
        """An Agent with the tools `names` (this agent's and the MCP servers' of `--mcp`) on the resident model;
        the MCP servers stop when the run ends (the next run's first call starts them again)."""
        from agent.cli.mcp_tools import mcp_allowed, split_names

        own, served = split_names(names, self._toolset)
        try:
            tools = [*self.resident.tools(own, settings), *mcp_allowed(self._toolset, served, exact=exact)]
            with self.resident.turn(settings, tools, self.approve_all, MEMORY_SEARCH in names) as agent:
                yield agent
        finally:
            if self._toolset is not None:
                self._toolset.close()

    def run(self, objective: str, on_event: Callable[[Event], None] | None = None,
            max_cycles: int | None = None) -> dict[str, Any]:
        settings = self.settings if max_cycles is None else build_settings(
            {**self.settings.model_dump(), "max_cycles": max_cycles})
        with self._turn(settings, settings.tools, exact=False) as agent:
            return agent.run(objective, on_event=on_event).to_json_document()

    def resume(self, run_id: str, on_event: Callable[[Event], None] | None = None,
               max_cycles: int | None = None) -> dict[str, Any]:
        from agent.store import STATE_FILE, RunStore

        path = self.settings.run_dir / check_run_id(run_id)
        if not (path / STATE_FILE).is_file():
            raise AgentError(f"no run {run_id!r} under {self.settings.run_dir} (see list_runs)")
        with RunStore(path) as store:
            record, _ = store.load()
        stored = build_settings({**record.settings, "run_dir": self.settings.run_dir})
        limits = {"max_cycles": max_cycles} if max_cycles else {}
        with self._turn(stored, record.tools, exact=True) as agent:
            return agent.resume(run_id, on_event=on_event, **limits).to_json_document()

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        from agent.store import list_runs

        return [{"run_id": r.run_id, "status": r.status, "cycles": r.state.cycle - 1, "objective": r.objective}
                for r in list_runs(self.settings.run_dir)[:limit]]

    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        from agent.memory.shared import memory_names, memory_root, open_named

        if not query.strip():
            raise AgentError("the query is empty: say what to look for")
        root = memory_root(self.settings.run_dir, self.settings.memory_dir)
        if self.settings.memory_name not in memory_names(root):
            return []
        store = open_named(root, self.settings.memory_name, self.settings.cache_dir)
        return [{"id": r.id, "text": r.text, "similarity": round(1 - r.distance, 4)} for r in store.search(query, k)]

    def close(self) -> None:
        if self._toolset is not None:
            self._toolset.close()


def build_server(service: AgentService) -> Any:
    """The MCPServer whose tools call `service`."""
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    server = MCPServer("agent", instructions="A local, autonomous task agent: give run_objective an objective; it "
                       "plans tasks, runs them with a local language model and tools, and returns the answer.")

    async def in_thread(work: Callable[..., Any], ctx: Context | None, *args: Any) -> Any:
        """`work(*args, on_event)` in a worker thread; progress goes back to the client as it happens."""
        count = 0

        def on_event(event: Event) -> None:
            nonlocal count
            line = _progress_line(event)
            if line is not None and ctx is not None:
                count += 1
                anyio.from_thread.run(ctx.report_progress, count, None, line)

        try:
            return await anyio.to_thread.run_sync(lambda: work(*args, on_event))
        except AgentError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    async def run_objective(objective: str, ctx: Context, max_cycles: int | None = None) -> dict[str, Any]:
        """Run an objective to completion with the local agent and return its result document: run_id, status,
        final_answer, tasks (each with its tool and result) and usage. Progress is reported per cycle and task."""
        return await in_thread(lambda o, e: service.run(o, e, max_cycles), ctx, objective)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    async def resume_run(run_id: str, ctx: Context, max_cycles: int | None = None) -> dict[str, Any]:
        """Continue an interrupted run where it stopped (max_cycles may raise its budget); returns its result
        document."""
        return await in_thread(lambda r, e: service.resume(r, e, max_cycles), ctx, run_id)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def list_runs(limit: int = 20) -> list[dict[str, Any]]:
        """The runs, newest first: run_id, status, cycles, objective."""
        return await in_thread(lambda n, _: service.runs(n), None, limit)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def search_memory(query: str, k: int = 5) -> list[dict[str, Any]]:
        """The k entries of the agent's persistent memory nearest in meaning to the query, with similarity."""
        return await in_thread(lambda q, _: service.search(q, k), None, query)

    return server


def _progress_line(event: Event) -> str | None:
    if isinstance(event, CycleStarted):
        return f"cycle {event.cycle}: {event.pending} pending, {event.completed} done"
    if isinstance(event, TaskFinished):
        return f"task {event.task.id} {event.task.status.value}: {event.task.description[:120]}"
    if isinstance(event, RunFinished):
        return f"run finished: {event.result.status.value}"
    return None


def serve_stdio(service: AgentService) -> None:
    try:
        build_server(service).run()
    finally:
        service.close()


def serve_http(service: AgentService, port: int) -> None:
    """Streamable HTTP at http://127.0.0.1:PORT/mcp (loopback only)."""
    try:
        build_server(service).run("streamable-http", host="127.0.0.1", port=port)
    finally:
        service.close()
