"""The answer checks: one ordered list of named rules, each switchable off by name."""

import json

import pytest
from pydantic import BaseModel

from agent import Agent, ScriptedModel, UsageError
from agent.answering.checks import CHECKS, NAMES, AnswerChecks, Situation
from agent.deciding.moves import Finish, ToolCall
from agent.records import Task, TaskStatus
from agent.tools.base import Tool

from moves import call


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


def test_a_yes_or_no_answer_against_the_tool_that_decided_it_is_refused_every_time():
    s = situation("No, 1919 is not a leap year", objective="Is 1919 a leap year? Reply yes or no.")
    move = Finish(next="finish", answer="Yes.")
    refusal = AnswerChecks().refusal(move, s)
    assert refusal is not None and refusal.check == "contradicts" and "step 1" in refusal.reason
    assert AnswerChecks().refusal(Finish(next="finish", answer="No."), s) is None
    assert AnswerChecks().refusal(Finish(next="finish", answer="{1}"), s) is None  # quoting it is the tool's word
    assert AnswerChecks().refusal(move, situation("42", objective="Is 6 * 7 equal to 42?")) is None
    assert AnswerChecks().refusal(move, s, (refusal.reason, refusal.said)) is not None  # insisting changes nothing


class _Texts(BaseModel):
    texts: list[str]


class _Reader(Tool[_Texts]):
    name, description, Arguments, reads_text = "classify", "Classify texts.", _Texts, True

    def run(self, args: _Texts) -> str:
        return "positive"


def test_a_text_reading_tool_handed_the_question_itself_is_refused_once():
    objective = "My kid found 9 bees and 4 beetles in the garden and asks how many legs that makes. Help me out!"
    s = Situation(objective, [], [_Reader()])
    move = ToolCall(next="classify", arguments=_Texts(
        texts=["My kid found 9 bees and 4 beetles in the garden and asks how many legs that makes"]))
    refusal = AnswerChecks().refusal(move, s)
    assert refusal is not None and refusal.check == "reads_the_question" and "how many legs" in refusal.reason
    assert AnswerChecks().refusal(move, s, (refusal.reason, refusal.said)) is None  # once
    review = "The soup was cold and the waiter rude. Is this review positive or negative?"
    passage = ToolCall(next="classify", arguments=_Texts(texts=["The soup was cold and the waiter rude."]))
    assert AnswerChecks().refusal(passage, Situation(review, [], [_Reader()])) is None
    whole = ToolCall(next="classify", arguments=_Texts(texts=[review]))
    assert AnswerChecks().refusal(whole, Situation(review, [], [_Reader()])) is not None
    # a question inside the handed-over passages is text to read
    listed = "How many of these reviews are positive? (a) Great phone, why would I want another? (b) Broke in a day."
    items = ToolCall(next="classify", arguments=_Texts(texts=["Great phone, why would I want another?"]))
    assert AnswerChecks().refusal(items, Situation(listed, [], [_Reader()])) is None


def test_a_run_cannot_end_on_a_yes_the_tool_said_no_to(tmp_path):
    from agent.tools.builtin import dates

    from moves import call, finish

    model = ScriptedModel([call("dates", operation="is_leap_year", year=1919), finish("Yes."), finish("Yes."),
                           finish("No.")])
    result = Agent(model=model, tools=[dates], run_dir=tmp_path, experience=False,
                   shared_memory=False).run("Is 1919 a leap year? Reply yes or no.")
    assert result.final_answer.rstrip(".").lower() == "no"


def test_an_answer_saying_back_the_one_text_a_head_read_is_refused_once_and_the_integrator_states_the_result(
        tmp_path, memory):
    from test_head_tool import fake_head_dir

    from agent.tools.heads import HeadTool

    objective = ("Extract the named entities from the sentence below, one per line and nothing else. Sentence: "
                 "Cristiano Ronaldo flew to London to meet engineers from IBM.")
    found = {"count": 3, "names": ["Cristiano Ronaldo", "London", "IBM"], "entities": [[]],
             "by_type": {"people": {"count": 1, "names": ["Cristiano Ronaldo"]}}}
    read = Task(id=1, description="extract_entities(texts=['{a}'])", tool="extract_entities",
                arguments={"texts": ["{a}"]}, result=json.dumps(found), status=TaskStatus.done)
    ner = HeadTool(fake_head_dir(tmp_path, "ner", ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]))
    s = Situation(objective, [read], [ner])
    said_back = Finish(next="finish", answer="Cristiano Ronaldo flew to London to meet engineers from IBM.")
    refusal = AnswerChecks().refusal(said_back, s)
    assert refusal is not None and refusal.check == "copies_read_text" and "step 1" in refusal.reason
    assert AnswerChecks().refusal(Finish(next="finish", answer="{1.names}"), s) is None
    assert AnswerChecks().refusal(Finish(next="finish", answer="The places named are London."), s) is None
    assert ner.plain(read.result or "") == "Cristiano Ronaldo, London, IBM"
    assert ner.plain(json.dumps({"counts": {"negative": 2, "positive": 1}, "predictions": [{}, {}, {}]})) == \
        "2 negative, 1 positive"
    assert ner.plain(read.result or "", "Who is named in it?") == "Cristiano Ronaldo"  # the one type asked about
    assert ner.plain(read.result or "", "How many people are named?") == "1"
    assert ner.plain(read.result or "", "Name the people and places in it.") == "Cristiano Ronaldo, London, IBM"
    counts = json.dumps({"counts": {"negative": 2, "positive": 1}, "predictions": [{}, {}, {}]})
    assert ner.plain(counts, "How many of these reviews are negative?") == "2"

    # the closing answer, asked of the model after the run stopped, says the sentence back: the head's names stand
    model = ScriptedModel([call("extract_entities", texts=["{a}"]), call("extract_entities", texts=["{a}"]),
                           call("extract_entities", texts=["{a}"]),
                           json.dumps({"answer": "Cristiano Ronaldo flew to London to meet engineers from IBM."})])
    ner.run = lambda args: found  # type: ignore[method-assign]  # (no weights: the head's result is given)
    ner._ready = True
    result = Agent(model=model, tools=[ner], memory=memory, run_dir=tmp_path / "runs").run(objective)
    assert result.final_answer == "Cristiano Ronaldo\nLondon\nIBM"  # and one per line, as asked


def test_a_call_passing_a_failed_steps_error_as_its_argument_is_refused_every_time():
    from agent.tools.builtin import python

    failed = Task(id=1, description="python(code=print(cookies))", tool="python", status=TaskStatus.failed,
                  arguments={"code": "print(cookies)"}, result="python: unknown name: cookies")
    s = Situation("Felix baked 123 cookies in bags of 8. How many full bags?", [failed], [python])
    retyped = ToolCall(next="python", arguments=python.Arguments(code="python: unknown name: cookies"))
    refusal = AnswerChecks().refusal(retyped, s)
    assert refusal is not None and refusal.check == "passes_an_error" and "step 1" in refusal.reason
    assert AnswerChecks().refusal(retyped, s, (refusal.reason, refusal.said)) is not None  # every time
    fixed = ToolCall(next="python", arguments=python.Arguments(code="cookies = 123\nprint(cookies // 8)"))
    assert AnswerChecks().refusal(fixed, s) is None
