"""A progress bar on stderr over an executor's jobs: one step per job ended."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.batch.executor import Executor, Job, Outcome


def run_with_bar(executor: Executor, jobs: Sequence[Job], on_outcome: Callable[[Outcome], None], label: str, *,
                 total: int, done: int = 0, steps: Callable[[Outcome], int] = lambda outcome: 1) -> None:
    """`executor.run` with a bar of `total` steps, `done` of them already done; each outcome advances it by
    `steps(outcome)` (e.g. the items of a group)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{label} · {executor.workers} workers", total=total, completed=done)

        def advance(outcome: Outcome) -> None:
            on_outcome(outcome)
            bar.advance(task, steps(outcome))

        executor.run(jobs, advance)
