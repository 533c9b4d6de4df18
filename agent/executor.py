"""Runs one task: recalls relevant past results, then either calls a tool or answers with the model."""

import json
from typing import Any, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, create_model

from agent.errors import ModelOutputError, ToolError
from agent.events import Event, StepFailed, ToolCalled
from agent.memory.base import Memory
from agent.meter import Meter
from agent.records import Task, TaskStatus
from agent.structured import ask
from agent.templates import conversation, render
from agent.tools.base import Tool
from agent.tools.runner import run_tool

MAX_RESULT_CHARS = 4000
NO_TOOL = "none"

Approver = Callable[[Tool, dict[str, Any]], bool]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def action_model(tools: list[Tool]) -> type[BaseModel]:
    """One schema for "call tool X with X's arguments, or none": a union tagged by the tool's name."""
    variants: list[type[BaseModel]] = [
        create_model(f"Call_{t.name}", __base__=_Strict, tool=(Literal[t.name], ...), arguments=(t.Arguments, ...))
        for t in tools
    ]
    variants.append(create_model("Answer", __base__=_Strict, tool=(Literal[NO_TOOL], ...)))
    # a plain union (anyOf): the tool literal already tells the variants apart, and a oneOf would make the
    # grammar compiler fall back to anyOf with a warning
    return create_model("Action", __base__=_Strict, action=(Union[tuple(variants)], ...))


def as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:MAX_RESULT_CHARS]


class Executor:
    def __init__(self, meter: Meter, memory: Memory, tools: list[Tool], *, top_k: int, retries: int,
                 max_new_tokens: int, approve: Approver, emit: Callable[[Event], None]) -> None:
        self.meter, self.memory, self.tools = meter, memory, {t.name: t for t in tools}
        self.top_k, self.retries, self.max_new_tokens = top_k, retries, max_new_tokens
        self.approve, self.emit = approve, emit
        self.Action = action_model(tools) if tools else None
        self._calls_made: dict[str, int] = {}  # identical call -> the task that made it

    def recall_calls(self, trace: list[dict]) -> None:
        """Seed the repeated-call check with the tool calls an earlier session of this run made."""
        for event in trace:
            if event.get("kind") == "tool_called":
                key = json.dumps([event["tool"], event["arguments"]], sort_keys=True, default=str)
                self._calls_made.setdefault(key, event["task_id"])

    def run(self, objective: str, tasks: list[Task]) -> list[Task]:
        """The tasks, settled: done with their results, or failed with the reason as the result. Tool calls
        run one by one; the tasks the model answers itself go through one batched generation."""
        settled: dict[int, Task] = {}
        to_answer: list[tuple[Task, str]] = []
        for task in tasks:
            outcome = self._tool_or_prompt(objective, task)
            if isinstance(outcome, Task):
                settled[task.id] = outcome
            else:
                to_answer.append((task, outcome))
        replies = self.meter.generate_batch([conversation(objective, prompt) for _, prompt in to_answer],
                                            purpose="execute", max_new_tokens=self.max_new_tokens)
        for (task, _), reply in zip(to_answer, replies):
            result = reply.text.strip()[:MAX_RESULT_CHARS]
            settled[task.id] = task.model_copy(update={"status": TaskStatus.done, "result": result})
        return [settled[task.id] for task in tasks]

    def _tool_or_prompt(self, objective: str, task: Task) -> Task | str:
        """A settled task when the model calls a tool for it, else the prompt for answering it directly."""
        recalls = self.memory.search(task.description, self.top_k, where={"kind": "result"})
        if self.Action is not None:
            prompt = render("choose_tool", recalls=recalls, tools=list(self.tools.values()), task=task)
            try:
                action = ask(self.meter, conversation(objective, prompt), self.Action, purpose="choose_tool",
                             retries=self.retries, emit=self.emit).action
            except ModelOutputError as exc:
                self.emit(StepFailed(purpose="choose_tool", error=str(exc)))
                action = None
            if action is not None and action.tool != NO_TOOL:
                return self._call_tool(task, self.tools[action.tool], action.arguments.model_dump())
        return render("execute", recalls=recalls, task=task)

    def _call_tool(self, task: Task, tool: Tool, arguments: dict[str, Any]) -> Task:
        ok = False
        key = json.dumps([tool.name, arguments], sort_keys=True, default=str)
        if key in self._calls_made:
            output = (f"refused: {tool.name} was already called with these arguments for task "
                      f"{self._calls_made[key]}; its result is in memory")
        elif tool.risky and not self.approve(tool, arguments):
            output = f"{tool.name} was not approved by the user"
        else:
            self._calls_made[key] = task.id
            try:
                output, ok = as_text(_with_timeout(tool, arguments)), True
            except ToolError as exc:
                output = str(exc)
            except Exception as exc:  # a tool's failure is data for the run, never a crash of it
                output = f"{tool.name} failed: {type(exc).__name__}: {exc}"
        self.emit(ToolCalled(task_id=task.id, tool=tool.name, arguments=arguments, ok=ok, output=output))
        status = TaskStatus.done if ok else TaskStatus.failed
        return task.model_copy(update={"status": status, "result": output, "tool": tool.name})


def _with_timeout(tool: Tool, arguments: dict[str, Any]) -> Any:
    return run_tool(tool, arguments)
