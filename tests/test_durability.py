"""Durability: kill real runs at random instants, resume them, and check that no acknowledged result is lost,
no acknowledged task runs twice, memory holds every result, and a second process is refused."""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import Agent, ScriptedModel, UsageError, tool
from agent.store import RunStore

from moves import SOLVE, call, finish, plan

WORKER = Path(__file__).parent / "crash_worker.py"
TOTAL_TASKS = 10  # as in crash_worker.py


def snapshot(run_path: Path) -> tuple[str, dict[str, str]]:
    """The run's status, and description -> result of every task the store has settled."""
    if not (run_path / "state.sqlite").exists():
        return "new", {}
    db = sqlite3.connect(run_path / "state.sqlite")
    try:
        rows = db.execute("SELECT body FROM tasks").fetchall()
        (status,) = db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()
    except (sqlite3.OperationalError, TypeError):  # killed before the schema was committed
        return "new", {}
    finally:
        db.close()
    tasks = [json.loads(body) for (body,) in rows]
    return json.loads(status), {t["description"]: t["result"] for t in tasks if t["status"] != "pending"}


def crash_and_resume(run_dir: Path, run_id: str, memory: str, rng: random.Random, max_kills: int) -> int:
    """Start/resume the worker until it finishes by itself; returns how many times it was killed. Each kill
    lands at a chosen point of the run's progress (one or two more task executions logged, then, half the time,
    a little later), never after a chosen time: how much work fits in a second depends on the machine."""
    kills = 0
    history: list[tuple[int, dict[str, str]]] = []
    log = run_dir / "executions.log"
    for session in range(200):
        process = subprocess.Popen([sys.executable, str(WORKER), str(run_dir), run_id, str(session), memory],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if kills < max_kills:
            target = executed(log) + rng.randint(1, 2)
            while process.poll() is None and executed(log) < target:
                time.sleep(0.01)
            if process.poll() is None:
                time.sleep(rng.choice((0.0, rng.uniform(0.0, 0.2))))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                status, settled = snapshot(run_dir / run_id)
                history.append((session, settled))
                if status == "running" or status == "new":
                    continue
                break
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        break
    final = snapshot(run_dir / run_id)[1]
    executions = [line.split("\t") for line in (run_dir / "executions.log").read_text().splitlines()]
    for session, settled in history:
        for description, result in settled.items():
            assert final[description] == result, "an acknowledged result changed or was lost"
            later = [s for s, task in executions if task == description and int(s) > session]
            assert not later, f"{description} was acknowledged before session {session} died, then run again"
    return kills


def executed(log: Path) -> int:
    """How many task executions the workers have logged so far."""
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_kill_9_at_random_points_then_resume(tmp_path):
    rng = random.Random(20261122)
    total_kills = 0
    for attempt in range(3):
        run_dir = tmp_path / f"runs{attempt}"
        run_dir.mkdir()
        total_kills += crash_and_resume(run_dir, "crashy", "file", rng, max_kills=5)
        document = json.loads((run_dir / "crashy" / "result.json").read_text())
        assert document["status"] == "done" and document["final_answer"] == "final answer"
        assert [t["description"] for t in document["tasks"]] == [
            f"record(step=step {n})" for n in range(1, TOTAL_TASKS + 1)]
        memory = json.loads((run_dir / "crashy-memory.json").read_text())
        assert sorted(m[0] for m in memory.values() if m[1]["kind"] == "result") == sorted(
            f"{t['description']}\n{t['result']}" for t in document["tasks"])
    assert total_kills >= 8  # the harness really interrupted runs


def test_kill_9_with_the_chroma_memory(tmp_path):
    crash_and_resume(tmp_path, "chroma-run", "chroma", random.Random(7), max_kills=3)
    document = json.loads((tmp_path / "chroma-run" / "result.json").read_text())
    from agent.memory import ChromaMemory

    memory = ChromaMemory.persistent(tmp_path / "chroma-run" / "memory")
    assert memory.count() == len(document["tasks"]) + 1 == TOTAL_TASKS + 1  # every result, and the answer


def test_a_second_process_on_the_same_run_is_refused(tmp_path, memory):
    run_path = tmp_path / "runs" / "busy"
    run_path.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from agent.store import RunStore\n"
        f"with RunStore(Path({str(run_path)!r})):\n    print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UsageError, match="in use by another process"), RunStore(run_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_resume_refuses_finished_and_unknown_runs(tmp_path, memory):
    model = ScriptedModel([SOLVE, "answer"])
    agent = Agent(model=model, memory=memory, run_dir=tmp_path)
    result = agent.run("compute objective 1")
    with pytest.raises(UsageError, match="already finished"):
        agent.resume(result.run_id)
    with pytest.raises(UsageError, match="no run 'nope'"):
        agent.resume("nope")


def test_damaged_state_is_a_clear_error_and_keeps_the_trace(tmp_path, memory):
    model = ScriptedModel([SOLVE, "answer"])
    result = Agent(model=model, memory=memory, run_dir=tmp_path).run("compute objective 1")
    run_path = tmp_path / result.run_id
    trace_before = (run_path / "trace.jsonl").read_bytes()
    (run_path / "state.sqlite").write_bytes(b"this is not a database" * 10)
    for suffix in ("-wal", "-shm"):
        (run_path / f"state.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(UsageError, match="damaged state file"):
        Agent(model=model, memory=memory, run_dir=tmp_path).resume(result.run_id)
    assert (run_path / "trace.jsonl").read_bytes() == trace_before


def test_repeated_tool_calls_are_still_refused_after_a_resume(tmp_path, memory):
    from agent.tools.builtin import calculator

    def crash(messages, schema):
        raise KeyboardInterrupt  # the process dies mid-run, after the first cycle was committed

    first = Agent(model=ScriptedModel([plan("multiply six by seven", "compute it once more"),
                                       call("calculator", expression="6*7")], default=crash),
                  tools=[calculator], memory=memory, run_dir=tmp_path, similar_task_threshold=None)
    with pytest.raises(KeyboardInterrupt):
        first.run("compute objective 1", run_id="interrupted")
    again = ScriptedModel([call("calculator", expression="6*7"), finish("42")])
    result = Agent(model=again, tools=[calculator], memory=memory, run_dir=tmp_path,
                   similar_task_threshold=None).resume("interrupted")
    assert [(t.status.value, t.result) for t in result.tasks] == [
        ("done", "42"),
        ("failed", "refused: calculator was already called with these arguments for task 1; use that result"),
    ]


def test_resume_refuses_to_change_the_runs_tools(tmp_path, memory):
    from agent.tools.builtin import calculator

    @tool
    def word_count(text: str) -> int:
        """Count the words in a text."""
        return len(text.split())

    def crash(messages, schema):
        raise KeyboardInterrupt

    first = Agent(model=ScriptedModel([plan("count the words", "then stop")], default=crash), tools=[word_count],
                  memory=memory, run_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        first.run("compute objective 1", run_id="custom-tools")
    with pytest.raises(UsageError, match=r"started with tools \['word_count'\]"):
        Agent(model=ScriptedModel(), tools=[calculator], memory=memory, run_dir=tmp_path).resume("custom-tools")
    again = ScriptedModel([call("word_count", text="a b c"), SOLVE, "stopped", finish("{1} words")])
    result = Agent(model=again, tools=[word_count], memory=memory, run_dir=tmp_path).resume("custom-tools")
    assert result.final_answer == "3 words"
