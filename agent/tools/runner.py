"""Runs a tool where it can be abandoned: a daemon worker thread that the process never waits for.

A tool past its timeout is told to stop (Tool.cancel) and left behind; being a daemon, its thread cannot keep
the process alive after the run ends, even when it is blocked for good (a FIFO, a hung socket, a sleep)."""

import threading
from typing import Any

from agent.errors import ToolError
from agent.tools.base import Tool


class _Outcome:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


def run_tool(tool: Tool, arguments: dict[str, Any], timeout: float | None = None) -> Any:
    """`tool(**arguments)`, or ToolError once `timeout` (default: the tool's own) seconds have passed."""
    limit = tool.timeout_seconds if timeout is None else timeout
    outcome = _Outcome()

    def work() -> None:
        try:
            outcome.value = tool(**arguments)
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            outcome.error = exc
        finally:
            outcome.done.set()

    # not a ThreadPoolExecutor: the interpreter joins its workers at exit, so a stuck tool would hang it
    threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True).start()
    if not outcome.done.wait(limit):
        tool.cancel()
        raise ToolError(f"{tool.name} timed out after {limit:g} s and was abandoned")
    if outcome.error is not None:
        raise outcome.error
    return outcome.value
