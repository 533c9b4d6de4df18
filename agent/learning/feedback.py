"""Corrections from the user: good, bad or the right label for a run or one of its tasks, kept in the run dir."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agent.errors import UsageError, describe
from agent.records import Task

FEEDBACK_FILE = "feedback.jsonl"
MAX_LABEL_CHARS = 200


class Feedback(BaseModel):
    run_id: str
    task: int | None = None
    verdict: Literal["good", "bad"] | None = None
    label: str | None = Field(None, min_length=1, max_length=MAX_LABEL_CHARS)
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Labelled(BaseModel):
    """A feedback item joined to what it judges: the task's tool, its input text and its result."""

    feedback: Feedback
    objective: str
    tool: str | None = None
    text: str | None = None
    result: str | None = None


def _snapshot(run_dir: Path, run_id: str) -> tuple[dict, list[Task]]:
    from agent.run.agent import check_run_id
    from agent.store import STATE_FILE, read_snapshot

    path = Path(run_dir) / check_run_id(run_id)
    if not (path / STATE_FILE).is_file():
        raise UsageError(f"no run {run_id!r} under {run_dir} (see `agent runs`)")
    try:
        return read_snapshot(path)
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise UsageError(f"run {run_id} has an unreadable state file ({exc})") from exc


def record_feedback(run_dir: Path, feedback: Feedback) -> Path:
    """Append `feedback` to the run's feedback.jsonl after checking that the run (and task) exist."""
    if (feedback.verdict is None) == (feedback.label is None):
        raise UsageError("give exactly one of --good, --bad or --label LABEL")
    _, tasks = _snapshot(run_dir, feedback.run_id)
    if feedback.task is not None and feedback.task not in {t.id for t in tasks}:
        known = ", ".join(str(t.id) for t in tasks) or "none"
        raise UsageError(f"run {feedback.run_id} has no task {feedback.task} (its tasks: {known})")
    path = Path(run_dir) / feedback.run_id / FEEDBACK_FILE
    with path.open("a", encoding="utf-8") as handle:
        handle.write(feedback.model_dump_json() + "\n")
    return path


def read_feedback(run_path: Path) -> list[Feedback]:
    path = Path(run_path) / FEEDBACK_FILE
    if not path.is_file():
        return []
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(Feedback.model_validate_json(line))
            except ValidationError as exc:
                raise UsageError(f"{path} line {number} is not feedback ({describe(exc, limit=1)})") from exc
    return items


def labelled_feedback(run_dir: Path) -> list[Labelled]:
    """Every feedback item under `run_dir`, joined to its run's objective and task (tool, input text, result)."""
    joined = []
    for path in sorted(Path(run_dir).glob(f"*/{FEEDBACK_FILE}")):
        meta, tasks = _snapshot(run_dir, path.parent.name)
        by_id = {t.id: t for t in tasks}
        for item in read_feedback(path.parent):
            task = by_id.get(item.task) if item.task is not None else None
            arguments: dict[str, Any] = getattr(task, "arguments", None) or {}
            text = arguments.get("text") if isinstance(arguments.get("text"), str) else None
            joined.append(Labelled(feedback=item, objective=meta.get("objective", ""),
                                   tool=task.tool if task else None,
                                   text=text or (task.description if task else meta.get("objective")),
                                   result=task.result if task else meta.get("final_answer")))
    return joined


def feedback_json(items: list[Feedback]) -> str:
    return json.dumps([item.model_dump(mode="json") for item in items], indent=2)
