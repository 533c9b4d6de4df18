"""A small Python, interpreted by hand: what a short program written by a model needs to compute an answer.

The source is parsed with ``ast.parse`` only to obtain a tree; the tree is walked against a whitelist of
statements (assignments, `for` over a bounded sequence, `if`, `print`), values (numbers, text, booleans, lists,
tuples, dicts) and calls (a few builtins, a few methods of text and lists, and the functions the caller hands
over, e.g. tools). Nothing is ever passed to eval/exec/compile, nothing is imported, no attribute outside the
whitelist is read, and every program is bounded in length, steps and the size of what it builds."""

from __future__ import annotations

import ast
import math
import statistics
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from agent.tools.calculator import (
    _BINOPS,
    _FUNCTIONS,
    CalculatorError,
    _check,
    _power,
    format_number,
)

MAX_SOURCE = 4000  # characters
MAX_NODES = 1500  # nodes of the tree
MAX_STEPS = 20_000  # statements and loop turns executed
MAX_ITEMS = 10_000  # elements of a list, tuple or dict, characters of a text
MAX_OUTPUT = 4000  # characters printed

Value = Any


class ProgramError(CalculatorError):
    """Anything a program may not do, or that went wrong while it ran: one line saying what."""


def _sized(value: Value) -> Value:
    if isinstance(value, (list, tuple, dict, str)) and len(value) > MAX_ITEMS:
        raise ProgramError(f"a value of more than {MAX_ITEMS} items")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _check(value)
    return value


def _number(value: Value) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProgramError(f"a number is needed, not {type(value).__name__}")
    return value


def _text(value: Value) -> str:
    """How print() and str() show a value: numbers as the calculator formats them; at most MAX_OUTPUT
    characters are ever built."""
    shown: list[str] = []
    budget = [MAX_OUTPUT]

    def put(text: str) -> None:
        budget[0] -= len(text)
        if budget[0] < 0:
            raise ProgramError(f"a value longer than {MAX_OUTPUT} characters to show")
        shown.append(text)

    def walk(v: Value, quoted: bool) -> None:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            put(format_number(v))
        elif isinstance(v, (list, tuple)):
            put("[" if isinstance(v, list) else "(")
            for n, item in enumerate(v):
                put(", " if n else "")
                walk(item, True)
            put("]" if isinstance(v, list) else ",)" if len(v) == 1 else ")")
        elif isinstance(v, dict):
            put("{")
            for n, (key, item) in enumerate(v.items()):
                put(", " if n else "")
                walk(key, True)
                put(": ")
                walk(item, True)
            put("}")
        else:
            put(repr(v) if quoted and isinstance(v, str) else str(v)[:MAX_OUTPUT + 1])

    walk(value, False)
    return "".join(shown)


def _round(x: Value, digits: Value = None) -> Value:
    return _FUNCTIONS["round"][0](_number(x), digits)  # the calculator's round: its digits are bounded


def _range(*bounds: Value) -> range:
    numbers = range(*bounds)
    if len(numbers) > MAX_ITEMS:
        raise ProgramError(f"a range of more than {MAX_ITEMS} numbers")
    return numbers


def _mean(values: Value) -> Value:
    return statistics.fmean([_number(v) for v in values]) if values else _fail("mean of nothing")


def _fail(message: str) -> Value:
    raise ProgramError(message)


# builtins by name: plain functions of values
_BUILTINS: dict[str, Callable[..., Value]] = {
    "abs": lambda x: abs(_number(x)), "round": _round, "len": len, "sorted": sorted,
    "reversed": lambda s: list(s)[::-1], "sum": lambda s, start=0: sum((_number(v) for v in s), start),
    "min": min, "max": max,
    "int": int, "float": float, "str": _text, "bool": bool, "list": list, "tuple": tuple, "dict": dict,
    "range": _range, "enumerate": lambda s, start=0: list(enumerate(s, start)),
    "zip": lambda *s: list(zip(*s)),
    "divmod": lambda a, b: divmod(_number(a), _number(b)), "pow": lambda a, b: _power(_number(a), _number(b)),
    "mean": _mean, "median": lambda s: statistics.median([_number(v) for v in s]) if s else _fail("median of nothing"),
    "any": any, "all": all,
}
_MATH: dict[str, Value] = {name: f for name, (f, _, _) in _FUNCTIONS.items()} | {"pi": math.pi, "e": math.e}
_MODULES: dict[str, dict[str, Value]] = {
    "math": _MATH, "statistics": {"mean": _mean, "median": _BUILTINS["median"], "fmean": _mean}}
