"""Integrates the results into the final answer when the run stopped before the model gave one itself."""

import difflib
import re
from collections.abc import Callable, Collection, Sequence

from agent.deciding.moves import MAX_ANSWER_CHARS, FinalAnswer
from agent.events import Event
from agent.prompt_files import render
from agent.prompting.meter import Meter
from agent.prompting.structured import ask_or_none
from agent.prompting.templates import conversation
from agent.records import Task, TaskStatus
from agent.text import loops, passages, references, resolve_refs
from agent.tools.base import Tool

NOTHING = "No result was produced before the run stopped, so the objective is not answered."
RECENT = 8
DIRECT_TOKENS = 256  # as a step done in words


class Integrator:
    def __init__(self, meter: Meter, *, system: str, retries: int, emit: Callable[[Event], None],
                 tools: Sequence[Tool] = ()) -> None:
        self.meter, self.system, self.retries, self.emit = meter, system, retries, emit
        self.tools = {t.name: t for t in tools}

    def final_answer(self, objective: str, tasks: list[Task], *, write: bool = True) -> str:
        """The answer, written from whatever results exist; runs even after a token or cycle budget is spent.
        Results are inserted by reference, so a tool's output reaches the answer exactly as the tool gave it.
        With `write` False (the time is up) no model call is made: the latest result is reported as such."""
        done = [task for task in tasks if task.status is TaskStatus.done and task.result]
        if not done:
            return self._asked_directly(objective) if write else NOTHING
        if not write:
            return f"The time budget ran out before an answer was written; the latest result was: {done[-1].result}"
        with self.meter.unbounded():
            reply = ask_or_none(self.meter, conversation(objective, render("final", tasks=done[-RECENT:]), self.system),
                                FinalAnswer, purpose="final", retries=self.retries, emit=self.emit)
        # no answer, a degenerate one, or the text a step read said back: the latest result is the most honest
        readers = [name for name, tool in self.tools.items() if tool.reads_text]
        if reply is None or loops(reply.answer) or leftover_placeholder(
                settled := settle_answer(reply.answer, tasks, objective)) or copies_read_text(settled, objective,
                                                                                              tasks, readers):
            return self._latest(done[-1], objective)
        return settled

    def _latest(self, task: Task, objective: str) -> str:
        """The latest result as the answer: in words where its tool states it so (a head's names), else as it is."""
        tool = self.tools.get(task.tool or "")
        plain = tool.plain(task.result or "", objective) if tool is not None else None
        return plain or f"The run stopped before an answer was written; the latest result was: {task.result}"

    def _asked_directly(self, objective: str) -> str:
        """No step settled anything (every decision refused or invalid): the objective is asked as the model
        alone would be asked, so a question the model answers by itself is not lost to the loop. A reply that is
        one more move (JSON) or loops answers nothing."""
        with self.meter.unbounded():
            reply = self.meter.generate([{"role": "user", "content": objective}], purpose="final",
                                        max_new_tokens=DIRECT_TOKENS).text.strip()
        return NOTHING if not reply or loops(reply) or reply.startswith(("{", "[")) else conclusion(reply)


def settle_answer(answer: str, tasks: list[Task], objective: str) -> str:
    """An answer with `{N}` references replaced by the exact results and `{a}` by the objective's passages, and
    without the `<data>` markers the prompts wrap material in (a model copying a quoted result copies them too)."""
    return _DATA_MARK.sub("", str(resolve_refs(answer, tasks, passages(objective)))).strip()


def conclusion(reply: str) -> str:
    """The answer a step worked out in words comes to: a reply longer than an answer may be (a reasoning) is
    answered by its last "Answer: ..." line, or else by the last line with a boxed result ("\\boxed{225}"),
    without the markup; a shorter reply, or one that states neither, is its own answer. The reasoning itself
    stays the step's result."""
    if len(reply) <= MAX_ANSWER_CHARS:
        return reply
    stated = [m.group(1).strip() for m in _ANSWER_LINE.finditer(reply)]
    if stated and stated[-1]:
        return _unmarked(stated[-1])
    boxed = [line for line in reply.splitlines() if "\\boxed{" in line]
    return _unmarked(boxed[-1]) if boxed else reply


def _unmarked(line: str) -> str:
    """A line of LaTeX as plain text: \\boxed{x} becomes x, inline and display delimiters go."""
    line = _BOXED.sub(r"\1", line)
    plain = re.sub(r"\s+([.,;!?])", r"\1", re.sub(r"\s+", " ", _DELIMITERS.sub(" ", line)))
    return plain.strip(" :") or line


_ANSWER_LINE = re.compile(r"(?im)^\W*answer\W*:\s*(.+)$")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_DELIMITERS = re.compile(r"\\[()\[\]]|\$\$?|\*\*")
_DATA_MARK = re.compile(r"<\s*/?\s*data\s*>", re.IGNORECASE)


