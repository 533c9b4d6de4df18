"""A full disk under a store is one line naming where, for every store, and nothing is moved aside as damaged.

The stores sit on a real, tiny tmpfs mounted in a mount namespace of their own (`unshare`), so every write the
OS, SQLite and chromadb make meets a real ENOSPC."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from agent.errors import StorageError

    root, cache, which = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    try:
        if which == "experience":
            from agent.memory.experience import Experience, ExperienceStore
            store = ExperienceStore(root / ".experience", cache_dir=cache)
            for i in range(200):
                store.add(Experience(objective=f"objective {i}", answer="an answer worth keeping " * 40))
        elif which == "memory":
            from agent.memory.chroma import ChromaMemory
            memory = ChromaMemory.persistent(root / ".memory" / "default", cache_dir=cache)
            for i in range(200):
                memory.add(f"r{i}", "a result worth keeping " * 40)
        else:
            from agent import Agent
            from agent.models.fake import ScriptedModel
            from agent.tools.builtin import calculator
            step = '{"next": "calculator", "arguments": {"expression": "2 + 3"}}'
            model = ScriptedModel(default='{"next": "finish", "answer": "It is 5."}', replies=[step])
            Agent(model=model, tools=[calculator], memory=None, run_dir=root / "runs", cache_dir=cache,
                  max_cycles=3).run("What is 2 + 3? " + "x" * 1900)
        print("fitted")
    except StorageError as exc:
        print("line:" if "\\n" not in str(exc) else "lines:", exc)
""")


def namespaced() -> list[str] | None:
    """The command prefix for a private mount namespace, or None where this machine allows none."""
    if not shutil.which("unshare"):
        return None
    prefix = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    try:
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 else None


@pytest.mark.parametrize("size", ["64k", "512k"])
@pytest.mark.parametrize("which", ["experience", "memory", "run"])
def test_a_full_disk_is_one_line_and_moves_nothing_aside(which, size, tmp_path):
    prefix = namespaced()
    if prefix is None:
        pytest.skip("no private mount namespace here (unshare)")
    root = tmp_path / "tiny"
    root.mkdir()
    shell = (f"mount -t tmpfs -o size={size} tmpfs {root} && {sys.executable} -c \"$SCRIPT\" {root} "
             f"{tmp_path / 'cache'} {which} && ls -aR {root}")
    done = subprocess.run([*prefix, "sh", "-c", shell], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SCRIPT": SCRIPT, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "line: no space left on " + str(root) in done.stdout, done.stdout[-2000:]
    assert "damaged" not in done.stdout
