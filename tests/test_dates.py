"""The dates tool: each operation against python's datetime/calendar, date parsing, refusals, registration."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import ToolError
from agent.evaluation.suite import first_label, last_number
from agent.prompt_files import signature
from agent.tools.dates import NEEDS, WEEKDAYS, DatesArguments, dates, nth_weekday, parse_date, stated_dates
from agent.tools.registry import available_tools, select_tools

DAYS = st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2200, 12, 31))


@pytest.mark.parametrize("text", ["2022-06-17", "June 17, 2022", "Friday, June 17, 2022", "06/17/2022",
                                  "17 June 2022", " Jun 17 2022 "])
def test_parse_date_reads_common_spellings(text):
    assert parse_date(text) == dt.date(2022, 6, 17)


@pytest.mark.parametrize("text", ["June 17", "2022", "tomorrow", "next Friday", "", "2022-02-30", "13/45/2022"])
def test_parse_date_refuses_partial_or_invalid_dates(text):
    with pytest.raises(ToolError, match="dates:"):
        parse_date(text)


def test_weekday_of_a_date():
    assert dates(operation="weekday", date="June 17, 2022") == "Friday (2022-06-17)"


def test_add_days_before_and_after():
    # the example: 66 days before Friday, June 17, 2022
    assert dates(operation="add_days", date="Friday, June 17, 2022", days=-66) == "2022-04-12, a Tuesday"
    assert dates(operation="add_days", date="2024-02-28", days=1) == "2024-02-29, a Thursday"


def test_days_between_puts_the_count_last():
    out = dates(operation="days_between", date="2022-06-17", end_date="2022-04-12")
    assert out == "2022-06-17 to 2022-04-12: 66 days" and last_number(out) == 66


def test_counts_include_both_ends():
    # reasoning-gym calendar_arithmetic: Wednesdays from Wednesday 2022-05-11 to Saturday 2022-08-13 -> 14
    out = dates(operation="count_weekday", date="Wednesday, May 11, 2022", end_date="August 13, 2022",
                weekday="wednesday")
    assert last_number(out) == 14
    assert last_number(dates(operation="business_days", date="2022-01-23", end_date="2022-05-03")) == 72


def test_nth_weekday_and_missing_fifth():
    assert last_number(dates(operation="nth_weekday", year=2022, month=10, weekday="Wednesday",
                             ordinal="third")) == 19
    assert last_number(dates(operation="nth_weekday", year=2022, month=2, weekday="Monday", ordinal="fifth")) == -1
    assert nth_weekday(2022, 10, "Monday", "last") == 31


def test_shift_weekday_names_the_result_first():
    out = dates(operation="shift_weekday", weekday="Friday", days=66)
    assert first_label(out, list(WEEKDAYS)) == "Monday"
    assert first_label(dates(operation="shift_weekday", weekday="Friday", days=-66), list(WEEKDAYS)) == "Tuesday"


def test_leap_years():
    assert dates(operation="is_leap_year", year=2000).startswith("yes")
    assert dates(operation="is_leap_year", year=1900).startswith("no")
    assert dates(operation="days_in_month", year=2033, month=2) == "February 2033 has 28 days"
    assert dates(operation="days_in_month", year=2024, month=2).endswith("29 days")


@given(DAYS, st.integers(min_value=-5000, max_value=5000))
def test_operations_agree_with_datetime(day, offset):
    moved = day + dt.timedelta(days=offset)
    assert dates(operation="add_days", date=day.isoformat(), days=offset).startswith(moved.isoformat())
    assert last_number(dates(operation="days_between", date=day.isoformat(), end_date=moved.isoformat())) \
        == abs(offset)
    assert dates(operation="weekday", date=moved.isoformat()).startswith(moved.strftime("%A"))
    shifted = dates(operation="shift_weekday", weekday=day.strftime("%A"), days=offset)
    assert shifted.startswith(moved.strftime("%A"))


@given(DAYS, st.integers(min_value=0, max_value=400))
def test_inclusive_counts_agree_with_a_day_by_day_walk(start, span):
    end = start + dt.timedelta(days=span)
    walk = [start + dt.timedelta(days=n) for n in range(span + 1)]
    business = last_number(dates(operation="business_days", date=end.isoformat(), end_date=start.isoformat()))
    assert business == sum(d.weekday() < 5 for d in walk)
    fridays = last_number(dates(operation="count_weekday", date=start.isoformat(), end_date=end.isoformat(),
                                weekday="Friday"))
    assert fridays == sum(d.weekday() == 4 for d in walk)


@pytest.mark.parametrize("raw, message", [
    ({"operation": "add_days", "date": "2022-06-17"}, "needs days"),
    ({"operation": "nth_weekday", "year": 2022}, "needs month, weekday, ordinal"),
    ({"operation": "weekday", "date": "someday"}, "cannot read"),
    ({"operation": "add_days", "date": "9999-12-31", "days": 1}, "outside years"),
    ({"operation": "fortnight"}, "bad arguments"),
    ({"operation": "weekday", "date": "2022-06-17", "colour": "red"}, "bad arguments"),
    ({"operation": "is_leap_year", "year": 0}, "bad arguments"),
    ({"operation": "weekday", "date": "x" * 61}, "bad arguments"),
])
def test_bad_arguments_are_tool_errors(raw, message):
    with pytest.raises(ToolError, match=message):
        dates(**raw)


def test_registered_as_a_builtin_with_described_parameters():
    assert available_tools()["dates"] is dates and select_tools(["dates"]) == [dates]
    spec = dates.spec()
    properties = spec["parameters"]["properties"]
    assert set(properties) == {"operation", "date", "end_date", "days", "weekday", "ordinal", "month", "year"}
    assert spec["risky"] is False
    shown = signature(dates)  # what the model reads: each operation with the fields it needs, once, and short
    for operation, fields in NEEDS.items():
        assert f"{operation}({', '.join(fields)})" in shown
    assert shown.count("add_days") == 1 and len(shown) < 700


def test_stated_dates_reads_every_spelling_the_schema_allows_and_no_impossible_one():
    text = ("Between Monday, June 20, 2022 and 2022-08-08, or 07/12/2022; not February 30, 2022, "
            "not 2022-13-01 nor 12022-01-01, and June 20, 2022 only once.")
    assert stated_dates(text) == [dt.date(2022, 6, 20), dt.date(2022, 8, 8), dt.date(2022, 7, 12)]


@pytest.mark.parametrize(("raw", "given", "reason"), [
    ({"operation": "weekday", "date": "1969-07-22"}, "Is the year 1964 a leap year?",
     "date 1969-07-22 is not a date the objective or a result states (no date)"),
    ({"operation": "business_days", "date": "June 20, 2022", "end_date": "2022-08-20"},
     "From Monday, June 20, 2022 to Monday, August 8, 2022?",
     "end_date 2022-08-20 is not a date the objective or a result states (2022-06-20, 2022-08-08)"),
    ({"operation": "is_leap_year", "year": 2023}, "Is 1964 a leap year?",
     "year 2023 is not a year the objective or a result states (1964)"),
    ({"operation": "nth_weekday", "year": 2022, "month": 5, "weekday": "Wednesday", "ordinal": "second"},
     "The second Wednesday of December 2022?", "month 5 is not a month the objective or a result names (December)"),
])
def test_a_date_year_or_month_the_text_does_not_state_is_ungrounded(raw, given, reason):
    assert dates.ungrounded(dates.parse(raw), given) == reason


@pytest.mark.parametrize(("raw", "given"), [
    ({"operation": "add_days", "date": "October 6, 2022", "days": -47}, "If today is Thursday, October 6, 2022?"),
    ({"operation": "weekday", "date": "2022-11-22"}, "Ship on June 1, 2022.\n2022-11-22, a Tuesday"),  # a result
    ({"operation": "nth_weekday", "year": 2022, "month": 12, "weekday": "Wednesday", "ordinal": "second"},
     "The second Wednesday of December 2022?"),
    ({"operation": "shift_weekday", "weekday": "Friday", "days": 3}, "Three days after a Friday?"),  # no date read
    ({"operation": "weekday", "date": "July 4, 2022", "end_date": "1999-01-01"}, "July 4, 2022?"),  # not read
])
def test_arguments_the_text_states_are_grounded(raw, given):
    assert dates.ungrounded(dates.parse(raw), given) is None


def test_the_decide_grammar_requires_every_field_an_operation_reads_and_no_other():
    import jsonschema

    from agent.deciding.moves import decision_model
    from agent.prompting.structured import bounded

    schema = bounded(decision_model([dates], plan=False, finish=True).model_json_schema())
    assert "oneOf" not in json.dumps(schema)  # a discriminated union reaches the grammar compiler as anyOf

    def allowed(arguments):
        try:
            jsonschema.validate({"next": "dates", "arguments": arguments}, schema)
        except jsonschema.ValidationError:
            return False
        return True

    assert allowed({"operation": "nth_weekday", "year": 2022, "month": 3, "weekday": "Friday", "ordinal": "third"})
    assert not allowed({"operation": "nth_weekday", "year": 2022})  # the fields it reads cannot be left out
    assert not allowed({"operation": "weekday", "date": "June 17, 2022", "days": 3})  # nor others written
    assert allowed({"operation": "weekday", "date": "June 17, 2022"})
    for operation, fields in NEEDS.items():  # every operation has its shape
        assert not allowed({"operation": operation}) or not fields
    move = decision_model([dates], plan=False, finish=True).model_validate(
        {"next": "dates", "arguments": {"operation": "nth_weekday", "year": 2022, "month": 3, "weekday": "friday",
                                        "ordinal": "Third"}}).root
    assert dates.parse(move.arguments.model_dump()) == DatesArguments(
        operation="nth_weekday", year=2022, month=3, weekday="Friday", ordinal="third")  # read as the tool reads
