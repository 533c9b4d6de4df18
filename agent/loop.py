"""The control loop: create tasks, prioritize, execute the next one, remember it, integrate it. Repeat."""

from typing import Callable

from agent.board import TaskBoard
from agent.events import CycleStarted, Event, TasksAdded, TaskFinished, TaskStarted
from agent.executor import Executor
from agent.integrator import Integrator
from agent.memory.base import Memory
from agent.planner import Planner
from agent.records import RunStatus, Task


def run_cycles(objective: str, *, run_id: str, board: TaskBoard, planner: Planner, executor: Executor,
               integrator: Integrator, memory: Memory, max_cycles: int,
               emit: Callable[[Event], None]) -> RunStatus:
    """Run until the judge says done, no task is left, or the cycle budget is spent. Token and time
    budgets raise BudgetExhausted from the meter; the caller turns that into the status."""
    last: Task | None = None
    for cycle in range(1, max_cycles + 1):
        emit(CycleStarted(cycle=cycle, pending=len(board.pending()), completed=len(board.completed())))
        drafts = planner.create(objective, board.tasks, last, integrator.summary)
        added, dropped = board.add(drafts or [], cycle)
        emit(TasksAdded(tasks=added, dropped=dropped))
        ready = board.ready()
        if not ready and drafts is None:  # planning failed this cycle: try again next cycle
            continue
        if not ready:
            return RunStatus.no_tasks
        task = planner.prioritize(objective, ready)[0]
        emit(TaskStarted(task=task))
        task = executor.run(objective, task)
        board.finish(task)
        memory.add(f"{run_id}:task-{task.id}", f"{task.description}\n{task.result}",
                   {"kind": "result", "run": run_id, "task": task.id, "status": task.status.value})
        emit(TaskFinished(task=task))
        if integrator.integrate(objective, task):
            return RunStatus.done
        last = task
    return RunStatus.max_cycles
