"""Runs a tool where it can be abandoned, or stopped for good.

An isolated tool (every @tool function unless it says otherwise: a function cannot be told to stop) runs in a
forked child process that is killed at the timeout, so code that never returns to Python (a C-level regex on
hostile input, an extension stuck in a loop) holds the run no longer than the timeout. Its arguments are parsed
and its setup() done in this process first; the child only runs it and sends back the value or the error.

Any other tool runs in a daemon worker thread that the process never waits for: past its timeout it is told to
stop (Tool.cancel) and left behind; being a daemon, its thread cannot keep the process alive after the run ends,
even when it is blocked for good (a FIFO, a hung socket, a sleep). A result that comes back after the timeout
(the worker held the interpreter past it) is never used."""

import multiprocessing
import pickle
import threading
import time
from multiprocessing.connection import Connection
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
    if tool.isolated and "fork" in multiprocessing.get_all_start_methods():
        return _in_child(tool, tool.prepare(arguments), limit)
    outcome = _Outcome()

    def work() -> None:
        try:
            outcome.value = tool(**arguments)
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            outcome.error = exc
        finally:
            outcome.done.set()

    started = time.monotonic()
    # not a ThreadPoolExecutor: the interpreter joins its workers at exit, so a stuck tool would hang it
    threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True).start()
    if not outcome.done.wait(limit) or time.monotonic() - started > limit:
        tool.cancel()
        raise ToolError(f"{tool.name} timed out after {limit:g} s and was abandoned")
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


def _in_child(tool: Tool, args: Any, limit: float) -> Any:
    fork = multiprocessing.get_context("fork")
    reader, writer = fork.Pipe(duplex=False)
    child = fork.Process(target=_child, args=(tool, args, writer), name=f"tool-{tool.name}", daemon=True)
    child.start()
    writer.close()
    try:
        if not reader.poll(limit):
            raise ToolError(f"{tool.name} timed out after {limit:g} s and was stopped")
        try:
            kind, payload = reader.recv()
        except (EOFError, OSError, pickle.UnpicklingError, AttributeError, TypeError):
            child.join(1)
            raise ToolError(f"{tool.name} stopped without a result (exit code {child.exitcode})") from None
    finally:
        reader.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "error":
        raise payload
    return payload


def _child(tool: Tool, args: Any, writer: Connection) -> None:
    try:
        message: tuple[str, Any] = ("value", tool.run(args))
    except BaseException as exc:
        message = ("error", exc)
    try:
        writer.send(message)
    except Exception as exc:  # a value or an error that cannot be sent across is said in words
        kind, what = message
        said = f"{tool.name} returned a value that cannot be sent back: {type(exc).__name__}: {exc}" \
            if kind == "value" else f"{tool.name} failed: {type(what).__name__}: {what}"
        writer.send(("error", ToolError(said)))
    writer.close()
