"""An evaluation suite on several workers: items sharing a memory key stay together, in file order, on one
worker (they depend on what the earlier ones stored); every other item is a job of its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agent.batch.executor import Executor, Job, Outcome
from agent.batch.progress import run_with_bar

if TYPE_CHECKING:
    from agent.evaluation.suite import EvalItem, ItemResult, SuiteReport

GroupWorker = Callable[[list["EvalItem"]], list["ItemResult"]]  # what a suite worker factory makes


def item_groups(items: Sequence[EvalItem]) -> list[list[EvalItem]]:
    """The jobs: each memory key's items together (in file order), every other item alone."""
    groups: list[list[EvalItem]] = []
    by_key: dict[str, list[EvalItem]] = {}
    for item in items:
        if item.memory is None:
            groups.append([item])
        elif item.memory in by_key:
            by_key[item.memory].append(item)
        else:
            by_key[item.memory] = [item]
            groups.append(by_key[item.memory])
    return groups


def run_suite_on(executor: Executor, items: Sequence[EvalItem], progress: bool = True,
                 on_item: Callable[[ItemResult], None] = lambda result: None) -> SuiteReport:
    """Run the items on the executor's workers (each made by a factory of GroupWorkers); the report lists
    them in suite order. A group no worker could finish reports each of its items as an error."""
    from agent.evaluation.suite import ItemResult, SuiteReport

    results: dict[str, ItemResult] = {}
    jobs = [Job(group[0].id, group) for group in item_groups(items)]

    def settle(outcome: Outcome) -> None:
        group: list[EvalItem] = outcome.job.payload
        if outcome.error is not None:
            ended = [ItemResult(id=i.id, kind=i.kind, split=i.split, template=i.template, success=False,
                                status=None, llm_calls=0, tokens=0, seconds=0.0, parse_failures=0, answer="",
                                error=outcome.error) for i in group]
        else:
            ended = outcome.result
        for result in ended:
            results[result.id] = result
            on_item(result)

    if progress:
        run_with_bar(executor, jobs, settle, "eval", total=len(items), steps=lambda o: len(o.job.payload))
    else:
        executor.run(jobs, settle)
    return SuiteReport.of([results[item.id] for item in items])
