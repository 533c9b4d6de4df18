"""Evaluation suites: JSON lines of objective + check, run through agents, scored and tabulated."""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from agent.errors import AgentError
from agent.events import Event
from agent.json_lines import parse_json_lines, read_lines
from agent.memory.base import Memory
from agent.schemas import Strict

if TYPE_CHECKING:
    from agent.run.agent import Agent

DEFAULT_TOOLS = ["calculator", "dates", "convert"]  # as `agent run` without --tool
MAX_PATTERN_CHARS = 500
MAX_PATTERN_CODE = 5_000  # words of compiled regex program: bounds what a suite file can make us build
MAX_ANSWER_CHARS = 300  # kept per item in the report
CHECKED_CHARS = 20_000  # of the answer searched by a check: bounds the work of a hostile regex


class NumberCheck(Strict):
    type: Literal["number"]
    value: float
    tolerance: float = Field(0.0, ge=0)


class StringsCheck(Strict):
    """`values` must appear in the answer (all or any); none of `forbid` may (e.g. a stretch of the input
    that a list of entities never contains, so that echoing the input fails)."""

    type: Literal["strings"]
    values: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    mode: Literal["all", "any"] = "all"
    forbid: list[Annotated[str, Field(min_length=1)]] = []


class RegexCheck(Strict):
    type: Literal["regex"]
    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if _program_size(pattern) > MAX_PATTERN_CODE:
            raise ValueError(f"compiles to more than {MAX_PATTERN_CODE} instructions; simplify it")
        return pattern


class LabelCheck(Strict):
    type: Literal["label"]
    value: str = Field(min_length=1)
    labels: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _value_is_a_label(self) -> LabelCheck:
        if self.value not in self.labels:
            raise ValueError(f"value {self.value!r} is not one of labels {self.labels}")
        return self


class AllCheck(Strict):
    """Every part must pass: e.g. the number, and the format the objective states ("just the number")."""

    type: Literal["all"]
    checks: list[Annotated[NumberCheck | StringsCheck | RegexCheck | LabelCheck, Field(discriminator="type")]] = \
        Field(min_length=1, max_length=8)


Check = Annotated[NumberCheck | StringsCheck | RegexCheck | LabelCheck | AllCheck, Field(discriminator="type")]
Split = Literal["tune", "heldout_template", "heldout_kind"]
MAX_ITEM_FILES = 8
MAX_ITEM_FILE_CHARS = 20_000


class EvalItem(Strict):
    """One suite line. `tools` None means the default tools (or, in an evaluation of the whole tool set, every
    tool the evaluation has); [] means none. Items sharing `memory` share one store and run in file order.
    `kind` groups items in the totals; `template` and `split` say which wording the item has and whether that
    wording (or its whole kind) is held out from tuning. `files` are written into a workspace of the item's own,
    offered through the workspace file tools."""

    id: str = Field(min_length=1, max_length=200)
    kind: str | None = Field(None, min_length=1, max_length=50)
    objective: str = Field(min_length=1)
    check: Check
    tools: list[str] | None = None
    memory: str | None = Field(None, min_length=1, max_length=200)
    template: str | None = Field(None, min_length=1, max_length=100)
    split: Split | None = None
    files: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")],
                Annotated[str, Field(max_length=MAX_ITEM_FILE_CHARS)]] | None = Field(None, max_length=MAX_ITEM_FILES)


def parse_suite(lines: Iterable[str], source: str = "suite") -> list[EvalItem]:
    """Validate JSON lines (blank lines skipped); any problem is a UsageError naming `source` and the line."""
    return parse_json_lines(lines, source, EvalItem.model_validate_json, lambda item: item.id, noun="item",
                            plural="items")


def load_suite(path: Path) -> list[EvalItem]:
    return parse_suite(read_lines(path, "suite"), str(path))


# --- checkers ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"""
    (?<![\w.])                                  # not the tail of a word (amber-17 is not -17) or number
    (?P<sign>[-+\u2212])?
    (?P<body>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)   # 1,234.5 | 42 | .5 ; a trailing '.' is punctuation
    (?P<exp>[eE][-+]?\d+)?
