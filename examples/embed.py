"""The Python API: a run with a progress callback, then the same run as an iterator of events."""

from agent import Agent, Event
from agent.tools.builtin import calculator


def show(event: Event) -> None:
    if event.kind == "task_finished":
        task = event.task  # type: ignore[attr-defined]
        print(f"  [{task.id}] {task.description} -> {task.status.value} via {task.tool or 'the model'}")


if __name__ == "__main__":
    agent = Agent(tools=[calculator], max_cycles=2)
    result = agent.run("What is 17 * 23?", on_event=show)
    print(result.status.value, "|", result.final_answer)

    for event in agent.iter_run("What is 2 to the power 10?"):
        print(event.kind)
        if event.kind == "run_finished":
            print(event.result.final_answer)  # type: ignore[attr-defined]
