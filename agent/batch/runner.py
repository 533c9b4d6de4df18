"""Running a batch: the worker that runs one objective (resuming its run where an earlier worker left it), and
the driver loop that hands objectives to an executor and acknowledges each result once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.batch.executor import Executor, Job, Outcome
from agent.batch.ledger import Ack, BatchDir
from agent.batch.objectives import BatchObjective
from agent.batch.progress import run_with_bar
from agent.batch.summary import BatchReport, format_table
from agent.config import Settings
from agent.errors import AgentError
from agent.memory.base import Memory
from agent.models.base import ChatModel
from agent.tools.base import Tool

MAX_SHOWN_ANSWER = 2_000  # characters of an answer kept in the summary (the result document has it whole)


@dataclass(frozen=True)
class ObjectiveWorkers:
    """The factory of batch workers (picklable, called once in each worker process). `model` and `tools`
    default to what `agent run` would use for the settings; give them to run a batch with a model or tools of
    your own (e.g. a ScriptedModel in tests), and `memory` to give each objective's run a memory of your own."""

    settings: Settings
    model: Callable[[], ChatModel] | None = None
    tools: Callable[[Settings], list[Tool]] | None = None
    memory: Callable[[BatchObjective], Memory] | None = None

    def __call__(self) -> ObjectiveWorker:
        from agent.run.agent import load_configured_model

        model = self.model() if self.model is not None else load_configured_model(self.settings)
        return ObjectiveWorker(self.settings, model, self.tools, self.memory)


class ObjectiveWorker:
    """Runs objectives one after another on one loaded model. Each objective's run has a fixed id: a run that
    finished is read back, a run that was cut off (its worker died) is resumed, never started again."""

    def __init__(self, settings: Settings, model: ChatModel, tools: Callable[[Settings], list[Tool]] | None = None,
                 memory: Callable[[BatchObjective], Memory] | None = None) -> None:
        self.settings = settings
        self.model = model
        self.tools = tools
        self.memory = memory

    def __call__(self, objective: BatchObjective) -> dict[str, Any]:
        from agent.run.agent import Agent
        from agent.store import STATE_FILE, read_result
        from agent.tools.registry import MEMORY_SEARCH, tools_for

        settings = self.settings.model_copy(update=objective.overrides)
        run_path = settings.run_dir / objective.run_id
        result = read_result(run_path)
        try:
            if result is None:
                tools = self.tools(settings) if self.tools is not None else \
                    tools_for(settings.tools, settings.heads, settings.workspace, settings.device)
                memory = self.memory(objective) if self.memory is not None else None
                agent = Agent(model=self.model, tools=tools, memory=memory, settings=settings,
                              memory_search=MEMORY_SEARCH in settings.tools)
                if (run_path / STATE_FILE).is_file():
                    result = agent.resume(objective.run_id)
                else:
                    result = agent.run(objective.objective, run_id=objective.run_id)
        except AgentError as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"document": result.to_json_document()}


def acknowledgement(objective: BatchObjective, outcome: Outcome) -> tuple[Ack, dict[str, Any] | None]:
    """The ack line and the result document of an objective's outcome."""
    result = outcome.result or {}
    error = outcome.error or result.get("error")
    document = result.get("document")
    if document is None:
        return Ack(id=objective.id, run_id=objective.run_id, status=None, error=error, worker=outcome.worker), None
    usage = document["usage"]
    return Ack(id=objective.id, run_id=objective.run_id, status=document["status"],
               final_answer=document["final_answer"][:MAX_SHOWN_ANSWER], llm_calls=usage["llm_calls"],
               tokens=usage["prompt_tokens"] + usage["completion_tokens"], seconds=usage["seconds"],
               worker=outcome.worker), document


def run_batch(batch: BatchDir, executor: Executor, *, progress: bool = True,
              on_ack: Callable[[Ack], None] = lambda ack: None) -> BatchReport:
    """Run every objective of `batch` not acknowledged yet, acknowledge each as it finishes, write the summary.
    Hold the batch's lock (`with batch:`) around it."""
    objectives = batch.objectives()
    acks = batch.acks()
    by_id = {o.id: o for o in objectives}
    jobs = [Job(o.id, o) for o in objectives if o.id not in acks]
    started = time.perf_counter()

    def settle(outcome: Outcome) -> None:
        if outcome.job.key in acks:  # acknowledged in one place, once
            return
        ack, document = acknowledgement(by_id[outcome.job.key], outcome)
        batch.acknowledge(ack, document)
        acks[ack.id] = ack
        on_ack(ack)

    if progress and jobs:
        run_with_bar(executor, jobs, settle, "batch", total=len(objectives), done=len(objectives) - len(jobs))
    else:
        executor.run(jobs, settle)
    ordered = [acks[o.id] for o in objectives]
    report = BatchReport(batch.batch_id, ordered, len(jobs), round(time.perf_counter() - started, 3))
    batch.write_summary(ordered, format_table(report))
    return report
