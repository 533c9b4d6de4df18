"""Damaged run directories end in one clear line or are repaired; acknowledged state is never silently lost."""

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.errors import BackendError, StorageError, UsageError
from agent.observing.report import render_report
from agent.observing.trace import TraceWriter, read_trace
from agent.records import Task, TaskStatus, Usage
from agent.store import COMMITS_FILE, RunRecord, RunStore

GOOD = [
    {"time": 1.0, "kind": "run_started", "run_id": "r", "objective": "o", "model": "m", "resumed": False},
    {"time": 2.0, "kind": "task_started", "task": {"id": 1, "description": "t"}},
    {"time": 3.0, "kind": "tool_called", "task_id": 1, "tool": "calculator", "arguments": {"expression": "1+1"},
     "ok": True, "output": "2"},
]
BAD = ["[1, 2]", "7", '"text"', "null", '{"no": "kind"}', '{"kind": "tool_called", "task_id": 1}',
       '{"kind": "task_started", "task": 5}', '{"kind": "model_called", "purpose": "plan"}', '{"kind": "tool_ca']


def make_run(path: Path, steps: int = 1) -> Path:
    path.mkdir(parents=True)
    with RunStore(path) as store:
        store.initialize(RunRecord(run_id=path.name, objective="o", status="running", settings={}, tools=[],
                                   model="m"))
        record, _ = store.load()
        for i in range(1, steps + 1):
            task = Task(id=i, description=f"task {i}", status=TaskStatus.done, result=f"result {i}")
            store.commit("running", record.state, Usage(llm_calls=i), [task])
    return path


