"""The control loop: decide the next move, execute ready tasks, remember their results, answer. Repeat.

One function per phase; each returns the next phase. The loop owns every write of the run's state: each step is
committed (acknowledged) before its events and its memory writes, so a resumed run continues at the next step
and never executes an acknowledged task again. Budgets end the loop, and the closing answer is still written."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.answering.integrator import (
    Integrator,
    computes_inside,
    conclusion,
    leftover_placeholder,
    loops,
    restates,
    retyped_from,
    settle_answer,
    unused_numbers,
)
from agent.deciding.board import TaskBoard
from agent.deciding.moves import FINISH, NOTED, PLAN, REMEMBER, RESERVED, SOLVE, describe_call
from agent.deciding.planner import Planner
from agent.errors import BudgetExhausted, ToolError
from agent.events import CycleStarted, Event, Judged, RunFinished, TaskFinished, TasksAdded, TaskStarted
from agent.executing.executor import Executor
from agent.memory.base import FACT, Memory, Recall
from agent.prompting.meter import Meter
from agent.records import Phase, RunResult, RunState, RunStatus, Task, TaskStatus
from agent.schemas import TaskDraft
from agent.store import RESULT_FILE, RunStore
from agent.text import references, renumber, unresolved_parts
from agent.tools.base import Tool


@dataclass
class Context:
    """Everything one run's loop works with; built once by the Agent."""

    objective: str
    run_id: str
    state: RunState
    board: TaskBoard
    planner: Planner
    executor: Executor
    integrator: Integrator
    memory: Memory
    meter: Meter
    store: RunStore
    emit: Callable[[Event], None]
    max_cycles: int
    parallel: int
    recalls: list[Recall]  # memories of other runs relevant to the objective, recalled once
    experiences: list[tuple[str, str]]  # similar past successes, as worked decide turns
    dropped: list[str]  # what the latest decision proposed that was refused as a repeat
    refused: tuple[str, str] | None = None  # why the latest decision was refused, and what it said
    stalled: bool = False  # the latest decision produced nothing (no valid reply)

    def save(self, changed: list[Task], status: str = "running", answer: str = "") -> None:
        self.store.commit(status, self.state, self.meter.sync(), changed, answer)

    def advance(self, phase: Phase, changed: list[Task] | None = None) -> Phase:
        """Commit the step just taken together with the phase that comes next: a resume starts there."""
        self.state.phase = phase
        self.save(changed or [])
        return phase


def run_loop(ctx: Context) -> RunResult:
    """Drive the run from wherever its state stands to its result."""
    phases = {Phase.decide: decide, Phase.execute: execute, Phase.answer: answer}
    for task in ctx.board.completed():  # heals a crash between a step's commit and its memory write
        remember(ctx.memory, ctx.run_id, task)
    while ctx.state.phase is not Phase.stopped:
        try:
            phases[ctx.state.phase](ctx)
        except BudgetExhausted as exc:
            ctx.state.stop = exc.kind
            ctx.advance(Phase.answer)
    return close(ctx)


