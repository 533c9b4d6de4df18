"""The Agent: the Python entry point. Wires model, memory, tools and settings into one run."""

import functools
import os
import queue
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.answering.checks import AnswerChecks
from agent.answering.integrator import Integrator
from agent.config import Settings, build_settings
from agent.deciding.board import TaskBoard
from agent.deciding.examples import experience_turns, tool_examples, worked_examples
from agent.deciding.planner import Planner
from agent.errors import UsageError
from agent.events import Event, RunStarted, ToolCalled
from agent.executing.executor import Approver, Executor
from agent.memory.base import Memory
from agent.models.base import ChatModel
from agent.observing.trace import TraceWriter, read_events
from agent.prompt_files import render
from agent.prompting.meter import Meter
from agent.records import RunRecord, RunResult, RunStatus, Task
from agent.run.loop import Context, recall, run_loop
from agent.store import STATE_FILE, RunStore, is_stopped
from agent.tools.base import Tool
from agent.tools.memory_search import MemorySearch

if TYPE_CHECKING:
    from agent.memory.experience import ExperienceStore


def check_objective(objective: str, max_chars: int) -> str:
    """The objective, stripped; a UsageError when it is empty, too long, or holds control characters."""
    if not isinstance(objective, str) or not objective.strip():
        raise UsageError("the objective is empty: say what the agent should achieve")
    objective = objective.strip()
    if len(objective) > max_chars:
        raise UsageError(f"the objective has {len(objective)} characters; the limit is {max_chars}")
    if not is_text(objective):
        raise UsageError("the objective holds bytes that are not UTF-8 text; pass plain text")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in objective):
        raise UsageError("the objective contains control characters; pass plain text")
    return objective


def is_text(value: str) -> bool:
    """False for strings holding undecodable bytes (lone surrogates from argv or the environment)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_writable(directory: Path) -> None:
    """Fail early, before anything is written, when `directory` cannot be created or written."""
    if not str(directory).strip() or not is_text(str(directory)):
        raise UsageError(f"run dir {str(directory)!r} is empty or not UTF-8 text: name a plain directory")
    probe = directory
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"run dir {directory} is not writable (checked {probe})")


def check_workspace(directory: Path) -> Path:
    """The file tools' workspace must be an existing directory: a typo would otherwise pass silently."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise UsageError(f"workspace {directory} {what}: create it (mkdir -p) or pass an existing directory")
    return directory


def check_run_id(run_id: str) -> str:
    """A run id names a directory inside the run dir: plain characters only, never a path."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", run_id or ""):
        raise UsageError(f"{run_id!r} is not a run id (letters, digits, '.', '_' and '-' only)")
    return run_id


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def load_configured_model(settings: Settings, spec: str | None = None) -> ChatModel:
    """The model `spec` (default: settings.model) loaded with the settings' device, cache, backend, server."""
    from agent.models import load_model

    adapter = settings.adapter
    if adapter is None and settings.default_adapter:
        from agent.models.adapted import bundled_adapter

        adapter = bundled_adapter(spec or settings.model)
    if adapter is not None:
        from agent.models.adapted import load_adapted

        return load_adapted(settings.model_copy(update={"adapter": adapter}), spec)
    key = settings.api_key
    return load_model(spec or settings.model, device=settings.device, cache_dir=settings.cache_dir,
                      base_url=settings.base_url, backend=settings.backend,
                      api_key=key.get_secret_value() if key else None)


def _deny(tool: Tool, arguments: dict[str, Any]) -> bool:
    return False


