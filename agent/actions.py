"""What the model may decide to do next, as one typed union, and how results are carried by reference.

Every decision is `{"next": NAME, ...}`: NAME is an allowed tool (with that tool's typed arguments), `solve`
(work the step out in words), `plan` (a few steps) or `finish` (the answer). Only the allowed names are in the
schema, so the decoding grammar can produce nothing else. Results of earlier tasks are written `{N}` (task N's
result) in tool arguments and answers; the loop substitutes the exact text, so the model never retypes them."""

import functools
import operator
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model

from agent.records import Task, TaskStatus
from agent.schemas import Strict
from agent.tools.base import Tool

SOLVE, PLAN, FINISH = "solve", "plan", "finish"
RESERVED = {SOLVE, PLAN, FINISH}
MAX_ANSWER_CHARS = 400
MAX_STEP_CHARS = 120
_REF = re.compile(r"\{(\d{1,3})\}")


class Solve(Strict):
    next: Literal["solve"]


Step = Annotated[str, Field(min_length=3, max_length=MAX_STEP_CHARS)]


class PlanSteps(Strict):
    next: Literal["plan"]
    steps: list[Step] = Field(min_length=2, max_length=4,
                              description="short steps in order; write {N} for the result of step N")


class Finish(Strict):
    next: Literal["finish"]
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS,
                        description="the answer to the objective; write {N} to insert task N's exact result")


class FinalAnswer(Strict):
    """The closing answer when the run stopped before the model finished it."""

    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)


def decision_model(tools: list[Tool], *, plan: bool, finish: bool, max_steps: int = 4) -> type[RootModel]:
    """The union of allowed next moves; `plan` (of at most `max_steps` steps) and `finish` are offered only
    where they make sense."""
    variants: list[type[BaseModel]] = [
        create_model(f"Call_{t.name}", __base__=Strict, next=(Literal[t.name], ...),  # type: ignore[arg-type]
                     arguments=(t.Arguments, ...))  # (a literal of the tool's name, known at run time only)
        for t in tools
    ]
    variants.append(Solve)
    if plan and max_steps >= 2:
        variants.append(create_model("PlanSteps", __base__=PlanSteps,
                                     steps=(list[Step], Field(min_length=2, max_length=min(max_steps, 4)))))
    if finish:
        variants.append(Finish)
    # a plain union (anyOf): the `next` literal tells the variants apart, and a oneOf would make the grammar
    # compiler fall back to anyOf with a warning
    union = functools.reduce(operator.or_, variants)
    return RootModel[union]  # type: ignore[valid-type]  # a union built at run time from the allowed tools


def resolve_refs(value: Any, tasks: list[Task]) -> Any:
    """`value` with every `{N}` naming a settled task replaced by that task's exact result (strings inside
    dicts and lists too); unknown references stay as written."""
    if isinstance(value, str):
        results = {t.id: (t.result or "").strip() for t in tasks if t.status is not TaskStatus.pending}
        return _REF.sub(lambda m: results.get(int(m.group(1)), m.group(0)), value)
    if isinstance(value, dict):
        return {k: resolve_refs(v, tasks) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, tasks) for v in value]
    return value


def references(text: str) -> list[int]:
    """The task ids a text refers to as `{N}`."""
    return sorted({int(n) for n in _REF.findall(text)})


def describe_call(tool: str, arguments: dict[str, Any]) -> str:
    """A task description for a decided tool call, e.g. `calculator(expression=614 * 624)`."""
    inner = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return f"{tool}({inner})"[:MAX_STEP_CHARS * 2]
