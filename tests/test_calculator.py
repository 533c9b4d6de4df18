"""Tests for the safe arithmetic evaluator."""

from __future__ import annotations

import math
import random
import re
import time

import pytest

from agent.tools.calculator import (
    MAX_DEPTH,
    MAX_LENGTH,
    CalculatorError,
    evaluate,
    format_number,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("[1 + 2] * 3", 9),
        ("{(714 + 844) * 28}", 43624),
        ("-3 + 5", 2),
        ("--3", 3),
        ("+4", 4),
        ("-2 ** 2", -4),  # power binds tighter than unary minus
        ("2 ** 3 ** 2", 512),  # right associative
        ("7 / 2", 3.5),
        ("8 / 2", 4.0),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("7.5 % 2", 1.5),
        ("10 %(3)", 1),
        ("50% * 456 + 13", 241.0),  # a percentage: no operand follows the %
        ("25% of 16", 4.0),
        ("12.5 % of 80", 10.0),
        ("40%", 0.4),
        ("2^10", 1024),
        ("3 × 4", 12),
        ("12 ÷ 4", 3.0),
        ("5 − 2", 3),
        ("  1 + 1  ", 2),
        ("1_000 + 1", 1001),
        ("2 ** -1", 0.5),
        ("abs(-5)", 5),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("min(3, 1, 2)", 1),
        ("max(3, 1.5)", 3),
        ("max(7)", 7),
        ("(abs)(-1)", 1),
        ("-(-(-(2)))", -2),
        ("(" * 150 + "1" + ")" * 150, 1),  # parentheses add no tree depth
        ("sqrt(16)", 4.0),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("exp(0)", 1.0),
        ("sin(0)", 0.0),
        ("cos(pi)", -1.0),
        ("floor(2.7)", 2),
        ("ceil(2.1)", 3),
        ("2 * pi", 2 * math.pi),
        ("2 ** 1000", 2**1000),
        ("1e300 * 10", 1e301),
    ],
)
def test_correct_results(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == pytest.approx(expected)
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("9**9**9", "exponent"),
        ("10**100000", "exponent"),
        ("2**-100000", "exponent"),
        ("99999 ** 1000", "digits"),
        ("(10 ** 1000) ** 5", "digits"),
        ("(10 ** 900) * (10 ** 900) * (10 ** 900) * (10 ** 900) * (10 ** 900)", "digits"),
        ("10.0 ** 400", "too large"),
        ("1e308 * 10", "finite"),
        ("1e999", "finite"),
        ("1e999 - 1e999", "finite"),
        ("exp(1000)", "too large"),
        ("sqrt(10 ** 400)", "too large"),
        ("(-8) ** 0.5", "real number"),
        ("sqrt(-1)", "math error"),
        ("log(0)", "math error"),
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("1 % 0.0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("1 +", "invalid syntax"),
        ("(" * 5000 + "1" + ")" * 5000, "too long"),
        ("1" * (MAX_LENGTH + 1), "too long"),
        ("(" * 240 + "1" + ")" * 240, "nested parentheses"),  # parser's own limit
        ("-" * 100 + "1", "nested too deeply"),
        ("abs(" * 60 + "1" + ")" * 60, "nested too deeply"),
        ("+".join(["1"] * 201), "too complex"),
        ("(1).__class__", "attribute"),
        ("().__class__.__bases__[0].__subclasses__()", "only calls to"),
        ("__import__('os')", "only calls to"),
        ("__import__", "unknown name"),
        ("x + 1", "unknown name"),
        ("sqrt", "must be called"),
        ("os.sqrt(4)", "only calls to"),  # a function of the math module may be named on it, nothing else
        ("'a' * 3", "only numbers"),
        ("b'a'", "only numbers"),
        ("1j", "only numbers"),
        ("True + 1", "only numbers"),
        ("None", "only numbers"),
        ("lambda: 1", "Lambda"),
        ("[x for x in (1, 2)]", "GeneratorExp"),  # brackets group as parentheses do
        ("{1: 2}", "invalid syntax"),
        ("(1, 2)", "Tuple"),
        ("[1, 2][0]", "only calls to"),
        ("1 < 2", "Compare"),
        ("1 and 2", "BoolOp"),
        ("1 if 1 else 2", "IfExp"),
        ("(y := 3)", "NamedExpr"),
        ("f'{1}'", "JoinedStr"),
        ("1 << 10000", "not allowed"),
        ("1 | 2", "not allowed"),
        ("round(x=1)", "keyword"),
        ("max(*(1, 2))", "starred"),
        ("abs(1, 2)", "argument"),
        ("min()", "arguments"),
        ("round(5, -100000)", "round() digits"),
        ("round(1.5, 0.5)", "round() digits"),
        ("abs(1)(2)", "only calls to"),
        ("1\x00", "null bytes"),
        ("\ud800", "invalid characters"),
    ],
)
def test_rejected_quickly(expression: str, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(CalculatorError, match=re.escape(message)):
        evaluate(expression)
    assert time.perf_counter() - start < 1.0


def test_error_is_value_error() -> None:
    assert issubclass(CalculatorError, ValueError)


def test_non_string_rejected() -> None:
    with pytest.raises(CalculatorError):
        evaluate(123)  # type: ignore[arg-type]


def test_depth_limit_boundary() -> None:
    assert evaluate("-" * (MAX_DEPTH - 1) + "1") == (-1) ** (MAX_DEPTH - 1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (42, "42"),
        (-7, "-7"),
        (10**30, "1" + "0" * 30),
        (4.0, "4"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.333333333333"),
        (2.5, "2.5"),
        (-1.25, "-1.25"),
        (1e20, "1e+20"),
        (2.5e-7, "2.5e-07"),
        (123456789.123456789, "123456789.123"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_evaluate_then_format() -> None:
    assert format_number(evaluate("sqrt(2) ** 2")) == "2"


_TOKENS = list("0123456789.+-*/%^()e, _abcdjxyz'[]:=<>") + [
    "**", "//", "pi", "sqrt(", "log(", "round(", "max(", "1e308", "9**", "lambda", "__",
]


def _assert_safe(text: str) -> None:
    try:
        result = evaluate(text)
    except CalculatorError:
        return
    assert type(result) in (int, float)
    assert isinstance(format_number(result), str)


def test_seeded_fuzz_only_raises_calculator_error() -> None:
    # Runs even where hypothesis is missing; deterministic so failures reproduce.
    rng = random.Random(1234)
    for _ in range(2000):
        _assert_safe("".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 80))))


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # optional dev dependency; the seeded fuzz above still runs
    pass
else:

    @settings(max_examples=300, deadline=1000)
    @given(st.one_of(st.text(max_size=600), st.lists(st.sampled_from(_TOKENS), max_size=120).map("".join)))
    def test_random_text_only_raises_calculator_error(text: str) -> None:
        _assert_safe(text)


def test_a_straight_line_program_of_arithmetic_is_interpreted_never_run():
    from agent.tools.calculator import run_program

    source = ("import math\n'''totals'''\nprice = 12.5  # each\ncount = 4\ntotal = price * count\ntotal += 3\n"
              "print(total)\nprint(f'{count} items: {math.floor(total)} dollars', round(total / 3, 2))\n")
    assert run_program(source) == ["53", "4 items: 53 dollars 17.67"]
    for refused in ("import os", "for i in range(3):\n    x = i", "x = open('f')", "print(y)", "x.y = 3",
                    "def f():\n    pass", "x = __import__('os')", "while True:\n    pass", "x = 1 / 0"):
        with pytest.raises(CalculatorError):
            run_program(refused)