# methods by the type of value they are called on
_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"split", "strip", "lower", "upper", "title", "capitalize", "replace", "count", "startswith",
                    "endswith", "join", "find", "isdigit", "lstrip", "rstrip", "splitlines"}),
    list: frozenset({"append", "extend", "count", "index", "sort", "reverse", "pop", "insert", "remove"}),
    dict: frozenset({"get", "keys", "values", "items"}),
    tuple: frozenset({"count", "index"}),
}
_COMPARE: dict[type, Callable[[Value, Value], bool]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class _Program:
    def __init__(self, functions: Mapping[str, Callable[..., Value]]) -> None:
        self.names: dict[str, Value] = {}
        self.functions = functions
        self.printed: list[str] = []
        self.steps = 0
        self.last: Value = None  # the value of the latest expression statement or assignment

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ProgramError(f"the program runs more than {MAX_STEPS} steps")

    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        self.step()
        if isinstance(node, ast.Assign):
            value = self.value(node.value)
            for target in node.targets:
                self.assign(target, value)
            self.last = value
        elif isinstance(node, ast.AugAssign):
            target = node.target
            current = self.value(ast.Name(id=target.id, ctx=ast.Load()) if isinstance(target, ast.Name) else target)
            value = self.binary(node.op, current, self.value(node.value))
            self.assign(node.target, value)
            self.last = value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.last = self.value(node.value)
            self.assign(node.target, self.last)
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return  # a docstring
            value = self.value(node.value)
            if not _is_print(node.value):
                self.last = value
        elif isinstance(node, ast.For):
            for item in self.iterable(self.value(node.iter)):
                self.step()
                self.assign(node.target, item)
                self.block(node.body)
            else:
                self.block(node.orelse)
        elif isinstance(node, ast.If):
            self.block(node.body if self.value(node.test) else node.orelse)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if not set(modules) <= set(_MODULES):
                raise ProgramError(f"import of {', '.join(m or '' for m in modules)} is not allowed")
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    self.names[alias.asname or alias.name] = self.module_member(node.module or "", alias.name)
        elif not isinstance(node, ast.Pass):
            raise ProgramError(f"a program may not use {type(node).__name__} statements")

    def assign(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            if target.id in self.functions:
                raise ProgramError(f"{target.id} is a tool and cannot be assigned")
            self.names[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(self.iterable(value))
            if len(items) != len(target.elts):
                raise ProgramError(f"{len(items)} values cannot be unpacked into {len(target.elts)} names")
            for element, item in zip(target.elts, items):
                self.assign(element, item)
        elif isinstance(target, ast.Subscript):
            container = self.value(target.value)
            if not isinstance(container, (list, dict)):
                raise ProgramError("only an item of a list or dict can be assigned")
            container[self.value(target.slice)] = value
            _sized(container)
        else:
            raise ProgramError(f"cannot assign to {type(target).__name__}")

    def iterable(self, value: Value) -> Iterator[Value]:  # (a range is bounded where `range` builds it)
        if not isinstance(value, (list, tuple, str, range, dict)):
            raise ProgramError(f"cannot loop over {type(value).__name__}")
        return iter(list(value))

    def module_member(self, module: str, name: str) -> Value:
        members = _MODULES.get(module, {})
        if name not in members:
            raise ProgramError(f"{module}.{name} is not allowed")
        return members[name]

    def value(self, node: ast.expr) -> Value:
        return _sized(self.evaluate(node))

    def evaluate(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool, type(None))):
                raise ProgramError(f"a {type(node.value).__name__} constant is not allowed")
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in ("pi", "e"):
                return _MATH[node.id]
            raise ProgramError(f"unknown name: {node.id}")
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand)
            if isinstance(node.op, ast.Not):
                return not operand
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                return -_number(operand) if isinstance(node.op, ast.USub) else _number(operand)
            raise ProgramError("bitwise operators are not allowed")
        if isinstance(node, ast.BoolOp):
            result: Value = isinstance(node.op, ast.And)
            for operand_node in node.values:
                result = self.value(operand_node)
                if bool(result) != isinstance(node.op, ast.And):
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self.value(right_node)
                if type(op) not in _COMPARE:
                    raise ProgramError(f"comparison {type(op).__name__} is not allowed")
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.value(node.body if self.value(node.test) else node.orelse)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise ProgramError("** in a dict is not allowed")
            return {self.value(k): self.value(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node)
        if isinstance(node, ast.Subscript):
            container = self.value(node.value)
            if isinstance(node.slice, ast.Slice):
                parts = [None if p is None else _number(self.value(p))
                         for p in (node.slice.lower, node.slice.upper, node.slice.step)]
                return container[slice(*parts)]
            return container[self.value(node.slice)]
        if isinstance(node, ast.JoinedStr):
            return "".join(self.formatted(part) for part in node.values)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _MODULES:
            return self.module_member(node.value.id, node.attr)
        raise ProgramError(f"a program may not use {type(node).__name__}")

    def formatted(self, part: ast.expr) -> str:
        if isinstance(part, ast.Constant):
            return str(part.value)
        assert isinstance(part, ast.FormattedValue)
        value = self.value(part.value)
        if part.format_spec is None:
            return _text(value)
        spec = "".join(self.formatted(p) for p in part.format_spec.values)  # type: ignore[attr-defined]
        if len(spec) > 12:
            raise ProgramError("format specification too long")
        return format(value, spec)

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> list[Value]:
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise ProgramError("a comprehension may have one `for`")
        generator = node.generators[0]
        out: list[Value] = []
        saved = dict(self.names)
        try:
            for item in self.iterable(self.value(generator.iter)):
                self.step()
                self.assign(generator.target, item)
                if all(self.value(test) for test in generator.ifs):
                    out.append(self.value(node.elt))
                    _sized(out)
        finally:
            self.names = saved
        return out

    def binary(self, op: ast.operator, left: Value, right: Value) -> Value:
        if isinstance(op, ast.Add) and isinstance(left, (str, list, tuple)) and type(left) is type(right):
            return _sized(left + right)  # type: ignore[operator]  # (of one type, checked just above)
        if isinstance(op, ast.Mult) and isinstance(left, (str, list)) and isinstance(right, int):
            if len(left) * max(right, 0) > MAX_ITEMS:
                raise ProgramError(f"a value of more than {MAX_ITEMS} items")
            return left * right
        left, right = _number(left), _number(right)
        if isinstance(op, ast.Pow):
            return _power(left, right)
        function = _BINOPS.get(type(op))
        if function is None:
            raise ProgramError(f"operator {type(op).__name__} is not allowed")
        return function(left, right)

    def call(self, node: ast.Call) -> Value:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ProgramError("* and ** arguments are not allowed")
        args = [self.value(a) for a in node.args]
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg is not None}
        func = node.func
        if isinstance(func, ast.Name) and func.id == "print":
            line = kwargs.get("sep", " ").join(_text(a) for a in args)
            self.printed.append(line)
            if sum(len(p) + 1 for p in self.printed) > MAX_OUTPUT:
                raise ProgramError(f"the program prints more than {MAX_OUTPUT} characters")
            return None
        if isinstance(func, ast.Name):
            if func.id in self.functions:
                return self.functions[func.id](*args, **kwargs)
            if callable(self.names.get(func.id)):
                return self.names[func.id](*args, **kwargs)
            if func.id in _BUILTINS:
                return _BUILTINS[func.id](*args, **kwargs)
            if func.id in _MATH and callable(_MATH[func.id]):
                return _MATH[func.id](*args, **kwargs)
            raise ProgramError(f"unknown function: {func.id}")
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id in _MODULES:
                return self.module_member(func.value.id, func.attr)(*args, **kwargs)
            owner = self.value(func.value)
            allowed = _METHODS.get(type(owner), frozenset())
            if func.attr not in allowed:
                raise ProgramError(f"{type(owner).__name__}.{func.attr} is not allowed")
            return getattr(owner, func.attr)(*args, **kwargs)
        raise ProgramError("only functions named directly can be called")


def _is_print(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"


@contextmanager
def _errors() -> Iterator[None]:
    """Python's own failures while interpreting, as one-line ProgramErrors."""
    try:
        yield
    except CalculatorError as exc:
        raise ProgramError(str(exc)) from None
    except ZeroDivisionError:
        raise ProgramError("division by zero") from None
    except OverflowError:
        raise ProgramError("number too large") from None
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError, RecursionError) as exc:
        raise ProgramError(f"{type(exc).__name__}: {exc}") from None


def interpret(source: str, functions: Mapping[str, Callable[..., Value]] | None = None) -> str:
    """What the program prints (its lines joined), or, when it prints nothing, the value of its last expression
    or assignment. `functions` are callable by name from the program (a tool, say). Raises ProgramError."""
    if not isinstance(source, str) or not source.strip():
        raise ProgramError("the program is empty")
    if len(source) > MAX_SOURCE:
        raise ProgramError(f"the program is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.replace("\t", "    "), mode="exec")
    except SyntaxError as exc:
        raise ProgramError(f"invalid syntax on line {exc.lineno}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ProgramError("the program cannot be read") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ProgramError("the program is too long")
    program = _Program(functions or {})
    with _errors():
        program.block(tree.body)
    if program.printed:
        return "\n".join(program.printed)
    if program.last is None:
        raise ProgramError("the program printed nothing: print() the result")
    return _text(program.last)
