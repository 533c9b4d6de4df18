"""Worked examples of the decide step: the built-in ones (prompts/examples.jsonl) and past successes replayed
move by move, both as (asked, replied) conversation turns."""

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from agent.deciding.moves import REMEMBER
from agent.memory.base import FACT, Recall
from agent.prompt_files import quote, render
from agent.records import Task, TaskStatus
from agent.text import asks_to_keep, hint, passages, references


@lru_cache(maxsize=1)
def _examples() -> list[dict]:
    root = resources.files("agent.prompts")
    lines = root.joinpath("examples.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def worked_examples(tool_names: set[str], objective: str | None = None, k: int = 4,
                    embed: Callable[[list[str]], Any] | None = None, max_turns: int = 6,
                    own: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """Decide-step examples from prompts/examples.jsonl whose tools are all allowed, and the tools' `own`
    examples (`tool_examples`), as (asked, replied) turns.
    With `objective` and `embed`, only the `k` examples nearest to the objective, the nearest one last (small
    models follow the example closest to the question most), and the farthest of those left out while they come
    to more than `max_turns` turns (each turn is prompt the first call reads)."""
    units: dict[str, list[tuple[str, str]]] = {}  # an example's turns, grouped by its objective
    for example in [*_examples(), *own]:
        keeps = objective is None or asks_to_keep(objective)  # remember is offered only to keep a fact
        if not set(example["tools"]) <= tool_names | ({REMEMBER} if keeps else set()):
            continue
        tasks = [Task(id=i, description=t["description"], result=t["result"], status=TaskStatus.done)
                 for i, t in enumerate(example["tasks"], 1)]
        recalls = [Recall(id=f"example-{n}", text=text, distance=0.0, metadata={"kind": FACT})
                   for n, text in enumerate(example.get("recalls", []))]
        asked = _asked(example["objective"], tasks, recalls)
        units.setdefault(example["objective"], []).append((asked, json.dumps(example["reply"])))
    chosen = list(units)
    if objective is not None and embed is not None and len(chosen) > k:
        vectors = embed([objective, *chosen])
        score = {o: sum(a * b for a, b in zip(vectors[0], v)) for o, v in zip(chosen, vectors[1:])}
        chosen = sorted(chosen, key=score.__getitem__)[-k:]
        while len(chosen) > 1 and sum(len(units[o]) for o in chosen) > max_turns:
            chosen = chosen[1:]
    return [turn for o in chosen for turn in units[o]]


def tool_examples(tools: Sequence[Any]) -> list[dict]:
    """The examples tools give of their own use (`@tool(examples=[(objective, arguments)])`), as worked
    examples: the objective, then the call."""
    return [{"objective": objective, "tools": [t.name], "tasks": [], "reply": {"next": t.name, "arguments": args}}
            for t in tools for objective, args in getattr(t, "examples", ())]


def _asked(objective: str, tasks: list[Any], recalls: Sequence[Any] = ()) -> str:
    """A worked example's decide prompt: the objective, what it recalls and the steps so far, nothing refused."""
    return f"Objective: {objective}\n" + render("decide", recalls=recalls, tasks=tasks, dropped=[], refused=None,
                                                      passages=hint(objective))


def experience_turns(objective: str, steps: Sequence[Any], answer: str,
                     written: str | None = None) -> list[tuple[str, str]]:
    """A past success replayed as decide-step turns: each of its moves with the steps done before it, then its
    answer as the model wrote it (`written`), else with the tool results and the objective's passages written
    back as `{N}` and `{a}` references, inside data markers like a kept fact. Only runs whose steps were all tool
    calls, or one step in words, replay."""
    if not steps or not (all(s.tool for s in steps) or len(steps) == 1):
        return []
    objective, answer = quote(objective), quote(answer)  # a past run's words are data: they never close a block
    written = None if written is None else quote(written)
    if not steps[0].tool:  # one step in words; a remember step keeps its fact
        kept = (steps[0].arguments or {}).get("fact")
        move = {"next": "remember", "fact": f"<data>{kept}</data>"} if kept else {"next": "solve"}
        return [(_asked(objective, []), quote(json.dumps(move)))]
    tasks = [Task(id=i, description=s.description, result=s.result, status=TaskStatus.done)
             for i, s in enumerate(steps, 1)]
    turns = [(_asked(objective, tasks[:n]), quote(json.dumps({"next": step.tool, "arguments": step.arguments or {}})))
             for n, step in enumerate(steps)]
    if written is None or not set(references(written)) <= {t.id for t in tasks}:
        written = answer
        for task in tasks:
            if task.result and len(task.result) <= 40 and task.result in written:
                written = written.replace(task.result, "{" + str(task.id) + "}")
        for label, text in sorted(passages(objective).items(), key=lambda p: -len(p[1])):
            written = written.replace(text, "{" + label + "}")
    # the answer's words stay data too (an answer marked good may carry what a tool read); the markers are taken
    # out of an answer that copies them, as out of any answer
    turns.append((_asked(objective, tasks), json.dumps({"next": "finish", "answer": f"<data>{written[:400]}</data>"})))
    return turns