""", re.VERBOSE)


def last_number(text: str) -> float | None:
    """The last number written in `text`, or None."""
    found = None
    for found in _NUMBER.finditer(text):  # noqa: B007 (the loop runs only to leave the last match in `found`)
        pass
    if found is None:
        return None
    sign = "-" if found["sign"] in ("-", "\u2212") else ""
    return float(sign + found["body"].replace(",", "") + (found["exp"] or ""))


def _mentions(text: str, phrase: str) -> re.Match[str] | None:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE)


def first_label(text: str, labels: list[str]) -> str | None:
    """The label mentioned earliest in `text` (whole words, any case); the longer one wins a tie."""
    hits = [(m.start(), -len(label), label) for label in labels if (m := _mentions(text, label))]
    return min(hits)[2] if hits else None


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def passes(check: Check, answer: str) -> bool:
    """Whether `answer` satisfies `check`."""
    answer = answer[:CHECKED_CHARS]
    if isinstance(check, NumberCheck):
        number = last_number(answer)
        # the small relative slack absorbs float formatting, e.g. 0.1 + 0.2 written as 0.30000000000000004
        return number is not None and abs(number - check.value) <= check.tolerance + 1e-9 * max(1.0, abs(check.value))
    if isinstance(check, StringsCheck):
        squashed = _squash(answer)
        found = [_squash(value) in squashed for value in check.values]
        if any(_squash(value) in squashed for value in check.forbid):
            return False
        return all(found) if check.mode == "all" else any(found)
    if isinstance(check, RegexCheck):
        return re.search(check.pattern, answer) is not None
    if isinstance(check, AllCheck):
        return all(passes(part, answer) for part in check.checks)
    return first_label(answer, check.labels) == check.value


def _program_size(pattern: str) -> int:
    # CPython's compiler is private; where it moved, only the character limit guards the pattern
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        return len(_compiler._code(_parser.parse(pattern), 0))
    except (ImportError, AttributeError, TypeError):
        return 0


# --- running ----------------------------------------------------------------------------------------------

# What a failed structured reply looks like when it leaks into a final answer: a JSON object or fenced block,
# <data> markup, the validator's or the repair prompt's words. The answer is then the machinery talking, not an
# answer. A bare list ("[Clarke, Heseltine]") is a plausible answer and is not counted.
_LEAKED = re.compile(r"""\A\s*(?:\{|```)|</?data\b|not valid JSON|invalid JSON|Field required|"""
                     r"""That reply is not valid|validation error|Reply again with JSON""", re.IGNORECASE)


def parse_failure_answer(answer: str) -> bool:
    """Whether a final answer is empty or is leaked machinery (JSON, markup, a validation error)."""
    return not answer.strip() or _LEAKED.search(answer[:CHECKED_CHARS]) is not None


class ItemResult(BaseModel):
    id: str
    kind: str | None = None
    split: str | None = None
    template: str | None = None
    success: bool
    status: str | None  # the run's RunStatus; None when it raised
    llm_calls: int
    tokens: int
    seconds: float
    parse_failures: int
    answer: str
    error: str | None = None
    refused_by: list[str] = []  # the answer checks that refused a move of the run, in order

    @computed_field  # type: ignore[prop-decorator]
    @property
    def parse_failure_answer(self) -> bool:
        return self.error is None and parse_failure_answer(self.answer)


class KindTotals(BaseModel):
    kind: str
    items: int
    passed: int
    median_llm_calls: float
    median_seconds: float
    parse_failure_answers: int


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def kind_totals(items: list[ItemResult]) -> list[KindTotals]:
    """Totals per kind, in order of first appearance; items without a kind count under "-"."""
    groups: dict[str, list[ItemResult]] = {}
    for result in items:
        groups.setdefault(result.kind or "-", []).append(result)
    return [KindTotals(kind=kind, items=len(group), passed=sum(r.success for r in group),
                       median_llm_calls=_median([r.llm_calls for r in group]),
                       median_seconds=_median([r.seconds for r in group]),
                       parse_failure_answers=sum(r.parse_failure_answer for r in group))
            for kind, group in groups.items()]


class SuiteReport(BaseModel):
    items: list[ItemResult]
    kinds: list[KindTotals]
    passed: int
    success_rate: float
    llm_calls: int
    tokens: int
    seconds: float
    parse_failures: int
    parse_failure_answers: int
    errors: int
    mean_llm_calls: float
    mean_tokens: float
    mean_seconds: float
    median_llm_calls: float
    median_seconds: float

    @classmethod
    def of(cls, items: list[ItemResult]) -> SuiteReport:
        n = max(1, len(items))
        calls, tokens = sum(i.llm_calls for i in items), sum(i.tokens for i in items)
        seconds = round(sum(i.seconds for i in items), 3)
        passed = sum(i.success for i in items)
        return cls(items=items, kinds=kind_totals(items), passed=passed, success_rate=passed / n,
                   llm_calls=calls, tokens=tokens, seconds=seconds,
                   parse_failures=sum(i.parse_failures for i in items),
                   parse_failure_answers=sum(i.parse_failure_answer for i in items),
                   errors=sum(i.error is not None for i in items), mean_llm_calls=calls / n,
                   mean_tokens=tokens / n, mean_seconds=seconds / n,
                   median_llm_calls=_median([i.llm_calls for i in items]),
                   median_seconds=_median([i.seconds for i in items]))


class _Tally:
    """Usage seen through events: what is left to report when a run raises before its result."""

    def __init__(self) -> None:
        self.calls = self.tokens = self.rejected = 0
        self.refused_by: list[str] = []

    def __call__(self, event: Event) -> None:
        if event.kind == "model_called":
            self.calls += 1
            self.tokens += event.prompt_tokens + event.completion_tokens  # type: ignore[attr-defined]
        elif event.kind == "output_rejected":
            self.rejected += 1
        elif event.kind == "judged" and getattr(event, "check", None):
            self.refused_by.append(event.check)  # type: ignore[attr-defined]


def run_item(item: EvalItem, make_agent: Callable[[EvalItem], Agent], keep_successes: bool = True) -> ItemResult:
    """Run one item; an AgentError is recorded in the result, anything else is a bug and propagates. A run that
    passes its check is kept as an experience (when the agent has an experience store) unless `keep_successes`
    is False: a measurement that must not learn from the items it measures."""
    tally, start = _Tally(), time.perf_counter()
    agent = make_agent(item)
    try:
        result = agent.run(item.objective, on_event=tally, record=False)
    except AgentError as exc:
        return ItemResult(id=item.id, kind=item.kind, split=item.split, template=item.template, success=False,
                          status=None, llm_calls=tally.calls, tokens=tally.tokens,
                          seconds=round(time.perf_counter() - start, 3), parse_failures=tally.rejected, answer="",
                          error=f"{type(exc).__name__}: {exc}", refused_by=tally.refused_by)
    success = passes(item.check, result.final_answer)
    if success and keep_successes:  # only a checked success becomes an experience
        agent.record_success(result)
    return ItemResult(id=item.id, kind=item.kind, split=item.split, template=item.template, success=success,
                      status=result.status.value, llm_calls=result.usage.llm_calls,
                      tokens=result.usage.total_tokens, seconds=round(time.perf_counter() - start, 3),
                      parse_failures=tally.rejected, answer=result.final_answer[:MAX_ANSWER_CHARS],
                      refused_by=tally.refused_by)


def run_suite(items: list[EvalItem], make_agent: Callable[[EvalItem], Agent], progress: bool = True,
              on_item: Callable[[ItemResult], None] = lambda result: None, keep_successes: bool = True) -> SuiteReport:
    """Run the items one by one, in order (items sharing a memory key depend on it); each item's result goes to
    `on_item` as soon as it is known, so a run cut short still leaves what it measured."""
    results: list[ItemResult] = []

    def run(item: EvalItem) -> ItemResult:
        result = run_item(item, make_agent, keep_successes)
        on_item(result)
        return result

    if not progress:
        return SuiteReport.of([run(item) for item in items])
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("eval", total=len(items))
        for item in items:
            bar.update(task, description=f"{item.id} · passed {sum(r.success for r in results)}")
            results.append(run(item))
            bar.advance(task)
    return SuiteReport.of(results)


class SharedMemories:
    """One chroma store per memory key under `root`, opened on first use; items without a key get None."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._open: dict[str, Memory] = {}

    def __call__(self, key: str | None) -> Memory | None:
        if key is None:
            return None
        if key not in self._open:
            from agent.memory.chroma import ChromaMemory

            # a digest, not the key itself: keys are free text, directory names are not
            self._open[key] = ChromaMemory.persistent(self.root / hashlib.sha1(key.encode()).hexdigest()[:16])
        return self._open[key]
