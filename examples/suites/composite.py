"""Items that need more than one step: cross-run memory pairs and multi-step objectives (two tools, or a result
carried from one step into the next). Answers are computed here with python's datetime and our calculator."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from kinds import LEGS, MONTHS, WEEKDAY_CHECK, WEEKDAYS, Triple, entity_sentences, number_check, sentiment_sets

from agent.tools.calculator import evaluate

PROJECTS = ["Lark", "Heron", "Finch", "Osprey", "Wren", "Kestrel", "Plover", "Egret", "Curlew", "Merlin", "Avocet",
            "Bittern", "Dunlin", "Gannet", "Linnet", "Petrel", "Shrike", "Siskin", "Teal", "Whimbrel"]
COLOURS = ["amber", "cobalt", "scarlet", "jade", "ivory", "umber", "violet", "saffron", "teal", "ochre"]
PEOPLE = ["Dana", "Ravi", "Ines", "Tomasz", "Aiko", "Kwame", "Lucia", "Omar", "Freya", "Mateo", "Sana", "Pieter"]
FRUITS = ["quince", "lychee", "apricot", "persimmon", "damson", "kumquat", "medlar", "guava"]
ITEMS = ["widget", "gasket", "bracket", "sprocket", "hinge", "valve", "bearing", "spindle"]

MemoryPair = tuple[str, str, dict, str, dict, list[str]]  # key, store objective, store check, ask, check, tools


def _stored(value: str) -> dict:
    # the run confirms what it stored; echoing the instruction back ("Remember: ...") is not a confirmation
    return {"type": "strings", "values": [value], "forbid": ["remember"]}


def memory_pairs(seed: int, count: int) -> list[MemoryPair]:
    """Store a fact in one run, ask for it (or for something computed from it) in a later run."""
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        # each pair has a memory of its own (the key ends in its index): names may repeat across pairs
        template, person, project, good = index % 4, rng.choice(PEOPLE), rng.choice(PROJECTS), rng.choice(ITEMS)
        if template == 0:
            word = f"{rng.choice(COLOURS)}-{rng.randint(10, 99)}"
            pairs.append((f"project-{project.lower()}-{index}",
                          f"Remember: the code word for project {project} is '{word}'.",
                          _stored(word), f"What is the code word for project {project}?",
                          {"type": "strings", "values": [word]}, []))
        elif template == 1:
            locker = rng.randint(100, 999)
            pairs.append((f"locker-{person.lower()}-{index}", f"Remember: {person}'s locker number is {locker}.",
                          _stored(str(locker)), f"What is {person}'s locker number?", number_check(locker), []))
        elif template == 2:
            fruit = rng.choice(FRUITS)
            pairs.append((f"fruit-{person.lower()}-{index}", f"Remember: {person}'s favourite fruit is the {fruit}.",
                          _stored(fruit), f"Which fruit does {person} like best?",
                          {"type": "strings", "values": [fruit]}, []))
        else:  # the recalled fact feeds a calculation
            price, amount = rng.randint(12, 95), rng.randint(3, 19)
            pairs.append((f"price-{good}-{index}", f"Remember: one {good} costs {price} dollars.", _stored(str(price)),
                          f"How many dollars do {amount} {good}s cost?", number_check(price * amount),
                          ["calculator"]))
    return pairs


def _date_words(day: dt.date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}, {day.year}"


def _random_date(rng: random.Random) -> dt.date:
    return dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))


def _weekday_after_product(rng: random.Random) -> Triple:
    start, per, count = _random_date(rng), rng.choice([3, 5, 9, 11]), rng.randint(4, 13)
    while per * count % 7 == 0:  # a whole number of weeks would keep the weekday the objective names
        count += 1
    target = start + dt.timedelta(days=per * count)
    return (f"Which weekday is it {per} times {count} days after {_date_words(start)}? Answer with the weekday "
            "name.", {**WEEKDAY_CHECK, "value": WEEKDAYS[target.weekday()]}, ["calculator", "dates"])


def _sum_then_multiply(rng: random.Random) -> Triple:
    a, b, c = rng.randint(120, 980), rng.randint(120, 980), rng.randint(12, 49)
    return (f"Add {a} and {b}, then multiply the sum by {c}. What is the final number?",
            number_check(evaluate(f"({a} + {b}) * {c}")), ["calculator"])


def _product_then_subtract(rng: random.Random) -> Triple:
    a, b, c = rng.randint(23, 97), rng.randint(23, 97), rng.randint(100, 900)
    return (f"Compute {a} * {b}. Then subtract {c} from that result. What number do you get?",
            number_check(evaluate(f"{a} * {b} - {c}")), ["calculator"])


def _days_between_in_hours(rng: random.Random) -> Triple:
    start = _random_date(rng)
    end = start + dt.timedelta(days=rng.randint(20, 300))
    return (f"How many hours are there from {MONTHS[start.month - 1]} {start.day}, {start.year} to "
            f"{MONTHS[end.month - 1]} {end.day}, {end.year}? Count the days between the two dates, then multiply "
            "by 24.", number_check((end - start).days * 24), ["dates", "calculator"])


def _date_after_sum(rng: random.Random) -> Triple:
    start, a, b = _random_date(rng), rng.randint(10, 60), rng.randint(10, 60)
    target = start + dt.timedelta(days=a + b)
    return (f"A parcel leaves on {MONTHS[start.month - 1]} {start.day}, {start.year}. It spends {a} days at sea "
            f"and then {b} days on the road. On what date does it arrive? Give the date as YYYY-MM-DD.",
            {"type": "strings", "values": [target.isoformat()]}, ["calculator", "dates"])


def plural(animal: str) -> str:
    if animal in ("sheep", "deer"):
        return animal
    if animal.endswith("fly"):
        return animal[:-1] + "ies"
    return animal + ("es" if animal.endswith(("s", "ch", "sh")) else "s")


def _legs_then_multiply(rng: random.Random) -> Triple:
    animals = rng.sample(sorted(name for name, legs in LEGS.items() if legs), 2)
    counts, pens = [rng.randint(2, 9) for _ in animals], rng.randint(3, 8)
    legs = sum(n * LEGS[a] for n, a in zip(counts, animals))
    listed = " and ".join(f"{n} {plural(a)}" for n, a in zip(counts, animals))
    return (f"One pen holds {listed}. How many legs are there in {pens} such pens altogether?",
            number_check(legs * pens), ["calculator"])


TEMPLATES = [_weekday_after_product, _sum_then_multiply, _days_between_in_hours, _product_then_subtract,
             _date_after_sum, _legs_then_multiply]


def multistep(data: Path, split: str, seed: int, count: int) -> list[Triple]:
    """Cycles through the templates, plus entity counts and positive counts carried into a multiplication."""
    rng = random.Random(seed)
    sentences = rng.sample(entity_sentences(data, split), count)
    sets = sentiment_sets(data, split, seed + 1, count)
    items = []
    for index in range(count):
        slot = index % (len(TEMPLATES) + 2)
        factor = rng.randint(6, 19)
        if slot == len(TEMPLATES):
            sentence, names, _ = sentences[index]
            items.append((f"Count the named entities in this sentence, then multiply the count by {factor}: "
                          f"{sentence}", number_check(len(names) * factor), ["extract_entities", "calculator"]))
        elif slot == len(TEMPLATES) + 1:
            listed, positive = sets[index]
            items.append((f"Count how many of these sentences are positive, then multiply the count by {factor}. "
                          f"{listed}", number_check(positive * factor), ["classify_sentiment", "calculator"]))
        else:
            items.append(TEMPLATES[slot](rng))
    return items
