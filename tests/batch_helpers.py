"""What the batch tests run inside Ray workers: a scripted model, a tool that logs each execution (fsync'd)
and waits for a release file when told to, and a file-backed memory. Importable by the workers (PYTHONPATH)."""

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from agent import ScriptedModel, tool
from agent.batch.objectives import BatchObjective

from crash_worker import FileMemory


def reply(messages, schema) -> str:
    """One step (the gate tool on the objective's item), then finish with the item's answer."""
    text = "\n".join(m["content"] for m in messages)
    item = re.search(r"item-(\d+)", text)
    name = item.group(0) if item else "none"
    if schema and "answer" in schema.get("properties", {}):
        return json.dumps({"answer": f"answer {name}"})
    if re.search(r"^\[\d+\]", messages[-1]["content"], re.M):
        return json.dumps({"next": "finish", "answer": "{1}"})  # the gate's own result
    return json.dumps({"next": "gate", "arguments": {"item": name}})


@dataclass(frozen=True)
class ScriptedFactory:
    def __call__(self) -> ScriptedModel:
        return ScriptedModel(default=reply)


def _log(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True)
class GateTools:
    """`gate(item)`: logs `started` with the worker's pid; for an item named in `held`, waits until the file
    `<dir>/release` exists; then logs `done`."""

    dir: Path
    held: tuple[str, ...] = ()

    def __call__(self, settings) -> list:
        folder, held = self.dir, self.held

        @tool(isolated=False)
        def gate(item: str) -> str:
            """Pass the gate for an item."""
            _log(folder / "started.log", f"{item}\t{os.getpid()}")
            while item in held and not (folder / "release").exists():
                time.sleep(0.02)
            _log(folder / "done.log", item)
            return f"passed {item}"

        return [gate]


@dataclass(frozen=True)
class FileMemories:
    dir: Path

    def __call__(self, objective: BatchObjective) -> FileMemory:
        self.dir.mkdir(parents=True, exist_ok=True)
        return FileMemory(self.dir / f"{objective.run_id}.json")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def suite_reply(messages, schema) -> str:
    """Solves an item's question "what is N plus one" in words (N+1), then finishes with that step's result."""
    text = "\n".join(m["content"] for m in messages)
    found = re.search(r"what is (\d+) plus one", text)
    answer = str(int(found.group(1)) + 1) if found else "unknown"
    if schema is None:  # the step, solved in words
        return answer
    if "answer" in schema.get("properties", {}):
        return json.dumps({"answer": answer})
    if re.search(r"^\[\d+\]", messages[-1]["content"], re.M):
        return json.dumps({"next": "finish", "answer": "{1}"})
    return json.dumps({"next": "solve"})


@dataclass(frozen=True)
class SuiteScripted:
    def __call__(self) -> ScriptedModel:
        return ScriptedModel(default=suite_reply)


def no_tools() -> dict:
    return {}


@dataclass(frozen=True)
class SuiteWorkers:
    """Evaluation workers on the scripted model; each logs the pid that ran each item."""

    settings: object
    log: Path

    def __call__(self):
        from agent.evaluation.suite import run_item
        from agent.run.agent import Agent

        model = SuiteScripted()()

        def make_agent(item):  # items sharing a memory key share its file
            memory = FileMemory(self.log.parent / f"memory-{item.memory or item.id}.json")
            return Agent(model=model, tools=[], memory=memory, settings=self.settings)

        def run_group(group):
            results = []
            for item in group:
                _log(self.log, f"{item.id}\t{os.getpid()}")
                results.append(run_item(item, make_agent))
            return results

        return run_group
