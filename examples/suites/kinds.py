"""Suite items by kind, each generated from a seed and each expected answer verified independently of its source
(our calculator, python's datetime, the gold annotations): an item that cannot be verified is dropped.

Every generator returns (objective, check, tools) triples; make_suites.py gives them ids and kinds. Objectives are
one line: whitespace is collapsed.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from pathlib import Path

from agent.heads.data import iob_spans, load_split
from agent.tools.calculator import CalculatorError, evaluate

Triple = tuple[str, dict, list[str]]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_CHECK = {"type": "label", "labels": list(WEEKDAYS)}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
# Legs per animal, written here rather than taken from the generator; animals whose "legs" are a matter of
# definition (starfish arms, woodlouse or shrimp appendages, legless sea creatures) are left out.
LEGS = {"snake": 0, "chicken": 2, "bird": 2, "human": 2, "duck": 2, "dog": 4, "cat": 4, "cow": 4, "horse": 4,
        "lion": 4, "elephant": 4, "giraffe": 4, "tiger": 4, "deer": 4, "sheep": 4, "insect": 6, "ant": 6,
        "butterfly": 6, "beetle": 6, "bee": 6, "wasp": 6, "grasshopper": 6, "cricket": 6, "cockroach": 6,
        "praying mantis": 6, "firefly": 6, "spider": 8, "scorpion": 8, "crab": 10, "lobster": 10}


def one_line(text: str) -> str:
    return " ".join(text.split())


def number_check(value: float) -> dict:
    return {"type": "number", "value": int(value) if float(value).is_integer() else value, "tolerance": 0}


def _rg(name: str, seed: int, count: int, **config) -> Iterator[dict]:
    import reasoning_gym

    # generous: verification drops some entries
    yield from reasoning_gym.create_dataset(name, size=count * 4 + 20, seed=seed, **config)


# --- word problems, arithmetic, products, legs -----------------------------------------------------------------

_EQUATION = re.compile(r"(?P<lhs>[\d.][\d.\s()+\-*/×÷]*[+\-*/×÷][\d.\s()+\-*/×÷]*\d)"
                       r"\s*=\s*\$?(?P<rhs>-?\d[\d,]*(?:\.\d+)?)")


def verify_gsm(entry: dict) -> bool:
    """The worked solution's arithmetic checks out step by step and its final line is the stated answer."""
    cot = entry["metadata"].get("answer_cot", "")
    final = re.search(r"####\s*\$?(-?[\d,]+(?:\.\d+)?)\s*$", cot)
    steps = list(_EQUATION.finditer(cot))
    if not final or not steps or float(final[1].replace(",", "")) != float(entry["answer"]):
        return False
    for step in steps:
        try:
            value = evaluate(step["lhs"])
        except CalculatorError:
            return False
        if abs(value - float(step["rhs"].replace(",", ""))) > 1e-6 * max(1.0, abs(value)):
            return False
    return float(entry["answer"]).is_integer()


def word_problems(seed: int, count: int) -> list[Triple]:
    items = []
    for entry in _rg("gsm_symbolic", seed, count):
        if verify_gsm(entry) and len(entry["question"]) <= 600:
            items.append((one_line(entry["question"]), number_check(float(entry["answer"])), ["calculator"]))
    return items


def arithmetic(seed: int, count: int) -> list[Triple]:
    # '/' left out: reasoning-gym 0.1.25 states some division answers that differ from the expression shown
    items = []
    for entry in _rg("basic_arithmetic", seed, count, min_terms=2, max_terms=4, min_digits=1, max_digits=3,
                     operators=("+", "-", "*"), allow_negation=False, format_style="natural"):
        answer = evaluate(entry["metadata"]["expression"])
        if answer == int(entry["answer"]):
            items.append((f"{one_line(entry['question'])} Answer with the number.", number_check(answer),
                          ["calculator"]))
    return items


def products(seed: int, count: int) -> list[Triple]:
    items = []
    for entry in _rg("products", seed, count, min_terms=2, max_terms=2, min_digits=2, max_digits=4):
        expression = entry["metadata"]["expression"]
        if evaluate(expression) == int(entry["answer"]):
            items.append((f"What is {expression}?", number_check(int(entry["answer"])), ["calculator"]))
    return items


