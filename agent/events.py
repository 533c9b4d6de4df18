"""Typed events of a run: what an embedding application consumes and what the trace records."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from agent.records import RunResult, Task


class Event(BaseModel):
    kind: str


class RunStarted(Event):
    kind: Literal["run_started"] = "run_started"
    run_id: str
    objective: str
    model: str
    resumed: bool = False


class CycleStarted(Event):
    kind: Literal["cycle_started"] = "cycle_started"
    cycle: int
    pending: int
    completed: int


class TasksAdded(Event):
    kind: Literal["tasks_added"] = "tasks_added"
    tasks: list[Task]
    dropped: list[str] = []  # descriptions refused as duplicates or over a budget


class TaskStarted(Event):
    kind: Literal["task_started"] = "task_started"
    task: Task


class ToolCalled(Event):
    kind: Literal["tool_called"] = "tool_called"
    task_id: int
    tool: str
    arguments: dict
    ok: bool
    output: str


class TaskFinished(Event):
    kind: Literal["task_finished"] = "task_finished"
    task: Task


class ModelCalled(Event):
    kind: Literal["model_called"] = "model_called"
    purpose: str
    task_id: int | None = None  # the task this call served; None for run-level calls (decide, answer)
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    tokens_per_second: float
    left_out: str = ""  # what was left out of the prompt to fit the model's context ("" when nothing was)
    read_tokens: int | None = None  # prompt tokens the engine read (a reused prefix is not); None: not counted


class OutputRejected(Event):
    """A model output failed validation; the model is asked again (or the step gives up)."""

    kind: Literal["output_rejected"] = "output_rejected"
    purpose: str
    attempt: int
    error: str
    output: str


class StepFailed(Event):
    """A step gave up after its retries; the loop goes on without it."""

    kind: Literal["step_failed"] = "step_failed"
    purpose: str
    error: str


class Judged(Event):
    """The model (or a one-step solve) declared the objective met, with its answer."""

    kind: Literal["judged"] = "judged"
    done: bool
    reason: str
    answer: str = ""
    refused: bool = False  # the decision just made was refused (the next decision is told why)
    check: str | None = None  # the answer check that refused it (agent/answering/checks.py)


class RunFinished(Event):
    kind: Literal["run_finished"] = "run_finished"
    result: RunResult


AnyEvent = Annotated[RunStarted | CycleStarted | TasksAdded | TaskStarted | ToolCalled | TaskFinished | ModelCalled
                     | OutputRejected | StepFailed | Judged | RunFinished, Field(discriminator="kind")]
EVENTS: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(data: dict) -> AnyEvent:
    """A trace record read back as its typed event; raises pydantic's ValidationError for a foreign one."""
    return EVENTS.validate_python({k: v for k, v in data.items() if k != "time"})
