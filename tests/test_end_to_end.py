"""The real thing: `agent run` in a subprocess with the embedded SmolLM2 on CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_agent_run_json_with_the_default_model(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AGENT_CACHE_DIR": os.environ.get(
        "AGENT_TEST_CACHE", str(Path(__file__).parent.parent / ".cache" / "agent"))}
    completed = subprocess.run(
        [sys.executable, "-m", "agent", "run", "List three uses of a paperclip", "--max-cycles", "2",
         "--json", "--run-dir", str(tmp_path / "runs"), "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    document = json.loads(completed.stdout)
    assert set(document) == {"run_id", "objective", "status", "final_answer", "tasks", "usage"}
    assert document["objective"] == "List three uses of a paperclip"
    assert document["status"] in {"done", "no_tasks", "max_cycles"}
    assert document["final_answer"].strip()
    usage = document["usage"]
    assert usage["llm_calls"] >= 2 and usage["prompt_tokens"] > 50 and usage["completion_tokens"] > 5
    assert usage["seconds"] > 0
    for task in document["tasks"]:
        assert set(task) == {"id", "description", "status", "result", "tool"}
    run_dir = tmp_path / "runs" / document["run_id"]
    trace = [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines()]
    calls = [e for e in trace if e["kind"] == "model_called"]
    assert len(calls) == usage["llm_calls"]
    assert sum(e["completion_tokens"] for e in calls) == usage["completion_tokens"]
    assert (run_dir / "memory").is_dir()
