"""The checks a decided move must pass before it stands: one ordered list of named rules, asked by the loop.

Each check looks at one kind of move (an answer, or a tool call), and either lets it stand or says why it
cannot; the first check that refuses wins, and its reason is shown to the next decision. A check marked `once`
refuses only once: the same move made again right after its refusal stands, since the model may know what the
text does not say. Any check can be switched off by name (settings `answer_checks_off`), so an evaluation can
measure what each one is worth (benchmarks/checks_ablation.py)."""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agent.answering.integrator import (
    computes_inside,
    copies_read_text,
    leftover_placeholder,
    restates,
    retyped_from,
    settle_answer,
    unused_numbers,
)
from agent.deciding.moves import Finish, Move, ToolCall, describe_call
from agent.errors import ToolError, UsageError
from agent.records import Task, TaskStatus
from agent.text import loops, question_sentences, references, unresolved_parts
from agent.tools.base import Tool


@dataclass(frozen=True)
class Situation:
    """What a check may look at besides the move."""

    objective: str
    tasks: list[Task]
    tools: list[Tool]


@dataclass(frozen=True)
class Check:
    """`test(move, situation)` is the reason the move cannot stand, or None; it is asked only for moves of
    type `looks_at`."""

    name: str
    looks_at: type
    once: bool
    test: Callable[[Any, Situation], str | None]

    @property
    def refuses(self) -> str:
        """What the check refuses, in words (its test's docstring)."""
        return " ".join((self.test.__doc__ or "").split())


@dataclass(frozen=True)
class Refusal:
    check: str  # the name of the check that refused
    reason: str
    said: str  # the move, as the next decision is shown it


def _quotes_superseded(move: Finish, s: Situation) -> str | None:
    """An answer quoting an intermediate result that a later step went on from: it stops short of that step."""
    quoted = references(move.answer)
    for n in quoted:
        later = [t.id for t in s.tasks if t.status is TaskStatus.done and n in references(t.description)]
        if later and not set(later) & set(quoted):
            return f"the answer quotes step {n}, but step {later[-1]} went on from it: write {{{later[-1]}}}"
    return None


def _quotes_nothing(move: Finish, s: Situation) -> str | None:
    """An answer quoting a step that failed (it would pass an error off as the result) or has no result."""
    by_id = {t.id: t for t in s.tasks}
    for n in references(move.answer):
        task = by_id.get(n)
        if task is not None and task.status is TaskStatus.failed:
            return f"the answer quotes step {n}, which failed"
        if task is None or task.result is None:
            return f"the answer quotes step {n}, which has no result"
    if missing := unresolved_parts(move.answer, s.tasks):
        result = str(next(t.result for t in s.tasks if t.id == missing[0]))
        try:
            parts = json.loads(result)
        except ValueError:
            parts = None
        has = f": its parts are {', '.join(parts)}" if isinstance(parts, dict) and parts else ""
        return f"the answer quotes a part of step {missing[0]}'s result that it does not have{has}"
    return None


def _placeholder(move: Finish, s: Situation) -> str | None:
    """An answer keeping a placeholder that names nothing ("a total of {N} points", "{3 * 4}"). Braces that a
    quoted result itself holds (a file's text read by a tool) are that result's, not the model's."""
    placeholder = leftover_placeholder(settle_answer(move.answer, s.tasks, s.objective))
    if placeholder and placeholder in move.answer:
        if computes_inside(placeholder):
            return f"the answer writes {placeholder}, but braces only quote a result: compute it with a tool first"
        return f"the answer writes {placeholder}, which names no step and no text of the objective"
    return None


def _repeats(move: Finish, s: Situation) -> str | None:
    """An answer that is a degenerate loop of the same few words."""
    return "the answer repeats itself" if loops(move.answer) else None


def _echoes(move: Finish, s: Situation) -> str | None:
    """An answer that only restates the objective (a small model's echo)."""
    return "the answer only restates the objective" if restates(move.answer, s.objective) else None


def _copies_read_text(move: Finish, s: Situation) -> str | None:
    """An answer that says back the one text a step read (a head's input) instead of what the step found in it."""
    readers = [t.name for t in s.tools if t.reads_text]
    step = copies_read_text(settle_answer(move.answer, s.tasks, s.objective), s.objective, s.tasks, readers)
    return None if step is None else f"the answer repeats the text step {step} read: answer from its result"


def _asks_back(move: Finish, s: Situation) -> str | None:
    """An answer that asks the user a question instead of answering."""
    return "the answer asks a question instead of answering" if move.answer.rstrip().endswith("?") else None


def _unused_number(move: Finish, s: Situation) -> str | None:
    """An answer while a chained objective ("..., then ...") still has a number no step has used."""
    left = unused_numbers(s.objective, s.tasks)
    return f"the objective chains another step: no step has used {left[0]} yet" if left else None


def _retyped(move: Finish, s: Situation) -> str | None:
    """An answer quoting a result that a later step went on from by retyping its number."""
    if link := retyped_from(move.answer, s.tasks, s.objective):
        return f"the answer quotes step {link[0]}, but step {link[1]} went on from its result: write {{{link[1]}}}"
    return None


