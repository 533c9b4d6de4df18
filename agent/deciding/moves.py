"""What the model may decide to do next, as one typed union: `Step | Plan | Finish | Remember | ToolCall`.

Every decision is `{"next": NAME, ...}`: NAME is an allowed tool (a `ToolCall`, with that tool's typed
arguments), `solve` (a `Step`: work the objective out in words), `plan` (a few steps), `remember` (a fact to
keep) or `finish` (the answer). Only the allowed names are in the
schema, so the decoding grammar can produce nothing else. Results of earlier tasks are written `{N}` (task N's
result) in tool arguments and answers; the loop substitutes the exact text, so the model never retypes them."""

import functools
import json
import operator
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model

from agent.records import Task, TaskStatus
from agent.schemas import Strict
from agent.text import PASSAGE_REFERENCE, REFERENCE, loops, passages
from agent.tools.base import Tool

REMEMBER = "remember"  # the one move a worked example may use besides tools
MAX_ANSWER_CHARS = 400
MAX_STEP_CHARS = 120
MAX_FACT_CHARS = 240
NOTED = "Noted: {fact}"  # the answer of a run that kept a fact
_NEGATIVE = re.compile(r"\{\s*(-\d+(?:\.\d+)?)\s*\}")


class Step(Strict):
    """Work the objective out in words, in one step."""

    next: Literal["solve"]


StepText = Annotated[str, Field(min_length=3, max_length=MAX_STEP_CHARS)]


class Plan(Strict):
    """A few ordered steps, each decided and run in turn."""

    next: Literal["plan"]
    steps: list[StepText] = Field(min_length=2, max_length=4,
                                  description="short steps in order; write {N} for the result of step N")


class Finish(Strict):
    """The answer: the run is done."""

    next: Literal["finish"]
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS,
                        description="the answer to the objective; write {N} to insert task N's exact result")


class Remember(Strict):
    """A fact the objective gives to keep."""

    next: Literal["remember"]
    fact: str = Field(min_length=3, max_length=MAX_FACT_CHARS, description="the fact to keep, as one sentence")


class ToolCall(Strict):
    """A call of an allowed tool. Each tool has its own subclass (`decision_model`), whose `next` is the tool's
    name and whose `arguments` are the tool's typed arguments."""

    next: str
    arguments: BaseModel

    @property
    def tool(self) -> str:
        return self.next


Move = Step | Plan | Finish | Remember | ToolCall


class FinalAnswer(Strict):
    """The closing answer when the run stopped before the model finished it."""

    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)


def decision_model(tools: list[Tool], *, plan: bool, finish: bool, max_steps: int = 4,
                   remember: bool = False) -> type[RootModel]:
    """The union of allowed next moves; `plan` (of at most `max_steps` steps), `finish` and `remember` are
    offered only where they make sense."""
    variants: list[type[BaseModel]] = [
        create_model(f"Call_{t.name}", __base__=ToolCall, next=(Literal[t.name], ...),  # type: ignore[arg-type]
                     arguments=(t.call_arguments or t.Arguments, ...))
        for t in tools  # (a literal of the tool's name, known at run time only)
    ]
    variants.append(Step)
    if plan and max_steps >= 2:
        variants.append(create_model("Plan", __base__=Plan,
                                     steps=(list[StepText], Field(min_length=2, max_length=min(max_steps, 4)))))
    if finish:
        variants.append(Finish)
    if remember:
        variants.append(Remember)
    # a plain union (anyOf): the `next` literal tells the variants apart, and a oneOf would make the grammar
    # compiler fall back to anyOf with a warning
    union = functools.reduce(operator.or_, variants)
    return RootModel[union]  # type: ignore[valid-type]  # a union built at run time from the allowed tools


