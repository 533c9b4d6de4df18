"""Task creation (decomposition) and prioritization."""

from typing import Callable

from agent.board import apply_order
from agent.errors import ModelOutputError
from agent.events import Event, StepFailed
from agent.meter import Meter
from agent.records import Task
from agent.schemas import Ordering, Plan, TaskDraft
from agent.structured import ask
from agent.templates import conversation, render


class Planner:
    def __init__(self, meter: Meter, *, retries: int, limit: int, emit: Callable[[Event], None]) -> None:
        self.meter, self.retries, self.limit, self.emit = meter, retries, limit, emit

    def create(self, objective: str, tasks: list[Task], last: list[Task],
               summary: str) -> list[TaskDraft] | None:
        """New tasks from the objective, the board, and the latest results; None when the model gives up."""
        prompt = render("plan", tasks=tasks, last=last, summary=summary, limit=self.limit)
        try:
            return ask(self.meter, conversation(objective, prompt), Plan, purpose="plan",
                       retries=self.retries, emit=self.emit).tasks
        except ModelOutputError as exc:
            self.emit(StepFailed(purpose="plan", error=str(exc)))
            return None

    def prioritize(self, objective: str, ready: list[Task]) -> list[Task]:
        """The ready tasks, most useful first; every one of them is kept whatever the model says."""
        if len(ready) < 2:
            return ready
        try:
            ordering = ask(self.meter, conversation(objective, render("prioritize", tasks=ready)), Ordering,
                           purpose="prioritize", retries=self.retries, emit=self.emit)
        except ModelOutputError as exc:
            self.emit(StepFailed(purpose="prioritize", error=str(exc)))
            return ready
        return apply_order(ready, ordering.order)
