"""Arithmetic inside a step worked out in words is computed, not guessed: as the model writes "6 * 2 + 20 / 60 =",
the calculator's value is written after the "=" and the model goes on from it; when it writes a small program
and opens its output block, what the program prints is written there.

A small model often reasons its way to the right expression and then gets the product wrong ("16 * 0.25 = 3"),
and every later step inherits the error. Interjecting the value while it decodes (what the calculator
annotations of grade-school math data do) keeps the reasoning the model's own and the numbers exact. Only a plain
arithmetic expression right before the "=" is computed; words, variables or a lone number are left to the model.
"""

import re

from agent.text import THOUSANDS
from agent.tools.calculator import CalculatorError, evaluate, format_number, run_program

_LATEX = [(re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"), r"((\1) / (\2))"),
          (re.compile(r"\\(?:times|cdot)"), "*"), (re.compile(r"\\div"), "/"),
          (re.compile(r"\\text\s*\{([^{}]*)\}"), r"\1"),
          (re.compile(r"\\left|\\right|\\[()\[\]]|\\,|\\!|\\ "), " "), (re.compile(r"\$"), " ")]
_TAIL = re.compile(r"(?:[\d.\s+\-*/×÷()%{}]|\bof\b)+$")  # the plain arithmetic that ends the text
_OPERATION = re.compile(r"[\d)}%]\s*(?:[+\-*/×÷]|\bof\b)\s*[\d({-]")
_COMPARISON = re.compile(r"[=<>!]\s*=\s?$")  # "==", "<=", ">=", "!=" are not a result to fill in
_CODE = re.compile(r"```(?:python|py)?\n([^`]*)```\s*```output\n$")
_NAME = re.compile(r"\s*([A-Za-z]\w*)\s*")
_ASSIGNED = re.compile(r"\s*([A-Za-z]\w*)\s*=([^=]*)")


def interjection(text: str) -> str | None:
    """What to write next into a reply that ends where a computed value belongs (`arithmetic`, `printed`)."""
    return printed(text) if text.endswith("```output\n") else arithmetic(text)


def printed(text: str) -> str | None:
    """What the program in the reply's last code block prints, when the reply has just opened its output
    block ("```python ... ```" then "```output"): a small coder model writes the program right and then makes
    up its output. The program is interpreted by the calculator (assignments and print() of arithmetic only)."""
    blocks = _CODE.findall(text)
    if not blocks:
        return None
    try:
        lines = run_program(blocks[-1])
    except CalculatorError:
        return None
    return "\n".join(lines) + "\n```\n" if lines else None


def arithmetic(text: str) -> str | None:
    """What to write next when `text` (a reply so far) ends with an arithmetic expression and "=": the value,
    with a space after the "=" when the text has none. A name and "=" after a line that gave the same name an
    expression ("x = 24.3 - 10.25" then "x =") gets that expression's value. None when there is nothing to
    compute."""
    if not text.endswith(("=", "= ")) or _COMPARISON.search(text):
        return None
    lines = _plain(text.rstrip()[:-1]).split("\n")
    segment = re.split(r"[:;=]|\.\s", lines[-1])[-1]  # "a = 3 * 4 =": after the last "=" or sentence
    value = _value(segment)
    if value is None and (name := _NAME.fullmatch(segment)) is not None:
        earlier = next((line for line in reversed(lines[:-1]) if line.strip()), "")
        assigned = _ASSIGNED.fullmatch(earlier)
        if assigned is not None and assigned.group(1) == name.group(1):
            value = _value(assigned.group(2))
    if value is None:
        return None
    return value if text.endswith(" ") else f" {value}"


def _plain(text: str) -> str:
    """Arithmetic as a calculator reads it: LaTeX operators, fractions and delimiters, and thousands separators."""
    for pattern, replacement in _LATEX:
        text = pattern.sub(replacement, text)
    return THOUSANDS.sub("", text)


def _value(segment: str) -> str | None:
    """The calculator's value of the plain arithmetic that ends `segment`, when it has an operation."""
    tail = _TAIL.search(segment.rstrip())
    if tail is None:
        return None
    expression = _close_open(tail.group().strip().rstrip("."))
    if not expression or not _OPERATION.search(expression):
        return None
    try:
        return format_number(evaluate(expression))
    except CalculatorError:
        return None


def _close_open(expression: str) -> str:
    """The expression without closing brackets that open before it, nor a leading operator or "of", and with
    the brackets it leaves open closed at its end ("(6 * 2 + 4 =")."""
    depth, start = 0, 0
    for i, char in enumerate(expression):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            if depth < 0:
                depth, start = 0, i + 1
    expression = re.sub(r"^(?:\s|[+*/×÷%]|\bof\b|\.(?!\d))+", "", expression[start:]).strip()
    opened = expression.count("(") + expression.count("{") - expression.count(")") - expression.count("}")
    return expression + ")" * max(opened, 0)
