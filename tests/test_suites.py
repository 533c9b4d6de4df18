"""The dev and train suites: shape, kinds, strict checks (an echoed objective fails), disjointness, and the
generators' independent verification of expected answers."""

import collections
import datetime as dt
import importlib
import json
import sys
from pathlib import Path

import pytest

from agent.evaluation.suite import load_suite, passes
from agent.tools.dates import dates

SUITES = Path(__file__).parent.parent / "examples" / "suites"
KINDS = {"word_problems", "arithmetic", "products", "legs", "calendar", "entities", "sentiment", "memory",
         "multistep"}


@pytest.fixture(scope="module")
def generators():
    sys.path.insert(0, str(SUITES))
    try:
        yield importlib.import_module("kinds"), importlib.import_module("composite")
    finally:
        sys.path.remove(str(SUITES))


@pytest.fixture(scope="module", params=["dev", "train"])
def suite(request):
    return request.param, load_suite(SUITES / f"{request.param}.jsonl")


def test_every_kind_is_there_in_the_intended_amounts(suite):
    name, items = suite
    counts = collections.Counter(item.kind for item in items)
    assert set(counts) == KINDS
    if name == "dev":
        assert all(6 <= counts[k] <= 8 for k in KINDS - {"multistep"}) and counts["multistep"] >= 10
    else:
        assert len(items) >= 200 and min(counts.values()) >= 20


def test_echoing_the_objective_fails_every_item(suite):
    _, items = suite
    assert [item.id for item in items if passes(item.check, item.objective)] == []


def test_memory_items_come_in_store_then_ask_pairs(suite):
    _, items = suite
    by_key = collections.defaultdict(list)
    for item in items:
        assert (item.memory is not None) == (item.kind == "memory")
        if item.memory:
            by_key[item.memory].append(item.id)
    assert by_key and all(len(ids) == 2 and ids[0].endswith("-store") and ids[1].endswith("-ask")
                          for ids in by_key.values())


def test_train_is_disjoint_from_dev():
    dev, train = load_suite(SUITES / "dev.jsonl"), load_suite(SUITES / "train.jsonl")
    assert not {i.objective for i in dev} & {i.objective for i in train}
    assert not {i.memory for i in dev if i.memory} & {i.memory for i in train if i.memory}


def test_multistep_items_need_two_tools_or_a_carried_result():
    multistep = [i for i in load_suite(SUITES / "dev.jsonl") if i.kind == "multistep"]
    assert len(multistep) >= 10
    assert sum(len(i.tools or []) >= 2 for i in multistep) >= 6
    assert all(any(word in i.objective for word in ("then", "Then", "times", "such pens")) for i in multistep)


def test_the_dates_tool_answers_the_weekday_items_it_is_offered():
    # a cross-check of two independent computations: the generator's (datetime) and the tool's
    checked = 0
    for item in load_suite(SUITES / "dev.jsonl") + load_suite(SUITES / "train.jsonl"):
        if item.kind == "calendar" and "days ago" in item.objective:
            start = item.objective.split("If today is ")[1].split(", what")[0]
            days = int(item.objective.split(" days ago")[0].rsplit(" ", 1)[1])
            assert passes(item.check, dates(operation="add_days", date=start, days=-days)), item.id
            checked += 1
    assert checked >= 2


def test_gsm_verification_rejects_a_wrong_step(generators):
    kinds, _ = generators
    good = {"answer": "560", "metadata": {"answer_cot": "So 160-48=112 emails per day\n112*5=560\n#### 560"}}
    assert kinds.verify_gsm(good)
    assert not kinds.verify_gsm({**good, "answer": "561"})
    assert not kinds.verify_gsm({"answer": "560", "metadata": {"answer_cot": "160-48=113\n113*5=560\n#### 560"}})
    assert not kinds.verify_gsm({"answer": "560", "metadata": {"answer_cot": "no arithmetic\n#### 560"}})


def test_leg_counts_come_from_our_own_table(generators):
    kinds, _ = generators
    assert kinds.count_legs("how many legs are there in total if you have 3 dogs, 2 praying mantiss?") == 24
    assert kinds.count_legs("how many legs are there in total if you have 2 starfishs, 1 dog?") is None


def test_calendar_answers_are_recomputed_from_the_question(generators):
    kinds, _ = generators

    def entry(task, question, answer):
        return {"question": question, "answer": answer, "metadata": {"task": task, "year": 2022}}

    ok = kinds.verify_calendar(entry("weekday_offset", "Starting from Sunday, October 23, 2022, which weekday "
                                     "was it 97 days before? Reply with just the weekday name.", "Monday"))
    assert ok == ("Starting from Sunday, October 23, 2022, which weekday was it 97 days before? Answer with the "
                  "weekday name.", {**kinds.WEEKDAY_CHECK, "value": "Monday"})
    # the generator's own slip: the question names 2022 for a date it computed in 2023
    assert kinds.verify_calendar(entry("count_business_days", "How many business days (Monday-Friday) are there "
                                       "from Sunday, December 18, 2022 to Tuesday, March 28, 2022 (inclusive of "
                                       "both dates)? Give the count numerically.", "72")) is None
    # a year that is not named: February 20 is safe, March 29 depends on whether it is a leap year
    first = "In a year where Wednesday is January 1st, name the weekday of {}. State the weekday."
    assert kinds.verify_calendar(entry("weekday_of_date_from_first_date", first.format("February 20"), "Thursday"))
    assert kinds.verify_calendar(entry("weekday_of_date_from_first_date", first.format("March 29"), "Saturday")) \
        is None
    assert kinds.verify_calendar(entry("weekday_of_date", "What day of the week was June 13, 2022?", "Tuesday")) \
        is None


def test_generators_are_reproducible_and_verified(generators):
    pytest.importorskip("reasoning_gym")
    kinds, composite = generators
    for make in (kinds.word_problems, kinds.arithmetic, kinds.products, kinds.legs, kinds.calendar):
        first, second = make(7, 5), make(7, 5)
        assert first == second and len(first) >= 5
    pairs = composite.memory_pairs(3, 8)
    assert pairs == composite.memory_pairs(3, 8) and len({p[0] for p in pairs}) == 8
    day = dt.date(2019, 1, 1)
    assert composite.plural("firefly") == "fireflies" and composite.plural("sheep") == "sheep"
    assert json.dumps(composite._date_words(day)) == '"Tuesday, January 1, 2019"'
