"""Runs ready tasks: a decided tool call runs as is, a step in words is answered by the model, and a planned
step first asks the model which tool (or words) serves it. `{N}` in tool arguments becomes task N's result.
Where the calculator is allowed, arithmetic the model writes in a step in words is computed as it writes it."""

import json
from collections.abc import Callable, Sequence
from typing import Any

from agent.deciding.moves import ToolCall, decision_model
from agent.errors import ToolError
from agent.events import Event, ToolCalled
from agent.executing.worked_arithmetic import interjection
from agent.memory.base import Recall
from agent.models.base import Message
from agent.prompt_files import render
from agent.prompting.meter import Meter
from agent.prompting.structured import ask_or_none
from agent.prompting.templates import conversation
from agent.records import Task, TaskStatus
from agent.text import asks_to_compute, hint, passages, resolve_refs
from agent.tools.base import Tool
from agent.tools.runner import run_tool

MAX_RESULT_CHARS = 4000

Approver = Callable[[Tool, dict[str, Any]], bool]


def as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:MAX_RESULT_CHARS]


class Executor:
    def __init__(self, meter: Meter, tools: list[Tool], *, system: str, plain: str, retries: int,
                 max_new_tokens: int, approve: Approver, emit: Callable[[Event], None]) -> None:
        """`system` opens the calls that choose a tool; `plain` (no tools, no JSON) the steps done in words."""
        self.meter, self.tools, self.system, self.plain = meter, {t.name: t for t in tools}, system, plain
        self.retries, self.max_new_tokens = retries, max_new_tokens
        self.approve, self.emit = approve, emit
        self.Step = decision_model(tools, plan=False, finish=False) if tools else None
        self._calls_made: dict[str, int] = {}  # identical call -> the task that made it

    def recall_calls(self, calls: Sequence[ToolCalled]) -> None:
        """Seed the repeated-call check with the tool calls an earlier session of this run made."""
        for event in calls:
            self._calls_made.setdefault(_call_key(event.tool, event.arguments), event.task_id)

    def run(self, objective: str, batch: list[Task], board: list[Task], recalls: list[Recall]) -> list[Task]:
        """The batch, settled: done with results, or failed with the reason as the result. Tool calls run one
        by one; the steps answered in words go through one batched generation."""
        settled: dict[int, Task] = {}
        to_answer: list[tuple[Task, str]] = []
        done = [task for task in board if task.status is not TaskStatus.pending]
        found = passages(objective)
        for task in batch:
            if task.mode == "choose" and self.Step is not None:
                task = self._choose(objective, task, done, recalls)
            if task.mode == "remember":  # kept in memory by the loop once committed
                fact = str(resolve_refs((task.arguments or {}).get("fact", ""), board, found)).strip()
                settled[task.id] = task.model_copy(update={"status": TaskStatus.done, "result": fact})
            elif task.mode == "tool" and task.tool in self.tools:
                arguments = resolve_refs(task.arguments, board, found)
                settled[task.id] = self._call_tool(task, self.tools[task.tool], arguments)
            else:
                step = None if task.mode == "solve" and task.description == objective else task.description
                to_answer.append((task, render("execute", recalls=recalls, tasks=done, step=step,
                                                compute=asks_to_compute(objective))))
        conversations = [self._conversation(objective, task, prompt, done, recalls) for task, prompt in to_answer]
        if "calculator" in self.tools and self.meter.model.supports_interjection:  # arithmetic computed as written
            # the whole objective worked out step by step: twice the room of a step's result
            replies = [self.meter.generate_interjected(
                messages, interjection, purpose="execute", task_id=task.id,
                max_new_tokens=self.max_new_tokens * (2 if task.description == objective else 1))
                for messages, (task, _) in zip(conversations, to_answer)]
        else:
            replies = self.meter.generate_batch(conversations, purpose="execute",
                                                task_ids=[task.id for task, _ in to_answer],
                                                max_new_tokens=self.max_new_tokens)
        for (task, _), reply in zip(to_answer, replies):
            result = reply.text.strip()[:MAX_RESULT_CHARS]
            settled[task.id] = task.model_copy(update={"status": TaskStatus.done, "result": result,
                                                       "mode": "solve"})
        return [settled[task.id] for task in batch]

    def _conversation(self, objective: str, task: Task, prompt: str, done: list[Task],
                      recalls: list[Recall]) -> list[Message]:
        """The messages of a step done in words. An objective with nothing to compute, nothing recalled and no
        step before is asked as it is, as the model alone would be asked (a plain question or a piece of
        writing): the loop then never answers worse than the model would by itself."""
        if task.description == objective and not done and not recalls and not asks_to_compute(objective):
            return [{"role": "user", "content": objective}]
        return conversation(objective, prompt, self.plain)

    def _choose(self, objective: str, task: Task, done: list[Task], recalls: list[Recall]) -> Task:
        """A planned step with its tool call decided, or marked to be done in words; what memory recalled for
        the run is shown, as to the decision that planned the step ("the known price of one hinge")."""
        assert self.Step is not None
        prompt = render("step", recalls=recalls, tasks=done, task=task, passages=hint(objective))
        choice = ask_or_none(self.meter, conversation(objective, prompt, self.system), self.Step,
                             purpose="choose_tool", retries=self.retries, emit=self.emit, task_id=task.id)
        move = None if choice is None else choice.root
        if not isinstance(move, ToolCall):
            return task.model_copy(update={"mode": "solve"})
        return task.model_copy(update={"mode": "tool", "tool": move.tool, "arguments": move.arguments.model_dump()})

    def _call_tool(self, task: Task, tool: Tool, arguments: dict[str, Any]) -> Task:
        ok = False
        key = _call_key(tool.name, arguments)
        if key in self._calls_made:
            output = (f"refused: {tool.name} was already called with these arguments for task "
                      f"{self._calls_made[key]}; use that result")
        elif tool.risky and not self.approve(tool, arguments):
            output = f"{tool.name} was not approved by the user"
        else:
            self._calls_made[key] = task.id
            try:
                output, ok = as_text(run_tool(tool, arguments)), True
            except ToolError as exc:
                output = str(exc)
            except Exception as exc:  # a tool's failure is data for the run, never a crash of it
                output = f"{tool.name} failed: {type(exc).__name__}: {exc}"
        self.emit(ToolCalled(task_id=task.id, tool=tool.name, arguments=arguments, ok=ok, output=output))
        status = TaskStatus.done if ok else TaskStatus.failed
        return task.model_copy(update={"status": status, "result": output, "tool": tool.name,
                                       "arguments": arguments, "written": task.arguments})


def _call_key(tool: str, arguments: dict[str, Any]) -> str:
    return json.dumps([tool, arguments], sort_keys=True, default=str)
