"""Tools that hang are abandoned and never keep the process alive."""

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from agent.errors import ToolError
from agent.tools.base import Tool, tool
from agent.tools.runner import run_tool


class Sleeper(Tool):
    name = "sleeper"
    description = "Sleeps until cancelled."
    timeout_seconds = 0.3

    def __init__(self) -> None:
        super().__init__()
        self.stop = threading.Event()

    def run(self, args):
        self.stop.wait(600)
        return "woke"

    def cancel(self) -> None:
        self.stop.set()


def test_a_tool_past_its_timeout_is_cancelled_and_reported():
    sleeper = Sleeper()
    started = time.monotonic()
    with pytest.raises(ToolError, match="timed out after 0.3 s"):
        run_tool(sleeper, {})
    assert time.monotonic() - started < 5
    assert sleeper.stop.is_set()


def test_results_and_errors_come_back_from_the_worker():
    @tool
    def double(x: int) -> int:
        """Double x."""
        if x < 0:
            raise ValueError("negative")
        return 2 * x

    assert run_tool(double, {"x": 4}) == 8
    with pytest.raises(ValueError, match="negative"):
        run_tool(double, {"x": -1})
    with pytest.raises(ToolError, match="bad arguments"):
        run_tool(double, {"x": "nope"})


def test_the_process_exits_although_a_tool_is_stuck_for_good(tmp_path):
    fifo = tmp_path / "fifo"
    script = textwrap.dedent(f"""
        import os, time
        from agent.tools.runner import run_tool
        from agent.tools.base import tool
        from agent.errors import ToolError

        @tool
        def blocked() -> str:
            '''Open a FIFO nobody reads: blocks forever.'''
            with open({str(fifo)!r}, "w") as handle:
                handle.write("x")
            return "never"

        blocked.timeout_seconds = 0.5
        os.mkfifo({str(fifo)!r})
        try:
            run_tool(blocked, {{}})
        except ToolError as exc:
            print("refused:", exc)
    """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "refused: blocked timed out" in done.stdout, done.stderr
    assert done.returncode == 0 and time.monotonic() - started < 30
