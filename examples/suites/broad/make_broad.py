"""Write the broad evaluation suite: many kinds of everyday objectives, each in seven wording templates.

    python examples/suites/broad/make_broad.py [--per-template N] [--out PATH]

Pure Python and the standard library: every expected answer is computed here with exact arithmetic (ints,
fractions), python's datetime, or hand-written gold (entities placed in slots, reviews written to be clearly
positive or negative), and every item's own canonical answer is checked against its check before it is written.

Template NN of every kind has one style (STYLES[NN - 1]): terse question; instruction with an output format
(then the check checks the format too); a little story; a task preamble ("Your task is to ... Now, ..."); several
sentences with distractors; all lower case without punctuation; a chatty message. Splits: the kinds in
HELDOUT_KINDS are held out whole ("heldout_kind"); in every other kind three templates, rotating from kind to
kind, are held out ("heldout_template") and the other four are "tune". Items are seeded by (kind, template,
index) only, so adding a template or a kind never changes another item.

Besides the check, each item carries (in memory only, never written) "_answer", a canonical passing answer, and
"_verify", the facts its answer follows from, which tests/test_broad_suite.py recomputes on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "broad.jsonl"
STYLES = ("terse", "format", "story", "preamble", "distractors", "lowercase", "chatty")
HELDOUT_KINDS = ("statistics", "time_of_day", "open_lists", "files")
HELDOUT_PER_KIND = 3  # templates held out in each kind that is not held out whole
MAX_OBJECTIVE = 400

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
ORDINALS = ("first", "second", "third", "fourth")
COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
NAMES = ["Maya", "Leo", "Priya", "Sam", "Noah", "Aisha", "Tom", "Elena", "Kenji", "Zoe", "Omar", "Lucy", "Ravi",
         "Ines", "Dana", "Felix"]

# formats stated in objectives, checked as part of the check
NUMBER_ONLY = r"^\s*-?\$?\d[\d,]*(?:\.\d+)?\s*\.?\s*$"
MONEY_ONLY = r"^\s*\$?\d[\d,]*\.\d\d\s*$"
YES_NO_ONLY = r"(?i)^\W*(?:yes|no)\W*$"


Item = dict  # objective, check, _answer, _verify; optional files; memory items: {"store": Item, "ask": Item}
Template = Callable[[random.Random], Item]
KINDS: dict[str, list[Template]] = {}


def template(kind: str) -> Callable[[Template], Template]:
    """Register a template of `kind`; the order of registration is the template number."""
    def register(fn: Template) -> Template:
        KINDS.setdefault(kind, []).append(fn)
        return fn
    return register


# --- checks -------------------------------------------------------------------------------------------------

def plain_number(value: Fraction | int | float) -> int | float:
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def num(value: Fraction | int | float, tolerance: float = 0) -> dict:
    return {"type": "number", "value": plain_number(value), "tolerance": tolerance}


def strings(values: list[str], mode: str = "all", forbid: list[str] | None = None) -> dict:
    check: dict = {"type": "strings", "values": list(values), "mode": mode}
    if forbid:
        check["forbid"] = list(forbid)
    return check


def regex(pattern: str) -> dict:
    return {"type": "regex", "pattern": pattern}


def label(value: str, labels: list[str]) -> dict:
    return {"type": "label", "value": value, "labels": list(labels)}


def all_of(*checks: dict) -> dict:
    return {"type": "all", "checks": list(checks)}


def number_only(value: Fraction | int | float, tolerance: float = 0) -> dict:
    return all_of(num(value, tolerance), regex(NUMBER_ONLY))


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def first_mention(right: list[str], wrong: list[str]) -> str:
    """A pattern: among the words of right and wrong, the first the answer mentions is one of right."""
    return (rf"(?is)^(?:(?!\b(?:{_alternation(wrong)})\b).)*?"
            rf"\b(?:{_alternation(right)})\b")


def last_weekday(day: str) -> str:
    """A pattern: `day` is the last weekday the answer mentions (an echo of the question's weekday may precede)."""
    return rf"(?is)\b{day}\b(?!.*\b(?:{'|'.join(WEEKDAYS)})\b)"


def first_number(value: int) -> str:
    """A pattern: the first number in the answer is `value` (a second unit may follow: 0 °C (32 °F))."""
    return rf"^\D*(?<![\d.]){value}(?!\d|\.\d)"


def date_pattern(day: dt.date) -> str:
    """The date in ISO form or with its month named (March 5, 2024; 5th of March 2024; Mar. 5 2024)."""
    month = MONTHS[day.month - 1].lower()
    mon = month[:3] + (f"(?:{month[3:]})?" if len(month) > 3 else "") + r"\.?"
    dd = rf"0?{day.day}(?:st|nd|rd|th)?"
    return (rf"(?i)(?<![\d-])(?:{day.isoformat()}|{mon}\s+{dd},?\s+{day.year}|{dd}\s+(?:of\s+)?{mon},?\s+"
            rf"{day.year})(?!\d)")


def time_pattern(minutes: int) -> str:
    """A clock time (minutes after midnight) as 6:15 pm / 6:15 p.m. / 18:15; a morning time also bare (9:30)."""
    hour, minute = divmod(minutes, 60)
    h12, meridiem = hour % 12 or 12, "a" if hour < 12 else "p"
    alts = [rf"0?{h12}:{minute:02d}\s*{meridiem}\.?\s?m\b\.?"]
    if hour >= 13:
        alts.append(rf"{hour}:{minute:02d}(?!\s*[ap]\.?\s?m\b)")
    else:
        alts.append(rf"0?{hour}:{minute:02d}(?!\s*p\.?\s?m\b)")
    return rf"(?i)(?<![\d:])(?:{'|'.join(alts)})"


def distinct(words: list[str], count: int) -> str:
    """A pattern: at least `count` different words of the list appear (plural -s/-es allowed)."""
    return rf"(?is)(?:.*?\b({'|'.join(words)})(?:e?s)?\b(?!.*\b\1(?:e?s)?\b)){{{count}}}"


def lines_exactly(count: int) -> str:
    return rf"^\s*[^\n]+(?:\n+[^\n]+){{{count - 1}}}\s*$"


def comma_list(count: int) -> str:
    """Exactly `count` short items (words, spaces, hyphens) separated by commas, and nothing else."""
    item = r"[\w' -]{1,30}"
    return rf"^\s*{item}(?:,{item}){{{count - 1}}}\s*\.?\s*$"


# --- a small checker: the canonical answer must pass before an item is written --------------------------------

_NUMBER = re.compile(r"(?<![\w.])(?P<sign>[-+\u2212])?(?P<body>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)")


def _last_number(text: str) -> float | None:
    found = list(_NUMBER.finditer(text))
    if not found:
        return None
    sign = "-" if found[-1]["sign"] in ("-", "\u2212") else ""
    return float(sign + found[-1]["body"].replace(",", ""))


def passes(check: dict, answer: str) -> bool:
    kind = check["type"]
    if kind == "all":
        return all(passes(c, answer) for c in check["checks"])
    if kind == "number":
        found = _last_number(answer)
        return found is not None and abs(found - check["value"]) <= check["tolerance"] + 1e-9 * max(
            1.0, abs(check["value"]))
    if kind == "strings":
        squashed = " ".join(answer.split()).casefold()
        if any(" ".join(f.split()).casefold() in squashed for f in check.get("forbid", [])):
            return False
        found = [" ".join(v.split()).casefold() in squashed for v in check["values"]]
        return all(found) if check.get("mode", "all") == "all" else any(found)
    if kind == "regex":
        return re.search(check["pattern"], answer) is not None
    hits = []
    for name in check["labels"]:
        match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", answer, re.IGNORECASE)
        if match:
            hits.append((match.start(), -len(name), name))
    return bool(hits) and min(hits)[2] == check["value"]


# --- text helpers -------------------------------------------------------------------------------------------

def bare(text: str) -> str:
    """Lower case without punctuation; the dot of a decimal and the colon of a clock time stay."""
    text = text.lower().replace("%", " percent").replace("$", "")
    text = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", "", text)
    text = re.sub(r"[?!,;\"'()\[\]]", "", text)
    return " ".join(text.split())


def long_date(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def bare_date(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1].lower()} {day.day} {day.year}"


def random_date(rng: random.Random) -> dt.date:
    return dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 9 * 365))


def money(value: Fraction) -> str:
    cents = value * 100
    assert cents.denominator == 1 and cents >= 0, value
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"


def clock12(minutes: int) -> str:
    hour, minute = divmod(minutes, 60)
    return f"{hour % 12 or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}"


