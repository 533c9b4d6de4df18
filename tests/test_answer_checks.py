"""The answer checks: one ordered list of named rules, each switchable off by name."""

import pytest

from agent import Agent, ScriptedModel, UsageError
from agent.answering.checks import CHECKS, NAMES, AnswerChecks, Situation
from agent.deciding.moves import Finish
from agent.records import Task, TaskStatus


def situation(*results: str, objective: str = "What is 6 * 7?") -> Situation:
    tasks = [Task(id=i, description=f"step {i}", result=r, status=TaskStatus.done) for i, r in enumerate(results, 1)]
    return Situation(objective, tasks, [])


def test_every_check_has_a_unique_name_and_says_what_it_refuses():
    assert len(set(NAMES)) == len(NAMES) == len(CHECKS)
    assert all(check.refuses for check in CHECKS)


def test_the_first_check_that_refuses_names_itself_and_switching_it_off_lets_the_next_speak():
    move = Finish(next="finish", answer="What is 6 * 7?")  # an echo, and a question
    first = AnswerChecks().refusal(move, situation("42"))
    assert first is not None and first.check == "echoes"
    second = AnswerChecks(["echoes"]).refusal(move, situation("42"))
    assert second is not None and second.check == "asks_back"
    assert AnswerChecks(["echoes", "asks_back"]).refusal(move, situation("42")) is None


def test_a_once_check_lets_the_same_move_stand_when_made_again():
    objective = "Add 3 and 4, then multiply the sum by 10."
    move = Finish(next="finish", answer="{1}")
    refusal = AnswerChecks().refusal(move, situation("7", objective=objective))
    assert refusal is not None and refusal.check == "unused_number"
    assert AnswerChecks().refusal(move, situation("7", objective=objective), (refusal.reason, refusal.said)) is None


def test_a_quoted_failed_step_is_refused_every_time():
    s = Situation("What is 6 * 7?", [Task(id=1, description="x", result="boom", status=TaskStatus.failed)], [])
    move = Finish(next="finish", answer="{1}")
    refusal = AnswerChecks().refusal(move, s)
    assert refusal is not None and refusal.check == "quotes_nothing"
    assert AnswerChecks().refusal(move, s, (refusal.reason, refusal.said)) is not None


def test_an_unknown_check_name_is_a_usage_error_before_a_run(tmp_path):
    with pytest.raises(UsageError, match="no answer check named 'nope'"):
        Agent(model=ScriptedModel(), run_dir=tmp_path, answer_checks_off=["nope"])


def test_the_refusing_check_is_in_the_trace(tmp_path):
    from agent.events import Judged

    model = ScriptedModel(['{"next": "calculator", "arguments": {"expression": "6 * 7"}}',
                           '{"next": "finish", "answer": "What is 6 * 7?"}',
                           '{"next": "finish", "answer": "{1}"}'])
    from agent.tools.builtin import calculator

    events = []
    result = Agent(model=model, tools=[calculator], run_dir=tmp_path, experience=False,
                   shared_memory=False).run("What is 6 * 7?", on_event=events.append)
    assert [e.check for e in events if isinstance(e, Judged) and e.refused] == ["echoes"]
    assert result.final_answer == "42"
