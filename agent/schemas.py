"""Typed shapes of everything the model must produce in structure; their JSON schemas drive decoding."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Model output with no extra keys: a reply that adds fields is rejected, not silently trimmed."""

    model_config = ConfigDict(extra="forbid")


class TaskDraft(Strict):
    """A task about to join the board: what it is, what it needs first, and how it will run."""

    description: str = Field(min_length=1)  # a solve task is the objective itself, of any allowed length
    depends_on: list[int] = Field(default_factory=list, max_length=4)
    mode: Literal["choose", "tool", "solve", "remember"] = "choose"
    tool: str | None = None
    arguments: dict[str, Any] | None = None