def grounded(schema: dict[str, Any], settled: list[int], labels: Sequence[str] = (),
             negatives: bool = True) -> dict[str, Any]:
    """A decision's JSON schema where a free string of a tool call or an answer can write `{N}` only for a step
    N that has a result, and `{a}` only for a passage the objective hands over (`labels`): the grammar then
    cannot produce a placeholder that names nothing (a greedy small model copies "{1} * 27" from a worked
    example into its first call, or answers "14 hinges cost {a} dollars." with no passage at all, and is
    refused each time it writes it again). A brace around a negative number ("{-1}") is read as that number,
    and is allowed only where the objective writes `negatives` (otherwise a greedy model writes "{ -10 }" for
    "2 to the power 10"). Plan steps name their own steps and remembered facts quote nothing, so they are left
    as they are."""
    ids = "|".join(str(n) for n in sorted(set(settled)))
    steps = rf"\{{(?:{ids})[.}}]|" if ids else ""  # {1} or {1.count}
    passages = rf"\{{(?:{'|'.join(map(re.escape, labels))})\}}|" if labels else ""  # {a}
    # any other brace only around a negative number ("{-1}", read as the number): a model that wants a
    # placeholder finds every other opening ("{x}", "{ fact }", "{ 事实 }", "{ }", "{ ()}", "{ -13 * 50%")
    negative = r"|\{ ?-[0-9]+(?:\.[0-9]+)? ?\}" if negatives else ""  # one space at most: "{ -1 }"
    pattern = rf"^(?:{steps}{passages}[^{{]{negative})*$"

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        if not isinstance(node, dict) or key in _UNGROUNDED:
            return node
        node = {k: walk(v, k) for k, v in node.items()}
        if node.get("type") == "string" and not {"pattern", "enum", "const"} & node.keys():
            node["pattern"] = pattern
        return node

    return walk(schema)


_UNGROUNDED = {"steps", "fact", "next", "code"}  # strings a reference to a settled step does not bound (a program
# writes braces of its own: f-strings, dicts)


def literal_numbers(move: Move, objective: str, steps: int) -> Move:
    """`move` with `{N}` written around one of the objective's own numbers read as that number ("{859} * 27"
    for "Add 859 and 444, then multiply the sum by 27"): an N beyond every step the run has, or could plan
    next, names no result. A negative number in braces ("{-1}", for "answer with -1 if …") names nothing
    either, and is read as the number when the objective writes it; otherwise it stands in for a number the
    model did not have ("14 hinges cost {-1}") and stays a placeholder. A plan keeps its text (its `{N}` are
    its own steps)."""
    def mentioned(n: str) -> bool:
        return re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", objective) is not None

    def unwrap(text: str) -> str:
        def literal(match: re.Match[str]) -> str:
            n = match.group(1)
            return n if not match.group(2) and int(n) > steps + 4 and mentioned(n) else match.group(0)

        def negative(match: re.Match[str]) -> str:
            return match.group(1) if mentioned(match.group(1)) else match.group(0)

        return _NEGATIVE.sub(negative, REFERENCE.sub(literal, text))

    if isinstance(move, Finish):
        return move.model_copy(update={"answer": unwrap(move.answer)})
    if not isinstance(move, ToolCall):
        return move
    arguments = {k: unwrap(v) if isinstance(v, str) else v for k, v in move.arguments.model_dump().items()}
    try:
        return move.model_copy(update={"arguments": type(move.arguments).model_validate(arguments)})
    except ValueError:  # the unwrapped text breaks a constraint of the tool's: the move stays as written
        return move


_NUMERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)")  # (a number may end a sentence)
_ARITHMETIC = re.compile(r"[\s()+\-*/×÷^]*")


