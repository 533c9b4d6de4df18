"""The real thing: `agent run` in a subprocess with the embedded SmolLM2 on CPU."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_agent_run_json_with_the_default_model(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AGENT_CACHE_DIR": os.environ.get(
        "AGENT_TEST_CACHE", str(Path(__file__).parent.parent / ".cache" / "agent"))}
    completed = subprocess.run(
        [sys.executable, "-m", "agent", "run", "List three uses of a paperclip", "--max-cycles", "2",
         "--json", "--run-dir", str(tmp_path / "runs"), "--device", "cpu", "--backend", "transformers"],
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


def test_kill_9_mid_run_then_agent_resume_with_the_default_model(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AGENT_CACHE_DIR": os.environ.get(
        "AGENT_TEST_CACHE", str(Path(__file__).parent.parent / ".cache" / "agent"))}
    command = [sys.executable, "-m", "agent", "run", "Explain why the sky is blue", "--max-cycles", "3",
               "--json", "--device", "cpu", "--no-tools"]
    runs = tmp_path / "runs"
    process = subprocess.Popen([*command, "--run-dir", str(runs)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    trace = None
    while time.monotonic() < deadline and process.poll() is None:
        traces = list(runs.glob("*/trace.jsonl"))
        if traces and '"task_started"' in traces[0].read_text():  # killed while the model works on a task
            process.send_signal(signal.SIGKILL)
            trace = traces[0]
            break
        time.sleep(0.01)
    assert process.wait() == -signal.SIGKILL and trace is not None, "the run finished before it was killed"
    run_id = trace.parent.name
    assert _status(trace.parent) == "running"
    acknowledged = {t["id"]: (t["description"], t["status"], t["result"]) for t in _tasks(trace.parent)}
    assert acknowledged  # the decision was committed before the task started

    resumed = subprocess.run([sys.executable, "-m", "agent", "resume", run_id, "--json", "--run-dir", str(runs)],
                             capture_output=True, text=True, env=env, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    document = json.loads(resumed.stdout)
    assert document["run_id"] == run_id and document["final_answer"].strip()
    final = {t["id"]: t for t in document["tasks"]}
    for task_id, (description, status, result) in acknowledged.items():
        assert final[task_id]["description"] == description  # no acknowledged task lost or changed
        if status != "pending":
            assert final[task_id]["result"] == result
    events = [json.loads(line) for line in trace.read_text().splitlines() if line.startswith("{")]
    started = [e["task"]["id"] for e in events if e.get("kind") == "task_started"]
    settled = [i for i, (_, status, _) in acknowledged.items() if status != "pending"]
    assert all(started.count(i) == 1 for i in settled), "a settled task ran again"


def _status(run_path: Path) -> str:
    import sqlite3

    db = sqlite3.connect(run_path / "state.sqlite")
    try:
        return json.loads(db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()[0])
    finally:
        db.close()


def _tasks(run_path: Path) -> list[dict]:
    import sqlite3

    db = sqlite3.connect(run_path / "state.sqlite")
    try:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM tasks")]
    finally:
        db.close()
