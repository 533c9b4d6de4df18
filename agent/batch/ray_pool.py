"""Workers as Ray actors: each makes its worker (loads its model) once and runs jobs one after another.

One job is in flight per actor, so a worker process that dies loses only the job in its hands: that job goes
back to the front of the queue and a new actor takes the dead one's place. A job is tried on at most
`MAX_TRIES` workers; the jobs' own durability (a run resumes from its stored state) makes a retry continue
rather than start over.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from agent.batch.executor import Job, Outcome, Placement, Worker, WorkerFactory
from agent.errors import AgentError, UsageError

MAX_TRIES = 3


class WorkerActor:
    """The body of one actor (wrapped with ray.remote where the pool starts)."""

    def __init__(self, factory: WorkerFactory) -> None:
        self.worker: Worker = factory()

    def ready(self) -> int:
        return os.getpid()

    def run(self, payload: Any) -> Any:
        return self.worker(payload)


class WorkerStartFailed(AgentError):
    """A worker could not make its worker (e.g. its model did not load)."""


class RayPool:
    """`placement.workers` actors on the cluster at `placement.address` (None: a local Ray started here, or the
    one this process already joined)."""

    def __init__(self, factory: WorkerFactory, placement: Placement) -> None:
        import ray

        self._ray = ray
        self.factory = factory
        self.placement = placement
        self.workers = placement.workers
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            try:
                ray.init(address=placement.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = placement.address or "a local cluster"
                raise UsageError(f"cannot start or join Ray at {where}: {_first_line(exc)}") from None
        self._check_resources()
        self._actor_class = ray.remote(num_cpus=placement.cpus_per_worker,
                                       num_gpus=placement.gpus_per_worker)(WorkerActor)
        self.actors: list[Any] = [self._start() for _ in range(self.workers)]
        self.started = self.workers  # actors started, replacements included
        try:
            self.pids = ray.get([actor.ready.remote() for actor in self.actors])
        except ray.exceptions.RayActorError as exc:
            self.close()
            raise WorkerStartFailed(f"a worker failed to start: {_cause(exc)}") from None

    def _check_resources(self) -> None:
        total = self._ray.cluster_resources()
        for name, each in (("CPU", self.placement.cpus_per_worker), ("GPU", self.placement.gpus_per_worker)):
            have = total.get(name, 0.0)
            if each and self.workers * each > have:
                raise UsageError(f"{self.workers} workers with {each:g} {name} each need {self.workers * each:g} "
                                 f"{name}s; the cluster has {have:g}: ask for fewer workers or less per worker")

    def _start(self) -> Any:
        return self._actor_class.remote(self.factory)

    def run(self, jobs: Sequence[Job], on_outcome: Callable[[Outcome], None]) -> None:
        ray = self._ray
        queue: deque[tuple[Job, int]] = deque((job, 0) for job in jobs)
        in_flight: dict[Any, tuple[int, Job, int]] = {}  # object ref -> (worker slot, job, tries before)
        idle = list(range(self.workers))

        def dispatch() -> None:
            while idle and queue:
                slot = idle.pop(0)
                job, tries = queue.popleft()
                in_flight[self.actors[slot].run.remote(job.payload)] = (slot, job, tries)

        while queue or in_flight:
            dispatch()
            done, _ = ray.wait(list(in_flight), num_returns=1)
            slot, job, tries = in_flight.pop(done[0])
            outcome: Outcome | None = None
            try:
                outcome = Outcome(job, ray.get(done[0]), worker=slot)
            except ray.exceptions.RayActorError as exc:
                self._replace(slot)
                if tries + 1 < MAX_TRIES:
                    queue.appendleft((job, tries + 1))  # first in line: its run resumes where it stopped
                else:
                    outcome = Outcome(job, error=f"worker died on each of {MAX_TRIES} tries ({_cause(exc)})",
                                      worker=slot)
            except ray.exceptions.RayTaskError as exc:
                outcome = Outcome(job, error=f"worker raised {_cause(exc)}", worker=slot)
            idle.append(slot)
            dispatch()  # the worker starts its next job while this one is acknowledged
            if outcome is not None:
                on_outcome(outcome)

    def _replace(self, slot: int) -> None:
        ray, old = self._ray, self.actors[slot]
        ray.kill(old, no_restart=True)
        # its run's lock is free only once the process is gone: wait for Ray to confirm the death
        with contextlib.suppress(ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            ray.get(old.ready.remote(), timeout=60)
        self.actors[slot] = self._start()
        self.started += 1

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            self._ray.kill(actor, no_restart=True)
        self.actors = []
        if self._owns_ray:
            self._ray.shutdown()


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _cause(exc: BaseException) -> str:
    """The last "Error: message" line of a Ray error's text (the worker's own exception), else its first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if line.split(":")[0].endswith(("Error", "Exception", "Failed"))]
    return raised[-1] if raised else _first_line(exc)
