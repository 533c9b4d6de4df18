"""The task board: every task of a run, in the order they were planned, with dedup on the way in."""

import re
from collections.abc import Callable

from agent.records import Task, TaskStatus
from agent.schemas import TaskDraft


def _normalized(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class TaskBoard:
    """`is_repeat`, when given, is asked about each new description (e.g. an embedding-similarity check) and
    must remember the ones it lets through."""

    def __init__(self, *, max_new_per_cycle: int, max_queue: int, tasks: list[Task] | None = None,
                 is_repeat: Callable[[str], bool] | None = None) -> None:
        self.tasks: list[Task] = list(tasks or [])
        self.max_new_per_cycle = max_new_per_cycle
        self.max_queue = max_queue
        self.is_repeat = is_repeat

    def add(self, drafts: list[TaskDraft], cycle: int) -> tuple[list[Task], list[str]]:
        """Add new tasks; returns (added, dropped descriptions). Drops repeats of any task, pending or
        completed, and whatever exceeds the per-cycle or queue budget."""
        seen = {_normalized(task.description) for task in self.tasks}
        known_ids = {task.id for task in self.tasks}
        added: list[Task] = []
        dropped: list[str] = []
        for draft in drafts:
            known_ids.add(len(self.tasks) + 1)  # a draft may depend on the drafts before it
            key = _normalized(draft.description)
            similar = draft.mode != "tool" and self.is_repeat is not None  # a call differs by any argument
            if (not key or key in seen or len(added) >= self.max_new_per_cycle
                    or len(self.pending()) >= self.max_queue
                    or (similar and self.is_repeat(draft.description))):  # type: ignore[misc]
                dropped.append(draft.description)
                continue
            seen.add(key)
            task = Task(id=len(self.tasks) + 1, description=draft.description.strip(), cycle=cycle,
                        depends_on=[i for i in draft.depends_on if i in known_ids], mode=draft.mode,
                        tool=draft.tool, arguments=draft.arguments)
            self.tasks.append(task)
            added.append(task)
        return added, dropped

    def pending(self) -> list[Task]:
        return [task for task in self.tasks if task.status is TaskStatus.pending]

    def completed(self) -> list[Task]:
        return [task for task in self.tasks if task.status is not TaskStatus.pending]

    def ready(self) -> list[Task]:
        """Pending tasks whose dependencies are settled (done or failed: a failure never blocks forever)."""
        settled = {task.id for task in self.completed()}
        return [task for task in self.pending() if set(task.depends_on) <= settled]

    def get(self, task_id: int) -> Task:
        return self.tasks[task_id - 1]

    def finish(self, task: Task) -> int:
        self.tasks[task.id - 1] = task
        return task.id
