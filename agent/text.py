"""The passages an objective hands over, so that tool arguments can take them by reference, not retyped.

A small model copying three review sentences into a tool call runs them together or loops inside the string;
writing `{a}`, `{b}`, `{c}` it cannot get them wrong. The passages are, in the first form that applies:
items enumerated `(a) … (b) …` (or `(1) … (2) …`), then passages in double quotes, then a passage of at least
six words after the objective's first colon ("List the named entities in: …"), then arithmetic expressions
(numbers with an operator between spaces: "-161 - 859 - -453", not a date like 2022-06-17). They are labelled
a, b, c … in order whatever the objective's own labels, and `{a}` in a tool argument or an answer becomes
passage a exactly."""

import json
import re
from string import ascii_lowercase
from typing import Any

from agent.records import Task, TaskStatus

MAX_PASSAGES = 26
_ENUMERATED = re.compile(r"(?:^|(?<=\s))\((?:[a-z]|\d{1,2})\)\s+")
_QUOTED = re.compile(r"\"([^\"]{3,})\"|“([^”]{3,})”")
_AFTER_COLON = re.compile(r":\s+(.+)$", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]{2,}")
_NUMBER = r"\(*\s*-?\d[\d,]*(?:\.\d+)?\s*\)*"
_EXPRESSION = re.compile(rf"{_NUMBER}(?:\s*[-+*/×÷^]\s*{_NUMBER})+")
_SPACED_OPERATOR = re.compile(r"\s[-+*/×÷^]\s")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,250 -> 1250, as a calculator reads; "3, 4" stays
REFERENCE = re.compile(r"\{(\d{1,3})((?:\.[\w-]+)*)\}")  # {N} or {N.key.key}: task N's result
_LABEL = re.compile(r"\{([a-z])\}")
_LABELS_ONLY = re.compile(r"\s*\{[a-z]\}(?:[\s,;'\"]*\{[a-z]\})+[\s'\"]*")


def passages(objective: str) -> dict[str, str]:
    """Label -> passage, for the objective's enumerated items, quoted passages, passage after a colon, or
    arithmetic expressions."""
    return dict(zip(ascii_lowercase, [text for _, text in _found(objective)][:MAX_PASSAGES]))


def hint(objective: str) -> dict[str, object]:
    """What prompts/passages.j2 needs to tell the model which labels insert which passages ({} if none): the
    labels, the form the passages take, the objective's own item markers, and whether there are several."""
    found = _found(objective)[:MAX_PASSAGES]
    if not found:
        return {}
    form = found[0][0] if found[0][0] in ("quoted", "colon", "expression") else "item"
    return {"labels": ", ".join(f"{{{label}}}" for label in ascii_lowercase[:len(found)]), "form": form,
            "markers": ", ".join(marker for marker, _ in found), "many": len(found) > 1}


def _found(objective: str) -> list[tuple[str, str]]:
    """(marker, passage) pairs: marker is the item's own label "(a)", or "quoted", "colon" or "expression"."""
    markers = list(_ENUMERATED.finditer(objective))
    if len(markers) >= 2:
        ends = [m.start() for m in markers[1:]] + [len(objective)]
        found = [(m.group(0).strip(), objective[m.end():end].strip()) for m, end in zip(markers, ends)]
    elif quoted := [a or b for a, b in _QUOTED.findall(objective)]:
        found = [("quoted", q.strip()) for q in quoted]
    elif (after := _AFTER_COLON.search(objective)) and len(_WORD.findall(after.group(1))) >= 6:
        found = [("colon", after.group(1).strip())]
    else:
        found = [("expression", THOUSANDS.sub("", _trim_unmatched(m.group(0).strip())))
                 for m in _EXPRESSION.finditer(objective) if _SPACED_OPERATOR.search(m.group(0))]
    return [(marker, text) for marker, text in found if text]


def insert_passages(text: str, found: dict[str, str]) -> str:
    """`text` with each `{x}` naming a passage replaced by it; other braces stay as written."""
    return _LABEL.sub(lambda m: found.get(m.group(1), m.group(0)), text)


