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


def test_a_function_stuck_in_c_code_is_stopped_at_its_timeout():
    import re

    @tool
    def backtrack(text: str) -> str:
        """Match a catastrophic pattern: the regex engine holds the interpreter until it is done."""
        return str(bool(re.match(r"(a+)+$", text)))

    backtrack.timeout_seconds = 1.0
    started = time.monotonic()
    with pytest.raises(ToolError, match="backtrack timed out after 1 s and was stopped"):
        run_tool(backtrack, {"text": "a" * 40 + "!"})
    assert time.monotonic() - started < 10  # the match alone runs for hours


def test_an_isolated_tool_is_set_up_once_here_and_errors_come_back_whole():
    class Counter(Tool):
        name = "counter"
        description = "Counts its set-ups."
        isolated = True
        setups = 0

        def setup(self) -> None:
            type(self).setups += 1

        def run(self, args):
            if type(self).setups != 1:
                raise LookupError(f"set up {type(self).setups} times")
            return {"setups": type(self).setups}

    counter = Counter()
    assert run_tool(counter, {}) == {"setups": 1} and run_tool(counter, {}) == {"setups": 1}
    Counter.setups = 5
    with pytest.raises(LookupError, match="set up 5 times"):
        run_tool(counter, {})


def test_an_isolated_tool_that_dies_or_returns_what_cannot_travel_is_one_tool_error():
    import os

    @tool
    def dies() -> str:
        """Exits the process it runs in."""
        os._exit(3)

    @tool
    def unsendable() -> object:
        """Returns a lock, which cannot be pickled."""
        return threading.Lock()

    with pytest.raises(ToolError, match=r"dies stopped without a result \(exit code 3\)"):
        run_tool(dies, {})
    with pytest.raises(ToolError, match="unsendable returned a value that cannot be sent back"):
        run_tool(unsendable, {})


def test_a_function_that_fills_its_callers_list_runs_here_when_not_isolated():
    seen: list[str] = []

    @tool(isolated=False)
    def note(text: str) -> str:
        """Keep a note."""
        seen.append(text)
        return "kept"

    assert run_tool(note, {"text": "x"}) == "kept" and seen == ["x"]
