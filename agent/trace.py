"""The run's trace: every event appended to trace.jsonl as it happens."""

import json
import time
from pathlib import Path

from agent.events import Event


class TraceWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        record = {"time": round(time.time(), 3), **event.model_dump(mode="json")}
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_trace(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
