"""Memory across runs: a persistent store per name beside the runs, recalled by later runs; `agent memory`."""

import json

import pytest
from cli_calls import cli

from agent.config import build_settings
from agent.errors import UsageError
from agent.memory.chroma import ChromaMemory
from agent.memory.shared import RunAndShared, check_memory_name, memory_root, open_named
from agent.run.agent import _default_memory


def settings(tmp_path, **values):
    return build_settings({"run_dir": tmp_path / "runs", **values})


def remember(memory, run_id: str, task: int, text: str) -> None:
    memory.add(f"{run_id}:task-{task}", text, {"kind": "result", "run": run_id, "task": task, "status": "done"})


def test_a_fact_stored_by_one_run_is_recalled_by_the_next(tmp_path):
    config = settings(tmp_path)
    first = _default_memory(config.run_dir / "run-1", config)
    assert isinstance(first, RunAndShared)
    remember(first, "run-1", 1, "The code word is AZURE-HERON")
    second = _default_memory(config.run_dir / "run-2", config)
    recalled = second.search("What is the code word?", k=1)
    assert [(r.id, r.text) for r in recalled] == [("run-1:task-1", "The code word is AZURE-HERON")]
    # the run's own store stays complete on its own, and holds only its own results
    assert ChromaMemory.persistent(config.run_dir / "run-1" / "memory").count() == 1
    assert ChromaMemory.persistent(config.run_dir / "run-2" / "memory").count() == 0


def test_no_memory_keeps_only_the_runs_own_store(tmp_path):
    config = settings(tmp_path)
    remember(_default_memory(config.run_dir / "run-1", config), "run-1", 1, "The code word is AZURE-HERON")
    alone = _default_memory(config.run_dir / "run-2", settings(tmp_path, shared_memory=False))
    assert not isinstance(alone, RunAndShared)
    assert alone.search("code word", k=3) == []


def test_names_are_separate_namespaces(tmp_path):
    config = settings(tmp_path)
    remember(_default_memory(config.run_dir / "run-1", config), "run-1", 1, "The code word is AZURE-HERON")
    other = _default_memory(config.run_dir / "run-2", settings(tmp_path, memory_name="work"))
    assert other.search("code word", k=3) == []
    assert (memory_root(config.run_dir) / "default").is_dir() and (memory_root(config.run_dir) / "work").is_dir()


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65])
def test_bad_memory_names_are_usage_errors(tmp_path, name):
    with pytest.raises(UsageError):
        check_memory_name(name)
    with pytest.raises(UsageError):
        settings(tmp_path, memory_name=name)


def test_memory_cli_lists_searches_and_forgets(monkeypatch, capsys, tmp_path):
    root = memory_root(tmp_path)
    store = open_named(root, "default")
    remember(store, "run-1", 1, "The code word is AZURE-HERON")
    remember(store, "run-1", 2, "Paris is the capital of France")
    remember(store, "run-2", 1, "17 * 23 = 391")
    run_dir = ["--run-dir", str(tmp_path)]

    code, out, _ = cli(monkeypatch, capsys, "memory", "list", *run_dir, "--json")
    assert code == 0 and sorted(e["id"] for e in json.loads(out)) == ["run-1:task-1", "run-1:task-2", "run-2:task-1"]
    code, out, _ = cli(monkeypatch, capsys, "memory", "search", "secret code word", "-k", "1", *run_dir)
    assert code == 0 and out.split()[1] == "run-1:task-1"
    code, out, _ = cli(monkeypatch, capsys, "memory", "forget", "--run", "run-1", *run_dir)
    assert code == 0 and "forgot 2" in out
    code, out, _ = cli(monkeypatch, capsys, "memory", "list", *run_dir)
    assert out.split()[0] == "run-2:task-1" and "run-1" not in out
    code, out, _ = cli(monkeypatch, capsys, "memory", "forget", "--all", *run_dir)
    assert code == 0 and open_named(root, "default").count() == 0


@pytest.mark.parametrize("args, message", [
    (["memory", "list", "--memory", "nope"], "no memory 'nope'"),
    (["memory", "forget"], "say what to forget"),
    (["memory", "forget", "missing:task-1"], "nothing to forget"),
    (["memory", "search", " "], "the query is empty"),
])
def test_memory_cli_bad_input_is_one_line(monkeypatch, capsys, tmp_path, args, message):
    open_named(memory_root(tmp_path), "default")
    code, out, err = cli(monkeypatch, capsys, *args, "--run-dir", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