def _call_quotes_nothing(move: ToolCall, s: Situation) -> str | None:
    """A tool call quoting a step with no result: it would run on the reference's own text."""
    ids = {t.id for t in s.tasks if t.result is not None}
    if missing := [n for n in references(move.arguments.model_dump_json()) if n not in ids]:
        return f"the call quotes step {missing[0]}, which has no result yet"
    return None


def _passes_an_error(move: ToolCall, s: Situation) -> str | None:
    """A tool call whose argument is a failed step's error message (a small model retypes "python: unknown name:
    x" as the next program): it says nothing the tool can work on."""
    said = json.dumps(move.arguments.model_dump(), ensure_ascii=False)
    for task in s.tasks:
        error = json.dumps((task.result or "").strip(), ensure_ascii=False)[1:-1]  # as the arguments write it
        if task.status is TaskStatus.failed and len(error) >= 12 and error in said:
            return f"the call passes step {task.id}'s error as its argument: call the tool with what it works on"
    return None


def _tool(move: ToolCall, s: Situation) -> Tool | None:
    return next((t for t in s.tools if t.name == move.tool), None)


def _ungrounded(move: ToolCall, s: Situation) -> str | None:
    """A tool call whose arguments state what neither the objective nor a result does (the tool's own
    `ungrounded` rule, e.g. a calculator expression with numbers from nowhere)."""
    tool = _tool(move, s)
    if tool is None:
        return None
    try:
        args = tool.parse(move.arguments.model_dump())
    except ToolError:
        return None  # the executor reports why the call cannot run
    given = "\n".join([s.objective, *(str(t.result) for t in s.tasks if t.result is not None)])
    return tool.ungrounded(args, given)


_YES_NO = re.compile(r"\W*(yes|no)\b", re.IGNORECASE)


def _contradicts(move: Finish, s: Situation) -> str | None:
    """A yes-or-no answer that says the opposite of the latest result opening with yes or no (a tool that
    decided the question) without quoting it. Every time: made once more, it would stand on the model's word
    against the tool's (qwen2.5-coder-1.5b said "Yes." twice after "no, 1919 is not a leap year")."""
    answer = _YES_NO.match(move.answer)
    decided = [t for t in s.tasks if t.result is not None and t.status is TaskStatus.done
               and _YES_NO.match(str(t.result))]
    if answer is None or not decided or references(move.answer):
        return None
    said = _YES_NO.match(str(decided[-1].result))
    assert said is not None
    if said.group(1).lower() != answer.group(1).lower():
        return f"the answer says {answer.group(1)}, but step {decided[-1].id} says {str(decided[-1].result)[:80]!r}"
    return None


def _reads_the_question(move: ToolCall, s: Situation) -> str | None:
    """A call that hands a text-reading tool (a head) the objective's question instead of the text to read
    ("… how many legs …" to a sentiment head)."""
    tool = _tool(move, s)
    if tool is None or not tool.reads_text:
        return None
    words = lambda text: " ".join(re.findall(r"\w+", text.lower()))  # noqa: E731
    texts = words(str(move.arguments.model_dump()))
    if asked := [q for q in question_sentences(s.objective) if words(q) in texts]:
        return (f"{move.tool} reads text handed over to it, but the call passes the question {asked[0][:80]!r}: "
                f"pass the passage to read, or use another tool")
    return None


CHECKS: tuple[Check, ...] = (
    Check("quotes_superseded", Finish, False, _quotes_superseded),
    Check("quotes_nothing", Finish, False, _quotes_nothing),
    Check("placeholder", Finish, False, _placeholder),
    Check("repeats", Finish, False, _repeats),
    Check("echoes", Finish, False, _echoes),
    Check("copies_read_text", Finish, True, _copies_read_text),
    Check("asks_back", Finish, False, _asks_back),
    Check("unused_number", Finish, True, _unused_number),
    Check("retyped", Finish, True, _retyped),
    Check("contradicts", Finish, False, _contradicts),
    Check("call_quotes_nothing", ToolCall, False, _call_quotes_nothing),
    Check("passes_an_error", ToolCall, False, _passes_an_error),
    Check("ungrounded", ToolCall, True, _ungrounded),
    Check("reads_the_question", ToolCall, True, _reads_the_question),
)
NAMES = tuple(check.name for check in CHECKS)


class AnswerChecks:
    """The checks in order, less those switched off."""

    def __init__(self, off: Iterable[str] = ()) -> None:
        off = set(off)
        if unknown := off - set(NAMES):
            raise UsageError(f"no answer check named {sorted(unknown)[0]!r}: the checks are {', '.join(NAMES)}")
        self.checks = [check for check in CHECKS if check.name not in off]

    def refusal(self, move: Move, situation: Situation, previous: tuple[str, str] | None = None) -> Refusal | None:
        """The first check's refusal of `move`, or None when it stands. `previous` is the latest refusal's
        (reason, said): the same move made right after it passes the `once` checks."""
        if not isinstance(move, Finish | ToolCall):
            return None
        said = move.answer[:160] if isinstance(move, Finish) else describe_call(move.tool,
                                                                                  move.arguments.model_dump())
        insists = previous is not None and previous[1] == said
        for check in self.checks:
            if (isinstance(move, check.looks_at) and not (check.once and insists)
                    and (reason := check.test(move, situation)) is not None):
                return Refusal(check.name, reason, said)
        return None