def undoubled(move: Move, objective: str, tasks: Sequence[Task] = ()) -> Move:
    """`move` with a tool argument that only combines one quoted thing with numbers it already holds, where the
    objective states each of those numbers once, written as the quoted thing alone: a passage ("{a} * 23" where
    {a} is "17 * 23" becomes "{a}"), or a settled step whose call wrote them ("{1} * 23" after step 1 computed
    "17 * 23": a call of "{1}" alone computes nothing new, so the move is the answer "{1}"). A small model
    copies the objective's numbers beside what already holds them, and each would count twice."""
    if not isinstance(move, ToolCall):
        return move
    found = passages(objective)
    steps = {t.id: json.dumps(t.arguments or {}) for t in tasks if t.status is TaskStatus.done and t.tool}
    stated = _NUMERAL.findall(objective)
    arguments = move.arguments.model_dump()
    changed = False
    for key, value in arguments.items():
        if not isinstance(value, str):
            continue
        quoted = [(m.group(0), found.get(m.group(1), "")) for m in PASSAGE_REFERENCE.finditer(value)]
        quoted += [(m.group(0), steps.get(int(m.group(1)), "")) for m in REFERENCE.finditer(value) if not m.group(2)]
        if len(quoted) != 1 or not quoted[0][1]:
            continue
        written, holder = quoted[0]
        rest = value.replace(written, " ")
        numbers = _NUMERAL.findall(rest)
        if (numbers and _ARITHMETIC.fullmatch(_NUMERAL.sub(" ", rest))
                and all(n in _NUMERAL.findall(holder) and stated.count(n) == 1 for n in numbers)):
            if written.strip("{}").isdigit():
                return Finish(next="finish", answer=written)
            arguments[key], changed = written, True
    if not changed:
        return move
    try:
        return move.model_copy(update={"arguments": type(move.arguments).model_validate(arguments)})
    except ValueError:
        return move


def asked_again(move: Move | None, tasks: Sequence[Task], dropped: Sequence[str]) -> Task | None:
    """The done step that `move` calls a tool exactly as, when the decision before it made the same call (dropped
    as a repeat): asked twice in a row for a result the run has, the model is not asked a third time (a greedy
    model that calls `calculator({a})` again after its result, shown the repeat, makes the same call to the
    cycle limit)."""
    if not isinstance(move, ToolCall):
        return None
    said = describe_call(move.tool, move.arguments.model_dump()).strip()
    if said not in (text.strip() for text in dropped):
        return None
    return next((t for t in tasks if t.status is TaskStatus.done and t.result is not None and t.description == said),
                None)


def iterates(move: Move | None, tasks: Sequence[Task], objective: str) -> Task | None:
    """The done step whose call `move` makes again on that step's own result: the same tool, and an argument that
    is that step's argument with its number (retyped, or quoted as `{N}`) in place of one of the numbers it had
    ("-524 - 226 - 691" right after "393 - 226 - 691" gave -524; "28 - 0.2 * 28" after "35 - 0.2 * 35" gave 28;
    "{1} * 24" after "6 * 24"), where that step is the latest done and the objective states none of the numbers
    the call repeats more often than that step wrote them ("Compute 12 * 12, then multiply by 12" asks for the
    third 12). A greedy small model, shown a result, goes on applying the objective's operation to it to the
    cycle limit; the step's result is the answer."""
    done = [t for t in tasks if t.status is TaskStatus.done]  # the latest only: an earlier one was gone on from
    if not isinstance(move, ToolCall) or not done:
        return None
    task, stated = done[-1], _NUMERAL.findall(objective)
    result = (task.result or "").strip()
    if task.tool != move.tool or not _RESULT.fullmatch(result):
        return None
    own = re.compile(rf"(?<![\w.-]){re.escape(result)}(?![\w.])")
    for key, value in move.arguments.model_dump().items():
        before = (task.arguments or {}).get(key)
        value = value.replace(f"{{{task.id}}}", result) if isinstance(value, str) else value  # quoted as {N}
        if not isinstance(value, str) or not isinstance(before, str) or not own.search(value):
            continue
        written = _NUMERAL.findall(before)
        if (any(own.sub(n, value).split() == before.split() for n in set(written) - {result})
                and all(stated.count(n) <= written.count(n) for n in _NUMERAL.findall(own.sub(" ", value)))):
            return task
    return None


_RESULT = re.compile(r"-?\d+(?:\.\d+)?")  # a result that is one plain number


def runs_away(move: Move) -> bool:
    """Whether a tool call's text arguments are a degenerate loop (a greedy model that had nothing to pass)."""
    return isinstance(move, ToolCall) and any(isinstance(v, str) and loops(v)
                                              for v in move.arguments.model_dump().values())


def describe_call(tool: str, arguments: dict[str, Any]) -> str:
    """A task description for a decided tool call, e.g. `calculator(expression=614 * 624)`."""
    inner = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return f"{tool}({inner})"[:MAX_STEP_CHARS * 2]