def decide(ctx: Context) -> Phase:
    state, board = ctx.state, ctx.board
    if board.ready():  # a run resumed from before this version committed its next phase
        return ctx.advance(Phase.execute)
    if state.cycle > ctx.max_cycles:
        state.stop = RunStatus.max_cycles.value
        return ctx.advance(Phase.answer)
    ctx.emit(CycleStarted(cycle=state.cycle, pending=len(board.pending()), completed=len(board.completed())))
    move = ctx.planner.decide(ctx.objective, board.tasks, ctx.recalls, ctx.dropped, ctx.experiences, ctx.refused)
    drafts: list[TaskDraft] = []
    previous, ctx.refused = ctx.refused, None
    if move is None and ctx.stalled:  # twice in a row with nothing changed between: a greedy model would go on
        state.stop = RunStatus.no_tasks.value  # failing the same way, so the answer is written from what exists
        ctx.emit(Judged(done=False, reason="no valid decision twice in a row: the run stops here"))
        return ctx.advance(Phase.answer)
    ctx.stalled = move is None
    if move is None:
        pass  # the model gave up on this decision: the next cycle asks again, once
    elif _runs_away(move):  # "3 * 3 * 3 …" to the token limit: no call was meant, so the step is done in words
        ctx.emit(Judged(done=False, reason="the call's arguments repeat themselves: worked out in words instead",
                        refused=True))
        drafts = [TaskDraft(description=ctx.objective, mode="solve")]
    elif refusal := _refusal(move, board.tasks, ctx.objective, ctx.planner.tools, previous):
        ctx.refused = refusal  # shown to the next decision, which would otherwise repeat the move
        ctx.emit(Judged(done=False, reason=f"{refusal[0]}: refused", refused=True))
    elif move.next == FINISH:
        state.answer, state.stop = settle_answer(move.answer, board.tasks, ctx.objective), RunStatus.done.value
        state.written_answer = move.answer
        ctx.emit(Judged(done=True, reason="the model answered from the steps so far", answer=state.answer))
        return ctx.advance(Phase.answer)
    elif move.next == SOLVE:
        drafts = [TaskDraft(description=ctx.objective, mode="solve")]
    elif move.next == REMEMBER:
        drafts = [TaskDraft(description=f"remember: {move.fact}", mode="remember", arguments={"fact": move.fact})]
    elif move.next == PLAN:
        first = len(board.tasks) + 1  # {N} in a plan means its own step N
        steps = [renumber(step, first) for step in move.steps]
        drafts = [TaskDraft(description=step, depends_on=[i for i in references(step) if first <= i < first + n])
                  for n, step in enumerate(steps)]
    else:
        arguments = move.arguments.model_dump()
        drafts = [TaskDraft(description=describe_call(move.next, arguments), mode="tool", tool=move.next,
                            arguments=arguments)]
    added, ctx.dropped = board.add(drafts, state.cycle)
    if not board.ready():
        state.cycle += 1
    following = ctx.advance(Phase.execute if board.ready() else Phase.decide, added)
    ctx.emit(TasksAdded(tasks=added, dropped=ctx.dropped))
    return following


def execute(ctx: Context) -> Phase:
    state, board = ctx.state, ctx.board
    batch = board.ready()[:ctx.parallel]  # in the order the model planned them
    for task in batch:
        ctx.emit(TaskStarted(task=task))
    settled = ctx.executor.run(ctx.objective, batch, board.tasks, ctx.recalls)
    for task in settled:
        board.finish(task)
    if not board.ready():
        state.cycle += 1
        only = board.tasks[0] if len(board.tasks) == 1 else None
        if only is not None and only.mode in ("solve", "remember") and only.status is TaskStatus.done:
            # a one-step answer in words is final, and so is a fact kept
            answer = conclusion(only.result or "") if only.mode == "solve" else NOTED.format(fact=only.result)
            state.answer, state.stop = answer, RunStatus.done.value
    following = Phase.answer if state.stop else Phase.execute if board.ready() else Phase.decide
    ctx.advance(following, settled)  # acknowledged: from here on these tasks are never executed again
    for task in settled:
        remember(ctx.memory, ctx.run_id, task)
        ctx.emit(TaskFinished(task=task))
    if state.stop is not None:
        ctx.emit(Judged(done=True, reason="answered in one step", answer=state.answer or ""))
    return following


def answer(ctx: Context) -> Phase:
    state = ctx.state
    if state.answer is None:  # past a time budget no model call is made: the answer is put together from results
        state.answer = ctx.integrator.final_answer(ctx.objective, ctx.board.tasks,
                                                   write=state.stop != RunStatus.max_seconds.value)
    state.stop = state.stop or RunStatus.no_tasks.value
    return ctx.advance(Phase.stopped)


def close(ctx: Context) -> RunResult:
    """The result document, written atomically before the run is marked finished."""
    state = ctx.state
    result = RunResult(run_id=ctx.run_id, objective=ctx.objective, status=RunStatus(state.stop),
                       final_answer=state.answer or "", tasks=ctx.board.tasks, usage=ctx.meter.sync().model_copy(),
                       written_answer=state.written_answer)
    staged = ctx.store.path / f"{RESULT_FILE}.tmp"
    staged.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    os.replace(staged, ctx.store.path / RESULT_FILE)
    ctx.save([], result.status.value, result.final_answer)
    if result.status is RunStatus.done:
        ctx.memory.add(f"{ctx.run_id}:answer", f"{ctx.objective}\n{result.final_answer}",
                       {"kind": "answer", "run": ctx.run_id})
    ctx.emit(RunFinished(result=result))
    return result


def recall(memory: Memory, objective: str, run_id: str, k: int) -> list[Recall]:
    """Memories from other runs relevant to the objective (this run's own results are in its prompts)."""
    found = memory.search(objective, k + 8)
    return [r for r in found if r.metadata.get("run") != run_id][:k]


