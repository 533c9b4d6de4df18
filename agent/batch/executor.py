"""The executor: jobs handed to workers, results handed back one by one as they finish.

A worker is made once per worker process by a factory (a picklable callable, so that a Ray actor can make
it where it runs) and then runs jobs one after another: a model is loaded once per worker, not per job.
`InProcess` runs everything in this process; `agent.batch.ray_pool.RayPool` runs one Ray actor per worker;
`agent.batch.placement.open_executor` picks one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Worker(Protocol):
    """Runs one job's payload and returns its result (picklable); errors it expects are part of the result."""

    def __call__(self, payload: Any, /) -> Any: ...


WorkerFactory = Callable[[], Worker]


@dataclass(frozen=True)
class Job:
    key: str
    payload: Any


@dataclass(frozen=True)
class Outcome:
    """A job's end: its worker's result, or `error` when no worker could finish it (the worker process died
    each time it was tried, or the worker raised)."""

    job: Job
    result: Any = None
    error: str | None = None
    worker: int = 0


class Executor(Protocol):
    workers: int

    def run(self, jobs: Sequence[Job], on_outcome: Callable[[Outcome], None]) -> None:
        """Run every job; `on_outcome` is called in this process as each one ends, in the order they end."""
        ...

    def close(self) -> None: ...


class InProcess:
    """One worker, in this process: the jobs run one after another, in order."""

    workers = 1

    def __init__(self, factory: WorkerFactory) -> None:
        self.factory = factory
        self._worker: Worker | None = None

    def run(self, jobs: Sequence[Job], on_outcome: Callable[[Outcome], None]) -> None:
        for job in jobs:
            if self._worker is None:
                self._worker = self.factory()
            on_outcome(Outcome(job, self._worker(job.payload)))

    def close(self) -> None:
        self._worker = None


@dataclass(frozen=True)
class Placement:
    """Where the workers run: how many, on which Ray cluster (None: in this process with one worker, else a
    local Ray started here), and the resources each one holds."""

    workers: int = 1
    address: str | None = None
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
