"""Trajectory collection for `agent learn` on several workers: one job per training objective, its runs
(greedy, then sampled, as `collect` does them) made where the worker's model is loaded, and appended to the
trajectory log by the driver alone, so each run lands in the log once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.batch.executor import Executor, Job, Outcome
from agent.config import Settings
from agent.learning.dataset import TrajectoryLog
from agent.learning.trajectories import Trajectory
from agent.models.base import ChatModel
from agent.tools.base import Tool


@dataclass(frozen=True)
class CollectWorkers:
    """The factory of collecting workers. `settings` are the runs' (as `learn` gives its SuiteRunner), `served`
    the collecting model's as `agent run` serves it (or `teacher`'s; `model`, when given, makes it instead),
    `tools` makes the tool pool where the worker runs."""

    settings: Settings
    served: Settings
    teacher: str | None
    tools: Callable[[], dict[str, Tool]]
    samples: int
    temperature: float
    model: Callable[[], ChatModel] | None = None  # the collecting model, made where the worker runs (tests)
    whole: bool = False  # items without tools of their own are offered the whole pool
    provenance: dict[str, str] | None = None  # stamped on every run (weights key, suite)

    def __call__(self) -> Callable[[tuple[int, Any, int]], list[Trajectory]]:
        from agent.learning.learn import SuiteRunner
        from agent.learning.trajectories import collect
        from agent.run.agent import load_configured_model

        source = self.model() if self.model is not None else \
            load_configured_model(self.served.model_copy(update={"adapter": None}), self.teacher)
        runner = SuiteRunner(self.settings, self.tools(), Path(tempfile.mkdtemp(prefix="agent-collect-")), self.whole)

        def run(job: tuple[int, Any, int]) -> list[Trajectory]:
            index, item, seed = job  # the seed the item would get in a collection on one worker
            return collect([item], source, runner, samples=self.samples, temperature=self.temperature,
                           seed=seed + 1000 * index, provenance=self.provenance)

        return run


def collect_on(executor: Executor, items: Sequence[Any], log: TrajectoryLog, model_name: str, seed: int,
               progress: Callable[[str], None] = lambda line: None) -> int:
    """Collect the items `model_name` has no run of in `log` yet, on the executor's workers; the runs go into
    `log` as each item's job ends. Returns how many runs were added."""
    jobs = [Job(item.id, (index, item, seed)) for index, item in enumerate(items) if not log.of(model_name, item)]
    added = 0

    def settle(outcome: Outcome) -> None:
        nonlocal added
        if outcome.error is not None:
            progress(f"{outcome.job.key}: not collected ({outcome.error})")
            return
        for trajectory in outcome.result:
            log.add(trajectory)
        added += len(outcome.result)
        passed = sum(t.passed for t in outcome.result)
        progress(f"{outcome.job.key}: {len(outcome.result)} runs, {passed} passing")

    progress(f"collecting {len(jobs)} objectives on {executor.workers} workers")
    executor.run(jobs, settle)
    return added
