"""Deciding what to do next: a tool call, a step in words, a plan of ordered steps, or the answer.

One call decides: a single-step objective goes straight to its tool or to a worked answer without any
decomposition, and the same call later judges, by answering, that the objective is met. A fact the objective
gives to keep is remembered in one move, and a fact kept by an earlier run can answer at once."""

import re
from collections.abc import Callable, Sequence

from agent.deciding.examples import worked_examples
from agent.deciding.moves import (
    Move,
    Plan,
    Remember,
    Step,
    ToolCall,
    decision_model,
    describe_call,
    grounded,
    literal_numbers,
    undoubled,
)
from agent.events import Event
from agent.memory.base import FACT, Recall
from agent.prompt_files import render
from agent.prompting.meter import Meter
from agent.prompting.structured import ask_or_none, bounded
from agent.prompting.templates import conversation
from agent.records import Task, TaskStatus
from agent.schemas import TaskDraft
from agent.text import asks_to_keep, hint, passages, references, renumber
from agent.tools.base import Tool


class Planner:
    def __init__(self, meter: Meter, tools: list[Tool], *, system: str, retries: int, max_steps: int,
                 emit: Callable[[Event], None], examples: list[tuple[str, str]] | None = None) -> None:
        self.meter, self.tools, self.system, self.retries, self.emit = meter, tools, system, retries, emit
        self.max_steps = max_steps
        self.examples = worked_examples({t.name for t in tools}) if examples is None else examples

    def decide(self, objective: str, tasks: list[Task], recalls: list[Recall], dropped: list[str],
               experiences: Sequence[tuple[str, str]] = (),
               refused: tuple[str, str] | None = None) -> Move | None:
        """The next move (`Step | Plan | Finish | Remember | ToolCall`), or None when the model gives up.
        `finish` is offered once a step has settled, or on a kept fact alone unless the answer just given on it was
        refused; `plan` while the run has not planned yet. `experiences` are
        similar past successes, shown as worked examples after the built-in ones; `refused` is why the previous
        decision's answer was refused, and that answer."""
        settled = [task for task in tasks if task.result is not None]
        facts = [r for r in recalls if r.metadata.get("kind") == FACT]  # an answer may stand on a kept fact
        # an answer refused before any step lacked what the fact gives: the next move is a step, not another try
        Decision = decision_model(self.tools, plan=len(tasks) < 2, finish=bool(settled or facts and refused is None),
                                  max_steps=self.max_steps, remember=not tasks and asks_to_keep(objective))
        prompt = render("decide", recalls=recalls, tasks=tasks, dropped=dropped, refused=refused,
                        passages=hint(objective))
        messages = conversation(objective, prompt, self.system, [*self.examples, *experiences])
        schema = grounded(bounded(Decision.model_json_schema()), [t.id for t in settled if t.status is TaskStatus.done],
                          list(passages(objective)), negatives=re.search(r"(?<![\w.])-\d", objective) is not None)
        decision = ask_or_none(self.meter, messages, Decision, purpose="decide", retries=self.retries,
                               emit=self.emit, schema=schema)
        if decision is None:
            return None
        return undoubled(literal_numbers(decision.root, objective, len(tasks)), objective, tasks)


def tasks_for(move: Step | Plan | Remember | ToolCall, objective: str, existing: int) -> list[TaskDraft]:
    """The tasks a move adds to a board of `existing` tasks: the objective worked out in words, a fact to keep,
    the steps of a plan (`{N}` in a plan means its own step N, renumbered to the ids the steps will get, and a
    step depends on the steps it quotes), or one tool call. A plan whose every step is one word ("write",
    "recall", "finish") names no work: the objective is worked out in words as one step instead."""
    if isinstance(move, Step) or isinstance(move, Plan) and all(len(step.split()) < 2 for step in move.steps):
        return [TaskDraft(description=objective, mode="solve")]
    if isinstance(move, Remember):
        return [TaskDraft(description=f"remember: {move.fact}", mode="remember", arguments={"fact": move.fact})]
    if isinstance(move, Plan):
        first = existing + 1
        steps = [renumber(step, first) for step in move.steps]
        return [TaskDraft(description=step, depends_on=[i for i in references(step) if first <= i < first + n])
                for n, step in enumerate(steps)]
    arguments = move.arguments.model_dump()
    return [TaskDraft(description=describe_call(move.tool, arguments), mode="tool", tool=move.tool,
                      arguments=arguments)]