def write_trace(path: Path, lines: list[str]) -> None:
    (path / "trace.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_only_well_formed_events_are_read_back(tmp_path):
    write_trace(tmp_path, [json.dumps(e) for e in GOOD[:2]] + BAD + [json.dumps(GOOD[2])])
    assert read_trace(tmp_path / "trace.jsonl") == GOOD
    assert read_trace(tmp_path / "missing.jsonl") == []
    (tmp_path / "dir.jsonl").mkdir()
    assert read_trace(tmp_path / "dir.jsonl") == []


@pytest.mark.parametrize("damage", ["lines", "deleted", "directory"])
def test_a_report_survives_a_damaged_trace(tmp_path, damage):
    run = make_run(tmp_path / "run", steps=2)
    if damage == "lines":
        write_trace(run, [json.dumps(e) for e in GOOD] + BAD)
    elif damage == "directory":
        (run / "trace.jsonl").mkdir()
    page = render_report(run)
    assert "result 2" in page and "Traceback" not in page


def test_a_trace_that_is_a_directory_is_a_usage_error(tmp_path):
    (tmp_path / "trace.jsonl").mkdir()
    with pytest.raises(UsageError, match="move whatever is there away"):
        TraceWriter(tmp_path / "trace.jsonl")


def test_a_lock_that_is_a_directory_is_a_usage_error(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "run.lock").unlink(missing_ok=True)
    (run / "run.lock").mkdir()
    with pytest.raises(UsageError, match="cannot take its lock"):
        RunStore(run).__enter__()


def test_a_full_disk_under_the_trace_names_the_path(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    writer = TraceWriter(Path("/dev/full"))
    from agent.events import StepFailed

    with pytest.raises(StorageError, match="no space left on /dev/full"):
        writer(StepFailed(purpose="plan", error="x" * 10_000))


class FullDisk:
    """A connection whose writes fail as SQLite's do when the disk is full."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args):
        if sql.startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, *args):
        return self.execute(sql, *args)


def test_a_full_disk_under_the_state_names_the_path_and_keeps_what_was_committed(tmp_path):
    run = make_run(tmp_path / "run", steps=1)
    with RunStore(run) as store:
        record, _ = store.load()
        real, store._db = store._db, FullDisk(store._db)
        with pytest.raises(StorageError, match=f"no space left on {run}"):
            store.commit("running", record.state, Usage(), [Task(id=2, description="lost")])
        store._db = real
    with RunStore(run) as store:
        assert [t.result for t in store.load()[1]] == ["result 1"]


WORKER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from agent.records import Task, TaskStatus, Usage
    from agent.store import RunRecord, RunStore

    path = Path(sys.argv[1])
    path.mkdir()
    store = RunStore(path).__enter__()
    store.db.execute("PRAGMA wal_autocheckpoint=0")  # keep every step in the log, as a busy run may
    store.initialize(RunRecord(run_id="r", objective="o", status="running", settings={}, tools=[], model="m"))
    record, _ = store.load()
    for i in (1, 2, 3):
        task = Task(id=1, description="t", status=TaskStatus.done, result=f"value {i}")
        store.commit("running", record.state, Usage(llm_calls=i), [task])
    os._exit(0)  # as kill -9: no checkpoint, the log stays beside the database
""")


def test_a_truncated_write_ahead_log_is_refused_not_resumed(tmp_path):
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-c", WORKER, str(run)], check=True, timeout=60)
    wal = run / "state.sqlite-wal"
    assert wal.stat().st_size > 0 and (run / COMMITS_FILE).read_text() == "4"
    with wal.open("r+b") as handle:  # cut the last committed step (its frames) off the log
        handle.truncate(wal.stat().st_size - 4096 - 24)
    with pytest.raises(UsageError, match="write-ahead log .* was cut or lost"), RunStore(run) as store:
        store.load()


def test_an_intact_run_loads_and_counts_its_commits(tmp_path):
    run = make_run(tmp_path / "run", steps=3)
    with RunStore(run) as store:
        record, tasks = store.load()
    assert (run / COMMITS_FILE).read_text() == "4" and len(tasks) == 3


def damage_memory(path: Path, how: str) -> None:
    if how == "file":
        import shutil

        shutil.rmtree(path)
        path.write_text("not a store")
    elif how == "truncated":
        with (path / "chroma.sqlite3").open("r+b") as handle:
            handle.truncate(1024)
    else:
        for file in path.rglob("*"):
            if file.is_file():
                file.write_bytes(os.urandom(max(file.stat().st_size, 64)))


@pytest.mark.parametrize("how", ["truncated", "garbled"])
def test_a_damaged_memory_is_moved_aside_and_started_afresh(tmp_path, how, caplog):
    from agent.memory.chroma import ChromaMemory

    path = tmp_path / "memory"
    memory = ChromaMemory.persistent(path)
    memory._client.close()
    damage_memory(path, how)
    with caplog.at_level(logging.WARNING, logger="agent"):
        fresh = ChromaMemory.persistent(path)
    assert fresh.count() == 0
    aside = list(tmp_path.glob("memory.damaged-*"))
    assert [p.name.split(".")[1].split("-")[0] for p in aside] == ["damaged"]
    assert [r.getMessage() for r in caplog.records if str(aside[0]) in r.getMessage()], "nothing said it"
    fresh._client.close()


@pytest.mark.parametrize("how", ["truncated", "garbled"])
def test_a_damaged_experience_store_is_moved_aside_with_a_line(tmp_path, how, caplog):
    from agent.memory.experience import Experience, ExperienceStore

    path = tmp_path / ".experience"
    store = ExperienceStore(path)
    store.add(Experience(objective="What is 2 + 2?", answer="4"))
    store._client.close()
    damage_memory(path, how)
    with caplog.at_level(logging.WARNING, logger="agent"):
        fresh = ExperienceStore(path)
    assert fresh.count() == 0
    aside = list(tmp_path.glob(".experience.damaged-*"))
    assert len(aside) == 1
    assert any(str(aside[0]) in r.getMessage() and "experience store" in r.getMessage() for r in caplog.records)


class Unreachable:
    """A chroma collection whose server has gone away."""

    def __getattr__(self, name):
        import httpx

        def fail(*args, **kwargs):
            raise httpx.ConnectError("[Errno 111] Connection refused")

        return fail


def test_a_memory_server_that_goes_away_is_one_line_naming_it():
    from agent.memory.chroma import ChromaMemory

    memory = ChromaMemory.__new__(ChromaMemory)
    memory.where, memory._collection = "http://127.0.0.1:9", Unreachable()
    for act in (lambda: memory.add("r1", "text"), lambda: memory.search("q"), memory.count):
        with pytest.raises(BackendError, match="memory server at http://127.0.0.1:9 failed") as caught:
            act()
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("what", ["memory", "experience"])
@pytest.mark.parametrize("thing", ["file", "foreign directory"])
def test_something_else_in_a_stores_place_is_refused_and_left_alone(tmp_path, what, thing):
    """A file (say AGENT_EXPERIENCE_DIR=/etc/passwd) or a directory of other files is never moved or written."""
    from agent.memory.chroma import ChromaMemory
    from agent.memory.experience import ExperienceStore

    path = tmp_path / "store"
    if thing == "file":
        path.write_text("root:x:0:0")
    else:
        path.mkdir()
        (path / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(StorageError, match="store") as caught:
        ChromaMemory.persistent(path) if what == "memory" else ExperienceStore(path)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([*before, ".store.lock"])
    assert (path.read_text() if thing == "file" else (path / "notes.txt").read_text()) in ("root:x:0:0", "mine")


def test_a_cache_dir_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    from cli_calls import cli

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("AGENT_CACHE_DIR", str(blocker))
    monkeypatch.setenv("AGENT_RUN_DIR", str(tmp_path / "runs"))
    code, out, err = cli(monkeypatch, capsys, "run", "What is 2 + 2?", "--no-experience", "--no-memory")
    lines = [line for line in err.strip().splitlines() if line.startswith("agent:")]
    assert code == 1 and len(lines) == 1 and str(blocker) in lines[0], err
    assert "Traceback" not in err and blocker.read_text() == "not a directory"


def test_a_reference_into_thousands_of_brackets_is_no_part():
    from agent.text import result_part

    assert result_part("[" * 3000, ".0") is None  # json's decoder recursed until it failed


def test_a_result_of_thousands_of_brackets_is_not_taken_for_json():
    from agent.text import structured

    assert not structured("[" * 100_000) and structured('{"count": 2}') and not structured("2017")
