"""The format an objective states for its answer, and the final answer put into it.

A user who writes "Reply with just the number", "Answer yes or no", "one per line", "as a comma-separated list"
or "in lower case" gets an answer in that form: the answer's content is the model's (or the tools'), and only its
form is changed here, so an answer that does not hold what the format needs (no number for "just the number")
stays as it is."""

import re
from enum import Enum

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


class Form(Enum):
    number = "number"
    yes_no = "yes_no"
    lines = "lines"
    commas = "commas"
    one_word = "one_word"


_STATED = (
    (Form.number, re.compile(
        r"\b(?:just|only|simply|nothing\s+but)\s+(?:the\s+|a\s+|one\s+|your\s+)?(?:final\s+|single\s+|total\s+)?"
        r"(?:number|numeral|result|total|value|amount|figure|integer|count|digits?|numeric\s+answer)\b"
        r"|\b(?:a\s+single|one)\s+number\b|\b(?:number|digits?)\s+only\b|\bdo\s+not\s+include\s+units\b"
        r"|\bwithout\s+(?:any\s+)?units\b|\bno\s+units\b", re.IGNORECASE)),
    (Form.yes_no, re.compile(r"\b(?:yes\s+or\s+no|yes/no)\b", re.IGNORECASE)),
    (Form.lines, re.compile(r"\bone\s+(?:per|a|on\s+each)\s+line\b|\beach\s+on\s+(?:its\s+own|a\s+separate|a\s+new)"
                            r"\s+line\b|\bon\s+separate\s+lines\b", re.IGNORECASE)),
    (Form.commas, re.compile(r"\bcomma[- ]separated\b|\bseparated\s+by\s+commas\b", re.IGNORECASE)),
    (Form.one_word, re.compile(r"\b(?:one|a\s+single)\s+word\b", re.IGNORECASE)),
)
_LOWER = re.compile(r"\blower[- ]?case\b", re.IGNORECASE)
_OPTIONS = re.compile(r"(\w+)\s+or\s+(\w+)\s*[.:?]", re.IGNORECASE)  # "…: positive or negative."
_ITEM_SPLIT = re.compile(r"\s*(?:\n|;|,(?!\d{3})|\band\b)\s*")
_LEAD = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def stated_forms(objective: str) -> tuple[Form | None, bool]:
    """The form the objective asks its answer in (the first that it states), and whether in lower case."""
    form = next((form for form, pattern in _STATED if pattern.search(objective)), None)
    return form, _LOWER.search(objective) is not None


def follow_format(answer: str, objective: str) -> str:
    """`answer` in the form `objective` states; unchanged when it states none or the answer lacks what it needs."""
    form, lower = stated_forms(objective)
    shaped = _shape(answer.strip(), form, objective) if form else answer
    return shaped.lower() if lower else shaped


def _shape(answer: str, form: Form, objective: str) -> str:
    if form is Form.number:
        numbers = _NUMBER.findall(answer)
        return numbers[-1].rstrip(".") if numbers else answer
    if form is Form.yes_no:
        found = re.search(r"\b(yes|no)\b", answer, re.IGNORECASE)
        return found.group(1).capitalize() if found else answer
    if form is Form.one_word:
        options = [o for pair in _OPTIONS.findall(objective) for o in pair]
        said = {o.lower(): m.start() for o in options if (m := re.search(rf"\b{re.escape(o)}\b", answer, re.I))}
        if said:
            return min(said, key=said.__getitem__)
        words = re.findall(r"[^\W_][\w'-]*", answer)
        return words[0] if len(words) == 1 else answer
    items = _items(answer)
    if len(items) < 2:
        return answer
    return "\n".join(items) if form is Form.lines else ", ".join(items)


def _items(answer: str) -> list[str]:
    """The items of a list answer: its lines, or its parts between commas, semicolons and 'and', with a lead-in
    ("The people are: …") and list marks left out."""
    body = answer.split(":", 1)[1] if ":" in answer.split("\n", 1)[0] else answer
    parts = [_LEAD.sub("", part).strip(" .\"'") for part in _ITEM_SPLIT.split(body)]
    return list(dict.fromkeys(part for part in parts if part))
