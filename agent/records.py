"""What a run is made of: tasks, usage, and the result handed back to the user."""

from enum import Enum

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
    id: int
    description: str
    status: TaskStatus = TaskStatus.pending
    result: str | None = None
    tool: str | None = None
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

    def to_json_document(self) -> dict:
        """The public JSON shape: tasks carry id, description, status, result, tool."""
        data = self.model_dump(mode="json")
        data["tasks"] = [
            {k: t[k] for k in ("id", "description", "status", "result", "tool")} for t in data["tasks"]
        ]
        return data
