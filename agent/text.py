"""Text primitives in one home: the passages an objective hands over, references to results, dates as written,
what an objective mentions (numbers, dates, text to read, a fact to keep), its instruction sentences, and
degenerate repetition.

The passages an objective hands over, so that tool arguments can take them by reference, not retyped.
A small model copying three review sentences into a tool call runs them together or loops inside the string;
writing `{a}`, `{b}`, `{c}` it cannot get them wrong. The passages are, in the first form that applies: items
enumerated `(a) … (b) …` (or `(1) … (2) …`, or numbered `1. … 2. …` in order), then passages in double quotes,
then a passage of at least six words after the objective's first colon ("List the named entities in: …"; not a
question, which is the objective's own: "settle a bet: how many sides does a triangle have?"), then
arithmetic expressions (numbers with an operator between spaces: "-161 - 859 - -453", not a date like
2022-06-17). They are labelled a, b, c … in order whatever the objective's own labels, and `{a}` in a tool
argument or an answer becomes passage a exactly. Sentences that only instruct ("Give only the result as your
final answer.", "Reply with just the number.") are never part of a passage or an expression."""

import json
import re
from string import ascii_lowercase
from typing import Any

from agent.records import Task, TaskStatus

MAX_PASSAGES = 26
_ENUMERATED = re.compile(r"(?:^|(?<=\s))\((?:[a-z]|\d{1,2})\)\s+")
_NUMBERED = re.compile(r"(?:^|(?<=\s))(\d{1,2})[.)]\s+(?=\S)")  # "1. " or "2) " opening an item
# A sentence that only tells how to answer: opened by an instruction verb ("Give", "Reply with", "Do not ..."),
# or about the answer itself ("Your final answer should ...", "The answer must ..."); it hands over nothing.
_INSTRUCTION = re.compile(
    r"(?:please\s+|kindly\s+)?(?:give|answer|reply|respond|return|output|write|put|provide|state|express|format|"
    r"show|present|use|include|end|finish|only|just|do\s+not|don't|no\s+need|without|make\s+sure|be\s+sure|"
    r"keep\s+(?:it|the\s+answer)|(?:your|the)\s+(?:final\s+)?(?:answer|reply|response|output|result)\s+"
    r"(?:should|must|has\s+to|needs?\s+to|is\s+to))\b",
    re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUOTED = re.compile(r"\"([^\"]{3,})\"|“([^”]{3,})”")
# '…' between spaces or punctuation ("don't" and "it's" open nothing): after a colon passage, which it may be
_SINGLE_QUOTED = re.compile(r"(?:(?<=[\s:(])|^)'([^'\n]{3,}?)'(?=[\s.,;:!?)]|$)")
_AFTER_COLON = re.compile(r":\s+(.+)$", re.DOTALL)
_WORD = re.compile(r"[^\W\d_]{2,}")
_NUMBER = r"\(*\s*-?\d[\d,]*(?:\.\d+)?\s*\)*"
_EXPRESSION = re.compile(rf"{_NUMBER}(?:\s*[-+*/×÷^]\s*{_NUMBER})+")
_SPACED_OPERATOR = re.compile(r"\s[-+*/×÷^]\s")
# an operation written in words between two numbers: "2 to the power 10", "17 times 23", "96 divided by 4"
_WORD_OPERATORS = {"plus": "+", "minus": "-", "times": "*", "multiplied by": "*", "divided by": "/",
                   "to the power of": "^", "to the power": "^", "raised to the power of": "^", "raised to": "^"}
_WORD_OPERATOR = "|".join(r"\s+".join(map(re.escape, words.split()))
                          for words in sorted(_WORD_OPERATORS, key=len, reverse=True))
_WORDED = re.compile(rf"(?<![\w.,])-?\d[\d,]*(?:\.\d+)?(?:\s+(?:{_WORD_OPERATOR})\s+-?\d[\d,]*(?:\.\d+)?)+(?![\w.]\d)",
                     re.IGNORECASE)
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,250 -> 1250, as a calculator reads; "3, 4" stays
REFERENCE = re.compile(r"\{(\d{1,3})((?:\.[\w-]+)*)\}")  # {N} or {N.key.key}: task N's result
_ANY_REFERENCE = re.compile(r"\{(?P<id>\d{1,3})(?P<path>(?:\.[\w-]+)*)\}|\{(?P<label>[a-z])\}")
MAX_RESOLVED_CHARS = 20_000  # a text with its references inserted: a tool argument, an answer
PASSAGE_REFERENCE = re.compile(r"\{([a-z])\}")  # {a}: the objective's passage a
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


def task_text(objective: str) -> str:
    """The objective without the sentences that only instruct how to answer (see _INSTRUCTION); a sentence is
    kept whole when it holds a quoted passage, whatever it opens with."""
    kept = [s for s in _SENTENCE_END.split(objective.strip())
            if not (_INSTRUCTION.match(s) and not _QUOTED.search(s) and not _SINGLE_QUOTED.search(s))]
    return " ".join(kept).strip() or objective


def _numbered(objective: str) -> list[re.Match[str]]:
    """The markers of items numbered 1, 2, 3 … in order (at least two), or none."""
    markers: list[re.Match[str]] = []
    for match in _NUMBERED.finditer(objective):
        if int(match.group(1)) == len(markers) + 1:
            markers.append(match)
    return markers if len(markers) >= 2 else []


def _found(objective: str) -> list[tuple[str, str]]:
    """(marker, passage) pairs: marker is the item's own label "(a)", or "quoted", "colon" or "expression"."""
    objective = task_text(objective)
    markers = list(_ENUMERATED.finditer(objective)) or _numbered(objective)
    if len(markers) >= 2:
        ends = [m.start() for m in markers[1:]] + [len(objective)]
        found = [(m.group(0).strip(), objective[m.end():end].strip()) for m, end in zip(markers, ends)]
    elif quoted := [a or b for a, b in _QUOTED.findall(objective)]:
        found = [("quoted", q.strip()) for q in quoted]
    elif ((after := _AFTER_COLON.search(objective)) and len(_WORD.findall(after.group(1))) >= 6
          and not after.group(1).rstrip().endswith("?")):  # "settle a bet: how many sides …?" is the question
        found = [("colon", after.group(1).strip())]
    elif quoted := _SINGLE_QUOTED.findall(objective):
        found = [("quoted", q.strip()) for q in quoted]
    else:
        symbolic = [(m.start(), THOUSANDS.sub("", _trim_unmatched(m.group(0).strip())))
                    for m in _EXPRESSION.finditer(objective) if _SPACED_OPERATOR.search(m.group(0))]
        worded = [(m.start(), _in_symbols(m.group(0))) for m in _WORDED.finditer(objective)]
        found = [("expression", text) for _, text in sorted(symbolic + worded)]
    return [(marker, text) for marker, text in found if text]


def _in_symbols(worded: str) -> str:
    """An operation written in words, in symbols: "2 to the power 10" -> "2 ^ 10"."""
    for words, symbol in sorted(_WORD_OPERATORS.items(), key=lambda item: -len(item[0])):
        spaced = r"\s+".join(map(re.escape, words.split()))
        worded = re.sub(rf"\s+{spaced}\s+", f" {symbol} ", worded, flags=re.IGNORECASE)
    return THOUSANDS.sub("", worded)


def split_labels(items: list[object]) -> list[object]:
    """A list argument with any item that names several passages and nothing else (`{a}', '{b}`, a small
    model writing the list inside one string) split into one item per label."""
    split: list[object] = []
    for item in items:
        if isinstance(item, str) and _LABELS_ONLY.fullmatch(item):
            split += [f"{{{label}}}" for label in PASSAGE_REFERENCE.findall(item)]
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
    (strings inside dicts and lists too); references to nothing stay as written. One pass: what is inserted is
    never read for references again (a result holding "{a}" stays as it is), and the whole is cut at
    MAX_RESOLVED_CHARS, so no reference can make a text grow without bound."""
    if isinstance(value, str):
        results = {t.id: (t.result or "").strip() for t in tasks if t.status is not TaskStatus.pending}
        found = passages or {}

        def insert(match: re.Match[str]) -> str:
            if match.group("label") is not None:
                return found.get(match.group("label"), match.group(0))
            result = results.get(int(match.group("id")))
            part = None if result is None else result_part(result, match.group("path"))
            return match.group(0) if part is None else part

        resolved = _ANY_REFERENCE.sub(insert, value)
        return resolved if len(resolved) <= MAX_RESOLVED_CHARS else resolved[:MAX_RESOLVED_CHARS] + " […]"
    if isinstance(value, dict):
        return {k: resolve_refs(v, tasks, passages) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, tasks, passages) for v in (split_labels(value) if passages else value)]
    return value


def valid_text(text: str) -> str:
    """`text` with lone surrogates (which JSON allows and UTF-8 cannot store) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def structured(result: str | None) -> bool:
    """Whether a result is a JSON object or list (a head's counts and predictions): not an answer as it is."""
    try:
        return isinstance(json.loads(result or ""), dict | list)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets, as in result_part
        return False


def result_part(result: str, path: str) -> str | None:
    """The part of a result that a reference's `.key.key` path names (keys of the result read as JSON, or
    indices into its lists), as plain text: the whole result for no path, None where there is no such part."""
    if not path:
        return result
    try:
        value = json.loads(result)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
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


# --- what an objective mentions ---

_NUMBER_WORD = re.compile(r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                          r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
                          r"seventy|eighty|ninety|hundred|thousand|million|billion|dozen|half|twice|double|triple)\b",
                          re.IGNORECASE)
_CALENDAR_WORD = re.compile(r"\b(?:january|february|march|april|may|june|july|august|september|october|november|"
                            r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|leap|today|"
                            r"tomorrow|yesterday|weekday|weekend)\b|\b[12]\d{3}\b", re.IGNORECASE)
_KEEP = re.compile(r"\b(?:remember|memori[sz]e|keep\s+(?:in\s+mind|track|a\s+note)|note\s+(?:that|down|this)|"
                   r"take\s+note|make\s+a\s+note|store|save|don'?t\s+forget|do\s+not\s+forget|write\s+down|"
                   r"for\s+later)\b", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_][\w'-]*")
_STATED_NUMBER = re.compile(r"(?<![\w-])-?\d[\d,]*(?:\.\d+)?(?![\w-])")  # "jade-94" or "A4" state no quantity
_QUANTITY = re.compile(r"%|\$|£|€|\b(?:how\s+(?:many|much|long|far|old)|total|sum|product|average|mean|convert|"
                       r"percent(?:age)?|per|each|every|cost|price|pay|times|twice|half|double|triple|square|root|"
                       r"power|divide|multiply|add|subtract|minus|plus|difference|more|less|left|remain\w*|"
                       r"count|compute|calculate|evaluate|solve|what\s+is)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<=\s)[A-Z][\w'-]+")  # a capitalized word inside a sentence
TEXT_WORDS = 14  # an objective this long hands over text to read even without a passage marked out


def mentions_number(objective: str) -> bool:
    """Whether the objective states a number, in digits or in words."""
    return any(c.isdigit() for c in objective) or _NUMBER_WORD.search(objective) is not None


def asks_to_compute(objective: str) -> bool:
    """Whether the objective gives something to compute: two numbers or more, or one with a word of quantity
    ("how many", "total", "convert", "%", "per" …); a code word or a house number alone is not arithmetic."""
    numbers = len(_STATED_NUMBER.findall(objective)) + len(_NUMBER_WORD.findall(objective))
    return numbers >= 2 or (numbers == 1 and _QUANTITY.search(objective) is not None)


def mentions_date(objective: str) -> bool:
    """Whether the objective states a date, a month, a weekday or a year (or speaks of today, a leap year)."""
    return STATED_DATE.search(objective) is not None or _CALENDAR_WORD.search(objective) is not None


def hands_over_text(objective: str) -> bool:
    """Whether the objective hands over text to read: an enumerated, quoted or colon passage, names (two
    capitalized words that do not open a sentence), or many words."""
    found = _found(objective)
    names = _NAME.findall(objective)
    return (any(marker != "expression" for marker, _ in found) or len(names) >= 2
            or len(_WORDS.findall(objective)) >= TEXT_WORDS)


_ASKS = re.compile(r"\bhow\s+(?:many|much)\b", re.IGNORECASE)


def question_sentences(objective: str) -> list[str]:
    """The objective's sentences that ask ("…?", or "… how many …"), less any inside a passage it hands over:
    text to read is never the question about it."""
    rest = objective.strip()
    for marker, text in _found(objective):
        if marker != "expression":
            rest = rest.replace(text, "\n")
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", rest)
            if (s.rstrip().endswith("?") or _ASKS.search(s)) and len(_WORDS.findall(s)) >= 3]


def asks_to_keep(objective: str) -> bool:
    """Whether the objective asks to keep a fact ("Remember: …", "keep in mind that …", "note that …")."""
    return _KEEP.search(objective) is not None