def count_legs(question: str) -> int | None:
    """Total legs of the animals listed in a leg_counting question, from LEGS; None if one is unknown."""
    listed = re.search(r"if you have (.+)\?", question)
    if not listed:
        return None
    total = 0
    for part in listed[1].split(", "):
        amount, _, plural = part.partition(" ")
        name = plural if plural in LEGS else plural[:-1]  # the generator pluralizes by adding "s"
        if not amount.isdigit() or name not in LEGS:
            return None
        total += int(amount) * LEGS[name]
    return total


def legs(seed: int, count: int) -> list[Triple]:
    items = []
    for entry in _rg("leg_counting", seed, count, min_animals=2, max_animals=4, max_instances=12):
        question = one_line(entry["question"])
        total = count_legs(question)
        if total is not None and total == int(entry["answer"]):
            short = question.replace("Your task is to count how many legs there are in total when given a list of "
                                     "animals. Now, how", "How")
            items.append((short, number_check(total), ["calculator"]))
    return items


# --- calendar ----------------------------------------------------------------------------------------------------

_DATE = re.compile(r"(?:(?P<month>" + "|".join(MONTHS) + r") (?P<day>\d{1,2}), (?P<year>\d{4}))|"
                   r"(?P<m>\d{2})/(?P<d>\d{2})/(?P<y>\d{4})")


def dates_in(text: str) -> list[dt.date]:
    found = []
    for m in _DATE.finditer(text):
        if m["month"]:
            found.append(dt.date(int(m["year"]), MONTHS.index(m["month"]) + 1, int(m["day"])))
        else:
            found.append(dt.date(int(m["y"]), int(m["m"]), int(m["d"])))
    return found


