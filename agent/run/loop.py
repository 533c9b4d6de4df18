"""The control loop: decide the next move, execute ready tasks, remember their results, answer. Repeat.

One function per phase; each returns the next phase. The loop owns every write of the run's state: each step is
committed (acknowledged) before its events and its memory writes, so a resumed run continues at the next step
and never executes an acknowledged task again. Budgets end the loop, and the closing answer is still written."""

import os
from collections.abc import Callable
from dataclasses import dataclass

from agent.answering.checks import AnswerChecks, Situation
from agent.answering.format import follow_format
from agent.answering.integrator import Integrator, conclusion, settle_answer
from agent.deciding.board import TaskBoard
from agent.deciding.moves import NOTED, Finish, asked_again, iterates, runs_away
from agent.deciding.planner import Planner, tasks_for
from agent.errors import BudgetExhausted
from agent.events import CycleStarted, Event, Judged, RunFinished, TaskFinished, TasksAdded, TaskStarted
from agent.executing.executor import Executor
from agent.memory.base import ANSWER, FACT, RESULT, Memory, Recall
from agent.prompting.meter import Meter
from agent.records import Phase, RunResult, RunState, RunStatus, Task, TaskStatus
from agent.schemas import TaskDraft
from agent.store import RESULT_FILE, RunStore
from agent.text import asks_to_keep, structured


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
    checks: AnswerChecks  # what a decided move must pass to stand
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
    # a done call asked for twice in a row, or made again on its own result: its result is what the run has
    if (again := asked_again(move, board.tasks, ctx.dropped) or iterates(move, board.tasks, ctx.objective)) is not None:
        if structured(again.result):  # a head's JSON is no answer: it is written from the steps so far
            ctx.emit(Judged(done=True, reason=f"step {again.id} asked for again: the answer is written now"))
            state.stop = RunStatus.done.value
            return ctx.advance(Phase.answer)
        move = Finish(next="finish", answer=f"{{{again.id}}}")  # its result is the answer
    drafts: list[TaskDraft] = []
    previous, ctx.refused = ctx.refused, None
    if move is None and ctx.stalled:  # twice in a row with nothing changed between: a greedy model would go on
        state.stop = RunStatus.no_tasks.value  # failing the same way, so the answer is written from what exists
        ctx.emit(Judged(done=False, reason="no valid decision twice in a row: the run stops here"))
        return ctx.advance(Phase.answer)
    ctx.stalled = move is None
    if move is None:
        pass  # the model gave up on this decision: the next cycle asks again, once
    elif runs_away(move):  # "3 * 3 * 3 …" to the token limit: no call was meant, so the step is done in words
        ctx.emit(Judged(done=False, reason="the call's arguments repeat themselves: worked out in words instead",
                        refused=True))
        drafts = [TaskDraft(description=ctx.objective, mode="solve")]
    elif refusal := ctx.checks.refusal(move, Situation(ctx.objective, board.tasks, ctx.planner.tools), previous):
        ctx.refused = refusal.reason, refusal.said  # shown to the next decision, which would otherwise repeat it
        ctx.emit(Judged(done=False, reason=f"{refusal.reason}: refused", refused=True, check=refusal.check))
    elif isinstance(move, Finish):
        state.answer, state.stop = settle_answer(move.answer, board.tasks, ctx.objective), RunStatus.done.value
        state.written_answer = move.answer
        ctx.emit(Judged(done=True, reason="the model answered from the steps so far", answer=state.answer))
        return ctx.advance(Phase.answer)
    else:
        drafts = tasks_for(move, ctx.objective, len(board.tasks))
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
    state.answer = follow_format(state.answer, ctx.objective)  # "just the number", "one per line", …
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
                       {"kind": ANSWER, "run": ctx.run_id})
    ctx.emit(RunFinished(result=result))
    return result


def recall(memory: Memory, objective: str, run_id: str, k: int, max_distance: float = 1.0) -> list[Recall]:
    """Memories from other runs relevant to the objective (this run's own results are in its prompts): the `k`
    nearest within `max_distance`, since an unrelated memory shown to a small model becomes its answer. Of other
    runs' answers and step results, only those of runs asked to keep something: what the user gave to keep is
    recalled, what other runs answered or computed is not, since a small model copies it into its own answer
    ("What is 17 * 23?" after a wrong "391 * 391" answered "{a} * 391"; a second "List three uses of a
    paperclip" repeated the first one's broken answer three times)."""
    found = memory.search(objective, k + 8)
    return [r for r in found if r.metadata.get("run") != run_id and r.distance <= max_distance
            and (r.metadata.get("kind") not in (ANSWER, RESULT) or asks_to_keep(r.text))][:k]


def remember(memory: Memory, run_id: str, task: Task) -> None:
    """Store a settled task's result, or the fact it keeps, alone; upsert by id, so storing again after a crash
    never duplicates it."""
    text, kind = (task.result, FACT) if task.mode == "remember" else (f"{task.description}\n{task.result}", RESULT)
    memory.add(f"{run_id}:task-{task.id}", text or "",
               {"kind": kind, "run": run_id, "task": task.id, "status": task.status.value})