def split_labels(items: list[object]) -> list[object]:
    """A list argument with any item that names several passages and nothing else (`{a}', '{b}`, a small
    model writing the list inside one string) split into one item per label."""
    split: list[object] = []
    for item in items:
        if isinstance(item, str) and _LABELS_ONLY.fullmatch(item):
            split += [f"{{{label}}}" for label in _LABEL.findall(item)]
        else:
            split.append(item)
    return split


def _trim_unmatched(expression: str) -> str:
    """An expression without the parentheses it opens or closes unmatched (a match can end inside a sentence's
    brackets)."""
    while expression.count("(") > expression.count(")") and expression.startswith("("):
        expression = expression[1:].lstrip()
    while expression.count(")") > expression.count("(") and expression.endswith(")"):
        expression = expression[:-1].rstrip()
    return expression


# --- references to results: {N}, {N.key} ---

def resolve_refs(value: Any, tasks: list[Task], passages: dict[str, str] | None = None) -> Any:
    """`value` with every `{N}` naming a settled task replaced by that task's exact result (`{N.key}`: the part
    of the result at that key), and every `{x}` naming one of the objective's `passages` by that passage
    (strings inside dicts and lists too); references to nothing stay as written."""
    if isinstance(value, str):
        results = {t.id: (t.result or "").strip() for t in tasks if t.status is not TaskStatus.pending}

        def insert(match: re.Match[str]) -> str:
            result = results.get(int(match.group(1)))
            part = None if result is None else result_part(result, match.group(2))
            return match.group(0) if part is None else part

        value = REFERENCE.sub(insert, value)
        return insert_passages(value, passages) if passages else value
    if isinstance(value, dict):
        return {k: resolve_refs(v, tasks, passages) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, tasks, passages) for v in (split_labels(value) if passages else value)]
    return value


def result_part(result: str, path: str) -> str | None:
    """The part of a result that a reference's `.key.key` path names (keys of the result read as JSON, or
    indices into its lists), as plain text: the whole result for no path, None where there is no such part."""
    if not path:
        return result
    try:
        value = json.loads(result)
    except ValueError:
        return None
    for key in path.split(".")[1:]:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)  # a list of names reads as one
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def references(text: str) -> list[int]:
    """The task ids a text refers to as `{N}` or `{N.key}`."""
    return sorted({int(m.group(1)) for m in REFERENCE.finditer(text)})


def unresolved_parts(text: str, tasks: list[Task]) -> list[int]:
    """The settled tasks whose result `text` quotes a part of (`{N.key}`) that the result does not have."""
    results = {t.id: t.result for t in tasks if t.result is not None}
    return sorted({int(m.group(1)) for m in REFERENCE.finditer(text) if int(m.group(1)) in results
                   and result_part(results[int(m.group(1))], m.group(2)) is None})


def renumber(text: str, first: int) -> str:
    """A planned step's text with `{N}` (step N of the same plan) rewritten to the id task N will get."""
    return REFERENCE.sub(lambda m: f"{{{first + int(m.group(1)) - 1}{m.group(2)}}}", text)


# --- dates as written in text ---

DATE_PATTERN = (r"^((Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), )?"
                r"((January|February|March|April|May|June|July|August|September|October|November|December) "
                r"(0?[1-9]|[12][0-9]|3[01]), [0-9]{4}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                r"|(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4})$")

# The same spellings inside a text (weekday names are left out: "Friday, June 17, 2022" states June 17, 2022).
STATED_DATE = re.compile(DATE_PATTERN.removeprefix("^((Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), )?")
                         .removesuffix("$").join((r"(?<![\w/-])", r"(?![\w/-])")))


# --- degenerate repetition ---

_LOOP = re.compile(r"(?<!\S)(\S+(?:\s+\S+){0,7}?)(?:\s+\1(?!\S)){4,}")  # 1-8 words, then 4 more times in a row
_STUTTER = re.compile(r"((?!0).{1,8}?)\1{19,}", re.DOTALL)  # 1-8 characters 20 times over, not zeros


def loops(answer: str) -> bool:
    """Whether `answer` is a degenerate loop of the same few words (small models' greedy failure mode; no
    answer to any objective is one phrase repeated over and over)."""
    return _LOOP.search(answer) is not None or _STUTTER.search(answer) is not None
