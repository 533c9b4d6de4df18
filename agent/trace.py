"""The run's trace: every event appended to trace.jsonl as it happens."""

import json
import time
from pathlib import Path

from agent.events import Event


class TraceWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        if self._file.tell() and not path.read_bytes().endswith(b"\n"):
            self._file.write("\n")  # a crash cut the last line short: keep the next one whole

    def __call__(self, event: Event) -> None:
        record = {"time": round(time.time(), 3), **event.model_dump(mode="json")}
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_trace(path: Path) -> list[dict]:
    """The trace's events; a line a crash cut short is skipped."""
    events = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events
