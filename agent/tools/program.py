"""The `python` tool: the model writes a short program over the objective's numbers (and may call the other
pure tools by name); the project's own interpreter runs it, and what it prints is the step's result. A small
coder model writes a correct short program far more often than it states a correct result; nothing it writes is
ever passed to eval/exec (see `interpreter`)."""

import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from agent.errors import ToolError
from agent.text import asks_to_compute
from agent.tools.base import Arguments, Tool
from agent.tools.interpreter import MAX_SOURCE, ProgramError, interpret

CALLABLE = ("dates", "convert", "read_file", "list_files")  # tools a program may call: they compute or read
_FILE = re.compile(r"\b[\w-]+\.(?:csv|tsv|txt|json|md)\b", re.IGNORECASE)  # a file an objective names


class ProgramArguments(Arguments):
    code: str = Field(min_length=1, max_length=MAX_SOURCE,
                      description="a short Python program that print()s the result")


class ProgramTool(Tool[ProgramArguments]):
    """`python(code=...)`: what the program prints. `tools` are callable from it by name, with keyword arguments
    (e.g. `dates(operation="add_days", date="May 1, 2024", days=10)`), and return their result text."""

    name = "python"
    Arguments = ProgramArguments
    isolated = False  # the interpreter bounds its steps and the size of what it builds
    examples = (
        ("Tom buys 3 notebooks at 2.50 dollars each and a pen for 1.20 dollars. He pays with a 20 dollar bill. "
         "How much change does he get?",
         {"code": "notebooks = 3 * 2.50\ncost = notebooks + 1.20\nprint(20 - cost)"}),
    )

    def __init__(self, tools: Sequence[Tool[Any]] = ()) -> None:
        super().__init__()
        self.tools = list(tools)
        called = "; " + ", ".join(f"{t.name}(...)" for t in self.tools) + " with keyword arguments" if tools else ""
        self.description = ("Run a short Python program and get what it prints: numbers, text, lists, "
                            "assignments, arithmetic, for loops, if, print(); sum len min max sorted round abs "
                            f"range mean median{called}. Nothing is imported"
                            + ("." if any(t.name == "read_file" for t in self.tools) else " and no file is read."))

    def beside(self, tools: Sequence[Tool[Any]]) -> "ProgramTool":
        """One that may call those of `tools` that only compute or read (never a tool that changes anything)."""
        return ProgramTool([t for t in tools if t.name in CALLABLE])

    def applies(self, objective: str) -> bool:
        reads = any(t.name == "read_file" for t in self.tools) and _FILE.search(objective) is not None
        return asks_to_compute(objective) or reads

    def run(self, args: ProgramArguments) -> str:
        try:
            return interpret(args.code, {t.name: _by_keyword(t) for t in self.tools})
        except ProgramError as exc:
            raise ToolError(f"python: {exc}") from None


def _by_keyword(tool: Tool[Any]) -> Callable[..., str]:
    def call(*args: Any, **kwargs: Any) -> str:
        if args:
            raise ProgramError(f"call {tool.name}() with keyword arguments, e.g. {tool.name}(name=value)")
        try:
            return str(tool(**kwargs))
        except ToolError as exc:
            raise ProgramError(str(exc)) from None

    return call
