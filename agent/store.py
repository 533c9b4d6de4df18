"""Durable run state: one SQLite file (WAL) per run, written in one transaction per step, and a lock so that
only one process drives a run at a time."""

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from agent.errors import UsageError
from agent.records import RunStatus, Task, Usage

STATE_FILE = "state.sqlite"
LOCK_FILE = "run.lock"
SCHEMA_VERSION = 1


@dataclass
class RunState:
    """Where the loop stands. `phase` is the next step to take in `cycle`: plan, execute, integrate, final."""

    cycle: int = 1
    phase: str = "plan"
    tasks: list[int] = field(default_factory=list)  # the tasks executed in this cycle, once they are
    last: list[int] = field(default_factory=list)  # the tasks the previous cycle executed
    summary: str = ""
    stop: str | None = None  # why the loop stopped, once it has


@dataclass
class RunRecord:
    run_id: str
    objective: str
    status: str  # running, or a RunStatus value
    settings: dict
    tools: list[str]
    model: str
    state: RunState = field(default_factory=RunState)
    usage: Usage = field(default_factory=Usage)
    final_answer: str = ""


class RunStore:
    """Open with `RunStore.create` or `RunStore.open`; use as a context manager to hold the run's lock."""

    def __init__(self, run_path: Path) -> None:
        self.path = run_path
        self._lock = FileLock(str(run_path / LOCK_FILE), timeout=0)
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> "RunStore":
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise UsageError(f"run {self.path.name} is in use by another process") from exc
        try:
            self._db = sqlite3.connect(self.path / STATE_FILE, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged step survives a power cut too
        except sqlite3.DatabaseError as exc:
            self.__exit__()
            raise UsageError(f"run {self.path.name} has a damaged state file ({exc}); its trace is intact") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._lock.release()

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "use the store inside `with`"
        return self._db

    def initialize(self, record: RunRecord) -> None:
        with self.transaction():
            self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            fixed = {"version": SCHEMA_VERSION, "run_id": record.run_id, "objective": record.objective,
                     "settings": record.settings, "tools": record.tools, "model": record.model}
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in fixed.items()])
            self._write_progress(record.status, record.state, record.usage, record.final_answer)

    def commit(self, status: str, state: RunState, usage: Usage, tasks: list[Task], final_answer: str = "") -> None:
        """Write the run's progress and the given tasks in one transaction."""
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO tasks VALUES (?, ?)",
                                [(t.id, t.model_dump_json()) for t in tasks])
            self._write_progress(status, state, usage, final_answer)

    def load(self) -> tuple[RunRecord, list[Task]]:
        try:
            meta = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}
            tasks = [Task.model_validate_json(body) for (body,) in
                     self.db.execute("SELECT body FROM tasks ORDER BY id")]
            record = _record(meta)
        except (sqlite3.DatabaseError, KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"run {self.path.name} has a damaged state file ({exc}); its trace is intact") from exc
        return record, tasks

    def _write_progress(self, status: str, state: RunState, usage: Usage, final_answer: str) -> None:
        values = {"status": status, "state": asdict(state), "usage": usage.model_dump(),
                  "final_answer": final_answer}
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in values.items()])

    def transaction(self) -> "_Transaction":
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def read_snapshot(run_path: Path) -> tuple[dict, list[Task]]:
    """The run's meta and tasks, read without the lock (a live run keeps it): for listing and reports.
    Raises sqlite3.DatabaseError or ValueError when the state file is unreadable."""
    db = sqlite3.connect(f"file:{run_path / STATE_FILE}?mode=ro", uri=True)
    try:
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        tasks = [Task.model_validate_json(body) for (body,) in db.execute("SELECT body FROM tasks ORDER BY id")]
    finally:
        db.close()
    return meta, tasks


def list_runs(run_dir: Path) -> list[RunRecord]:
    """Every readable run under `run_dir`, newest first; unreadable ones are left out."""
    records = []
    for path in sorted(run_dir.glob(f"*/{STATE_FILE}"), reverse=True):
        try:
            records.append(_record(read_snapshot(path.parent)[0]))
        except (sqlite3.DatabaseError, KeyError, TypeError, ValueError):
            continue
    return records


def _record(meta: dict) -> RunRecord:
    return RunRecord(
        run_id=meta["run_id"], objective=meta["objective"], status=meta["status"], settings=meta["settings"],
        tools=meta["tools"], model=meta["model"], state=RunState(**meta["state"]), usage=Usage(**meta["usage"]),
        final_answer=meta["final_answer"],
    )


def is_stopped(status: str) -> bool:
    return status in {s.value for s in RunStatus}
