"""Typed shapes of everything the model must produce in structure; their JSON schemas drive decoding."""

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskDraft(_Strict):
    description: str = Field(min_length=3, max_length=160)
    depends_on: list[int] = Field(
        default_factory=list, max_length=3, description="ids of existing tasks this one needs first"
    )


class Plan(_Strict):
    """New tasks proposed by the planner; an empty list means nothing more is needed."""

    tasks: list[TaskDraft] = Field(max_length=5)


class Ordering(_Strict):
    """Task ids, most important first."""

    order: list[int] = Field(max_length=50)


class Judgement(_Strict):
    """The done-judge: is the objective met by what has been found so far?"""

    done: bool
    reason: str = Field(max_length=200)
