"""The control loop: create tasks, prioritize, execute the next one, remember it, integrate it. Repeat.

`state` says where a run stands; `save` makes each step durable, so a resumed run continues at the next step
and never executes an acknowledged task again."""

from typing import Callable

from agent.board import TaskBoard
from agent.events import CycleStarted, Event, TaskFinished, TasksAdded, TaskStarted
from agent.executor import Executor
from agent.integrator import Integrator
from agent.memory.base import Memory
from agent.planner import Planner
from agent.records import RunStatus, Task
from agent.store import RunState


def run_cycles(objective: str, *, run_id: str, state: RunState, board: TaskBoard, planner: Planner,
               executor: Executor, integrator: Integrator, memory: Memory, max_cycles: int, parallel: int,
               save: Callable[[list[Task]], None], emit: Callable[[Event], None]) -> RunStatus:
    """Run until the judge says done, no task is left, or the cycle budget is spent. Each cycle executes up to
    `parallel` ready tasks (one batched generation). Token and time budgets raise BudgetExhausted from the
    meter; the caller turns that into the status."""
    while state.cycle <= max_cycles:
        if state.phase == "plan":
            emit(CycleStarted(cycle=state.cycle, pending=len(board.pending()), completed=len(board.completed())))
            drafts = planner.create(objective, board.tasks, [board.get(i) for i in state.last], state.summary)
            added, dropped = board.add(drafts or [], state.cycle)
            emit(TasksAdded(tasks=added, dropped=dropped))
            if not board.ready() and drafts is not None:
                return RunStatus.no_tasks
            state.phase = "execute" if board.ready() else "plan"  # a failed plan is tried again next cycle
            state.cycle += state.phase == "plan"
            save(added)
        elif state.phase == "execute":
            batch = planner.prioritize(objective, board.ready())[:parallel]
            for task in batch:
                emit(TaskStarted(task=task))
            batch = executor.run(objective, batch)
            state.phase, state.tasks = "integrate", [board.finish(task) for task in batch]
            save(batch)  # acknowledged: from here on these tasks are never executed again
            for task in batch:
                remember(memory, run_id, task)
                emit(TaskFinished(task=task))
        else:
            done = integrator.integrate(objective, [board.get(i) for i in state.tasks], state)
            state.phase, state.cycle, state.last, state.tasks = "plan", state.cycle + 1, state.tasks, []
            save([])
            if done:
                return RunStatus.done
    return RunStatus.max_cycles


def remember(memory: Memory, run_id: str, task: Task) -> None:
    """Store a settled task's result; upsert by id, so storing again after a crash never duplicates it."""
    memory.add(f"{run_id}:task-{task.id}", f"{task.description}\n{task.result}",
               {"kind": "result", "run": run_id, "task": task.id, "status": task.status.value})
