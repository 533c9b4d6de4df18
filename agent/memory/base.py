"""The Memory protocol: results go in as text, come back by meaning."""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

FACT = "fact"  # the metadata kind of a fact an objective gave to keep
RESULT = "result"  # of a step's result
ANSWER = "answer"  # of a run's final answer


@dataclass(frozen=True)
class Recall:
    id: str
    text: str
    distance: float
    metadata: dict


@runtime_checkable
class Memory(Protocol):
    def add(self, id: str, text: str, metadata: dict | None = None) -> None: ...

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]: ...

    def count(self) -> int: ...
