"""The trajectory dataset: collected runs as JSON lines, one run per line, appended as each run ends and
optionally gzip-compressed (`.jsonl.gz`, one gzip member per appended run, so appending never rewrites what is
there). Every run carries its provenance, so a collection can stop, continue later on another machine, be
committed, and still say where each run came from. A run recorded by another loop (other prompts or reply
schemas) is stale: it is counted and left out of training, never silently trained on, unless it is converted
by replay (agent/learning/replay.py)."""

import gzip
import hashlib
import json
import os
import zlib
from collections import Counter
from dataclasses import asdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from agent.errors import UsageError
from agent.learning.trajectories import RecordedCall, Trajectory

FORMAT = 2  # the line layout; format 1 lines (no provenance) are converted when read


@lru_cache(maxsize=1)
def loop_version() -> str:
    """A digest of everything that shapes what a recorded call holds: the prompt files, the schemas of the
    structured replies, and the built-in tools as the model reads them (name, description, arguments, worked
    examples). Runs recorded under another version saw other prompts or answered other schemas."""
    from agent.deciding.moves import FinalAnswer, Finish, Plan, Remember, Step, ToolCall
    from agent.tools.registry import builtin_tools

    digest = hashlib.sha256()
    root = resources.files("agent.prompts")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith((".j2", ".jsonl")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    for model in (Step, Plan, Finish, Remember, ToolCall, FinalAnswer):
        digest.update(json.dumps(model.model_json_schema(), sort_keys=True).encode())
    for tool in builtin_tools():
        digest.update(json.dumps([tool.name, tool.description, tool.Arguments.model_json_schema(),
                                  list(tool.examples)], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _upgrade(raw: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A line as the current layout, and whether it had to be converted (format 1: no provenance, so its loop
    is unknown and it counts as stale)."""
    if raw.get("format", 1) == FORMAT:
        return raw, False
    if raw.get("format", 1) != 1:
        raise ValueError(f"format {raw.get('format')!r} is newer than this version reads ({FORMAT})")
    raw = {**raw, "format": FORMAT}
    raw.setdefault("loop", "")
    return raw, True


def _read(path: Path) -> tuple[list[str], int]:
    """The file's complete lines, and the length in bytes of the intact part that holds them: a run cut off
    while it was written (a line without its newline, a gzip member without its end) lies past it. A gzip file
    is read member by member."""
    data = path.read_bytes()
    if not path.name.endswith(".gz"):
        intact = data.rfind(b"\n") + 1
        return data[:intact].decode("utf-8").splitlines(), intact
    chunks, intact = [], 0
    while intact < len(data):
        unpacker = zlib.decompressobj(wbits=31)
        try:
            chunk = unpacker.decompress(data[intact:])
        except zlib.error:
            break
        if not unpacker.eof:
            break  # the last member was cut off while written
        chunks.append(chunk)
        intact = len(data) - len(unpacker.unused_data)
    if data.find(b"\x1f\x8b\x08", intact + 1) >= 0:  # whole members after the damage: not a cut-off tail
        raise ValueError(f"damaged at byte {intact}, before runs that follow")
    return b"".join(chunks).decode("utf-8").splitlines(), intact


class TrajectoryLog:
    """Collected runs, one per line, appended as each run ends: collection is the slow part of learning, so a
    rerun (after a crash, with more objectives, or on another machine with the committed file) reuses what is
    there, and runs of several models (a teacher's beside the learner's own) add up to one training set."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.runs: list[Trajectory] = []  # every run in the file, stale ones included
        self.converted = 0  # lines of an older layout, converted as read
        self._intact: int | None = None  # bytes before a cut-off tail, cut away before the next append
        if not path.is_file():
            return
        try:
            lines, self._intact = _read(path)
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: cannot read the collected runs ({exc})") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw, converted = _upgrade(json.loads(line))
                calls = [RecordedCall(**c) for c in raw.pop("calls")]
                raw.pop("format")
                self.runs.append(Trajectory(**raw, calls=calls))
                self.converted += converted
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise UsageError(f"{path}: line {number} is not a collected run ({exc})") from None

    def of(self, model: str, item: Any) -> list[Trajectory]:
        """The current runs `model` made of this item (same id and objective, this loop), in sample order."""
        return [t for t in self.current() if t.model == model and t.item_id == item.id
                and t.objective == item.objective]

    def current(self) -> list[Trajectory]:
        """The runs recorded by this loop: the ones to train on and to count as collected."""
        version = loop_version()
        return [t for t in self.runs if t.loop == version]

    def stale(self) -> int:
        return len(self.runs) - len(self.current())

    def add(self, trajectory: Trajectory) -> None:
        """Append one run (stamped with this loop's version when it has none), fsync'd before returning."""
        if not trajectory.loop:
            trajectory.loop = loop_version()
        line = (json.dumps({"format": FORMAT, **asdict(trajectory)}, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as out:
            if self._intact is not None and out.tell() > self._intact:
                out.truncate(self._intact)  # a run cut off while written: collected again, not glued to
            self._intact = None
            out.write(gzip.compress(line, mtime=0) if self.path.name.endswith(".gz") else line)
            out.flush()
            os.fsync(out.fileno())
        self.runs.append(trajectory)

    def summary(self) -> dict[str, Any]:
        """Counts a data card shows: runs, passing runs and examples' sources, by model and by kind."""
        current = self.current()
        return {"runs": len(current), "passing": sum(t.passed for t in current),
                "replayed": sum(bool(t.replayed_from) for t in current), "stale": self.stale(),
                "converted": self.converted, "loop": loop_version(),
                "by_model": dict(Counter(t.model for t in current)),
                "passing_by_kind": dict(sorted(Counter(t.kind for t in current if t.passed).items())),
                "runs_by_kind": dict(sorted(Counter(t.kind for t in current).items()))}
