"""Folds each result into a running summary, judges whether the objective is met, writes the answer."""

from typing import Callable

from pydantic import Field

from agent.errors import ModelOutputError
from agent.events import Event, Judged, StepFailed
from agent.meter import Meter
from agent.records import Task, TaskStatus
from agent.schemas import Judgement
from agent.store import RunState
from agent.structured import ask
from agent.templates import conversation, render


class Progress(Judgement):
    summary: str = Field(max_length=600)


class Integrator:
    def __init__(self, meter: Meter, *, retries: int, max_new_tokens: int,
                 emit: Callable[[Event], None]) -> None:
        self.meter, self.retries, self.max_new_tokens, self.emit = meter, retries, max_new_tokens, emit

    def integrate(self, objective: str, tasks: list[Task], state: RunState) -> bool:
        """Fold the tasks' results into `state.summary`; True when the judge says the objective is met."""
        prompt = render("integrate", summary=state.summary, tasks=tasks)
        try:
            progress = ask(self.meter, conversation(objective, prompt), Progress, purpose="integrate",
                           retries=self.retries, emit=self.emit)
        except ModelOutputError as exc:
            self.emit(StepFailed(purpose="integrate", error=str(exc)))
            return False
        state.summary = progress.summary
        self.emit(Judged(done=progress.done, reason=progress.reason, summary=progress.summary))
        return progress.done

    def final_answer(self, objective: str, tasks: list[Task], summary: str) -> str:
        """The answer, written from whatever results exist; runs even after a budget is spent."""
        done = [task for task in tasks if task.status is TaskStatus.done and task.result]
        if not done and not summary:
            return "No result was produced before the run stopped."
        prompt = render("final", summary=summary, tasks=done[-8:], objective=objective)
        with self.meter.unbounded():
            reply = self.meter.generate(conversation(objective, prompt), purpose="final",
                                        max_new_tokens=self.max_new_tokens)
        return reply.text.strip()