def clock24(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clock_minutes(rng: random.Random, low_hour: int, high_hour: int) -> int:
    """A time on the hour range, never in the 12 o'clock hours (noon and midnight read ambiguously)."""
    while True:
        minutes = rng.randint(low_hour * 60, high_hour * 60 - 1) // 5 * 5
        if minutes // 60 not in (0, 12):
            return minutes


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def amount(n: int, unit: str) -> str:
    """3 hours, 1 hour."""
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def clear_of_half(value: Fraction, digits: int) -> bool:
    """Whether `value` lies well inside its rounding interval (no answer hinges on a .5)."""
    unit = Fraction(1, 10 ** digits)
    return abs(value - Fraction(round(value, digits))) <= unit * Fraction(35, 100)


# --- pools --------------------------------------------------------------------------------------------------

LEGS = {"spider": 8, "ant": 6, "bee": 6, "beetle": 6, "dog": 4, "cat": 4, "cow": 4, "horse": 4, "sheep": 4,
        "goat": 4, "chicken": 2, "duck": 2, "crab": 10, "scorpion": 8}
PLURALS = {"sheep": "sheep"}

PEOPLE = ["Barack Obama", "Angela Merkel", "Lionel Messi", "Serena Williams", "Elon Musk", "Taylor Swift",
          "Emmanuel Macron", "Roger Federer", "Bill Gates", "Oprah Winfrey", "Cristiano Ronaldo", "Jacinda Ardern"]
ORGS = ["Microsoft", "Google", "Toyota", "Siemens", "Nike", "Samsung", "IBM", "Netflix", "Intel", "Boeing",
        "Volkswagen", "Spotify"]
CITIES = ["Paris", "Berlin", "Tokyo", "London", "Madrid", "Chicago", "Sydney", "Toronto", "Rome", "Cairo",
          "Mumbai", "Seoul"]

# sentences with entity slots: P/P2 people, O/O2 organisations, C/C2 cities; the stretches that no entity list
# contains (an answer holding one echoed the sentence)
NER_FRAMES = [
    ("{P} flew to {C} to meet engineers from {O}.", ["flew to", "to meet engineers"]),
    ("{O} said that {P} will lead its new office in {C} next spring.", ["will lead its", "next spring"]),
    ("After the game in {C}, {P} thanked the fans and the staff of {O}.", ["after the game", "thanked the fans"]),
    ("{P} and {P2} spoke about climate policy at a summit in {C}.", ["spoke about climate", "at a summit"]),
    ("Shares of {O} rose after {P} praised the company during a visit to {C}.", ["shares of", "praised the"]),
    ("{P} signed a new contract with {O} on a sunny morning in {C}.", ["signed a new", "sunny morning"]),
    ("Tourists in {C} and {C2} can now book rides through {O}.", ["tourists in", "book rides through"]),
    ("{P} left {O} last year and joined {O2} in {C}.", ["last year and joined"]),
]


def fill(frame: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    people, orgs, cities = rng.sample(PEOPLE, 2), rng.sample(ORGS, 2), rng.sample(CITIES, 2)
    slots = {"P": people[0], "P2": people[1], "O": orgs[0], "O2": orgs[1], "C": cities[0], "C2": cities[1]}
    used = {k: v for k, v in slots.items() if "{" + k + "}" in frame}
    return frame.format(**slots), used


def ner_sentence(rng: random.Random) -> tuple[str, list[str], list[str]]:
    frame, forbid = rng.choice(NER_FRAMES)
    sentence, used = fill(frame, rng)
    names = sorted(used.values(), key=sentence.index)
    return sentence, names, forbid


MOVIE_POS = [
    "An absolute joy from start to finish, with a cast that shines in every scene.",
    "The story is moving and the ending left the whole audience cheering.",
    "Beautifully shot and wonderfully acted, this is the best film I have seen all year.",
    "Funny, warm and clever, it kept me smiling the whole way through.",
    "A gripping thriller with superb performances and a brilliant script.",
    "I loved every minute of it and would happily watch it again tomorrow.",
    "The music is gorgeous and the lead actress gives a stunning performance.",
    "A delightful family film that both kids and parents will adore.",
    "Smart, exciting and full of heart, a real triumph.",
    "The best animated movie in years, charming and genuinely touching.",
]
MOVIE_NEG = [
    "A dull, boring mess with a plot that makes no sense at all.",
    "The acting is wooden and the jokes fall completely flat.",
    "I walked out halfway through because it was so painfully slow.",
    "A waste of time and money, with the worst dialogue I have ever heard.",
    "Lazy writing, ugly effects and a cast that clearly did not care.",
    "Terribly edited and far too long, it bored me to tears.",
    "The sequel is a cheap, noisy disappointment in every way.",
    "Predictable, clumsy and utterly forgettable.",
    "An awful, confusing script that no actor could rescue.",
    "I regret buying a ticket; it was the dreariest film of the year.",
]
RESTAURANT_POS = [
    "The food was delicious and the staff were incredibly friendly.",
    "Best pizza in town, fresh and hot, and the service was quick.",
    "We had a lovely dinner; every dish was full of flavour.",
    "Great value, generous portions and a cosy atmosphere.",
    "The desserts were amazing and the waiter was so kind to us.",
    "Wonderful brunch, perfect coffee, we will definitely come back.",
]
RESTAURANT_NEG = [
    "The soup was cold and the waiter ignored us all evening.",
    "Overpriced, bland food and a dirty table.",
    "We waited forever for burnt burgers and nobody apologised.",
    "The fish tasted off and I felt sick afterwards.",
    "Rude staff and the worst coffee I have ever had.",
    "Tiny portions, stale bread and a very unpleasant manager.",
]
PRODUCT_POS = [
    "These headphones sound fantastic and the battery lasts for days.",
    "Sturdy, well made and exactly as described; I love it.",
    "The blender works perfectly and is easy to clean.",
    "Excellent quality for the price, I would buy it again.",
    "Arrived quickly and my kids adore this little toy.",
    "Beautiful phone case, fits perfectly and feels really solid.",
]
PRODUCT_NEG = [
    "The zip broke on the first day and the seller never replied.",
    "Cheap plastic that cracked after a week, a total waste of money.",
    "The charger stopped working almost immediately.",
    "It looks nothing like the photos and smells awful.",
    "Arrived damaged and customer service was useless.",
    "The phone case is flimsy and scratched my phone, very disappointed.",
]
APP_POS = [
    "This app is fast, simple and has made my mornings so much easier.",
    "Love the clean design; it never crashes and syncs instantly.",
    "The best budgeting app I have tried, really helpful and intuitive.",
    "Great update, everything feels smoother and the new features are brilliant.",
    "Super handy app, I use it every day and it works flawlessly.",
]
APP_NEG = [
    "The app crashes every time I open it, absolutely useless.",
    "Full of annoying ads and it drains my battery.",
    "Since the last update I cannot even log in, very frustrating.",
    "Slow, buggy and the support team never answers.",
    "It deleted all my notes; I am uninstalling it now.",
]


def review_set(rng: random.Random, pos: list[str], neg: list[str], size: int) -> list[tuple[str, str]]:
    """`size` reviews, each labelled, with at least one of each label."""
    while True:
        labels = [rng.choice(("positive", "negative")) for _ in range(size)]
        if len(set(labels)) == 2:
            break
    picked_pos, picked_neg = iter(rng.sample(pos, size)), iter(rng.sample(neg, size))
    return [(next(picked_pos) if lab == "positive" else next(picked_neg), lab) for lab in labels]


def lettered(reviews: list[tuple[str, str]]) -> str:
    return " ".join(f"({letter}) {text}" for letter, (text, _) in zip("abcdef", reviews))


def count_label(reviews: list[tuple[str, str]], wanted: str) -> int:
    return sum(lab == wanted for _, lab in reviews)


def sentiment_verify(reviews: list[tuple[str, str]], wanted: str, factor: int = 1) -> dict:
    return {"op": "count_label", "reviews": [list(r) for r in reviews], "label": wanted, "factor": factor}


def legs_list(rng: random.Random, count: int, pool: list[str] | None = None) -> dict[str, int]:
    animals = rng.sample(pool or sorted(LEGS), count)
    return {animal: rng.randint(2, 12) for animal in animals}


def plural(animal: str, amount: int = 2) -> str:
    if amount == 1:
        return animal
    return PLURALS.get(animal, animal + "s")


def legs_words(animals: dict[str, int], glue: str = ", ") -> str:
    parts = [f"{n} {plural(a, n)}" for a, n in animals.items()]
    return glue.join(parts[:-1]) + " and " + parts[-1] if glue == ", " else glue.join(parts)


def legs_total(animals: dict[str, int]) -> int:
    return sum(n * LEGS[a] for a, n in animals.items())


def expr(text: str, digits: int | None = None) -> dict:
    return {"op": "expr", "expr": text, "round": digits}


# --- word problems --------------------------------------------------------------------------------------------

@template("word_problems")
def _word_1(rng: random.Random) -> Item:
    name, a, b, c = rng.choice(NAMES), rng.randint(3, 30), rng.randint(2, 9), rng.randint(4, 12)
    return {"objective": f"{name} has {a} apples and buys {b} bags with {c} apples in each bag. How many apples "
                         f"does {name} have now?",
            "check": num(a + b * c), "_answer": f"{name} has {a + b * c} apples.", "_verify": expr(f"{a} + {b} * {c}")}


@template("word_problems")
def _word_2(rng: random.Random) -> Item:
    a, b, c = rng.randint(20, 60), rng.randint(3, 19), rng.randint(2, 25)
    return {"objective": f"Solve this and answer with just the number: a bus has {a} passengers. At the first stop "
                         f"{b} people get off and {c} people get on. How many passengers are on the bus now?",
            "check": number_only(a - b + c), "_answer": str(a - b + c), "_verify": expr(f"{a} - {b} + {c}")}


@template("word_problems")
def _word_3(rng: random.Random) -> Item:
    name, per, full, price = rng.choice(NAMES), rng.randint(4, 9), rng.randint(5, 15), rng.randint(2, 6)
    extra = rng.randint(1, per - 1)
    cookies = per * full + extra
    return {"objective": f"Last weekend {name} baked {cookies} cookies for the school fair. The cookies were packed "
                         f"into bags of {per}, and every full bag sold for {price} dollars; the cookies left over "
                         f"were eaten by the helpers. How many dollars did the full bags bring in?",
            "check": num(full * price), "_answer": f"The full bags brought in {full * price} dollars.",
            "_verify": expr(f"({cookies} // {per}) * {price}")}


@template("word_problems")
def _word_4(rng: random.Random) -> Item:
    per, shelves = rng.randint(20, 45), rng.randint(6, 14)
    lent = rng.randint(10, per * shelves // 2)
    left = per * shelves - lent
    return {"objective": f"Your task is to solve a short word problem. Now, a library has {per} books on each of "
                         f"its {shelves} shelves and lends out {lent} books. How many books are still on the shelves?",
            "check": num(left), "_answer": f"{left} books are still on the shelves.",
            "_verify": expr(f"{per} * {shelves} - {lent}")}


@template("word_problems")
def _word_5(rng: random.Random) -> Item:
    age, tractors = rng.randint(35, 70), rng.randint(2, 5)
    rows, per, died = rng.randint(8, 25), rng.randint(12, 40), rng.randint(5, 60)
    alive = rows * per - died
    return {"objective": f"A farmer who is {age} years old owns {tractors} tractors and a red barn. He plants {rows} "
                         f"rows of corn with {per} plants in each row. A storm then kills {died} of the plants. "
                         f"How many corn plants survive?",
            "check": num(alive), "_answer": f"{alive} plants survive.", "_verify": expr(f"{rows} * {per} - {died}")}


@template("word_problems")
def _word_6(rng: random.Random) -> Item:
    girls, boys, each = rng.randint(8, 18), rng.randint(8, 18), rng.randint(2, 6)
    total = (girls + boys) * each
    return {"objective": bare(f"a class has {girls} girls and {boys} boys and every student needs {each} notebooks "
                              "for the year how many notebooks does the class need"),
            "check": num(total), "_answer": f"{total} notebooks", "_verify": expr(f"({girls} + {boys}) * {each}")}


@template("word_problems")
def _word_7(rng: random.Random) -> Item:
    weekday, saturday, weeks = rng.randint(2, 8), rng.randint(8, 21), rng.randint(2, 6)
    total = (5 * weekday + saturday) * weeks
    return {"objective": f"Hi! Quick question: I run {weekday} km every weekday (Monday to Friday) and {saturday} km "
                         f"on Saturdays, and I rest on Sundays. How many km do I run in {weeks} weeks?",
            "check": num(total), "_answer": f"You run {total} km.",
            "_verify": expr(f"(5 * {weekday} + {saturday}) * {weeks}")}


# --- arithmetic -------------------------------------------------------------------------------------------------

@template("arithmetic")
def _arith_1(rng: random.Random) -> Item:
    a, b, c = rng.randint(100, 999), rng.randint(100, 999), rng.randint(10, 999)
    return {"objective": f"What is {a} + {b} - {c}?", "check": num(a + b - c), "_answer": f"{a + b - c}",
            "_verify": expr(f"{a} + {b} - {c}")}


@template("arithmetic")
def _arith_2(rng: random.Random) -> Item:
    a, b, c, d = rng.randint(100, 900), rng.randint(10, 99), rng.randint(3, 19), rng.randint(3, 19)
    value = a - b + c * d
    return {"objective": f"Compute {a} - {b} + {c} * {d}. Reply with just the number.",
            "check": number_only(value), "_answer": str(value), "_verify": expr(f"{a} - {b} + {c} * {d}")}


@template("arithmetic")
def _arith_3(rng: random.Random) -> Item:
    a, b, c = rng.randint(12, 99), rng.randint(12, 99), rng.randint(3, 12)
    value = (a + b) * c
    return {"objective": f"My calculator died halfway through my homework. The last line on the screen was "
                         f"({a} + {b}) * {c}. What does it come to?",
            "check": num(value), "_answer": f"It comes to {value}.", "_verify": expr(f"({a} + {b}) * {c}")}


@template("arithmetic")
def _arith_4(rng: random.Random) -> Item:
    a, b, c = rng.randint(12, 99), rng.randint(12, 99), rng.randint(100, 999)
    value = a * b - c
    return {"objective": f"Your task is to evaluate an arithmetic expression exactly. Now, what is {a} * {b} - {c}?",
            "check": num(value), "_answer": f"{a} * {b} - {c} = {value}", "_verify": expr(f"{a} * {b} - {c}")}


@template("arithmetic")
def _arith_5(rng: random.Random) -> Item:
    room, year = rng.randint(100, 450), rng.randint(1950, 2020)
    a, b, c = rng.randint(200, 999), rng.randint(100, 999), rng.randint(100, 999)
    value = a - b - c
    return {"objective": f"I'm in room {room} of a building from {year}, which has nothing to do with this. "
                         f"Evaluate {a} - {b} - {c}.",
            "check": num(value), "_answer": f"The result is {value}.", "_verify": expr(f"{a} - {b} - {c}")}


@template("arithmetic")
def _arith_6(rng: random.Random) -> Item:
    a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(100, 999)
    value = a - b + c
    return {"objective": f"what is {a} minus {b} plus {c}", "check": num(value), "_answer": str(value),
            "_verify": expr(f"{a} - {b} + {c}")}


@template("arithmetic")
def _arith_7(rng: random.Random) -> Item:
    values = [rng.randint(10, 400) for _ in range(4)]
    total = sum(values)
    return {"objective": f"Hey, can you add up {', '.join(map(str, values[:-1]))} and {values[-1]} for me? Thanks!",
            "check": num(total), "_answer": f"Sure, that's {total}.", "_verify": expr(" + ".join(map(str, values)))}


# --- products and chained costs -------------------------------------------------------------------------------

@template("products")
def _prod_1(rng: random.Random) -> Item:
    a, b = rng.randint(100, 9999), rng.randint(100, 999)
    return {"objective": f"What is {a} * {b}?", "check": num(a * b), "_answer": f"{a * b:,}",
            "_verify": expr(f"{a} * {b}")}


@template("products")
def _prod_2(rng: random.Random) -> Item:
    a, b = rng.randint(100, 999), rng.randint(100, 999)
    return {"objective": f"Multiply {a} by {b}. Give only the number, no words.", "check": number_only(a * b),
            "_answer": str(a * b), "_verify": expr(f"{a} * {b}")}


@template("products")
def _prod_3(rng: random.Random) -> Item:
    price, amount = rng.randint(3, 29), rng.randint(24, 180)
    return {"objective": f"A stationery shop sells notebooks for {price} dollars each. Our school ordered {amount} "
                         f"of them for the new term. How many dollars was the bill?",
            "check": num(price * amount), "_answer": f"The bill was {price * amount} dollars.",
            "_verify": expr(f"{price} * {amount}")}


@template("products")
def _prod_4(rng: random.Random) -> Item:
    a, b = rng.randint(1000, 9999), rng.randint(10, 99)
    return {"objective": f"Your task is to compute a product. Now, what is {a} times {b}?", "check": num(a * b),
            "_answer": f"{a} times {b} is {a * b}.", "_verify": expr(f"{a} * {b}")}


@template("products")
def _prod_5(rng: random.Random) -> Item:
    seats, price, year = rng.randint(120, 800), rng.randint(35, 140), rng.randint(1960, 2000)
    return {"objective": f"Our town hall was built in {year} and repainted twice since. Each of its {seats} seats "
                         f"costs {price} dollars to replace. How much would it cost to replace all of the seats?",
            "check": num(seats * price), "_answer": f"It would cost {seats * price} dollars.",
            "_verify": expr(f"{seats} * {price}")}


@template("products")
def _prod_6(rng: random.Random) -> Item:
    a, b = rng.randint(100, 999), rng.randint(11, 99)
    return {"objective": f"how much is {a} multiplied by {b}", "check": num(a * b), "_answer": str(a * b),
            "_verify": expr(f"{a} * {b}")}


@template("products")
def _prod_7(rng: random.Random) -> Item:
    tickets, price, fee = rng.randint(3, 12), rng.randint(18, 95), rng.randint(3, 9)
    total = tickets * price + fee
    return {"objective": f"Quick one: I'm buying {tickets} concert tickets at {price} dollars each, plus a {fee} "
                         f"dollar booking fee for the whole order. What's my total in dollars?",
            "check": num(total), "_answer": f"Your total is {total} dollars.",
            "_verify": expr(f"{tickets} * {price} + {fee}")}


# --- legs -------------------------------------------------------------------------------------------------------

def _legs_item(objective: str, animals: dict[str, int], check_format: bool = False, factor: int = 1) -> Item:
    total = legs_total(animals) * factor
    return {"objective": objective, "check": number_only(total) if check_format else num(total),
            "_answer": str(total) if check_format else f"There are {total} legs in total.",
            "_verify": {"op": "legs", "animals": animals, "factor": factor}}


@template("legs")
def _legs_1(rng: random.Random) -> Item:
    animals = legs_list(rng, 3)
    return _legs_item(f"How many legs do {legs_words(animals)} have in total?", animals)


@template("legs")
def _legs_2(rng: random.Random) -> Item:
    animals = legs_list(rng, 3)
    return _legs_item(f"Count the legs of {legs_words(animals)}. Answer with only the total number.", animals, True)


@template("legs")
def _legs_3(rng: random.Random) -> Item:
    animals = legs_list(rng, 3, ["cow", "chicken", "duck", "goat", "horse", "sheep"])
    return _legs_item(f"On our farm walk today my daughter counted {legs_words(animals)}. She now wants to know how "
                      "many legs all those animals had together. What should I tell her?", animals)


@template("legs")
def _legs_4(rng: random.Random) -> Item:
    animals = legs_list(rng, 2)
    return _legs_item(f"Your task is to count animal legs. Now, how many legs are there in total if you have "
                      f"{legs_words(animals)}?", animals)


@template("legs")
def _legs_5(rng: random.Random) -> Item:
    gates, keepers = rng.randint(2, 6), rng.randint(3, 9)
    animals = legs_list(rng, 3)
    return _legs_item(f"A small zoo with {gates} gates and {keepers} keepers houses {legs_words(animals)}. Counting "
                      "only the animals, not the keepers, how many legs are there?", animals)


@template("legs")
def _legs_6(rng: random.Random) -> Item:
    animals = legs_list(rng, 3)
    return _legs_item(bare(f"how many legs do {legs_words(animals, ' and ')} have altogether"), animals)


@template("legs")
def _legs_7(rng: random.Random) -> Item:
    animals = legs_list(rng, 2, ["spider", "ant", "beetle", "bee"])
    return _legs_item(f"My kid found {legs_words(animals)} in the garden and asks how many legs that makes. "
                      "Help me out!", animals)


# --- calendar ---------------------------------------------------------------------------------------------------

def _weekday_item(objective: str, day: dt.date, offset: int = 0) -> Item:
    target = WEEKDAYS[(day + dt.timedelta(days=offset)).weekday()]
    return {"objective": objective, "check": regex(last_weekday(target)), "_answer": f"It is a {target}.",
            "_verify": {"op": "weekday", "date": day.isoformat(), "offset": offset}}


@template("calendar")
def _cal_1(rng: random.Random) -> Item:
    day = random_date(rng)
    return _weekday_item(f"What day of the week is {long_date(day)}?", day)


@template("calendar")
def _cal_2(rng: random.Random) -> Item:
    year = rng.choice([rng.randint(1890, 2099), 4 * rng.randint(475, 524), rng.choice([1900, 2000, 2100, 1800])])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    answer = "yes" if leap else "no"
    return {"objective": f"Is {year} a leap year? Reply yes or no.",
            "check": all_of(label(answer, ["yes", "no"]), regex(YES_NO_ONLY)), "_answer": answer.capitalize(),
            "_verify": {"op": "leap", "year": year}}


@template("calendar")
def _cal_3(rng: random.Random) -> Item:
    day = dt.date(rng.randint(1935, 1965), 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    return _weekday_item(f"My grandmother was born on {long_date(day)} and always says it was a lucky day of the "
                         "week. Which day of the week was it?", day)


@template("calendar")
def _cal_4(rng: random.Random) -> Item:
    year, month, weekday, nth = rng.randint(2019, 2028), rng.randint(1, 12), rng.randrange(7), rng.randint(1, 4)
    first = dt.date(year, month, 1)
    day = 1 + (weekday - first.weekday()) % 7 + 7 * (nth - 1)
    return {"objective": f"Your task is to answer a calendar question. Now, on which day of the month is the "
                         f"{ORDINALS[nth - 1]} {WEEKDAYS[weekday]} of {MONTHS[month - 1]} {year}?",
            "check": num(day), "_answer": f"It is on the {day}.",
            "_verify": {"op": "nth_weekday", "year": year, "month": month, "weekday": weekday, "nth": nth}}


@template("calendar")
def _cal_5(rng: random.Random) -> Item:
    desks, lease = rng.randint(6, 30), rng.randint(2005, 2018)
    year = rng.randint(2001, 2040)
    days = 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return {"objective": f"Our office has {desks} desks and the lease began in {lease}. Unrelated question: how many "
                         f"days does February have in {year}?",
            "check": num(days), "_answer": f"February {year} has {days} days.",
            "_verify": {"op": "february", "year": year}}


@template("calendar")
def _cal_6(rng: random.Random) -> Item:
    day, offset = random_date(rng), rng.randint(3, 200)
    return _weekday_item(f"what day of the week will it be {offset} days after {bare_date(day)}", day, offset)


@template("calendar")
def _cal_7(rng: random.Random) -> Item:
    day = random_date(rng)
    return _weekday_item(f"Hey! I'm trying to plan a party for {long_date(day)}. Which day of the week is that?", day)


# --- entities (list them all) ---------------------------------------------------------------------------------

def _entities_item(objective: str, names: list[str], forbid: list[str], one_per_line: bool = False) -> Item:
    check = strings(names, "all", forbid)
    return {"objective": objective, "check": all_of(check, regex(lines_exactly(len(names)))) if one_per_line
            else check, "_answer": "\n".join(names) if one_per_line else ", ".join(names),
            "_verify": {"op": "entities", "names": names}}


@template("entities")
def _ner_1(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(f"List the named entities in: {sentence}", names, forbid)


@template("entities")
def _ner_2(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(f"Extract the named entities from the sentence below, one per line and nothing else. "
                          f"Sentence: {sentence}", names, forbid, one_per_line=True)


@template("entities")
def _ner_3(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(f'I was reading the news this morning and came across this line: "{sentence}" Which '
                          f"people, places and organisations does it name?", names, forbid)


@template("entities")
def _ner_4(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(f"Your task is to find named entities. Now, what are the named entities in this sentence: "
                          f"{sentence}", names, forbid)


@template("entities")
def _ner_5(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    words, photos = rng.randint(300, 1200), rng.randint(2, 9)
    return _entities_item(f"The article had {words} words and {photos} photos, which does not matter here. List every "
                          f"person, organisation and location named in: {sentence}", names, forbid)


@template("entities")
def _ner_6(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(bare(f"find the people places and companies named in this sentence {sentence}"), names,
                          forbid)


@template("entities")
def _ner_7(rng: random.Random) -> Item:
    sentence, names, forbid = ner_sentence(rng)
    return _entities_item(f"Can you pull out all the names (people, companies, places) from this? {sentence} "
                          "Thanks a lot!", names, forbid)


# --- entity questions of several shapes -----------------------------------------------------------------------

TYPE_WORDS = {"person": ["person", "human", "individual"],
              "organisation": ["organisation", "organization", "company", "business", "corporation", "firm"],
              "location": ["location", "place", "city"]}


@template("entity_questions")
def _entq_1(rng: random.Random) -> Item:
    people, org, city = rng.sample(PEOPLE, 2), rng.choice(ORGS), rng.choice(CITIES)
    sentence = rng.choice([f"{people[0]} and {people[1]} met the board of {org} in {city}.",
                           f"In {city}, {people[0]} interviewed {people[1]} for a documentary made by {org}."])
    return {"objective": f"Who are the people mentioned in: {sentence}",
            "check": strings(people, "all", [org, city]), "_answer": " and ".join(people),
            "_verify": {"op": "entities", "names": people}}


@template("entity_questions")
def _entq_2(rng: random.Random) -> Item:
    orgs, person, city = rng.sample(ORGS, rng.randint(1, 3)), rng.choice(PEOPLE), rng.choice(CITIES)
    sponsor = "sponsors" if len(orgs) == 1 else "sponsor"
    sentence = f"{person} said that {join_words(orgs)} {sponsor} the marathon in {city}."
    return {"objective": f"How many organisations are named in this sentence? Answer with just the number. "
                         f"{sentence}",
            "check": number_only(len(orgs)), "_answer": str(len(orgs)),
            "_verify": {"op": "count_names", "names": orgs}}


@template("entity_questions")
def _entq_3(rng: random.Random) -> Item:
    person, org, city = rng.choice(PEOPLE), rng.choice(ORGS), rng.choice(CITIES)
    headline = rng.choice([f"{person} of {org} opens a flagship store in {city}",
                           f"{org} hires {person} to run its team in {city}"])
    return {"objective": f'My colleague forwarded me this headline: "{headline}". Which city is it about?',
            "check": regex(first_mention([city], [person, org])), "_answer": f"It is about {city}.",
            "_verify": {"op": "entities", "names": [city]}}


@template("entity_questions")
def _entq_4(rng: random.Random) -> Item:
    sentence, _, _ = ner_sentence(rng)
    frame_slots = {"person": PEOPLE, "organisation": ORGS, "location": CITIES}
    candidates = [(name, kind) for kind, pool in frame_slots.items() for name in pool if name in sentence]
    name, kind = rng.choice(candidates)
    wrong = [w for k, words in TYPE_WORDS.items() if k != kind for w in words]
    options = "a person, an organisation or a location"
    return {"objective": f'Your task is to classify a named entity. Now, is {name} {options} in this sentence: '
                         f'"{sentence}"',
            "check": all_of(regex(first_mention(TYPE_WORDS[kind], wrong)), strings(TYPE_WORDS[kind], "any", [options])),
            "_answer": f"{name} is a {kind}.", "_verify": {"op": "entity_type", "name": name, "type": kind}}


@template("entity_questions")
def _entq_5(rng: random.Random) -> Item:
    orgs, person, city = rng.sample(ORGS, 2), rng.choice(PEOPLE), rng.choice(CITIES)
    pages, hires = rng.randint(20, 90), rng.randint(100, 900)
    return {"objective": f"In a report of {pages} pages, {person} said that {orgs[0]} and {orgs[1]} hired {hires} "
                         f"people in {city} last year. Which companies are mentioned?",
            "check": strings(orgs, "all", [person, city]), "_answer": f"{orgs[0]} and {orgs[1]}",
            "_verify": {"op": "entities", "names": orgs}}


@template("entity_questions")
def _entq_6(rng: random.Random) -> Item:
    people, org, city = rng.sample(PEOPLE, rng.randint(1, 3)), rng.choice(ORGS), rng.choice(CITIES)
    sentence = f"{join_words(people)} visited the {org} factory near {city}."
    return {"objective": bare(f"how many people are named in this sentence {sentence}"), "check": num(len(people)),
            "_answer": f"{len(people)}", "_verify": {"op": "count_names", "names": people}}


@template("entity_questions")
def _entq_7(rng: random.Random) -> Item:
    people, org, city = rng.sample(PEOPLE, 2), rng.choice(ORGS), rng.choice(CITIES)
    sentence = f"{people[0]} and {people[1]} toured the {org} headquarters in {city}"
    return {"objective": f"Hey, in this line: '{sentence}', which of the names is a company? Just curious.",
            "check": regex(first_mention([org], [*people, city])), "_answer": f"{org} is the company.",
            "_verify": {"op": "entity_type", "name": org, "type": "organisation"}}


# --- sentiment (movie reviews, counted) --------------------------------------------------------------------------

def _count_item(objective: str, reviews: list[tuple[str, str]], wanted: str, only: bool = False) -> Item:
    count = count_label(reviews, wanted)
    return {"objective": objective, "check": number_only(count) if only else num(count),
            "_answer": str(count) if only else f"{count} of them are {wanted}.",
            "_verify": sentiment_verify(reviews, wanted)}


@template("sentiment")
def _sent_1(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    return _count_item(f"How many of these reviews are positive? {lettered(reviews)}", reviews, "positive")


@template("sentiment")
def _sent_2(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 4)
    return _count_item(f"Count the negative movie reviews below and reply with only the count. {lettered(reviews)}",
                       reviews, "negative", only=True)


@template("sentiment")
def _sent_3(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    return _count_item(f"After movie night my friends texted me what they thought: {lettered(reviews)} How many of "
                       "them liked the film?", reviews, "positive")


@template("sentiment")
def _sent_4(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    return _count_item(f"Your task is to judge the sentiment of movie reviews. Now, how many of the following are "
                       f"negative? {lettered(reviews)}", reviews, "negative")


@template("sentiment")
def _sent_5(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    hour, low, high = rng.randint(7, 11), rng.randint(16, 25), rng.randint(50, 80)
    return _count_item(f"These reviews were posted at {hour} pm by viewers aged {low} to {high}: {lettered(reviews)} "
                       "How many of the reviews are positive?", reviews, "positive")


@template("sentiment")
def _sent_6(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    listed = " ".join(f"{nth} review {text}" for nth, (text, _) in zip(("first", "second", "third"), reviews))
    return _count_item(bare(f"how many of these movie reviews are positive {listed}"), reviews, "positive")


@template("sentiment")
def _sent_7(rng: random.Random) -> Item:
    reviews = review_set(rng, MOVIE_POS, MOVIE_NEG, 3)
    return _count_item(f"Can you tell me how many of these reviews give the film a thumbs-up? {lettered(reviews)} "
                       "Cheers!", reviews, "positive")


# --- reviews from other domains ---------------------------------------------------------------------------------

def sentiment_label(wanted: str) -> dict:
    """The first label mentioned is `wanted`; an answer holding the offered options (an echo) fails."""
    return all_of(label(wanted, ["positive", "negative"]), strings([wanted], "all", ["positive or negative"]))


def _one_review(rng: random.Random) -> tuple[str, str]:
    pos, neg = rng.choice([(RESTAURANT_POS, RESTAURANT_NEG), (PRODUCT_POS, PRODUCT_NEG), (APP_POS, APP_NEG)])
    wanted = rng.choice(("positive", "negative"))
    return rng.choice(pos if wanted == "positive" else neg), wanted


@template("reviews")
def _rev_1(rng: random.Random) -> Item:
    text, wanted = _one_review(rng)
    return {"objective": f'Is this review positive or negative? "{text}"',
            "check": sentiment_label(wanted),
            "_answer": f"It is {wanted}.",
            "_verify": sentiment_verify([(text, wanted)], wanted)}


@template("reviews")
def _rev_2(rng: random.Random) -> Item:
    wanted = rng.choice(("positive", "negative"))
    text = rng.choice(APP_POS if wanted == "positive" else APP_NEG)
    return {"objective": f"Classify the sentiment of this app review. Answer with one word in lower case: positive "
                         f"or negative. Review: {text}",
            "check": all_of(label(wanted, ["positive", "negative"]), regex(r"^\s*(?:positive|negative)\s*\.?\s*$")),
            "_answer": wanted, "_verify": sentiment_verify([(text, wanted)], wanted)}


@template("reviews")
def _rev_3(rng: random.Random) -> Item:
    reviews = review_set(rng, RESTAURANT_POS, RESTAURANT_NEG, 4)
    return _count_item(f"We asked diners at our new restaurant for feedback and got these replies: {lettered(reviews)} "
                       "How many of the diners were happy with their visit?", reviews, "positive")


@template("reviews")
def _rev_4(rng: random.Random) -> Item:
    reviews = review_set(rng, PRODUCT_POS, PRODUCT_NEG, 4)
    listed = " ".join(f"Review {n}: {text}" for n, (text, _) in enumerate(reviews, start=1))
    negative = [n for n, (_, lab) in enumerate(reviews, start=1) if lab == "negative"]
    positive = [n for n, (_, lab) in enumerate(reviews, start=1) if lab == "positive"]
    pattern = ("(?s)^" + "".join(rf"(?=.*(?<!\d){n}(?!\d))" for n in negative)
               + rf"(?!.*(?<!\d)[{''.join(map(str, positive))}](?!\d))")
    return {"objective": f"Your task is to sort feedback. Now, which of these reviews are negative? {listed} Give "
                         f"the review numbers.",
            "check": regex(pattern), "_answer": f"Reviews {' and '.join(map(str, negative))} are negative.",
            "_verify": {"op": "which_label", "reviews": [list(r) for r in reviews], "label": "negative",
                        "numbers": negative}}


@template("reviews")
def _rev_5(rng: random.Random) -> Item:
    text, wanted = _one_review(rng)
    order, day = rng.randint(1000, 9999), rng.randint(2, 9)
    return {"objective": f'Order {order} arrived on day {day} of the sale. The customer wrote: "{text}" Was the '
                         f"customer satisfied? Say whether the review is positive or negative.",
            "check": sentiment_label(wanted),
            "_answer": f"The review is {wanted}.",
            "_verify": sentiment_verify([(text, wanted)], wanted)}


@template("reviews")
def _rev_6(rng: random.Random) -> Item:
    wanted = rng.choice(("positive", "negative"))
    text = rng.choice(APP_POS + RESTAURANT_POS if wanted == "positive" else APP_NEG + RESTAURANT_NEG)
    good, bad = ["good", "positive"], ["bad", "negative"]
    return {"objective": bare(f"is this comment good or bad {text}"),
            "check": all_of(regex(first_mention(good, bad) if wanted == "positive" else first_mention(bad, good)),
                            strings(good if wanted == "positive" else bad, "any", ["good or bad"])),
            "_answer": "good" if wanted == "positive" else "bad", "_verify": sentiment_verify([(text, wanted)], wanted)}


@template("reviews")
def _rev_7(rng: random.Random) -> Item:
    reviews = review_set(rng, PRODUCT_POS, PRODUCT_NEG, 3)
    return _count_item(f"Got these reviews for my little online shop: {lettered(reviews)} How many are negative? "
                       "Thanks!", reviews, "negative")


# --- memory: store, then recall in a later run -----------------------------------------------------------------

PROJECTS = ["Lark", "Heron", "Finch", "Osprey", "Wren", "Kestrel", "Plover", "Egret", "Curlew", "Merlin"]
CODE_COLOURS = ["amber", "cobalt", "scarlet", "jade", "ivory", "umber", "violet", "saffron"]
FRUITS = ["quince", "lychee", "apricot", "persimmon", "damson", "kumquat", "medlar", "guava"]
GOODS = ["widget", "gasket", "bracket", "sprocket", "hinge", "valve", "bearing", "spindle"]


def _pair(store: str, value: str, ask: str, check: dict, answer: str, verify: dict | None = None) -> Item:
    return {"store": {"objective": store, "check": strings([value], "all", [store]),
                      "_answer": f"Stored: {value}.", "_verify": {"op": "stored", "value": value}},
            "ask": {"objective": ask, "check": check, "_answer": answer,
                    "_verify": verify or {"op": "stored", "value": value}}}


def code_word(rng: random.Random) -> str:
    return f"{rng.choice(CODE_COLOURS)}-{rng.randint(10, 99)}"


@template("memory")
def _mem_1(rng: random.Random) -> Item:
    project, word = rng.choice(PROJECTS), code_word(rng)
    return _pair(f"Remember: the code word for project {project} is '{word}'.", word,
                 f"What is the code word for project {project}?", strings([word]), f"It is {word}.")


@template("memory")
def _mem_2(rng: random.Random) -> Item:
    locker = rng.randint(100, 999)
    return _pair(f"Please remember that my locker number is {locker}.", str(locker),
                 "What is my locker number? Reply with just the number.", number_only(locker), str(locker))


@template("memory")
def _mem_3(rng: random.Random) -> Item:
    code = rng.randint(1000, 9999)
    return _pair(f"I just moved into a new flat and the door code is {code}. Keep that in mind for me, please.",
                 str(code), "I'm standing outside my flat with heavy bags. What was the door code again?", num(code),
                 f"The door code is {code}.")


@template("memory")
def _mem_4(rng: random.Random) -> Item:
    name, fruit = rng.choice(NAMES), rng.choice(FRUITS)
    return _pair(f"Your task is to store a fact for later. Now, store this: {name}'s favourite fruit is the {fruit}.",
                 fruit, f"Your task is to recall a stored fact. Now, which fruit does {name} like best?",
                 strings([fruit]), f"{name} likes the {fruit} best.")


@template("memory")
def _mem_5(rng: random.Random) -> Item:
    house, dentist, combo = rng.randint(2, 80), rng.randint(2, 28), rng.randint(1000, 9999)
    return _pair(f"My sister lives at number {house} and my dentist appointment is on the {ordinal(dentist)}, but "
                 f"the thing to remember is that my bike lock combination is {combo}.", str(combo),
                 "Forget my sister's house and the dentist: what is my bike lock combination?", num(combo),
                 f"Your bike lock combination is {combo}.")


@template("memory")
def _mem_6(rng: random.Random) -> Item:
    word = code_word(rng)
    return _pair(f"remember that the wifi password at the cabin is {word}", word,
                 "what is the wifi password at the cabin", strings([word]), word)


@template("memory")
def _mem_7(rng: random.Random) -> Item:
    good, price, amount = rng.choice(GOODS), rng.randint(12, 95), rng.randint(3, 19)
    return _pair(f"Hey, quick note for later: one {good} costs {price} dollars.", str(price),
                 f"Hi again! How many dollars would {amount} {good}s cost me?", num(price * amount),
                 f"{amount} {good}s cost {price * amount} dollars.", expr(f"{price} * {amount}"))


# --- multi-step -----------------------------------------------------------------------------------------------

@template("multistep")
def _multi_1(rng: random.Random) -> Item:
    a, b, c = rng.randint(120, 980), rng.randint(120, 980), rng.randint(12, 49)
    return {"objective": f"Add {a} and {b}, then multiply the sum by {c}. What is the result?",
            "check": num((a + b) * c), "_answer": f"The result is {(a + b) * c}.",
            "_verify": expr(f"({a} + {b}) * {c}")}


@template("multistep")
def _multi_2(rng: random.Random) -> Item:
    d = rng.randint(3, 12)
    a, b = rng.randint(12, 60), rng.randint(12, 60)
    c = (a * b) % d + d * rng.randint(1, 9)  # a * b - c divisible by d
    value = (a * b - c) // d
    return {"objective": f"Multiply {a} by {b}, subtract {c}, then divide by {d}. Answer with just the final number.",
            "check": number_only(value), "_answer": str(value), "_verify": expr(f"({a} * {b} - {c}) / {d}")}


@template("multistep")
def _multi_3(rng: random.Random) -> Item:
    start, sea, road = random_date(rng), rng.randint(8, 40), rng.randint(2, 15)
    arrive = start + dt.timedelta(days=sea + road)
    return {"objective": f"A parcel leaves the warehouse on {long_date(start)}. It spends {sea} days at sea and then "
                         f"{road} days on a truck. On what date does it arrive?",
            "check": regex(date_pattern(arrive)), "_answer": f"It arrives on {long_date(arrive)}.",
            "_verify": {"op": "date_plus", "date": start.isoformat(), "days": sea + road, "parts": [sea, road]}}


@template("multistep")
def _multi_4(rng: random.Random) -> Item:
    sentence, names, _ = ner_sentence(rng)
    factor = rng.randint(6, 19)
    return {"objective": f"Your task is to solve a two-step problem. Now, count the named entities in this sentence, "
                         f"then multiply the count by {factor}: {sentence}",
            "check": num(len(names) * factor), "_answer": f"{len(names)} entities times {factor} is "
                                                          f"{len(names) * factor}.",
            "_verify": {"op": "count_names", "names": names, "factor": factor}}


@template("multistep")
def _multi_5(rng: random.Random) -> Item:
    animals, pens, year = legs_list(rng, 2, ["goat", "sheep", "chicken", "duck", "horse", "cow"]), rng.randint(3, 8), \
        rng.randint(1970, 2015)
    return _legs_item(f"The city zoo opened in {year}. One of its pens holds {legs_words(animals)}, and the zoo has "
                      f"{pens} identical pens like it. How many legs are there in all those pens together?",
                      animals, factor=pens)


@template("multistep")
def _multi_6(rng: random.Random) -> Item:
    start = random_date(rng)
    end = start + dt.timedelta(days=rng.randint(10, 120))
    hours = (end - start).days * 24
    return {"objective": f"how many hours are there from {bare_date(start)} to {bare_date(end)}",
            "check": num(hours), "_answer": f"{hours} hours",
            "_verify": {"op": "days_between", "start": start.isoformat(), "end": end.isoformat(), "mul": 24,
                        "div": 1}}


@template("multistep")
def _multi_7(rng: random.Random) -> Item:
    reviews, factor = review_set(rng, MOVIE_POS + APP_POS, MOVIE_NEG + APP_NEG, 3), rng.randint(5, 15)
    count = count_label(reviews, "positive")
    return {"objective": f"Hey! Can you count how many of these comments are positive and then multiply that by "
                         f"{factor}? {lettered(reviews)}",
            "check": num(count * factor), "_answer": f"{count} positive, times {factor} is {count * factor}.",
            "_verify": sentiment_verify(reviews, "positive", factor)}


# --- unit conversions -------------------------------------------------------------------------------------------

KM_PER_MILE = Fraction("1.609344")
LB_PER_KG = Fraction("2.20462262")
KG_PER_LB = Fraction("0.45359237")
CM_PER_INCH = Fraction("2.54")


def _converted(rng: random.Random, low: int, high: int, factor: Fraction, digits: int, divide: bool = False) \
        -> tuple[int, Fraction]:
    """A whole amount whose conversion is well clear of a rounding boundary."""
    while True:
        amount = rng.randint(low, high)
        exact = amount / factor if divide else amount * factor
        if clear_of_half(exact, digits):
            return amount, Fraction(round(exact, digits))


@template("unit_conversion")
def _unit_1(rng: random.Random) -> Item:
    celsius = 5 * rng.randint(-6, 20)
    fahrenheit = Fraction(celsius * 9, 5) + 32
    return {"objective": f"What is {celsius} °C in Fahrenheit?", "check": num(fahrenheit),
            "_answer": f"{celsius} °C is {plain_number(fahrenheit)} °F.", "_verify": expr(f"{celsius} * 9 / 5 + 32")}


@template("unit_conversion")
def _unit_2(rng: random.Random) -> Item:
    km, miles = _converted(rng, 5, 300, KM_PER_MILE, 0, divide=True)
    return {"objective": f"Convert {km} kilometres to miles, rounded to the nearest whole mile. Reply with just the "
                         f"number.", "check": number_only(miles, 0.5), "_answer": str(plain_number(miles)),
            "_verify": expr(f"{km} / 1.609344", 0)}


@template("unit_conversion")
def _unit_3(rng: random.Random) -> Item:
    kg, pounds = _converted(rng, 8, 32, LB_PER_KG, 1)
    return {"objective": f"My suitcase weighed {kg} kg at the airport, and my aunt in Texas wants to know what that is "
                         f"in pounds. What is it, rounded to one decimal place?",
            "check": num(pounds, 0.05), "_answer": f"About {float(pounds)} pounds.",
            "_verify": expr(f"{kg} * 2.20462262", 1)}


@template("unit_conversion")
def _unit_4(rng: random.Random) -> Item:
    inches = rng.randint(3, 80)
    cm = inches * CM_PER_INCH
    return {"objective": f"Your task is to convert units. Now, how many centimetres are in {inches} inches?",
            "check": num(cm), "_answer": f"{inches} inches is {float(cm)} cm.", "_verify": expr(f"{inches} * 2.54")}


@template("unit_conversion")
def _unit_5(rng: random.Random) -> Item:
    room, humidity, celsius = rng.randint(2, 40), rng.randint(30, 70), 5 * rng.randint(-2, 8)
    fahrenheit = celsius * 9 // 5 + 32
    return {"objective": f"The thermostat in room {room} reads {fahrenheit} °F and the humidity is {humidity}%. "
                         f"What is that temperature in Celsius?",
            "check": num(celsius), "_answer": f"That is {celsius} °C.", "_verify": expr(f"({fahrenheit} - 32) * 5 / 9")}


@template("unit_conversion")
def _unit_6(rng: random.Random) -> Item:
    miles, km = _converted(rng, 3, 250, KM_PER_MILE, 0)
    return {"objective": f"how many kilometres is {miles} miles rounded to the nearest kilometre",
            "check": num(km, 0.5), "_answer": f"{plain_number(km)} km", "_verify": expr(f"{miles} * 1.609344", 0)}


@template("unit_conversion")
def _unit_7(rng: random.Random) -> Item:
    pounds, kg = _converted(rng, 2, 12, KG_PER_LB, 2)
    return {"objective": f"Hi! My bread recipe calls for {pounds} pounds of flour but my scale only shows kilograms. "
                         f"How many kg is that, to two decimal places?",
            "check": num(kg, 0.005), "_answer": f"That's {float(kg):.2f} kg.",
            "_verify": expr(f"{pounds} * 0.45359237", 2)}


# --- time conversions -----------------------------------------------------------------------------------------

@template("time_conversion")
def _tconv_1(rng: random.Random) -> Item:
    hours = rng.randint(2, 40)
    return {"objective": f"How many minutes are in {hours} hours?", "check": num(hours * 60),
            "_answer": f"{hours * 60} minutes", "_verify": expr(f"{hours} * 60")}


@template("time_conversion")
def _tconv_2(rng: random.Random) -> Item:
    minutes = rng.randint(3, 90)
    return {"objective": f"Convert {minutes} minutes to seconds. Answer with just the number.",
            "check": number_only(minutes * 60), "_answer": str(minutes * 60), "_verify": expr(f"{minutes} * 60")}


@template("time_conversion")
def _tconv_3(rng: random.Random) -> Item:
    hours, minutes = rng.randint(1, 13), rng.randint(5, 55)
    total = hours * 60 + minutes
    return {"objective": f"My flight to see my parents lasted {amount(hours, 'hour')} and {minutes} minutes. How "
                         f"many minutes was I in the air?", "check": num(total), "_answer": f"{total} minutes",
            "_verify": expr(f"{hours} * 60 + {minutes}")}


@template("time_conversion")
def _tconv_4(rng: random.Random) -> Item:
    days = rng.randint(2, 30)
    return {"objective": f"Your task is to convert a duration. Now, how many hours are in {days} days?",
            "check": num(days * 24), "_answer": f"{days * 24} hours", "_verify": expr(f"{days} * 24")}


@template("time_conversion")
def _tconv_5(rng: random.Random) -> Item:
    room, price, minutes = rng.randint(1, 12), rng.randint(8, 16), rng.randint(80, 180)
    seconds = minutes * 60
    return {"objective": f"The film plays in screen {room} and the ticket cost {price} dollars. The film runs for "
                         f"{seconds} seconds. How many minutes is that?",
            "check": num(minutes), "_answer": f"{minutes} minutes", "_verify": expr(f"{seconds} / 60")}


@template("time_conversion")
def _tconv_6(rng: random.Random) -> Item:
    hours = rng.randint(2, 12)
    return {"objective": f"how many seconds are in {hours} hours", "check": num(hours * 3600),
            "_answer": str(hours * 3600), "_verify": expr(f"{hours} * 3600")}


@template("time_conversion")
def _tconv_7(rng: random.Random) -> Item:
    minutes = 15 * rng.randint(5, 40)
    hours = Fraction(minutes, 60)
    return {"objective": f"Quick check: {minutes} minutes is how many hours? Thanks!", "check": num(hours),
            "_answer": f"{float(hours)} hours", "_verify": expr(f"{minutes} / 60")}


# --- percentages -------------------------------------------------------------------------------------------------

def _percent_pair(rng: random.Random) -> tuple[int, int]:
    """(percent, base) with percent * base / 100 whole."""
    while True:
        percent, base = rng.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 60, 75, 80]), 20 * rng.randint(2, 60)
        if percent * base % 100 == 0:
            return percent, base


@template("percentages")
def _pct_1(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    value = percent * base // 100
    return {"objective": f"What is {percent}% of {base}?", "check": num(value), "_answer": str(value),
            "_verify": expr(f"{base} * {percent} / 100")}


@template("percentages")
def _pct_2(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    part = percent * base // 100
    return {"objective": f"What percentage of {base} is {part}? Reply with just the number, without the % sign.",
            "check": all_of(num(percent), regex(r"^\s*\d+(?:\.\d+)?\s*$")), "_answer": str(percent),
            "_verify": expr(f"{part} / {base} * 100")}


@template("percentages")
def _pct_3(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    grown = base + percent * base // 100
    return {"objective": f"Our village had {base} residents last year and has {grown} this year. By what percentage "
                         f"did the population grow?",
            "check": num(percent), "_answer": f"It grew by {percent}%.",
            "_verify": expr(f"({grown} - {base}) / {base} * 100")}


@template("percentages")
def _pct_4(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    passed = percent * base // 100
    return {"objective": f"Your task is to work with percentages. Now, {passed} out of {base} students passed the "
                         f"exam. What percent of the students passed?",
            "check": num(percent), "_answer": f"{percent}% passed.", "_verify": expr(f"{passed} / {base} * 100")}


@template("percentages")
def _pct_5(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    day, hour = rng.randint(1, 28), rng.randint(1, 6)
    yes = percent * base // 100
    return {"objective": f"In a survey held on {MONTHS[rng.randrange(12)]} {day} at {hour} pm, {base} people answered "
                         f"and {percent}% of them said yes. How many people said yes?",
            "check": num(yes), "_answer": f"{yes} people said yes.", "_verify": expr(f"{base} * {percent} / 100")}


@template("percentages")
def _pct_6(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    value = base + percent * base // 100
    return {"objective": f"what is {base} increased by {percent} percent", "check": num(value),
            "_answer": str(value), "_verify": expr(f"{base} * (100 + {percent}) / 100")}


@template("percentages")
def _pct_7(rng: random.Random) -> Item:
    percent, base = _percent_pair(rng)
    percent = min(percent, 60)
    while percent * base % 100:
        percent += 5
    dropped = base - percent * base // 100
    return {"objective": f"Ugh, my game score went from {base} to {dropped}. What's that as a percentage drop?",
            "check": num(percent), "_answer": f"A {percent}% drop.",
            "_verify": expr(f"({base} - {dropped}) / {base} * 100")}


# --- money --------------------------------------------------------------------------------------------------------

def _cents(rng: random.Random, low: int, high: int) -> Fraction:
    return Fraction(rng.randint(low * 100, high * 100), 100)


@template("money")
def _money_1(rng: random.Random) -> Item:
    price, off = 5 * rng.randint(6, 40), rng.choice([10, 15, 20, 25, 30, 40, 50])
    sale = Fraction(price * (100 - off), 100)
    return {"objective": f"A jacket costs ${price} and is {off}% off. What is the sale price?",
            "check": num(sale, 0.005), "_answer": f"${money(sale)}",
            "_verify": expr(f"{price} * (100 - {off}) / 100", 2)}


@template("money")
def _money_2(rng: random.Random) -> Item:
    bill, tip = _cents(rng, 20, 180), rng.choice([10, 15, 18, 20, 25])
    while (bill * tip).denominator != 1:  # a tip in whole cents
        bill += Fraction(1, 100)
    value = bill * tip / 100
    article = "an" if tip == 18 else "a"
    return {"objective": f"Our dinner bill is ${money(bill)} and we want to leave {article} {tip}% tip. How much is "
                         f"the tip? Answer with just the amount in dollars, like 12.50.",
            "check": all_of(num(value, 0.005), regex(MONEY_ONLY)), "_answer": money(value),
            "_verify": expr(f"{money(bill)} * {tip} / 100", 2)}


@template("money")
def _money_3(rng: random.Random) -> Item:
    coffee, muffin, note = _cents(rng, 2, 6), _cents(rng, 2, 5), rng.choice([20, 50])
    change = note - coffee - muffin
    return {"objective": f"I paid with a ${note} note for a coffee at ${money(coffee)} and a muffin at "
                         f"${money(muffin)}. How much change should I get?",
            "check": num(change, 0.005), "_answer": f"You should get ${money(change)} back.",
            "_verify": expr(f"{note} - {money(coffee)} - {money(muffin)}", 2)}


@template("money")
def _money_4(rng: random.Random) -> Item:
    friends = rng.randint(3, 8)
    share = _cents(rng, 12, 60)
    bill = share * friends
    return {"objective": f"Your task is to split a bill. Now, {friends} friends share a restaurant bill of "
                         f"${money(bill)} equally. How much does each of them pay?",
            "check": num(share, 0.005), "_answer": f"Each pays ${money(share)}.",
            "_verify": expr(f"{money(bill)} / {friends}", 2)}


@template("money")
def _money_5(rng: random.Random) -> Item:
    store, street, price, tax = rng.randint(10, 99), rng.randint(2, 9), 4 * rng.randint(5, 60), rng.choice([5, 8, 10])
    total = Fraction(price * (100 + tax), 100)
    return {"objective": f"At store number {store} on {ordinal(street)} Avenue, a lamp costs ${price} before tax. "
                         f"Sales tax is {tax}%. What is the total price with tax?",
            "check": num(total, 0.005), "_answer": f"${money(total)}",
            "_verify": expr(f"{price} * (100 + {tax}) / 100", 2)}


@template("money")
def _money_6(rng: random.Random) -> Item:
    wage, hours = rng.randint(12, 40), rng.randint(8, 45)
    return {"objective": f"i earn {wage} dollars an hour and worked {hours} hours this week how much did i earn",
            "check": num(wage * hours), "_answer": f"{wage * hours} dollars", "_verify": expr(f"{wage} * {hours}")}


@template("money")
def _money_7(rng: random.Random) -> Item:
    pizzas, price, delivery, coupon = rng.randint(2, 6), rng.randint(9, 19), rng.randint(2, 6), rng.randint(3, 10)
    total = pizzas * price + delivery - coupon
    return {"objective": f"Hey! I'm ordering {pizzas} pizzas at ${price} each with a ${delivery} delivery fee, and I "
                         f"have a ${coupon} coupon off the total. What do I pay?",
            "check": num(total, 0.005), "_answer": f"You pay ${total}.",
            "_verify": expr(f"{pizzas} * {price} + {delivery} - {coupon}")}


# --- statistics over a list (held out) ------------------------------------------------------------------------

def _values(rng: random.Random, count: int, low: int, high: int) -> list[int]:
    return [rng.randint(low, high) for _ in range(count)]


def _mean_values(rng: random.Random, count: int, low: int, high: int) -> list[int]:
    while True:
        values = _values(rng, count, low, high)
        if sum(values) % count == 0:
            return values


def _stat_item(objective: str, name: str, values: list[int], only: bool = False, answer: str = "{}") -> Item:
    value = {"mean": lambda v: Fraction(sum(v), len(v)), "median": statistics.median, "max": max, "min": min,
             "range": lambda v: max(v) - min(v), "sum": sum}[name](values)
    return {"objective": objective, "check": number_only(value) if only else num(value),
            "_answer": str(plain_number(value)) if only else answer.format(plain_number(value)),
            "_verify": {"op": "stat", "name": name, "values": values}}


@template("statistics")
def _stat_1(rng: random.Random) -> Item:
    values = _mean_values(rng, rng.randint(4, 7), 2, 99)
    return _stat_item(f"What is the mean of {', '.join(map(str, values))}?", "mean", values, answer="The mean is {}.")


@template("statistics")
def _stat_2(rng: random.Random) -> Item:
    values = _values(rng, rng.choice([5, 7, 9]), 1, 200)
    return _stat_item(f"Find the median of these numbers and answer with just the number: "
                      f"{', '.join(map(str, values))}", "median", values, only=True)


@template("statistics")
def _stat_3(rng: random.Random) -> Item:
    values = _values(rng, 7, 2, 19)
    return _stat_item(f"Over one week I walked these distances in km, Monday to Sunday: {', '.join(map(str, values))}. "
                      "How many km was my longest walk?", "max", values, answer="Your longest walk was {} km.")


@template("statistics")
def _stat_4(rng: random.Random) -> Item:
    values = _values(rng, rng.randint(5, 8), 10, 500)
    return _stat_item(f"Your task is to summarise data. Now, what is the range (largest minus smallest) of "
                      f"{', '.join(map(str, values))}?", "range", values, answer="The range is {}.")


@template("statistics")
def _stat_5(rng: random.Random) -> Item:
    values, room, age = _mean_values(rng, rng.randint(5, 8), 40, 100), rng.randint(2, 40), rng.randint(28, 64)
    return _stat_item(f"Class 4B meets in room {room} and its teacher is {age}. The class got these test scores: "
                      f"{', '.join(map(str, values))}. What is the average score?", "mean", values,
                      answer="The average is {}.")


@template("statistics")
def _stat_6(rng: random.Random) -> Item:
    values = _values(rng, rng.randint(5, 8), 3, 250)
    return _stat_item(f"add up these numbers {' '.join(map(str, values))}", "sum", values, answer="{}")


@template("statistics")
def _stat_7(rng: random.Random) -> Item:
    values = _values(rng, 6, 25, 90)
    return _stat_item(f"Hey, here are my phone bills for the last six months in dollars: "
                      f"{', '.join(map(str, values))}. What was the lowest one?", "min", values,
                      answer="The lowest was ${}.")


# --- date spans: days between two dates -------------------------------------------------------------------------

def _span(rng: random.Random, low: int = 5, high: int = 400) -> tuple[dt.date, dt.date]:
    start = random_date(rng)
    return start, start + dt.timedelta(days=rng.randint(low, high))


def _span_item(objective: str, start: dt.date, end: dt.date, only: bool = False, div: int = 1,
               answer: str = "{} days") -> Item:
    days = (end - start).days
    assert days % div == 0
    return {"objective": objective, "check": number_only(days // div) if only else num(days // div),
            "_answer": str(days // div) if only else answer.format(days // div),
            "_verify": {"op": "days_between", "start": start.isoformat(), "end": end.isoformat(), "mul": 1,
                        "div": div}}


@template("date_span")
def _span_1(rng: random.Random) -> Item:
    start, end = _span(rng)
    return _span_item(f"How many days are there from {long_date(start)} to {long_date(end)}?", start, end)


@template("date_span")
def _span_2(rng: random.Random) -> Item:
    start, end = _span(rng)
    return _span_item(f"How many days after {start.isoformat()} is {end.isoformat()}? Answer with just the number.",
                      start, end, only=True)


@template("date_span")
def _span_3(rng: random.Random) -> Item:
    start, end = _span(rng, 20, 700)
    return _span_item(f"We adopted our puppy on {long_date(start)}. Today is {long_date(end)}. How many days has it "
                      "been since we adopted her?", start, end, answer="It has been {} days.")


@template("date_span")
def _span_4(rng: random.Random) -> Item:
    start = random_date(rng)
    end = start + dt.timedelta(weeks=rng.randint(2, 40))
    return _span_item(f"Your task is to count the time between two dates. Now, how many weeks are there from "
                      f"{long_date(start)} to {long_date(end)}?", start, end, div=7, answer="{} weeks")


@template("date_span")
def _span_5(rng: random.Random) -> Item:
    start, end = _span(rng, 5, 90)
    invoice, items = rng.randint(100, 999), rng.randint(2, 12)
    return _span_item(f"Invoice {invoice} for {items} items was issued on {long_date(start)} and paid on "
                      f"{long_date(end)}. How many days did it take to pay it?", start, end,
                      answer="It took {} days.")


@template("date_span")
def _span_6(rng: random.Random) -> Item:
    start, end = _span(rng)
    return _span_item(f"how many days from {bare_date(start)} until {bare_date(end)}", start, end)


@template("date_span")
def _span_7(rng: random.Random) -> Item:
    start, end = _span(rng, 5, 120)
    return _span_item(f"Ugh, today is {long_date(start)} and my exam is on {long_date(end)}. How many days are left "
                      "until the exam?", start, end, answer="{} days left.")


# --- durations: a date plus days or weeks -------------------------------------------------------------------------

def _plus_item(objective: str, start: dt.date, days: int, iso_only: bool = False) -> Item:
    target = start + dt.timedelta(days=days)
    check = all_of(regex(date_pattern(target)), regex(rf"^\s*{target.isoformat()}\s*$")) if iso_only \
        else regex(date_pattern(target))
    return {"objective": objective, "check": check,
            "_answer": target.isoformat() if iso_only else f"It is {WEEKDAYS[target.weekday()]}, {long_date(target)}.",
            "_verify": {"op": "date_plus", "date": start.isoformat(), "days": days}}


@template("date_add")
def _plus_1(rng: random.Random) -> Item:
    start, days = random_date(rng), rng.randint(5, 200)
    return _plus_item(f"What date is {days} days after {long_date(start)}?", start, days)


@template("date_add")
def _plus_2(rng: random.Random) -> Item:
    start, weeks = random_date(rng), rng.randint(2, 20)
    return _plus_item(f"Add {weeks} weeks to {start.isoformat()}. Give the resulting date as YYYY-MM-DD and nothing "
                      f"else.", start, 7 * weeks, iso_only=True)


@template("date_add")
def _plus_3(rng: random.Random) -> Item:
    start, days = random_date(rng), rng.choice([14, 21, 28, 30, 42])
    return _plus_item(f"I borrowed a library book on {long_date(start)} and it is due back {days} days later. What "
                      f"is the due date?", start, days)


@template("date_add")
def _plus_4(rng: random.Random) -> Item:
    start, days = random_date(rng), rng.randint(5, 150)
    return _plus_item(f"Your task is to do date arithmetic. Now, what was the date {days} days before "
                      f"{long_date(start)}?", start, -days)


@template("date_add")
def _plus_5(rng: random.Random) -> Item:
    start, days, number, pages = random_date(rng), rng.randint(30, 365), rng.randint(1000, 9999), rng.randint(3, 30)
    return _plus_item(f"Contract {number} has {pages} pages. It starts on {long_date(start)} and ends exactly {days} "
                      f"days after its start date. On what date does it end?", start, days)


@template("date_add")
def _plus_6(rng: random.Random) -> Item:
    start, weeks = random_date(rng), rng.randint(2, 15)
    return _plus_item(f"what is the date {weeks} weeks after {bare_date(start)}", start, 7 * weeks)


@template("date_add")
def _plus_7(rng: random.Random) -> Item:
    start, days = random_date(rng), rng.randint(5, 25)
    return _plus_item(f"Hey! My vacation starts on {long_date(start)} and I fly home {days} days later. Which date "
                      "do I fly home?", start, days)


# --- time of day (held out) ---------------------------------------------------------------------------------------

def _clock_item(objective: str, start: int, delta: int, only24: bool = False) -> Item:
    end = start + delta
    assert 60 <= end < 24 * 60 and end // 60 != 12
    check = all_of(regex(time_pattern(end)), regex(rf"^\s*{clock24(end)}\s*$")) if only24 \
        else regex(time_pattern(end))
    return {"objective": objective, "check": check, "_answer": clock24(end) if only24 else f"At {clock12(end)}.",
            "_verify": {"op": "clock", "start": clock24(start), "minutes": delta}}


def _clock_pair(rng: random.Random, low: int, high: int, min_delta: int, max_delta: int) -> tuple[int, int]:
    """(start, minutes): the end is a daytime hour other than 12, and the minutes are not whole hours."""
    while True:
        start, delta = clock_minutes(rng, low, high), 5 * rng.randint(min_delta // 5, max_delta // 5)
        end = start + delta
        if 7 * 60 <= end < 23 * 60 and end // 60 != 12 and delta % 60:
            return start, delta


@template("time_of_day")
def _clock_1(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 7, 20, 70, 300)
    hours, minutes = divmod(delta, 60)
    return _clock_item(f"What time is it {amount(hours, 'hour')} and {amount(minutes, 'minute')} after "
                       f"{clock12(start)}?", start, delta)


@template("time_of_day")
def _clock_2(rng: random.Random) -> Item:
    while True:
        start, delta = _clock_pair(rng, 8, 18, 25, 150)
        if start + delta >= 10 * 60:
            break
    return _clock_item(f"A meeting starts at {clock24(start)} and lasts {delta} minutes. When does it end? Answer in "
                       f"24-hour HH:MM format only.", start, delta, only24=True)


@template("time_of_day")
def _clock_3(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 6, 18, 70, 330)
    hours, minutes = divmod(delta, 60)
    return _clock_item(f"My train leaves at {clock12(start)} and the trip takes {amount(hours, 'hour')} "
                       f"{amount(minutes, 'minute')}. "
                       f"What time do I arrive?", start, delta)


@template("time_of_day")
def _clock_4(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 9, 22, 20, 200)
    start, delta = start + delta, -delta
    return _clock_item(f"Your task is to do clock arithmetic. Now, what time was it {-delta} minutes before "
                       f"{clock12(start)}?", start, delta)


@template("time_of_day")
def _clock_5(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 7, 19, 25, 95)
    opens, street, loaves = clock_minutes(rng, 6, 8), rng.randint(2, 9), 10 * rng.randint(10, 40)
    return _clock_item(f"The bakery on {ordinal(street)} Street opens at {clock12(opens)} and sells {loaves} loaves a "
                       f"day. If I put my bread in the oven at {clock12(start)} and it bakes for {delta} minutes, "
                       f"when is it ready?", start, delta)


@template("time_of_day")
def _clock_6(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 7, 18, 30, 400)
    return {"objective": f"how many minutes are there between {clock12(start)} and {clock12(start + delta)}",
            "check": num(delta), "_answer": f"{delta} minutes",
            "_verify": {"op": "clock_diff", "start": clock24(start), "end": clock24(start + delta)}}


@template("time_of_day")
def _clock_7(rng: random.Random) -> Item:
    start, delta = _clock_pair(rng, 13, 21, 80, 190)
    hours, minutes = divmod(delta, 60)
    return _clock_item(f"Hey! The movie starts at {clock12(start)} and it's {hours}h {minutes}m long. When does it "
                       "finish?", start, delta)


# --- chained quantities ---------------------------------------------------------------------------------------------

@template("chained_quantities")
def _chain_1(rng: random.Random) -> Item:
    a, b, c = rng.choice([6, 10, 12, 18, 30]), rng.randint(4, 20), rng.randint(2, 15)
    return {"objective": f"A box holds {a} eggs and a crate holds {b} boxes. How many eggs are in {c} crates?",
            "check": num(a * b * c), "_answer": f"{a * b * c} eggs", "_verify": expr(f"{a} * {b} * {c}")}


@template("chained_quantities")
def _chain_2(rng: random.Random) -> Item:
    a, b, c = rng.randint(20, 45), rng.randint(4, 8), rng.randint(6, 30)
    return {"objective": f"Each shelf holds {a} books, each bookcase has {b} shelves, and the library has {c} "
                         f"bookcases. How many books fit in the library? Answer with just the number.",
            "check": number_only(a * b * c), "_answer": str(a * b * c), "_verify": expr(f"{a} * {b} * {c}")}


@template("chained_quantities")
def _chain_3(rng: random.Random) -> Item:
    ratio, buses = rng.choice([5, 6, 8, 10]), rng.randint(2, 9)
    per_bus = ratio * rng.randint(4, 8)
    adults = per_bus * buses // ratio
    return {"objective": f"For the school trip each bus takes {per_bus} children, and every {ratio} children need "
                         f"one adult. We have {buses} buses, all full. How many adults need to come along?",
            "check": num(adults), "_answer": f"{adults} adults", "_verify": expr(f"{per_bus} * {buses} / {ratio}")}


@template("chained_quantities")
def _chain_4(rng: random.Random) -> Item:
    litres, hours = rng.randint(3, 25), rng.randint(2, 9)
    return {"objective": f"Your task is to chain rates. Now, a tap fills {litres} litres a minute. How many litres "
                         f"does it fill in {hours} hours?",
            "check": num(litres * 60 * hours), "_answer": f"{litres * 60 * hours} litres",
            "_verify": expr(f"{litres} * 60 * {hours}")}


@template("chained_quantities")
def _chain_5(rng: random.Random) -> Item:
    year, weight = rng.randint(1950, 2015), 10 * rng.randint(15, 60)
    flour, loaves, trays = 25 * rng.randint(12, 24), rng.randint(4, 12), rng.randint(2, 8)
    return {"objective": f"A bakery that opened in {year} uses {flour} grams of flour per loaf and bakes {loaves} "
                         f"loaves per tray. Its oven, which weighs {weight} kg, fits {trays} trays. How many grams "
                         f"of flour go into one full oven?",
            "check": num(flour * loaves * trays), "_answer": f"{flour * loaves * trays} grams",
            "_verify": expr(f"{flour} * {loaves} * {trays}")}


@template("chained_quantities")
def _chain_6(rng: random.Random) -> Item:
    carton = rng.choice([6, 10, 12])
    while True:
        eggs, cakes = rng.randint(2, 5), rng.randint(3, 24)
        if eggs * cakes % carton == 0:
            break
    cartons = eggs * cakes // carton
    return {"objective": f"a recipe needs {eggs} eggs per cake and eggs come in cartons of {carton} how many cartons "
                         f"do i need for {cakes} cakes",
            "check": num(cartons), "_answer": f"{cartons} cartons", "_verify": expr(f"{eggs} * {cakes} / {carton}")}


@template("chained_quantities")
def _chain_7(rng: random.Random) -> Item:
    per_litre, price = rng.randint(8, 20), Fraction(rng.randint(120, 230), 100)
    litres = rng.randint(5, 40)
    distance = per_litre * litres
    cost = litres * price
    return {"objective": f"Hey, my car does {per_litre} km per litre and fuel costs ${money(price)} a litre. How "
                         f"much will the fuel cost for a {distance} km trip?",
            "check": num(cost, 0.005), "_answer": f"About ${money(cost)}.",
            "_verify": expr(f"{distance} / {per_litre} * {money(price)}", 2)}


# --- plain knowledge --------------------------------------------------------------------------------------------

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Germany": "Berlin", "Spain": "Madrid",
            "Egypt": "Cairo", "Russia": "Moscow", "China": "Beijing", "the United Kingdom": "London",
            "Canada": "Ottawa", "Greece": "Athens", "Mexico": "Mexico City"}
ANIMAL_LEGS = {"spider": 8, "ant": 6, "dog": 4, "chicken": 2, "horse": 4, "bee": 6, "cat": 4, "duck": 2}
THING_COLOURS = {"the sky on a clear sunny day": "blue", "fresh grass": "green", "fresh snow": "white",
                 "a ripe banana": "yellow", "a ripe strawberry": "red"}
BASIC_COLOURS = ["blue", "green", "white", "yellow", "red", "black", "orange", "purple", "pink", "brown", "grey",
                 "gray"]
COUNTS = [("days", "a week", 7), ("months", "a year", 12), ("hours", "a day", 24), ("minutes", "an hour", 60),
          ("seconds", "a minute", 60), ("days", "a leap year", 366)]
PLANETS = {"the largest in our solar system": "Jupiter", "closest to the Sun": "Mercury",
           "known as the Red Planet": "Mars", "famous for its bright wide rings": "Saturn"}
PLANET_NAMES = ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
TEMPERATURES = {"the freezing point of water in celsius": 0, "the boiling point of water in celsius at sea level": 100,
                "the freezing point of water in fahrenheit": 32,
                "the boiling point of water in fahrenheit at sea level": 212}
SIDES = {"a triangle": 3, "a square": 4, "a pentagon": 5, "a hexagon": 6, "an octagon": 8}


@template("knowledge")
def _know_1(rng: random.Random) -> Item:
    country = rng.choice(sorted(CAPITALS))
    capital = CAPITALS[country]
    return {"objective": f"What is the capital of {country}?", "check": strings([capital]),
            "_answer": f"The capital is {capital}.", "_verify": {"op": "fact", "answer": capital}}


@template("knowledge")
def _know_2(rng: random.Random) -> Item:
    animal = rng.choice(sorted(ANIMAL_LEGS))
    return {"objective": f"How many legs does a {animal} have? Reply with just the number.",
            "check": number_only(ANIMAL_LEGS[animal]), "_answer": str(ANIMAL_LEGS[animal]),
            "_verify": {"op": "legs", "animals": {animal: 1}, "factor": 1}}


@template("knowledge")
def _know_3(rng: random.Random) -> Item:
    thing = rng.choice(sorted(THING_COLOURS))
    colour = THING_COLOURS[thing]
    return {"objective": f"On our walk home my little niece asked me what colour {thing} is. What should I tell her?",
            "check": regex(first_mention([colour], [c for c in BASIC_COLOURS if c != colour])),
            "_answer": f"Tell her it is {colour}.", "_verify": {"op": "fact", "answer": colour}}


@template("knowledge")
def _know_4(rng: random.Random) -> Item:
    unit, whole, value = rng.choice(COUNTS)
    return {"objective": f"Your task is to answer a general knowledge question. Now, how many {unit} are there in "
                         f"{whole}?", "check": num(value), "_answer": f"There are {value} {unit} in {whole}.",
            "_verify": {"op": "fact", "answer": str(value)}}


@template("knowledge")
def _know_5(rng: random.Random) -> Item:
    what = rng.choice(sorted(PLANETS))
    planet = PLANETS[what]
    noise = rng.choice(["The Moon is about 384,400 km away and a day on Earth lasts 24 hours.",
                        "Light from the Sun takes about 8 minutes to reach us and Earth has 1 moon.",
                        "My telescope cost 300 dollars and I bought it 2 years ago."])
    return {"objective": f"{noise} Which planet is {what}?",
            "check": regex(first_mention([planet], [p for p in PLANET_NAMES if p != planet])),
            "_answer": f"It is {planet}.", "_verify": {"op": "fact", "answer": planet}}


@template("knowledge")
def _know_6(rng: random.Random) -> Item:
    what = rng.choice(sorted(TEMPERATURES))
    value = TEMPERATURES[what]
    return {"objective": f"what is {what}", "check": regex(first_number(value)),
            "_answer": f"{value} degrees", "_verify": {"op": "fact", "answer": str(value)}}


@template("knowledge")
def _know_7(rng: random.Random) -> Item:
    shape = rng.choice(sorted(SIDES))
    return {"objective": f"Hey, settle a bet for us: how many sides does {shape} have?",
            "check": regex(first_number(SIDES[shape])), "_answer": f"{SIDES[shape]} sides.",
            "_verify": {"op": "fact", "answer": str(SIDES[shape])}}


# --- open-ended lists with structural checks (held out) ---------------------------------------------------------

ALLOWED = {
    "fruits": ["apple", "banana", "orange", "pear", "grape", "mango", "pineapple", "strawberr(?:y|ies)",
               "blueberr(?:y|ies)", "raspberr(?:y|ies)", "cherr(?:y|ies)", "peach", "plum", "kiwi", "lemon", "lime",
               "watermelon", "melon", "apricot", "papaya", "coconut", "fig", "pomegranate", "lychee", "guava",
               "grapefruit", "nectarine", "tangerine", "clementine", "mandarin", "avocado", "cranberr(?:y|ies)",
               "blackberr(?:y|ies)", "passion ?fruit"],
    "colours": ["red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white", "gr[ae]y",
                "violet", "indigo", "cyan", "magenta", "turquoise", "gold", "silver", "beige", "maroon", "navy",
                "teal", "lavender", "crimson", "scarlet", "amber", "lilac", "olive", "coral", "ivory", "khaki",
                "burgundy", "aqua", "cream"],
    "farm animals": ["cow", "pig", "sheep", "goat", "horse", "chicken", "hen", "rooster", "duck", "goose", "geese",
                     "donkey", "turkey", "rabbit", "cat", "dog", "llama", "alpaca", "ox", "oxen", "bull", "calf",
                     "calves", "lamb", "pon(?:y|ies)", "mule", "cattle", "piglet", "bee"],
    "European countries": ["france", "germany", "spain", "italy", "portugal", "ireland", "iceland", "norway",
                           "sweden", "finland", "denmark", "poland", "austria", "switzerland", "belgium",
                           "netherlands", "holland", "greece", "hungary", "romania", "bulgaria", "croatia", "serbia",
                           "ukraine", "czechia", "czech republic", "slovakia", "slovenia", "estonia", "latvia",
                           "lithuania", "albania", "luxembourg", "malta", "england", "scotland", "wales", "uk",
                           "united kingdom", "great britain", "cyprus", "monaco", "belarus", "moldova"],
    "vegetables": ["carrot", "potato", "tomato", "onion", "broccoli", "spinach", "lettuce", "cabbage", "cucumber",
                   "pea", "bean", "corn", "pepper", "celery", "cauliflower", "garlic", "zucchini", "courgette",
                   "eggplant", "aubergine", "kale", "beet", "beetroot", "radish", "asparagus", "leek", "pumpkin",
                   "squash", "sweet potato", "turnip", "parsnip", "mushroom", "artichoke", "okra", "sprout"],
    "musical instruments": ["piano", "guitar", "violin", "viola", "cello", "drum", "flute", "trumpet", "saxophone",
                            "clarinet", "trombone", "harp", "bass", "ukulele", "banjo", "accordion", "harmonica",
                            "oboe", "bassoon", "tuba", "xylophone", "organ", "keyboard", "mandolin", "tambourine",
                            "triangle", "french horn", "horn", "bagpipe", "recorder", "synthesi[sz]er", "cymbal"],
    "sports": ["football", "soccer", "basketball", "tennis", "baseball", "cricket", "rugby", "golf", "swimming",
               "running", "cycling", "volleyball", "hockey", "badminton", "table tennis", "boxing", "skiing",
               "snowboarding", "surfing", "climbing", "rowing", "karate", "judo", "yoga", "gymnastics", "athletics",
               "handball", "squash", "skateboarding", "archery", "fencing", "wrestling", "sailing", "kayaking",
               "bowling", "hiking", "jogging"],
}
SAMPLES = {"fruits": ["apple", "banana", "mango", "pear", "cherry"], "colours": ["red", "blue", "green", "yellow",
                                                                             "purple"],
           "farm animals": ["cow", "pig", "sheep", "goat", "horse"],
           "European countries": ["France", "Spain", "Italy", "Poland", "Norway"],
           "vegetables": ["carrot", "potato", "onion", "broccoli", "spinach"],
           "musical instruments": ["piano", "guitar", "violin", "flute", "trumpet"],
           "sports": ["football", "tennis", "swimming", "cycling", "golf"]}


def _list_item(objective: str, category: str, count: int, fmt: str | None = None) -> Item:
    check = regex(distinct(ALLOWED[category], count))
    sample = SAMPLES[category][:count]
    if fmt == "comma":
        check = all_of(check, regex(comma_list(count)))
        answer = ", ".join(sample)
    else:
        answer = "Here are some: " + ", ".join(sample[:-1]) + " and " + sample[-1] + "."
    return {"objective": objective, "check": check, "_answer": answer,
            "_verify": {"op": "list", "category": category, "count": count}}


@template("open_lists")
def _list_1(rng: random.Random) -> Item:
    count = rng.randint(3, 5)
    return _list_item(f"Name {COUNT_WORDS[count]} fruits.", "fruits", count)


@template("open_lists")
def _list_2(rng: random.Random) -> Item:
    count = rng.randint(3, 5)
    return _list_item(f"List {count} colours as a comma-separated list and nothing else.", "colours", count, "comma")


@template("open_lists")
def _list_3(rng: random.Random) -> Item:
    count = rng.randint(3, 4)
    return _list_item(f"My son has to write down some animals that live on a farm for his homework. Can you give me "
                      f"{COUNT_WORDS[count]}?", "farm animals", count)


@template("open_lists")
def _list_4(rng: random.Random) -> Item:
    count = rng.randint(3, 5)
    return _list_item(f"Your task is to brainstorm. Now, name {COUNT_WORDS[count]} countries in Europe.",
                      "European countries", count)


@template("open_lists")
def _list_5(rng: random.Random) -> Item:
    count, cats, plants = rng.randint(3, 4), rng.randint(2, 4), rng.randint(3, 9)
    return _list_item(f"I have {cats} cats, a 10-year-old car and {plants} houseplants. Anyway, name "
                      f"{COUNT_WORDS[count]} vegetables.", "vegetables", count)


@template("open_lists")
def _list_6(rng: random.Random) -> Item:
    count = rng.randint(3, 4)
    return _list_item(f"give me {COUNT_WORDS[count]} musical instruments", "musical instruments", count)


@template("open_lists")
def _list_7(rng: random.Random) -> Item:
    count = rng.randint(3, 4)
    return _list_item(f"Hey! I'm bored. Can you suggest {COUNT_WORDS[count]} sports I could try?", "sports", count)


# --- files in a workspace (held out) ------------------------------------------------------------------------------

def _csv(header: list[str], rows: list[list[object]]) -> str:
    return "\n".join(",".join(map(str, row)) for row in [header, *rows]) + "\n"


def _file_item(objective: str, name: str, header: list[str], rows: list[list[object]], check: dict, answer: str,
               op: str, column: str, where: tuple[str, str] | None = None) -> Item:
    verify = {"op": "csv", "file": name, "agg": op, "column": column}
    if where:
        verify["where"] = list(where)
    return {"objective": objective, "check": check, "_answer": answer, "files": {name: _csv(header, rows)},
            "_verify": verify}


STATUSES = ["shipped", "pending", "cancelled"]


@template("files")
def _file_1(rng: random.Random) -> Item:
    rows = [[1000 + i, rng.choice(NAMES), rng.choice(STATUSES), money(_cents(rng, 5, 120))]
            for i in range(rng.randint(5, 9))]
    total = sum(Fraction(r[3]) for r in rows)
    return _file_item("What is the total of the amount column in orders.csv?", "orders.csv",
                      ["order_id", "customer", "status", "amount"], rows, num(total, 0.005),
                      f"The total is {money(total)}.", "sum", "amount")


@template("files")
def _file_2(rng: random.Random) -> Item:
    rows = [[1000 + i, rng.choice(NAMES), rng.choice(STATUSES), money(_cents(rng, 5, 120))]
            for i in range(rng.randint(6, 10))]
    shipped = sum(r[2] == "shipped" for r in rows)
    return _file_item("How many rows in orders.csv have status shipped? Answer with just the number.", "orders.csv",
                      ["order_id", "customer", "status", "amount"], rows, number_only(shipped), str(shipped),
                      "count", "status", ("status", "shipped"))


@template("files")
def _file_3(rng: random.Random) -> Item:
    payers = rng.sample(NAMES, 3)
    items = ["rent", "groceries", "internet", "electricity", "cleaning", "water", "pizza", "plants"]
    rows = [[rng.choice(items), rng.choice(payers), rng.randint(8, 300)] for _ in range(rng.randint(6, 9))]
    who = rows[0][1]
    total = sum(int(r[2]) for r in rows if r[1] == who)
    return _file_item(f"My flatmates and I keep our shared expenses in expenses.csv. How much has {who} paid in "
                      "total?", "expenses.csv", ["item", "paid_by", "amount"], rows, num(total),
                      f"{who} has paid {total}.", "sum", "amount", ("paid_by", who))


@template("files")
def _file_4(rng: random.Random) -> Item:
    products = rng.sample(["bolts", "nuts", "screws", "washers", "hinges", "nails", "brackets", "rivets"], 6)
    quantities = rng.sample(range(3, 200), 6)
    rows = [[p, q] for p, q in zip(products, quantities)]
    lowest = products[quantities.index(min(quantities))]
    return _file_item("Your task is to read a data file. Now, which product in stock.csv has the lowest quantity?",
                      "stock.csv", ["product", "quantity"], rows,
                      regex(first_mention([lowest], [p for p in products if p != lowest])),
                      f"{lowest} has the lowest quantity.", "argmin", "quantity")


@template("files")
def _file_5(rng: random.Random) -> Item:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    while True:
        units = [rng.randint(5, 60) for _ in days]
        if sum(units) % len(units) == 0:
            break
    year, staff = rng.randint(1980, 2015), rng.randint(2, 9)
    rows = [[d, u, rng.randint(50, 900)] for d, u in zip(days, units)]
    mean = sum(units) // len(units)
    return _file_item(f"Our shop opened in {year} and has {staff} staff. The file sales.csv lists this week's sales. "
                      "What is the average of the units column?", "sales.csv", ["day", "units", "revenue"], rows,
                      num(mean), f"The average is {mean}.", "mean", "units")


@template("files")
def _file_6(rng: random.Random) -> Item:
    names = rng.sample(NAMES, rng.randint(4, 11))
    rows = [[n, rng.randint(18, 80), rng.choice(CITIES)] for n in names]
    return _file_item("how many rows are in people.csv not counting the header", "people.csv",
                      ["name", "age", "city"], rows, num(len(rows)), f"{len(rows)} rows", "count", "name")


@template("files")
def _file_7(rng: random.Random) -> Item:
    names = rng.sample(NAMES, rng.randint(4, 8))
    scores = rng.sample(range(40, 100), len(names))
    rows = [[n, s] for n, s in zip(names, scores)]
    best = names[scores.index(max(scores))]
    return _file_item("Hey! Can you check scores.csv and tell me who got the highest score?", "scores.csv",
                      ["name", "score"], rows, regex(first_mention([best], [n for n in names if n != best])),
                      f"{best} got the highest score.", "argmax", "score")


# --- building the suite ---------------------------------------------------------------------------------------------

def splits() -> dict[str, dict[int, str]]:
    """{kind: {template number: split}}: held-out kinds whole; elsewhere three templates, rotating by kind."""
    result = {}
    rotating = [kind for kind in KINDS if kind not in HELDOUT_KINDS]
    for kind, templates in KINDS.items():
        if kind in HELDOUT_KINDS:
            result[kind] = {n: "heldout_kind" for n in range(1, len(templates) + 1)}
            continue
        start = 3 * rotating.index(kind)
        held = {(start + j) % len(templates) + 1 for j in range(HELDOUT_PER_KIND)}
        result[kind] = {n: "heldout_template" if n in held else "tune" for n in range(1, len(templates) + 1)}
    return result


def _usable(item: Item) -> bool:
    """An objective short enough, on one line, that its own echo does not pass (a number in it may be the answer)."""
    parts = [item["store"], item["ask"]] if "store" in item else [item]
    return all(p["objective"] == " ".join(p["objective"].split()) and len(p["objective"]) <= MAX_OBJECTIVE
               and not passes(p["check"], p["objective"]) for p in parts)


def _verified(item: Item, where: str) -> Item:
    assert passes(item["check"], item["_answer"]), (where, item["_answer"], item["check"])
    return item


def make_item(make: Template, kind: str, name: str, index: int) -> Item:
    """The item of (kind, template, index); an unusable draw is drawn again from a derived seed."""
    for attempt in range(100):
        made = make(random.Random(f"broad/{kind}/{name}/{index}" + (f"/{attempt}" if attempt else "")))
        if _usable(made):
            return made
    raise AssertionError(f"{kind}/{name}: no usable item in 100 draws")


def build(per_template: int = 1) -> list[dict]:
    """Every item, with its private keys (_answer, _verify), in file order."""
    items: list[dict] = []
    split_of = splits()
    for kind, templates in KINDS.items():
        assert len(templates) == len(STYLES), kind
        for number, make in enumerate(templates, start=1):
            name = f"t{number:02d}"
            for index in range(per_template):
                made = make_item(make, kind, name, index)
                base = {"kind": kind, "template": f"{kind}/{name}", "split": split_of[kind][number]}
                ident = f"{kind}-{name}-{index:02d}"
                if "store" in made:
                    key = f"broad-{ident}"
                    for part in ("store", "ask"):
                        part_item = _verified(made[part], f"{ident}-{part}")
                        items.append({"id": f"{ident}-{part}", **base, **part_item, "memory": key})
                else:
                    items.append({"id": ident, **base, **_verified(made, ident)})
    return items


FIELDS = ("id", "kind", "template", "split", "objective", "check", "memory", "files")


def public(item: dict) -> dict:
    return {key: item[key] for key in FIELDS if key in item}


def render(items: list[dict]) -> str:
    return "".join(json.dumps(public(item), ensure_ascii=False) + "\n" for item in items)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-template", type=int, default=1, help="items per template (default 1)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.name} here)")
    args = parser.parse_args(argv)
    if args.per_template < 1:
        parser.error("--per-template must be at least 1")
    items = build(args.per_template)
    args.out.write_text(render(items), encoding="utf-8")
    print(f"wrote {len(items)} items to {args.out}")


if __name__ == "__main__":
    main()
