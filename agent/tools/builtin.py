"""Tools that ship with the agent."""

from agent.errors import ToolError
from agent.text import asks_to_compute
from agent.tools.base import tool
from agent.tools.calculator import CalculatorError, evaluate, format_number
from agent.tools.dates import dates
from agent.tools.program import ProgramTool
from agent.tools.units import convert

__all__ = ["calculator", "convert", "dates", "python"]


# in this process: its evaluator bounds the length, depth and size of what it computes before computing it
@tool(applies=asks_to_compute, isolated=False)
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly, e.g. "(12.5 * 4) / 3" or "2^10" or "sqrt(2)".

    Numbers, + - * / // % ** (or ^), parentheses (or brackets), abs round min max sqrt log exp sin cos tan floor ceil,
    pi and e; "25% of 16" or "50% * 456" for a percentage. Nothing else is evaluated.
    """
    try:
        return format_number(evaluate(expression))
    except CalculatorError as exc:
        raise ToolError(f"calculator: {exc}") from exc


python = ProgramTool([dates, convert])  # a run's own is the one `beside` its tools