def _walk(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _first_sentence(question: str) -> str:
    return re.split(r"(?<=[?.])\s+(?=[A-Z])", question, maxsplit=1)[0]


def verify_calendar(entry: dict) -> tuple[str, dict] | None:
    """(objective, check) with the answer recomputed from the question's own words, or None."""
    question, task = one_line(entry["question"]), entry["metadata"]["task"]
    found = dates_in(question)
    if task == "weekday_of_date" and len(found) == 1:
        answer: object = WEEKDAYS[found[0].weekday()]
    elif task == "weekday_offset" and len(found) == 1:
        offset = re.search(r"(\d+) days?\b", question)
        before = re.search(r"\b(before|ago|earlier|prior)\b", question)
        after = re.search(r"\b(after|later|from now|in \d+ days)\b", question)
        if not offset or bool(before) == bool(after):
            return None
        days = int(offset[1]) * (-1 if before else 1)
        answer = WEEKDAYS[(found[0] + dt.timedelta(days=days)).weekday()]
    elif task == "weekday_of_date_from_first_date":
        first = re.search(r"where (\w+day) is January 1st", question)
        target = re.search(r"weekday of (" + "|".join(MONTHS) + r") (\d{1,2})\b", question)
        if not first or not target:
            return None
        # the year is not named: the answer must hold in leap and common years alike
        answers = set()
        for year in (2021, 2024):
            day = dt.date(year, MONTHS.index(target[1]) + 1, int(target[2]))
            shift = (day - dt.date(year, 1, 1)).days
            answers.add(WEEKDAYS[(WEEKDAYS.index(first[1]) + shift) % 7])
        if len(answers) != 1:
            return None
        answer = answers.pop()
    elif task == "recurring_event_day":
        asked = re.search(r"\b(first|second|third|fourth|fifth|last) (\w+day) (?:of|in) (" + "|".join(MONTHS)
                          + r") (\d{4})", question)
        if not asked:
            return None
        year, month = int(asked[4]), MONTHS.index(asked[3]) + 1
        month_days = [d for d in _walk(dt.date(year, month, 1), dt.date(year, month, 28) + dt.timedelta(days=3))
                      if d.month == month and WEEKDAYS[d.weekday()] == asked[2]]
        ordinals = ("first", "second", "third", "fourth", "fifth")
        index = -1 if asked[1] == "last" else ordinals.index(asked[1])
        answer = month_days[index].day if index < len(month_days) else -1
    elif task in ("count_days", "count_business_days") and len(found) == 2 and found[0] <= found[1]:
        span = _walk(found[0], found[1])
        if task == "count_business_days":
            answer = sum(d.weekday() < 5 for d in span)
        else:
            target = re.search(r"how many times does (\w+day) occur", question)
            if not target:
                return None
            answer = sum(WEEKDAYS[d.weekday()] == target[1] for d in span)
    elif task == "is_leap_year":
        year = int(entry["metadata"]["year"])
        if str(year) not in question:
            return None
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return f"Is the year {year} a leap year?", {"type": "label", "labels": ["yes", "no"],
                                                     "value": "yes" if leap else "no"}
    else:
        return None
    if str(answer) != str(entry["answer"]):
        return None
    if isinstance(answer, str):  # a weekday: the question alone, then one plain instruction without weekday names
        return f"{_first_sentence(question)} Answer with the weekday name.", {**WEEKDAY_CHECK, "value": answer}
    return question, number_check(answer)  # type: ignore[arg-type]


def calendar(seed: int, count: int) -> list[Triple]:
    tasks = ["weekday_offset", "weekday_of_date", "weekday_of_date_from_first_date", "recurring_event_day",
             "count_days", "count_business_days", "is_leap_year"]
    items = []
    for entry in _rg("calendar_arithmetic", seed, count, tasks=tasks):
        verified = verify_calendar(entry)
        if verified:
            items.append((*verified, ["dates"]))
    return items


# --- entities, sentiment (the heads' datasets) -------------------------------------------------------------------

def _non_entity_windows(tokens: list[str], spans: list[tuple[str, int, int]]) -> list[str]:
    """Three-word stretches of the sentence that hold no entity: an entity list never contains them."""
    inside = {i for _, start, end in spans for i in range(start, end)}
    windows = []
    for i in range(len(tokens) - 2):
        words = tokens[i:i + 3]
        if not inside & {i, i + 1, i + 2} and any(len(w) >= 3 and w.isalpha() for w in words):
            windows.append(" ".join(words))
    return windows


def entity_sentences(data: Path, split: str) -> list[tuple[str, list[str], list[str]]]:
    """(sentence, gold entity strings, forbidden stretches) for plain sentences with 2-4 distinct entities."""
    found = []
    for tokens, tags in load_split("ner", data, split):
        spans = iob_spans(tags)
        names = [" ".join(tokens[start:end]) for _, start, end in spans]
        sentence = " ".join(tokens)
        windows = _non_entity_windows(tokens, spans)
        # short, plain sentences: sports tables and headlines in capitals make poor objectives
        if (2 <= len(names) <= 4 and len(set(names)) == len(names) and 8 <= len(tokens) <= 30 and windows
                and not sentence.isupper() and sentence[-1] in ".!?\""):
            found.append((sentence, names, [windows[0], windows[len(windows) // 2], windows[-1]]))
    return found


def entities(data: Path, split: str, seed: int, count: int) -> list[Triple]:
    pool = entity_sentences(data, split)
    chosen = random.Random(seed).sample(pool, min(count, len(pool)))
    return [(f"List the named entities in: {sentence}",
             {"type": "strings", "values": names, "mode": "all", "forbid": sorted(set(forbid))},
             ["extract_entities"]) for sentence, names, forbid in chosen]


def sentiment_sets(data: Path, split: str, seed: int, count: int) -> list[tuple[str, int]]:
    """(sentences lettered (a)-(c), how many are positive): letters, so no number in the text is the answer."""
    pool = [(text, label) for text, label in load_split("sentiment", data, split)
            if 20 <= len(text) <= 160 and not re.search(r"\d", text)]
    rng = random.Random(seed)
    sets = []
    for _ in range(count):
        picked = rng.sample(pool, 3)
        listed = " ".join(f"({letter}) {text}" for letter, (text, _) in zip("abc", picked))
        sets.append((listed, sum(label == 1 for _, label in picked)))
    return sets


def sentiment(data: Path, split: str, seed: int, count: int) -> list[Triple]:
    return [(f"How many of these sentences are positive? {listed}", number_check(positive), ["classify_sentiment"])
            for listed, positive in sentiment_sets(data, split, seed, count)]
