"""The long version of the hardening tests: raced workspace attempts, kill -9 at random instants, silent servers.

    python benchmarks/reliability.py                       # 10,000 raced attempts, >= 50 kills
    python benchmarks/reliability.py --races 2000 --kills 10

Prints escapes (must be 0), acknowledged results lost or changed (must be 0) and how long each silent-server
probe took against its limit. Figures depend on the machine's load: say so when quoting them."""

import argparse
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_durability import crash_and_resume  # noqa: E402  (the suite's kill -9 harness)
from test_hardening_workspace import Swapper  # noqa: E402  (the suite's link swapper)

from agent.errors import AgentError, ToolError  # noqa: E402
from agent.tools.workspace import Workspace  # noqa: E402


def races(attempts: int, root: Path) -> dict[str, int]:
    """Four races, attempts/4 each: a file swapped for a link (read, then write), a parent swapped for a link,
    and hard links to an outside file. Counts what got through."""
    ws, outside = root / "ws", root / "outside"
    ws.mkdir(parents=True)
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("SECRET")
    workspace = Workspace(ws)
    each = attempts // 4
    leaks = writes_out = refused = 0
    with Swapper(ws / "note.txt", secret, lambda: (ws / "note.txt").write_text("mine")):
        for _ in range(each):
            try:
                leaks += "SECRET" in workspace.read("note.txt")
            except ToolError:
                refused += 1
        for _ in range(each):
            try:
                workspace.write("note.txt", "overwritten")
            except ToolError:
                refused += 1
    with Swapper(ws / "dir", outside, lambda: (ws / "dir").mkdir()):
        for i in range(each):
            try:
                workspace.write(f"dir/new{i % 7}.txt", "landed")
            except ToolError:
                refused += 1
    for i in range(each):
        link = ws / f"hard{i}.txt"
        os.link(secret, link)
        for act in (lambda name=link.name: workspace.read(name), lambda name=link.name: workspace.write(name, "pwned")):
            try:
                leaks += "SECRET" in str(act())
            except ToolError:
                refused += 1
        link.unlink()
    writes_out = len(list(outside.iterdir())) - 1 + (secret.read_text() != "SECRET")
    return {"attempts": 4 * each, "escapes": leaks + writes_out, "refused": refused}


def kills(target: int, root: Path, seed: int) -> dict[str, int]:
    """Runs of the suite's crash worker killed at random instants until `target` kills; every acknowledged
    result is checked after each resume (an AssertionError means one was lost or changed)."""
    rng = random.Random(seed)
    total = runs = 0
    while total < target:
        run_dir = root / f"runs{runs}"
        run_dir.mkdir(parents=True)
        total += crash_and_resume(run_dir, "crashy", "file", rng, max_kills=min(8, target - total))
        runs += 1
    return {"kills": total, "runs": runs, "lost_or_changed": 0}


def silent_servers() -> dict[str, float]:
    """Seconds until a silent model server (deadline 2 s) and a silent memory server give up."""
    from agent.memory.remote import remote_memory
    from agent.models.openai_http import OpenAIModel

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    figures = {}
    started = time.monotonic()
    try:
        OpenAIModel("m", f"http://{address}/v1").generate([{"role": "user", "content": "hi"}],
                                                          deadline=time.monotonic() + 2)
    except AgentError:
        figures["model server, deadline 2 s"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    try:
        remote_memory(f"http://{address}")
    except AgentError:
        figures["memory server, default timeouts"] = round(time.monotonic() - started, 2)
    listener.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        print("workspace races:", races(args.races, Path(scratch) / "race"),
              f"({time.monotonic() - started:.1f} s)", flush=True)
        print("silent servers (seconds to a one-line error):", silent_servers(), flush=True)
        started = time.monotonic()
        print("kill -9:", kills(args.kills, Path(scratch) / "kill", args.seed),
              f"({time.monotonic() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
