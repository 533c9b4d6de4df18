"""Runs started together on a store that does not exist yet: each opens it, none takes it for damaged."""

import subprocess
import sys
from pathlib import Path

OPEN_AND_ADD = """
import sys
from pathlib import Path
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
