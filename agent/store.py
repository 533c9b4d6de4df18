"""Durable run state: one SQLite file (WAL) per run, written in one transaction per step, and a lock so that
only one process drives a run at a time."""

import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock, Timeout

from agent.errors import StorageError, UsageError
from agent.records import RunRecord, RunResult, RunState, RunStatus, Task, Usage

STATE_FILE = "state.sqlite"
RESULT_FILE = "result.json"  # the result document, written once the run has finished
LOCK_FILE = "run.lock"
# How many steps were committed, written beside the database after each commit: a write-ahead log cut short
# (or lost) rolls the database back silently, and this is how that is noticed instead of resumed from.
COMMITS_FILE = "state.commits"
SCHEMA_VERSION = 1


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
        except OSError as exc:  # run.lock replaced by a directory, or an unwritable run directory
            raise UsageError(f"run {self.path.name}: cannot take its lock {self.path / LOCK_FILE} "
                             f"({exc.strerror}); remove whatever is there and try again") from None
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
        with self._step():
            self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            fixed = {"version": SCHEMA_VERSION, "run_id": record.run_id, "objective": record.objective,
                     "settings": record.settings, "tools": record.tools, "model": record.model}
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in fixed.items()])
            self._write_progress(record.status, record.state, record.usage, record.final_answer)

    def commit(self, status: str, state: RunState, usage: Usage, tasks: list[Task], final_answer: str = "") -> None:
        """Write the run's progress and the given tasks in one transaction."""
        with self._step():
            self.db.executemany("INSERT OR REPLACE INTO tasks VALUES (?, ?)",
                                [(t.id, t.model_dump_json()) for t in tasks])
            self._write_progress(status, state, usage, final_answer)

    def load(self) -> tuple[RunRecord, list[Task]]:
        """The run's record and tasks; UsageError when the state is damaged or older than what was acknowledged."""
        try:
            meta = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}
            self._check_commits(meta.get(COMMITS_KEY, 0))
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

    @contextmanager
    def _step(self) -> Iterator[None]:
        """One committed step: a transaction that also counts itself, then the count written beside the database
        once the commit is durable."""
        try:
            with self.transaction():
                yield
                row = self.db.execute("SELECT value FROM meta WHERE key = ?", (COMMITS_KEY,)).fetchone()
                commits = (json.loads(row[0]) if row else 0) + 1
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (COMMITS_KEY, json.dumps(commits)))
            _write_commits(self.path / COMMITS_FILE, commits)
        except (sqlite3.OperationalError, OSError) as exc:
            if disk_full(exc):
                raise StorageError(f"no space left on {self.path}: free some space, then `agent resume "
                                   f"{self.path.name}` continues from the last committed step") from None
            raise

    def _check_commits(self, stored: object) -> None:
        try:
            acknowledged = int((self.path / COMMITS_FILE).read_text(encoding="ascii"))
        except FileNotFoundError:
            return  # a run from before this check, or a crash before its first acknowledgement
        except (OSError, ValueError):
            acknowledged = -1
        if acknowledged < 0 or not isinstance(stored, int) or stored < acknowledged:
            raise UsageError(
                f"run {self.path.name}: {STATE_FILE} holds {stored} committed steps but {acknowledged} were "
                f"acknowledged ({COMMITS_FILE}): its write-ahead log ({STATE_FILE}-wal) was cut or lost, and "
                "resuming would silently redo or change acknowledged results; restore the run directory from a "
                "copy, or start a new run")


COMMITS_KEY = "commits"


def _write_commits(path: Path, commits: int) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(str(commits), encoding="ascii")
    os.replace(staged, path)  # never half-written: a torn count would read as damage


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk is full, in any of the forms the OS, SQLite and chromadb use."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(mark in str(exc).lower() for mark in ("database or disk is full", "no space left", "disk full"))


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def read_result(run_path: Path) -> RunResult | None:
    """The result document of a finished run, or None when there is none (not finished) or it is unreadable."""
    try:
        return RunResult.model_validate_json((Path(run_path) / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
        tools=meta["tools"], model=meta["model"], state=RunState.from_dict(meta["state"]), usage=Usage(**meta["usage"]),
        final_answer=meta["final_answer"],
    )


def is_stopped(status: str) -> bool:
    return status in {s.value for s in RunStatus}
