"""Safe arithmetic evaluator for expressions written by a language model.

The text is parsed with ``ast.parse(mode="eval")`` only to obtain a tree; the
tree is then interpreted by hand against a strict whitelist. Nothing is ever
passed to eval/exec/compile.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

Number = int | float

MAX_LENGTH = 500  # characters, checked before parsing
MAX_DEPTH = 50  # nesting depth of the expression tree
MAX_NODES = 200  # expression nodes in the tree
MAX_EXPONENT = 1000  # largest allowed abs(b) in a ** b
MAX_INT_DIGITS = 4300  # matches CPython's default int/str conversion limit
MAX_ROUND_DIGITS = 100  # round(x, n): a huge n makes int rounding slow
MAX_PROGRAM_LENGTH = 4000  # characters of a program for run_program

_LOG10_2 = math.log10(2)


class CalculatorError(ValueError):
    """Raised for any expression that is invalid, unsafe or out of limits."""


_BINOPS: dict[type, Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise CalculatorError("round() digits must be an integer")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round() digits must be within ±{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


# name -> (function, min args, max args)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (lambda *a: min(a), 1, MAX_NODES),
    "max": (lambda *a: max(a), 1, MAX_NODES),
    "sqrt": (math.sqrt, 1, 1),
    "log": (math.log, 1, 2),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "int": (math.trunc, 1, 1),
    "float": (float, 1, 1),
}

# Spellings models commonly use for operators Python writes differently.
# brackets and braces group as parentheses do ("{(714 + 844) * 28}", "[2 + 3] * 4"): written by hand and by
# small models, and never anything else in arithmetic
_REPLACEMENTS = {"^": "**", "×": "*", "÷": "/", "−": "-", "[": "(", "]": ")", "{": "(", "}": ")"}
# "50% * 456", "25% of 16": a number with % and no operand after it is a percentage; "7 % 3" stays modulo
_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%(\s*of\b|(?!\s*[\w.(]))")


def _check(value: object) -> Number:
    """Reject results that are not plain, finite, reasonably sized numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalculatorError("result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("result is not a finite number")
    # bit_length avoids str(), which itself fails beyond CPython's digit limit.
    if isinstance(value, int) and value.bit_length() * _LOG10_2 > MAX_INT_DIGITS:
        raise CalculatorError(f"result has more than {MAX_INT_DIGITS} digits")
    return value


def _power(base: Number, exp: Number) -> Number:
    if abs(exp) > MAX_EXPONENT:
        raise CalculatorError(f"exponent too large (limit {MAX_EXPONENT})")
    # Estimate the size before computing, so e.g. 9**999 never gets built.
    if (isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1
            and exp * math.log10(abs(base)) > MAX_INT_DIGITS):
        raise CalculatorError(f"result would have more than {MAX_INT_DIGITS} digits")
    return base**exp


def _eval(node: ast.expr, depth: int, names: Mapping[str, Number] = {}) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"expression nested too deeply (limit {MAX_DEPTH})")
    if isinstance(node, ast.Constant):
        # type() not isinstance(): bool is an int subclass and must be refused.
        if type(node.value) not in (int, float):
            raise CalculatorError(f"only numbers are allowed, got {type(node.value).__name__}")
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _eval(node.operand, depth + 1, names)
        return _check(-value if isinstance(node.op, ast.USub) else +value)
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, depth + 1, names)
        right = _eval(node.right, depth + 1, names)
        if isinstance(node.op, ast.Pow):
            return _check(_power(left, right))
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise CalculatorError(f"operator {type(node.op).__name__} is not allowed")
        return _check(op(left, right))
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise CalculatorError(f"{node.id} is a function and must be called")
        raise CalculatorError(f"unknown name: {node.id}")
    if isinstance(node, ast.Call):
        return _call(node, depth, names)
    if isinstance(node, ast.Attribute):
        raise CalculatorError("attribute access is not allowed")
    raise CalculatorError(f"unsupported syntax: {type(node).__name__}")


