"""Runs started together on a store that does not exist yet: each opens it, none takes it for damaged."""

import subprocess
import sys
from pathlib import Path

import pytest

OPEN_AND_ADD = """
import sys
from pathlib import Path

import pytest
from agent.memory.chroma import ChromaMemory
from agent.memory.experience import ExperienceStore
root = Path(sys.argv[1])
memory = ChromaMemory.persistent(root / "memory" / "conc")
memory.add(f"entry-{sys.argv[2]}", f"fact number {sys.argv[2]}")
ExperienceStore(root / ".experience")
print(memory.count())
"""


def test_six_processes_create_one_new_store_together(tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AND_ADD, str(tmp_path), str(n)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(6)]
    outcomes = [process.communicate(timeout=600) for process in processes]
    assert [p.returncode for p in processes] == [0] * 6, [err[-1500:] for _, err in outcomes if err.strip()]
    assert not [p for p in Path(tmp_path / "memory").iterdir() if "damaged" in p.name]
    from agent.memory.chroma import ChromaMemory

    assert ChromaMemory.persistent(tmp_path / "memory" / "conc").count() == 6


HOLD = """
import sys, time
from pathlib import Path

import pytest
from agent.memory.store_lock import store_lock
with store_lock(Path(sys.argv[1])):
    print("held", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.02)
"""


def test_every_operation_on_a_local_store_waits_for_another_process_holding_it(tmp_path, monkeypatch):
    from agent.errors import StorageError
    from agent.memory import store_lock
    from agent.memory.experience import Experience, ExperienceStore
    from agent.memory.shared import open_named

    memory = open_named(tmp_path / "named", "notes")
    experience = ExperienceStore(tmp_path / "exp")
    memory.add("a", "a fact")
    release = tmp_path / "release"
    holders = [subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(release)], stdout=subprocess.PIPE,
                                text=True) for path in (tmp_path / "named" / "notes", tmp_path / "exp")]
    try:
        assert [holder.stdout.readline().strip() for holder in holders] == ["held", "held"]
        monkeypatch.setattr(store_lock, "OPENING_TIMEOUT", 0.2)
        for operation in (lambda: memory.add("b", "another fact"), lambda: memory.search("fact"), memory.count,
                          memory.entries, lambda: memory.delete(["a"]),
                          lambda: experience.add(Experience(objective="o", answer="a")), experience.count,
                          lambda: experience.similar("o"), experience.list, experience.clear):
            with pytest.raises(StorageError, match="another process has been using .* for 0.2 s"):
                operation()
    finally:
        release.touch()
        for holder in holders:
            holder.wait(timeout=60)
    memory.add("b", "another fact")  # free again: nothing was lost or half-written meanwhile
    assert sorted(entry.id for entry in memory.entries()) == ["a", "b"]
    memory.close()


def test_a_locked_or_read_only_store_is_refused_in_one_line_never_moved_aside(tmp_path):
    from agent.errors import StorageError
    from agent.memory.chroma import open_or_move_aside

    store = tmp_path / "store"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"whole")

    def fails(where):
        raise RuntimeError("Database error: error returned from database: (code: 1032) attempt to write a readonly "
                           "database")

    with pytest.raises(StorageError, match="cannot be written now .*readonly database.*permissions") as caught:
        open_or_move_aside(store, fails, "memory store")
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".store.lock", "store"]
    assert (store / "chroma.sqlite3").read_bytes() == b"whole"
