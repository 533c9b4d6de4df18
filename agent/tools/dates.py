"""Calendar arithmetic as a tool: weekdays, date offsets, day counts, nth weekday of a month, leap years."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import operator
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, field_validator

from agent.errors import ToolError
from agent.text import DATE_PATTERN, STATED_DATE, mentions_date
from agent.tools.base import Arguments, Tool, shape

Operation = Literal["weekday", "add_days", "days_between", "count_weekday", "business_days", "nth_weekday",
                    "shift_weekday", "is_leap_year", "days_in_month"]
Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
Ordinal = Literal["first", "second", "third", "fourth", "fifth", "last"]

WEEKDAYS: tuple[str, ...] = tuple(calendar.day_name)  # Monday first, as date.weekday()
ORDINALS = ("first", "second", "third", "fourth", "fifth")
MAX_DATE_CHARS = 60
T = TypeVar("T")
MAX_DAYS = 3_000_000  # about the span of the calendar datetime can hold
# The date spellings a model may write, in the schema only: decoding keeps a small model to a date and nothing
# after it (it would run on into "June 2, 2022, end_date: None, days: 23 …"), while parse_date, for every other
# caller, still reads any spelling with a day, a month and a year.
# What each operation reads; any other field is ignored.
NEEDS: dict[str, tuple[str, ...]] = {
    "weekday": ("date",), "add_days": ("date", "days"), "days_between": ("date", "end_date"),
    "count_weekday": ("date", "end_date", "weekday"), "business_days": ("date", "end_date"),
    "nth_weekday": ("year", "month", "weekday", "ordinal"), "shift_weekday": ("weekday", "days"),
    "is_leap_year": ("year",), "days_in_month": ("year", "month"),
}


DateText = Annotated[str, Field(max_length=MAX_DATE_CHARS, json_schema_extra={"pattern": DATE_PATTERN})]


class _DatesFields(Arguments):
    """What every model of the dates arguments shares (the full one and each operation's shape): readings."""

    @field_validator("weekday", "ordinal", mode="before", check_fields=False)
    @classmethod
    def _any_case(cls, value: object) -> object:
        # models write "friday" or "Third": the grammar allows only the listed spellings, other callers may not
        if isinstance(value, str):
            value = value.strip()
            return value.capitalize() if value.capitalize() in WEEKDAYS else value.lower()
        return value


class DatesArguments(_DatesFields):
    operation: Operation = Field(description=(
        "weekday(date); add_days(date, days); days_between(date, end_date); count_weekday(date, end_date, "
        "weekday); business_days(date, end_date); nth_weekday(year, month, weekday, ordinal); "
        "shift_weekday(weekday, days); is_leap_year(year); days_in_month(year, month)"))
    date: DateText | None = Field(None, description="with its year, e.g. June 17, 2022")
    end_date: DateText | None = None
    days: int | None = Field(None, ge=-MAX_DAYS, le=MAX_DAYS, description="negative for before")
    weekday: Weekday | None = None
    ordinal: Ordinal | None = None
    month: int | None = Field(None, ge=1, le=12, description="1 = January")
    year: int | None = Field(None, ge=1, le=9999)


# What the grammar allows: an operation and exactly the fields it reads, all of them (a small model otherwise
# calls nth_weekday with the year alone and reads the error back).
DatesCall: Any = Annotated[functools.reduce(operator.or_, [
    shape(DatesArguments, operation, {"operation": operation}, fields, base=_DatesFields)
    for operation, fields in NEEDS.items()]), Field(discriminator="operation")]


def parse_date(text: str) -> dt.date:
    """A date written with day, month and year, in ISO form or words ("Friday, June 17, 2022", "06/17/2022"
    is month first); raises ToolError otherwise."""
    from dateutil import parser

    cleaned = text.strip()
    try:
        # parsed twice with different defaults: a part missing from the text would show up as a difference
        first = parser.parse(cleaned, default=dt.datetime(2000, 1, 1))
        second = parser.parse(cleaned, default=dt.datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        raise ToolError(f"dates: cannot read {cleaned!r} as a date; write it like 2022-06-17") from None
    if first.date() != second.date():
        raise ToolError(f"dates: {cleaned!r} lacks a day, month or year; write it like 2022-06-17")
    return first.date()


def stated_dates(text: str) -> list[dt.date]:
    """The dates `text` writes out (with day, month and year), in order of first appearance."""
    found: dict[dt.date, None] = {}
    for match in STATED_DATE.finditer(text):
        try:
            found.setdefault(parse_date(match.group(0)))
        except ToolError:  # "February 30, 2022" has the shape of a date but is none
            continue
    return list(found)


def _inclusive_days(start: dt.date, end: dt.date) -> list[dt.date]:
    low, high = min(start, end), max(start, end)
    return [low + dt.timedelta(days=n) for n in range((high - low).days + 1)]


def nth_weekday(year: int, month: int, weekday: str, ordinal: str) -> int:
    """Day of the month of the `ordinal` `weekday`, or -1 when the month has no such day (a fifth Monday)."""
    days = [week[WEEKDAYS.index(weekday)] for week in calendar.monthcalendar(year, month)]
    days = [d for d in days if d]
    if ordinal == "last":
        return days[-1]
    index = ORDINALS.index(ordinal)
    return days[index] if index < len(days) else -1


def _given(value: T | None) -> T:
    """A field `run` has checked is set (NEEDS)."""
    assert value is not None, "run() checks NEEDS first"
    return value


def _described(day: dt.date) -> str:
    return f"{day.isoformat()}, a {WEEKDAYS[day.weekday()]}"


class Dates(Tool[DatesArguments]):
    """Exact calendar arithmetic; every answer states the dates it used, with the number last."""

    name = "dates"
    description = ("Exact calendar arithmetic (both ends included when counting weekdays or business days). "
                   "Pick `operation` and fill the fields it names.")
    Arguments = DatesArguments
    call_arguments = DatesCall

    def run(self, args: DatesArguments) -> str:
        missing = [field for field in NEEDS[args.operation] if getattr(args, field) is None]
        if missing:
            raise ToolError(f"dates: {args.operation} needs {', '.join(missing)}")
        try:
            return getattr(self, f"_{args.operation}")(args)
        except OverflowError:
            raise ToolError("dates: the result falls outside years 1-9999") from None

    def applies(self, objective: str) -> bool:
        return mentions_date(objective)

    def ungrounded(self, args: DatesArguments, given: str) -> str | None:
        """A date or a year the operation reads must be one that `given` states (a result's ISO date counts)."""
        stated = stated_dates(given)
        for field in ("date", "end_date"):
            value = getattr(args, field)
            if field not in NEEDS[args.operation] or value is None:
                continue
            try:
                day = parse_date(value)
            except ToolError:
                return None  # the call itself says why it cannot run
            if day not in stated:
                known = ", ".join(d.isoformat() for d in stated) or "no date"
                return f"{field} {day.isoformat()} is not a date the objective or a result states ({known})"
        years = {int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", given)} | {d.year for d in stated}
        if "year" in NEEDS[args.operation] and args.year is not None and args.year not in years:
            known = ", ".join(map(str, sorted(years))) or "no year"
            return f"year {args.year} is not a year the objective or a result states ({known})"
        months = {n for n, name in enumerate(calendar.month_name) if name and re.search(rf"\b{name}\b", given)} | {
            d.month for d in stated}
        if "month" in NEEDS[args.operation] and args.month is not None and args.month not in months:
            named = ", ".join(calendar.month_name[m] for m in sorted(months)) or "no month"
            return f"month {args.month} is not a month the objective or a result names ({named})"
        return None

    def _weekday(self, args: DatesArguments) -> str:
        day = parse_date(_given(args.date))
        return f"{WEEKDAYS[day.weekday()]} ({day.isoformat()})"

    def _add_days(self, args: DatesArguments) -> str:
        start = parse_date(_given(args.date))
        return _described(start + dt.timedelta(days=_given(args.days)))

    def _days_between(self, args: DatesArguments) -> str:
        start, end = parse_date(_given(args.date)), parse_date(_given(args.end_date))
        # the count goes last: a number check, and a reader, take the last number written
        return f"{start.isoformat()} to {end.isoformat()}: {abs((end - start).days)} days"

    def _count_weekday(self, args: DatesArguments) -> str:
        start, end = parse_date(_given(args.date)), parse_date(_given(args.end_date))
        count = sum(WEEKDAYS[d.weekday()] == _given(args.weekday) for d in _inclusive_days(start, end))
        return f"{args.weekday}s from {start.isoformat()} to {end.isoformat()}, both included: {count}"

    def _business_days(self, args: DatesArguments) -> str:
        start, end = parse_date(_given(args.date)), parse_date(_given(args.end_date))
        count = sum(d.weekday() < 5 for d in _inclusive_days(start, end))
        return f"business days from {start.isoformat()} to {end.isoformat()}, both included: {count}"

    def _nth_weekday(self, args: DatesArguments) -> str:
        day = nth_weekday(_given(args.year), _given(args.month), _given(args.weekday), _given(args.ordinal))
        month = calendar.month_name[_given(args.month)]
        if day < 0:
            return f"{month} {args.year} has no {args.ordinal} {args.weekday}: -1"
        return f"the {args.ordinal} {args.weekday} of {month} {args.year} is {month} {day}: day {day}"

    def _shift_weekday(self, args: DatesArguments) -> str:
        shifted = WEEKDAYS[(WEEKDAYS.index(_given(args.weekday)) + _given(args.days)) % 7]
        return f"{shifted} ({args.days} days after a {args.weekday})"

    def _days_in_month(self, args: DatesArguments) -> str:
        days = calendar.monthrange(_given(args.year), _given(args.month))[1]
        return f"{calendar.month_name[_given(args.month)]} {args.year} has {days} days"

    def _is_leap_year(self, args: DatesArguments) -> str:
        leap = calendar.isleap(_given(args.year))
        return f"yes, {args.year} is a leap year" if leap else f"no, {args.year} is not a leap year"


dates = Dates()
