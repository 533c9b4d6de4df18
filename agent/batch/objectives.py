"""A batch file: JSON lines, one objective per line, each with optional settings of its own."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from agent.json_lines import parse_json_lines, read_lines
from agent.schemas import Strict

MAX_OBJECTIVES = 100_000


class BatchLine(Strict):
    """One line: the objective and the settings that differ from the batch's for it. A line may also be a bare
    JSON string, the objective alone."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    objective: str = Field(min_length=1)
    max_cycles: int | None = Field(None, ge=1, le=10_000)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000_000)
    max_seconds: float | None = Field(None, gt=0, le=30 * 86_400, allow_inf_nan=False)
    tools: list[str] | None = None

    def overrides(self) -> dict[str, Any]:
        """The settings this line changes, as Settings fields."""
        return self.model_dump(exclude={"id", "objective"}, exclude_none=True)


class BatchObjective(Strict):
    """A line as the batch keeps it: a unique id, the run id its run gets, and the line's settings."""

    id: str
    run_id: str
    objective: str
    overrides: dict[str, Any] = {}


def parse_lines(lines: Iterable[str], source: str = "objectives") -> list[BatchLine]:
    """Validate JSON lines (blank lines skipped); any problem is a UsageError naming `source` and the line."""
    def parse(line: str) -> BatchLine:
        raw = json.loads(line)
        return BatchLine.model_validate({"objective": raw} if isinstance(raw, str) else raw)

    return parse_json_lines(lines, source, parse, lambda item: item.id, noun="line", plural="objectives",
                            limit=MAX_OBJECTIVES, shape="one JSON object or string")


def load_lines(path: Path) -> list[BatchLine]:
    return parse_lines(read_lines(path, "objectives"), str(path))


def number_lines(lines: list[BatchLine], batch_id: str) -> list[BatchObjective]:
    """Ids for lines without one (line-0001, ...) and a run id per objective, derived from the batch id, so that
    a rerun of the same objective finds its run."""
    taken = {line.id for line in lines if line.id}
    numbered = []
    for index, line in enumerate(lines, start=1):
        key = line.id
        if key is None:
            key = f"line-{index:04d}"
            while key in taken:
                key += "_"
            taken.add(key)
        numbered.append(BatchObjective(id=key, run_id=f"{batch_id}-{index:04d}", objective=line.objective,
                                       overrides=line.overrides()))
    return numbered
