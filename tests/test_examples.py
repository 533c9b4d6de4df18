"""Every script under examples/ runs with the embedded default model, as a user runs it, and its answer is
checked. Each runs in a fresh run directory: a user's first run has no memories and no experience."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.slow


def run_example(name: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "AGENT_RUN_DIR": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_embedding_example_computes_both_answers(tmp_path):
    out = run_example("embed.py", tmp_path)
    first, _, second = out.partition("run_started")
    assert "done | " in first and "391" in first.split("done | ", 1)[1]
    assert "1024" in second.split("run_finished", 1)[1]


def test_the_custom_tool_example_counts_the_words_with_its_tool(tmp_path):
    out = run_example("custom_tool.py", tmp_path)
    assert out.strip().splitlines()[-1].rstrip(".").split()[-1] == "5"


def test_the_head_example_trains_a_head_and_the_agent_names_people_and_places(tmp_path, heads_data):
    out = run_example("train_ner_head.py", tmp_path, "--data", str(heads_data), "--out", str(tmp_path / "ner"),
                      "--train-examples", "2000", "--eval-examples", "100", "--epochs", "1", "--device", "cpu")
    answer = out.strip().splitlines()[-1]
    assert "extract_entities" in out and "Merkel" in answer and "Paris" in answer
