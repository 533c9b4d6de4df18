"""A run driven by a deterministic scripted model, started or resumed in its own process, for the crash
harness in test_durability.py. Every task execution is logged (fsync'd) before the model answers."""

import json
import os
import random
import re
import sys
import time
from pathlib import Path

from agent import Agent, ScriptedModel, tool
from agent.memory.base import Recall

TOTAL_TASKS = 10


class FileMemory:
    """A durable Memory without an embedder: one JSON file, replaced atomically on each write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items = json.loads(path.read_text()) if path.exists() else {}

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        self.items[id] = [text, metadata or {}]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.items))
        os.replace(tmp, self.path)

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        return [Recall(i, t, 0.5, m) for i, (t, m) in list(self.items.items())[:k]]

    def count(self) -> int:
        return len(self.items)


def reply(messages, schema) -> str:
    """Record the next step until TOTAL_TASKS are done, then finish."""
    time.sleep(random.uniform(0.15, 0.4))  # long enough runs that the harness kills them mid-way
    if schema and "answer" in schema.get("properties", {}):
        return json.dumps({"answer": "final answer"})
    known = len(re.findall(r"^\[\d+\]", messages[-1]["content"], re.M))
    if known >= TOTAL_TASKS:
        return json.dumps({"next": "finish", "answer": "final answer"})
    return json.dumps({"next": "record", "arguments": {"step": f"step {known + 1}"}})


def recorder(log: Path, session: str):
    """The one tool: logs (fsync'd) every execution, so the harness sees any task that runs twice."""

    @tool
    def record(step: str) -> str:
        """Record a step."""
        with log.open("a") as handle:
            handle.write(f"{session}\t{step}\n")
            handle.flush()
            os.fsync(handle.fileno())
        return f"result of {step}"

    return record


def main() -> None:
    run_dir, run_id, session, memory_kind = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    model = ScriptedModel(default=reply)
    memory = None
    if memory_kind == "file":
        memory = FileMemory(run_dir / f"{run_id}-memory.json")
    agent = Agent(model=model, tools=[recorder(run_dir / "executions.log", session)], memory=memory,
                  run_dir=run_dir, max_cycles=20,
                  similar_task_threshold=None if memory_kind == "file" else 0.99)
    if (run_dir / run_id).exists():
        agent.resume(run_id)
    else:
        agent.run("count the steps", run_id=run_id)


if __name__ == "__main__":
    main()