def _call(node: ast.Call, depth: int, names: Mapping[str, Number] = {}) -> Number:
    name = _function_name(node.func)
    if name not in _FUNCTIONS:
        raise CalculatorError("only calls to " + ", ".join(_FUNCTIONS) + " are allowed")
    if node.keywords:
        raise CalculatorError("keyword arguments are not allowed")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise CalculatorError("starred arguments are not allowed")
    func, lo, hi = _FUNCTIONS[name]
    if not lo <= len(node.args) <= hi:
        raise CalculatorError(f"{name}() takes {lo} to {hi} arguments" if lo != hi
                              else f"{name}() takes {lo} argument")
    args = [_eval(arg, depth + 1, names) for arg in node.args]
    return _check(func(*args))


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression and return an int or float.

    Raises CalculatorError for anything invalid, unsafe or out of limits.
    """
    if not isinstance(expression, str):
        raise CalculatorError("expression must be a string")
    text = expression.strip()
    if not text:
        raise CalculatorError("empty expression")
    if len(text) > MAX_LENGTH:
        raise CalculatorError(f"expression too long (limit {MAX_LENGTH} characters)")
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    text = _PERCENT.sub(_percentage, text)
    try:
        tree = ast.parse(text, mode="eval")
    except (RecursionError, MemoryError):
        raise CalculatorError("expression nested too deeply") from None
    except SyntaxError as exc:
        raise CalculatorError(f"invalid syntax: {exc.msg}") from None
    except ValueError:  # e.g. null bytes or lone surrogates in the source
        raise CalculatorError("invalid characters in expression") from None
    # ast.walk is iterative, so counting is safe even before the depth check.
    if sum(isinstance(n, ast.expr) for n in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError(f"expression too complex (limit {MAX_NODES} nodes)")
    with _arithmetic_errors():
        return _eval(tree.body, 1)


@contextmanager
def _arithmetic_errors() -> Iterator[None]:
    """Python's own arithmetic failures while interpreting, as CalculatorErrors that say what went wrong."""
    try:
        yield
    except CalculatorError:
        raise
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("number too large") from None
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # e.g. math domain error
        raise CalculatorError(f"math error: {exc}") from None


def _function_name(func: ast.expr) -> str:
    """`round` or `math.floor`: a function of the whitelist, named alone or on the math module."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "math":
        return func.attr
    return ""


def run_program(source: str) -> list[str]:
    """The lines a straight-line arithmetic program prints: statements that assign arithmetic to names
    (`total = price * 3`, `total += 2`) and print() arithmetic, names or text (f-strings too); `import math`
    and docstrings are allowed and do nothing. Anything else (a loop, a condition, another import or call) is a
    CalculatorError. Like `evaluate`, the program is parsed into a tree and interpreted by hand, never run."""
    if len(source) > MAX_PROGRAM_LENGTH:
        raise CalculatorError(f"program too long (limit {MAX_PROGRAM_LENGTH} characters)")
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalculatorError("not a program of arithmetic") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES * 4:
        raise CalculatorError("program too complex")
    names: dict[str, Number] = {}
    printed: list[str] = []
    with _arithmetic_errors():
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
                value = _eval(statement.value, 1, names)
                names.update({t.id: value for t in statement.targets if isinstance(t, ast.Name)})
            elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
                operation = ast.BinOp(left=statement.target, op=statement.op, right=statement.value)
                names[statement.target.id] = _eval(operation, 1, names)
            elif (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                  and _function_name(statement.value.func) == "print" and not statement.value.keywords):
                printed.append(" ".join(_shown(arg, names) for arg in statement.value.args))
            elif isinstance(statement, ast.Import) and [a.name for a in statement.names] == ["math"]:
                pass
            elif not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
                raise CalculatorError(f"a program may only assign and print arithmetic, not {type(statement).__name__}")
    return printed


def _shown(node: ast.expr, names: Mapping[str, Number]) -> str:
    """How print() shows one argument: text as it is, numbers formatted as the calculator formats them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_shown(part.value if isinstance(part, ast.FormattedValue) else part, names)
                       for part in node.values)
    return format_number(_eval(node, 1, names))


def _percentage(match: re.Match[str]) -> str:
    return f"({match.group(1)} / 100)" + (" *" if match.group(2) else "")


def format_number(value: int | float) -> str:
    """Format a result: ints exactly, floats to 12 significant digits."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    rounded = float(f"{value:.12g}")
    if rounded.is_integer() and abs(rounded) < 1e16:
        return str(int(rounded))  # also turns -0.0 into "0"
    return f"{rounded:.12g}"