def remember(memory: Memory, run_id: str, task: Task) -> None:
    """Store a settled task's result, or the fact it keeps, alone; upsert by id, so storing again after a crash
    never duplicates it."""
    text, kind = (task.result, FACT) if task.mode == "remember" else (f"{task.description}\n{task.result}", "result")
    memory.add(f"{run_id}:task-{task.id}", text or "",
               {"kind": kind, "run": run_id, "task": task.id, "status": task.status.value})


def _refusal(move: Any, tasks: list[Task], objective: str, tools: list[Tool],
             previous: tuple[str, str] | None = None) -> tuple[str, str] | None:
    """Why a decided move cannot stand, and what it said; None when it can. An answer is checked by `_flaw`; a
    tool call that quotes a step with no result would run on the reference's own text. Three checks refuse only
    once, since the model may know what the text does not say: made again right after, the move stands. An
    answer while a chained objective ("…, then …") still has a number no step has used; an answer that quotes a
    result a later step went on from by retyping its number; a call whose arguments state what neither the
    objective nor a result does (the tool's `ungrounded`)."""
    if move.next in (SOLVE, REMEMBER, PLAN):
        return None
    arguments = {} if move.next == FINISH else move.arguments.model_dump()
    said = move.answer[:160] if move.next == FINISH else describe_call(move.next, arguments)
    insists = previous is not None and previous[1] == said  # the same move right after its refusal
    if move.next == FINISH:
        flaw = _flaw(move.answer, tasks, objective)
        if flaw is None and not insists and (left := unused_numbers(objective, tasks)):
            flaw = f"the objective chains another step: no step has used {left[0]} yet"
        if flaw is None and not insists and (link := retyped_from(move.answer, tasks, objective)):
            flaw = f"the answer quotes step {link[0]}, but step {link[1]} went on from its result: write {{{link[1]}}}"
        return None if flaw is None else (flaw, said)
    settled = [t for t in tasks if t.result is not None]
    ids = {t.id for t in settled}
    if missing := [n for n in references(move.arguments.model_dump_json()) if n not in ids]:
        return f"the call quotes step {missing[0]}, which has no result yet", said
    tool = next((t for t in tools if t.name == move.next), None)
    if tool is None or insists:
        return None
    try:
        args = tool.parse(arguments)
    except ToolError:
        return None  # the executor reports why the call cannot run
    given = "\n".join([objective, *(str(t.result) for t in settled)])
    return None if (reason := tool.ungrounded(args, given)) is None else (reason, said)


def _runs_away(move: Any) -> bool:
    """Whether a tool call's text arguments are a degenerate loop (a greedy model that had nothing to pass)."""
    return move.next not in RESERVED and any(isinstance(v, str) and loops(v)
                                             for v in move.arguments.model_dump().values())


def _flaw(answer: str, tasks: list[Task], objective: str) -> str | None:
    """Why an answer cannot stand, or None: it quotes a step that failed (it would pass an error off as the
    result) or that has no result, or only an intermediate result that a later step went on from (the answer
    stops short of that step's result), it keeps a placeholder that names nothing ("{N}"), it is a degenerate
    loop of the same few words, it only restates the objective (a small model's echo) or it asks the user a
    question: none of these answers anything."""
    by_id = {t.id: t for t in tasks}
    quoted = references(answer)
    for n in quoted:
        later = [t.id for t in tasks if t.status is TaskStatus.done and n in references(t.description)]
        if later and not set(later) & set(quoted):
            return f"the answer quotes step {n}, but step {later[-1]} went on from it: write {{{later[-1]}}}"
    for n in quoted:
        task = by_id.get(n)
        if task is not None and task.status is TaskStatus.failed:
            return f"the answer quotes step {n}, which failed"
        if task is None or task.result is None:
            return f"the answer quotes step {n}, which has no result"
    if missing := unresolved_parts(answer, tasks):
        return f"the answer quotes a part of step {missing[0]}'s result that it does not have"
    if placeholder := leftover_placeholder(settle_answer(answer, tasks, objective)):  # "a total of {N} points"
        if computes_inside(placeholder):
            return f"the answer writes {placeholder}, but braces only quote a result: compute it with a tool first"
        return f"the answer writes {placeholder}, which names no step and no text of the objective"
    if loops(answer):
        return "the answer repeats itself"
    if restates(answer, objective):
        return "the answer only restates the objective"
    return "the answer asks a question instead of answering" if answer.rstrip().endswith("?") else None
