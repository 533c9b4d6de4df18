"""A batch's directory: what it runs, and the one place its results are acknowledged.

`<run dir>/.batches/<batch id>/` holds `batch.json` (the settings every objective starts from), `objectives.jsonl`
(the numbered objectives), `results/<id>.json` (each objective's result document) and `acks.jsonl`, one line per
finished objective, appended and fsync'd by the driver only after the result document is in place. An objective
is finished exactly when its line is in `acks.jsonl`; `summary.jsonl` and `summary.txt` are written at the end.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError

from agent.batch.objectives import BatchObjective
from agent.errors import UsageError

BATCHES = ".batches"
LOCK_FILE = "batch.lock"


class Ack(BaseModel):
    """One finished objective, as the summary shows it."""

    id: str
    run_id: str
    status: str | None  # the run's status; None when it ended in an error
    final_answer: str = ""
    llm_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    worker: int = 0


def batches_root(run_dir: Path) -> Path:
    return Path(run_dir) / BATCHES


def check_batch_id(batch_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", batch_id or ""):
        raise UsageError(f"{batch_id!r} is not a batch id (letters, digits, '.', '_' and '-' only)")
    return batch_id


class BatchDir:
    """Open with `create` or `open`; use as a context manager to hold the batch's lock (one driver at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batch_id = path.name
        self._lock = FileLock(str(path / LOCK_FILE), timeout=0)

    @classmethod
    def create(cls, root: Path, batch_id: str, settings: dict[str, Any],
               objectives: list[BatchObjective], source: str) -> BatchDir:
        path = root / check_batch_id(batch_id)
        if path.exists():
            raise UsageError(f"batch {batch_id} already exists under {root}; resume it with --resume {batch_id}")
        staging = root / f".{batch_id}.new"  # the batch appears under its id only once it is complete
        (staging / "results").mkdir(parents=True)
        manifest = {"batch_id": batch_id, "source": source, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "settings": settings}
        _write(staging / "batch.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        _write(staging / "objectives.jsonl", "".join(o.model_dump_json() + "\n" for o in objectives))
        os.replace(staging, path)
        return cls(path)

    @classmethod
    def open(cls, root: Path, batch_id: str) -> BatchDir:
        path = root / check_batch_id(batch_id)
        if not (path / "batch.json").is_file():
            raise UsageError(f"no batch {batch_id!r} under {root} (see its directory {root})")
        return cls(path)

    def __enter__(self) -> BatchDir:
        try:
            self._lock.acquire()
        except Timeout:
            raise UsageError(f"batch {self.batch_id} is being run by another process") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @property
    def settings(self) -> dict[str, Any]:
        return self._manifest()["settings"]

    def _manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "batch.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"batch {self.batch_id}: batch.json is unreadable ({exc})") from None

    def objectives(self) -> list[BatchObjective]:
        try:
            lines = (self.path / "objectives.jsonl").read_text(encoding="utf-8").splitlines()
            return [BatchObjective.model_validate_json(line) for line in lines if line.strip()]
        except (OSError, ValueError) as exc:
            raise UsageError(f"batch {self.batch_id}: objectives.jsonl is unreadable ({exc})") from None

    def acks(self) -> dict[str, Ack]:
        """Every acknowledged objective by id (the first ack of an id wins; a torn last line is not an ack)."""
        found: dict[str, Ack] = {}
        try:
            lines = (self.path / "acks.jsonl").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return found
        for line in lines:
            try:
                ack = Ack.model_validate_json(line)
            except ValidationError:
                continue
            found.setdefault(ack.id, ack)
        return found

    def acknowledge(self, ack: Ack, document: dict[str, Any] | None) -> None:
        """The result document first, then the ack line, fsync'd: an ack always has its document."""
        if document is not None:
            _write(self.path / "results" / f"{ack.id}.json", json.dumps(document, ensure_ascii=False, indent=2))
        with (self.path / "acks.jsonl").open("a", encoding="utf-8") as out:
            out.write(ack.model_dump_json() + "\n")
            out.flush()
            os.fsync(out.fileno())

    def write_summary(self, acks: list[Ack], table: str) -> None:
        _write(self.path / "summary.jsonl", "".join(a.model_dump_json() + "\n" for a in acks))
        _write(self.path / "summary.txt", table)


def _write(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    with staged.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(staged, path)
