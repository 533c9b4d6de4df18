"""The run's trace: every event appended to trace.jsonl as it happens."""

import json
import time
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

import agent.events as _events
from agent.errors import StorageError, UsageError
from agent.events import AnyEvent, Event, parse_event


class TraceWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # errors="replace": text that is not UTF-8 (lone surrogates) is written as "?", never a crash
            self._file = path.open("a", encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot append to the trace {path} ({exc.strerror}); move whatever is there "
                             "away and try again") from None
        if self._file.tell():
            with path.open("rb") as handle:
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":
                    self._write("\n")  # a crash cut the last line short: keep the next one whole

    def __call__(self, event: Event) -> None:
        record = {"time": round(time.time(), 3), **event.model_dump(mode="json")}
        self._write(json.dumps(record, ensure_ascii=False) + "\n")

    def _write(self, text: str) -> None:
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            from agent.store import disk_full

            if disk_full(exc):
                raise StorageError(f"no space left on {self.path}: free some space, then `agent resume "
                                   f"{self.path.parent.name}` continues the run") from None
            raise

    def close(self) -> None:
        self._file.close()


def read_trace(path: Path) -> list[dict]:
    """The trace's events as dicts. Whatever is not a well-formed event is skipped: a line a crash cut short,
    a line that is not an object, an event of a known kind that lacks its fields; no trace at all is none."""
    if not path.is_file():
        return []
    records = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError):
                    continue
                if _well_formed(record):
                    records.append(record)
    except OSError:
        return records
    return records


def _well_formed(record: object) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
        return False
    known = _kinds().get(record["kind"])
    if known is None:
        return True  # a kind of another version: readers use .get() on what they do not know
    try:
        known.model_validate(record)
    except ValueError:  # pydantic's ValidationError
        return False
    return True


@lru_cache(maxsize=1)
def _kinds() -> dict[str, type[Event]]:
    found = {}
    for value in vars(_events).values():
        if isinstance(value, type) and issubclass(value, Event) and value is not Event:
            kind = value.model_fields["kind"].default
            if isinstance(kind, str):
                found[kind] = value
    return found


def read_events(path: Path) -> list[AnyEvent]:
    """The trace read back as typed events; records that are not events of this version are skipped."""
    events: list[AnyEvent] = []
    for record in read_trace(path) if path.is_file() else []:
        try:
            events.append(parse_event(record))
        except (ValidationError, TypeError, AttributeError):
            continue
    return events
