"""benchmarks/batch_throughput.py runs as a user runs it, at the smallest size: both layouts on a real local
Ray, every objective finished. Figures are printed, never checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, "benchmarks/batch_throughput.py", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_scripted_layouts_run_and_print_their_figures():
    figures = bench("--scripted", "3", "--default", "0")
    rows = figures["scripted"]
    for layout in ("1 worker x 2 cores", "2 workers x 1 core"):
        assert rows[layout]["objectives"] == 3 and rows[layout]["statuses"] == ["done"]
        assert rows[layout]["per_minute"] > 0
    assert rows["ratio_2x1_over_1x2"] > 0


@pytest.mark.slow
def test_the_default_model_layouts_run():
    rows = bench("--scripted", "0", "--default", "1")["default"]
    assert all(rows[layout]["objectives"] == 1 and "error" not in rows[layout]["statuses"]
               for layout in ("1 worker x 2 cores", "2 workers x 1 core"))
