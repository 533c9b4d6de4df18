"""benchmarks/mcp_overhead.py runs as a user runs it, at the smallest size; its figures are never checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")
ROOT = Path(__file__).resolve().parent.parent


def test_mcp_overhead_benchmark_runs_and_prints_its_figures():
    done = subprocess.run([sys.executable, "benchmarks/mcp_overhead.py", "--calls", "2", "--repeats", "1", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert {"mcp_run_seconds", "in_process_run_seconds", "overhead_per_call_ms", "round_trip_ms",
            "server_start_seconds"} <= set(figures) and figures["calls"] == 2
