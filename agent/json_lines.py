"""Input files of JSON lines (a suite, a batch of objectives): read, each line validated, ids unique; every
problem is one UsageError naming the file and the line."""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from agent.errors import UsageError, describe

T = TypeVar("T")


def read_lines(path: Path, what: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None


def parse_json_lines(lines: Iterable[str], source: str, parse: Callable[[str], T], id_of: Callable[[T], str | None],
                     *, noun: str, plural: str, limit: int | None = None, shape: str = "one JSON object") -> list[T]:
    """`parse` of every non-blank line (it raises ValueError, a pydantic ValidationError included, on a bad
    one); an id (`id_of`, None for none) used twice, more than `limit` lines or none at all is refused too."""
    items: list[T] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            item = parse(line)
        except ValidationError as exc:
            raise UsageError(f"{where}: {describe(exc, limit=1, subject=noun)}") from None
        except ValueError as exc:
            raise UsageError(f"{where}: not JSON ({exc}); write {shape} per line") from None
        if (key := id_of(item)) is not None:
            if key in seen:
                raise UsageError(f"{where}: id {key!r} already used on line {seen[key]}")
            seen[key] = number
        items.append(item)
        if limit is not None and len(items) > limit:
            raise UsageError(f"{source} holds more than {limit} {plural}; split it into several files")
    if not items:
        raise UsageError(f"{source} holds no {plural}")
    return items
