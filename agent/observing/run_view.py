"""A run read back for reporting, without its lock: state, result, trace, and who spent which model call."""

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import UsageError
from agent.observing.trace import read_trace
from agent.records import Task, Usage
from agent.store import STATE_FILE, read_result, read_snapshot


@dataclass
class Cost:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    seconds: float = 0.0

    def add(self, event: dict) -> None:
        self.calls += 1
        self.prompt += int(event.get("prompt_tokens") or 0)
        self.completion += int(event.get("completion_tokens") or 0)
        self.seconds += float(event.get("seconds") or 0.0)

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.calls + other.calls, self.prompt + other.prompt, self.completion + other.completion,
                    self.seconds + other.seconds)


@dataclass
class Cycle:
    label: str
    wall: float = 0.0  # seconds between this cycle's events, not counting the gap before a resume
    purposes: dict[str, Cost] = field(default_factory=lambda: defaultdict(Cost))
    own: Cost = field(default_factory=Cost)  # calls not attributed to a task: planning, integration
    own_purposes: list[str] = field(default_factory=list)
    verdict: str = ""


@dataclass
class RunView:
    run_id: str
    objective: str
    model: str
    status: str
    final_answer: str
    usage: Usage
    tasks: list[Task]
    trace: list[dict]
    finished: bool = False
    task_costs: dict[int, Cost] = field(default_factory=lambda: defaultdict(Cost))
    tools: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    cycles: dict[str, Cycle] = field(default_factory=dict)
    interrupted: set[int] = field(default_factory=set)  # started, never finished


def read_run(run_path: Path) -> RunView:
    """The run's state (read-only: a live run keeps its lock), its result if written, and its trace."""
    meta: dict = {}
    tasks: list[Task] = []
    state = run_path / STATE_FILE
    if state.is_file():
        try:
            meta, tasks = read_snapshot(run_path)
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError):
            meta, tasks = {}, []  # result.json and the trace may still tell the story
    result = read_result(run_path)
    if not meta and result is None:
        raise UsageError(f"{run_path} is not a readable run directory (no usable {STATE_FILE} or result.json); "
                         "pass a directory from `agent runs`")
    trace = read_trace(run_path / "trace.jsonl")  # skips whatever is not a well-formed event
    started = next((e for e in trace if e.get("kind") == "run_started"), {})
    view = RunView(
        run_id=result.run_id if result else meta.get("run_id", run_path.name),
        objective=result.objective if result else meta.get("objective", ""),
        model=meta.get("model") or started.get("model", ""),
        status=result.status.value if result else meta.get("status", "unknown"),
        final_answer=result.final_answer if result else meta.get("final_answer", ""),
        usage=result.usage if result else _usage(meta.get("usage")),
        tasks=result.tasks if result else tasks, trace=trace,
        finished=result is not None or any(e.get("kind") == "run_finished" for e in trace))
    attribute(view)
    return view


def _usage(stored: object) -> Usage:
    try:
        return Usage.model_validate(stored if isinstance(stored, dict) else {})
    except ValueError:
        return Usage()  # a damaged usage record: the report shows zeros rather than failing


def attribute(view: RunView) -> None:
    """Group the model calls by the task each one served (its `task_id`); calls that served the run as a whole
    (deciding, the closing answer) go to the cycle they were made in."""
    cycle = view.cycles.setdefault("start", Cycle("start"))  # calls before any cycle: a resume mid-cycle
    open_: set[int] = set()
    last_time = None
    for event in view.trace:
        kind, now = event.get("kind"), event.get("time")
        delta = now - last_time if isinstance(now, (int, float)) and last_time is not None else 0.0
        last_time = now if isinstance(now, (int, float)) else last_time
        if kind == "run_started":
            delta = 0.0
            view.interrupted |= open_
            open_ = set()
        elif kind == "cycle_started":
            label = str(event.get("cycle"))
            cycle = view.cycles.setdefault(label, Cycle(label))
        elif kind == "task_started":
            open_.add(event["task"]["id"])
        elif kind == "task_finished":
            open_.discard(event["task"]["id"])
        elif kind == "tool_called":
            view.tools[int(event["task_id"])].append(event)
        elif kind == "judged":
            cycle.verdict = ("done: " if event.get("done") else "not yet: ") + str(event.get("reason", ""))
        elif kind == "model_called":
            purpose = str(event.get("purpose", "?"))
            if purpose == "final":
                cycle = view.cycles.setdefault("final", Cycle("final"))
            cycle.purposes[purpose].add(event)
            if isinstance(event.get("task_id"), int):
                view.task_costs[event["task_id"]].add(event)
            else:
                cycle.own.add(event)
                cycle.own_purposes += [] if purpose in cycle.own_purposes else [purpose]
        cycle.wall += max(delta, 0.0)
    if not view.finished:
        view.interrupted |= open_
    if not view.cycles["start"].purposes:
        del view.cycles["start"]