class Agent:
    """`Agent(model=..., tools=[...]).run(objective) -> RunResult`.

    `model` is a ChatModel (e.g. `ScriptedModel` in tests) or a spec string (preset, path, cached HF id);
    `memory` defaults to a chroma store inside the run's directory; `approve` decides on risky tools
    (denied by default); `memory_search` adds a search_memory tool over the run's memory; other keyword
    arguments override Settings fields (max_cycles=..., run_dir=...).
    """

    def __init__(self, model: ChatModel | str | None = None, tools: Sequence[Tool] = (),
                 memory: Memory | None = None, *, approve: Approver = _deny, memory_search: bool = False,
                 experience_store: "ExperienceStore | None" = None, settings: Settings | None = None,
                 **overrides: Any) -> None:
        self.settings = build_settings({**(settings.model_dump() if settings else {}), **overrides})
        AnswerChecks(self.settings.answer_checks_off)  # an unknown check name fails here, before a run writes
        if model is None or isinstance(model, str):
            model = load_configured_model(self.settings, model)
        self.model = model
        self.tools = list(tools)
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise UsageError(f"two tools share a name: {sorted(n for n in names if names.count(n) > 1)}")
        self.memory = memory
        self.approve = approve
        self.memory_search = memory_search
        self._experience = experience_store  # None: the store of the settings (`experience=False` turns it off)

    @property
    def experience(self) -> "ExperienceStore | None":
        """Past successful runs, shown as worked examples; None when settings.experience is off."""
        if self._experience is None and self.settings.experience:
            from agent.memory.experience import ExperienceStore

            self._experience = ExperienceStore.for_settings(self.settings)
        return self._experience if self.settings.experience else None

    def record_success(self, result: RunResult) -> None:
        """Keep a run that achieved its objective as an experience for similar objectives later."""
        from agent.memory.experience import experience_from_result

        if self.experience is not None and result.status is RunStatus.done:
            self.experience.add(experience_from_result(result))

    def run(self, objective: str, *, on_event: Callable[[Event], None] | None = None,
            run_id: str | None = None, record: bool = True) -> RunResult:
        """Run to completion; `on_event` sees every event as it happens. With settings.keep_judged, a run the
        model judges done is kept as an experience unless `record` is False (an evaluation records only runs
        that pass their check)."""
        settings = self.settings
        objective = check_objective(objective, settings.max_objective_chars)
        check_writable(settings.run_dir)
        run_id = new_run_id() if run_id is None else check_run_id(run_id)
        run_path = settings.run_dir / run_id
        if run_path.exists():
            raise UsageError(f"run {run_id} already exists under {settings.run_dir}; resume it or pick another id")
        stored = RunRecord(run_id=run_id, objective=objective, status="running",
                           settings=settings.model_dump(mode="json", exclude={"api_key"}),
                           tools=[t.name for t in self.tools], model=self.model_name)
        # the run appears under its id only once its state is initialized: a crash before that leaves no run
        staging = settings.run_dir / f".{run_id}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with RunStore(staging) as store:
            store.initialize(stored)
        os.replace(staging, run_path)
        with RunStore(run_path) as store:
            result = self._drive(store, stored, [], settings, on_event, resumed=False)
        if record and settings.keep_judged:
            self.record_success(result)
        return result

    def resume(self, run_id: str, *, on_event: Callable[[Event], None] | None = None,
               **limits: Any) -> RunResult:
        """Continue a run that was interrupted; `limits` may raise its budgets (max_cycles=...)."""
        run_path = self.settings.run_dir / check_run_id(run_id)
        if not (run_path / STATE_FILE).is_file():
            raise UsageError(f"no run {run_id!r} under {self.settings.run_dir}")
        with RunStore(run_path) as store:
            record, tasks = store.load()
            if is_stopped(record.status):
                raise UsageError(f"run {run_id} already finished ({record.status}); nothing to resume")
            if sorted(record.tools) != sorted(t.name for t in self.tools):  # never change a run's allow-list
                raise UsageError(f"run {run_id} was started with tools {sorted(record.tools)}; resume it with an "
                                 f"Agent that has exactly those tools (this one has "
                                 f"{sorted(t.name for t in self.tools)})")
            settings = build_settings({**record.settings, **limits})
            return self._drive(store, record, tasks, settings, on_event, resumed=True)

    def _drive(self, store: RunStore, record: RunRecord, tasks: list[Task], settings: Settings,
               on_event: Callable[[Event], None] | None, *, resumed: bool) -> RunResult:
        earlier = [e for e in read_events(store.path / "trace.jsonl") if isinstance(e, ToolCalled)] if resumed else []
        trace = TraceWriter(store.path / "trace.jsonl")

        def emit(event: Event) -> None:
            trace(event)
            if on_event is not None:
                on_event(event)

        memory: Memory | None = None
        try:
            memory = self.memory if self.memory is not None else _default_memory(store.path, settings)
            meter = Meter(self.model, max_tokens=settings.max_tokens, max_seconds=settings.max_seconds,
                          emit=emit, usage=record.usage)
            tools = [*self.tools, MemorySearch(memory, record.run_id)] if self.memory_search else self.tools
            # only what the objective gives work to, with the choices it names
            tools = [t.beside(tools) for t in tools]
            tools = [t.for_objective(record.objective) for t in tools if t.applies(record.objective)]
            system = render("system", tools=tools, decide=True)  # for the calls that choose a move
            retries = settings.parse_retries
            embed = functools.partial(_embed, cache_dir=settings.cache_dir)
            executor = Executor(meter, tools, system=system, plain=render("system", tools=[], decide=False),
                                retries=retries, max_new_tokens=settings.max_new_tokens,
                                approve=self.approve, emit=emit)
            executor.recall_calls(earlier)
            ctx = Context(
                objective=record.objective, run_id=record.run_id, state=record.state, memory=memory, meter=meter,
                board=TaskBoard(max_new_per_cycle=settings.max_tasks_per_cycle, max_queue=settings.max_queue,
                                tasks=tasks, is_repeat=_repeat_detector(settings, tasks)),
                planner=Planner(meter, tools, system=system, retries=retries, emit=emit,
                                max_steps=settings.max_tasks_per_cycle,
                                examples=worked_examples({t.name for t in tools}, record.objective, embed=embed,
                                                         own=tool_examples(tools))),
                checks=AnswerChecks(settings.answer_checks_off),
                executor=executor,
                integrator=Integrator(meter, system=system, retries=retries, emit=emit, tools=tools),
                store=store, emit=emit, max_cycles=settings.max_cycles, parallel=settings.parallel_tasks,
                recalls=recall(memory, record.objective, record.run_id, settings.top_k, settings.recall_distance),
                dropped=[],
                experiences=self._worked_examples(record.objective))
            emit(RunStarted(run_id=record.run_id, objective=record.objective, model=self.model_name,
                            resumed=resumed))
            return run_loop(ctx)
        finally:
            trace.close()
            if self.memory is None and memory is not None and callable(close := getattr(memory, "close", None)):
                close()  # the stores this run opened: a resident engine runs many

    def _worked_examples(self, objective: str) -> list[tuple[str, str]]:
        store = self.experience
        if store is None:
            return []
        return [turn for e in store.similar(objective, k=2)[::-1]  # the nearest one closest to the question
                for turn in experience_turns(e.objective, e.steps, e.answer, e.written_answer)]

    @property
    def model_name(self) -> str:
        return getattr(self.model, "name", type(self.model).__name__)

    def iter_run(self, objective: str, *, run_id: str | None = None) -> Iterator[Event]:
        """The run's events as an iterator; the last one is RunFinished. Errors surface at the iteration."""
        events: queue.Queue[Event | BaseException | None] = queue.Queue()

        def work() -> None:
            try:
                self.run(objective, on_event=events.put, run_id=run_id)
            except BaseException as exc:  # handed to the consuming thread, which re-raises it
                events.put(exc)
            finally:
                events.put(None)

        thread = threading.Thread(target=work, name="agent-run", daemon=True)
        thread.start()
        while (item := events.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
        thread.join()


def _embed(texts: list[str], cache_dir: Path) -> Any:
    from agent.memory.embedder import embed  # imports chroma: only when a run starts

    return embed(texts, cache_dir)


def _repeat_detector(settings: Settings, tasks: list[Task]) -> Callable[[str], bool] | None:
    if settings.similar_task_threshold is None:
        return None
    from agent.deciding.repeats import RepeatDetector
    from agent.memory.embedder import PackagedEmbedder

    detector = RepeatDetector(PackagedEmbedder(settings.cache_dir), settings.similar_task_threshold)
    detector.remember([task.description for task in tasks])
    return detector.is_repeat


def _default_memory(run_path: Path, settings: Settings) -> Memory:
    """The shared chroma server when memory_url is set; else the run's own chroma store, joined (unless
    shared_memory is off) by the persistent store `memory_name` that every run in this run dir recalls from."""
    if settings.memory_url:
        from agent.memory.remote import remote_memory

        return remote_memory(settings.memory_url)
    from agent.memory.chroma import ChromaMemory

    own = ChromaMemory.persistent(run_path / "memory", cache_dir=settings.cache_dir)
    if not settings.shared_memory:
        return own
    from agent.memory.shared import RunAndShared, memory_root, open_named

    return RunAndShared(own, open_named(memory_root(settings.run_dir, settings.memory_dir), settings.memory_name,
                                          settings.cache_dir))
