"""What a run is made of: tasks, usage, and the result handed back to the user."""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field


class TaskStatus(str, Enum):
    pending = "pending"
    done = "done"
    failed = "failed"


class RunStatus(str, Enum):
    """Why a run stopped."""

    done = "done"  # the integrator judged the objective met
    no_tasks = "no_tasks"  # nothing left to do
    max_cycles = "max_cycles"
    max_tokens = "max_tokens"
    max_seconds = "max_seconds"


class Task(BaseModel):
    """One step of a run. `mode` says how it will run: `tool` (the call in `tool`/`arguments` was already
    decided), `solve` (the model works it out in words), `choose` (the executor picks a tool or words) or
    `remember` (a fact the objective gave, kept in memory: `arguments["fact"]`)."""

    id: int
    description: str
    status: TaskStatus = TaskStatus.pending
    result: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None  # a tool call's arguments; once it ran, as they ran (references filled)
    written: dict[str, Any] | None = None  # a call that ran: its arguments as the model wrote them ({a}, {1})
    mode: Literal["choose", "tool", "solve", "remember"] = "choose"
    depends_on: list[int] = Field(default_factory=list)
    cycle: int | None = None


class Usage(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RunResult(BaseModel):
    """The one document `agent run --json` prints and `Agent.run` returns."""

    run_id: str
    objective: str
    status: RunStatus
    final_answer: str
    tasks: list[Task]
    usage: Usage
    written_answer: str | None = None  # the answer before its references were filled, when the model wrote one

    def to_json_document(self) -> dict:
        """The public JSON shape: tasks carry id, description, status, result, tool."""
        data = self.model_dump(mode="json", exclude={"written_answer"})
        data["tasks"] = [
            {k: t[k] for k in ("id", "description", "status", "result", "tool")} for t in data["tasks"]
        ]
        return data


class Phase(str, Enum):
    """The loop's next step: decide what to do, execute ready tasks, write the answer, or stopped."""

    decide = "decide"
    execute = "execute"
    answer = "answer"
    stopped = "stopped"


@dataclass
class RunState:
    """Where the loop stands, persisted after every step. `answer` holds the final answer once decided."""

    cycle: int = 1
    phase: Phase = Phase.decide
    stop: str | None = None  # why the loop stopped (a RunStatus value), once it has
    answer: str | None = None
    written_answer: str | None = None  # the model's answer as it wrote it, references unfilled ({1}, {a})

    def __post_init__(self) -> None:
        self.phase = Phase(self.phase) if self.phase in Phase._value2member_map_ else Phase.decide

    @classmethod
    def from_dict(cls, data: dict) -> "RunState":
        """Read back what `asdict` stored; keys this version does not know are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class RunRecord:
    """A run as stored: what it was asked, with which settings, and where it stands."""

    run_id: str
    objective: str
    status: str  # running, or a RunStatus value
    settings: dict
    tools: list[str]
    model: str
    state: RunState = field(default_factory=RunState)
    usage: Usage = field(default_factory=Usage)
    final_answer: str = ""
