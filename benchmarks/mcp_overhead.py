"""What calling a tool over MCP costs a run: the same scripted run (the scripted model calls `echo` N times, then
answers) with `echo` served by a local stdio MCP server written with the SDK (tests/mcp_servers/tools_server.py)
and with the same function as an in-process tool.

    python benchmarks/mcp_overhead.py [--calls 20] [--repeats 3] [--json]

Prints the median wall seconds of each run, the overhead per call ((MCP run - in-process run) / calls; target
<= 0.3 s), the server's start (listing its tools, paid once per run) and the bare round trip of one call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent import Agent, ScriptedModel, mcp_tools, tool
from agent.memory.base import Recall
from agent.tools.runner import run_tool

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "mcp_servers" / "tools_server.py"


class ListMemory:
    """An in-process memory, so that the figures are the tool calls' and not an embedder's."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        self.items.append((id, text))

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        return []

    def count(self) -> int:
        return len(self.items)


def echo_tool(name: str):
    @tool(name=name, isolated=False)
    def echo(text: str, times: int = 1) -> str:
        """Repeat a text."""
        return " ".join([text] * times)

    return echo


def scripted(name: str, calls: int) -> ScriptedModel:
    moves: list = [{"next": name, "arguments": {"text": f"call {i}", "times": 1}} for i in range(calls)]
    return ScriptedModel([*moves, {"next": "finish", "answer": "{1}"}])


def timed_run(tools: list, name: str, calls: int, run_dir: Path) -> float:
    agent = Agent(model=scripted(name, calls), tools=tools, memory=ListMemory(), run_dir=run_dir,
                  experience=False, similar_task_threshold=None, max_cycles=calls + 2, max_queue=calls + 2)
    started = time.perf_counter()
    result = agent.run(f"Echo {calls} times")
    seconds = time.perf_counter() - started
    failed = [t.result for t in result.tasks if t.status.value != "done"]
    if failed or len(result.tasks) != calls:
        raise SystemExit(f"the run did not call the tool {calls} times: {failed[:2]} ({result.status.value})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    servers = {"mcpServers": {"local": {"command": sys.executable, "args": [str(SERVER)],
                                        "env": {"TOOLS_SERVER_LOG": "/dev/null"}}}}
    local = echo_tool("echo")
    with tempfile.TemporaryDirectory() as scratch, mcp_tools(servers) as toolset:
        started = time.perf_counter()
        served = [t for t in toolset if t.name == "local.echo"]
        start_seconds = time.perf_counter() - started
        run_tool(served[0], {"text": "warm"})
        round_trips = []
        for i in range(max(5, options.calls)):
            begun = time.perf_counter()
            run_tool(served[0], {"text": f"ping {i}"})
            round_trips.append(time.perf_counter() - begun)
        mcp_runs, local_runs = [], []
        for repeat in range(options.repeats):
            local_runs.append(timed_run([local], "echo", options.calls, Path(scratch) / f"local-{repeat}"))
            mcp_runs.append(timed_run(served, "local.echo", options.calls, Path(scratch) / f"mcp-{repeat}"))
    mcp_seconds, local_seconds = statistics.median(mcp_runs), statistics.median(local_runs)
    figures = {"calls": options.calls, "repeats": options.repeats,
               "mcp_run_seconds": round(mcp_seconds, 4), "in_process_run_seconds": round(local_seconds, 4),
               "overhead_per_call_ms": round((mcp_seconds - local_seconds) / options.calls * 1000, 2),
               "round_trip_ms": round(statistics.median(round_trips) * 1000, 2),
               "server_start_seconds": round(start_seconds, 3), "target_ms": 300}
    if options.json:
        print(json.dumps(figures))
        return
    print(f"{options.calls} calls, median of {options.repeats} runs: over MCP {mcp_seconds:.3f} s, "
          f"in process {local_seconds:.3f} s")
    print(f"overhead per call: {figures['overhead_per_call_ms']:.1f} ms (target <= 300 ms); bare round trip "
          f"{figures['round_trip_ms']:.1f} ms; server start and tool listing {start_seconds:.2f} s, once per run")


if __name__ == "__main__":
    main()