def computes_inside(placeholder: str) -> bool:
    """Whether a placeholder writes arithmetic inside its braces ("{1.counts.positive * 14}")."""
    return _ARITHMETIC.search(placeholder) is not None


def leftover_placeholder(answer: str) -> str | None:
    """A `{N}`-like placeholder left in a settled answer (it named no step and no passage), or None."""
    found = _PLACEHOLDER.search(answer)
    return None if found is None else found.group(0)


# "{N}", "{x}", "{-1}", and arithmetic written inside the braces ("{1.counts.positive * 14}"), which nothing computes
_OPERATION = r"\s*[-+*/×]\s*-?[\w.]{1,24}"  # " * 14"
_PLACEHOLDER = re.compile(rf"\{{\s*-?[\w.]{{0,24}}(?:{_OPERATION})*\s*\}}")
_ARITHMETIC = re.compile(rf"[\w.]{_OPERATION}")


def unused_numbers(objective: str, tasks: list[Task]) -> list[str]:
    """The numbers an objective that chains its steps ("…, then multiply the sum by 27") states but no step
    that ran has used, in the order written; [] for an objective that chains nothing. An answer given while
    one is left stops short of a step the objective asks for ("42 * 63 = 2646." for "Compute 42 * 63. Then
    subtract 607 from that result."). The objective's passages are set aside: a review's words chain nothing."""
    text = objective
    for passage in passages(objective).values():
        text = text.replace(passage, " ")
    if not _CHAINED.search(text):
        return []
    used = {_number(n) for t in tasks if t.status is TaskStatus.done for n in _NUMERAL.findall(t.description)}
    return [n for n in dict.fromkeys(_NUMERAL.findall(text)) if _number(n) not in used]


def retyped_from(answer: str, tasks: list[Task], objective: str) -> tuple[int, int] | None:
    """(N, M) when the answer quotes step N's result but a later step M went on from it by retyping one of its
    numbers rather than quoting it ("80 * 24" after step N found "80 days"): a number of N's result that the
    objective does not state. The answer then stops short of M's result; None when it quotes M too."""
    quoted = references(answer)
    stated = {_number(n) for n in _NUMERAL.findall(objective)}
    for task in (t for t in tasks if t.id in quoted and t.result):
        found = {_number(n) for n in _NUMERAL.findall(task.result or "")} - stated
        later = [t.id for t in tasks if t.id > task.id and t.status is TaskStatus.done
                 and found & {_number(n) for n in _NUMERAL.findall(t.description)}]
        if later and not set(later) & set(quoted):
            return task.id, later[-1]
    return None


def _number(numeral: str) -> float:
    return float(numeral.replace(",", ""))


_CHAINED = re.compile(r"\bthen\b", re.IGNORECASE)
_NUMERAL = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")


def restates(answer: str, objective: str) -> bool:
    """Whether `answer` only says the objective back ("1. List the three uses of a paperclip." for "List three
    uses of a paperclip"): the same words in the same order, or most of them in a row, and nothing else
    (articles and the like aside). "1964 is a leap year." answers "Is 1964 a leap year?", so for a question
    only an answer that asks it again counts ("What is 614 * 624")."""
    said, asked = _sequence(answer), _sequence(objective)
    if not said or len(said) < 0.6 * len(asked) or f" {' '.join(said)} " not in f" {' '.join(asked)} ":
        return False
    question = objective.rstrip().endswith("?")
    return not question or said[0] == asked[0] in _INTERROGATIVES


def copies_read_text(answer: str, objective: str, tasks: list[Task], readers: Collection[str]) -> int | None:
    """The step whose one text read (the input of a tool that reads text, a head) the answer only says back, or
    None ("Tourists in Chicago and Tokyo can now book rides." for "Which places are named in: Tourists in …"):
    the text itself, not what the step found in it."""
    said = _sequence(answer)
    if len(said) < 4:
        return None
    found = passages(objective)
    for task in tasks:
        if task.tool not in readers or task.status is not TaskStatus.done:
            continue
        texts = [t for t in _strings(resolve_refs(task.arguments or {}, tasks, found)) if len(_sequence(t)) >= 4]
        if len(texts) == 1 and difflib.SequenceMatcher(a=said, b=_sequence(texts[0]), autojunk=False).ratio() >= 0.75:
            return task.id
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for item in items for s in _strings(item)]


def _sequence(text: str) -> list[str]:
    text = _LIST_MARK.sub(" ", text)
    return [w for w in re.findall(r"[^\W_]+", text.casefold()) if w not in _FILLER]


_LIST_MARK = re.compile(r"(?m)^\s*\d{1,2}[.)]\s+")  # "1. " opening a line: numbering, not content
_FILLER = {"the", "a", "an", "is", "are", "of", "to", "answer", "objective", "task"}
_INTERROGATIVES = {"what", "how", "which", "who", "whom", "whose", "when", "where", "why"}
