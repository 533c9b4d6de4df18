"""What an objective states, however it is worded: instruction sentences, numbered items, what a tool needs,
a fact to keep, and the form the answer must take."""

import pytest

from agent.answering.format import follow_format
from agent.text import asks_to_keep, hands_over_text, mentions_date, mentions_number, passages, task_text
from agent.tools.builtin import calculator, dates


@pytest.mark.parametrize("objective, expected", [
    ("Solve the following multiplication: 13 * 57. Give only the result as your final answer.", {"a": "13 * 57"}),
    ("Compute 212 - 49 + 16 * 7. Reply with just the number.", {"a": "212 - 49 + 16 * 7"}),
    ("What is 8 * 9? Your final answer should be a single number.", {"a": "8 * 9"}),
    ("Count these: 1. a great film. 2. a dull mess. 3. loved it.",
     {"a": "a great film.", "b": "a dull mess.", "c": "loved it."}),
])
def test_an_instruction_sentence_is_never_part_of_a_passage(objective, expected):
    assert passages(objective) == expected


def test_a_sentence_holding_a_quoted_passage_is_kept_whatever_it_opens_with():
    objective = 'Give the sentiment of "what a lovely day". Answer in one word.'
    assert task_text(objective) == 'Give the sentiment of "what a lovely day".'
    assert passages(objective) == {"a": "what a lovely day"}


def test_numbers_out_of_order_are_not_items():
    assert passages("Add 2. Then 7. Then 1. of them") == {}


@pytest.mark.parametrize("objective, number, date, text, keep", [
    ("What is the capital of Japan?", False, False, False, False),
    ("How many days are in a week?", False, False, False, False),
    ("how many legs do three spiders have", True, False, False, False),
    ("Which weekday was June 24, 1961?", True, True, False, False),
    ("Is 2024 a leap year?", True, True, False, False),
    ("List the people named in: Angela Merkel met Tim Cook in Paris.", False, False, True, False),
    ("Remember: the gate code is 4411.", True, False, False, True),
    ("keep in mind that my locker is number seven", True, False, False, True),
])
def test_what_an_objective_mentions(objective, number, date, text, keep):
    assert (mentions_number(objective), mentions_date(objective), hands_over_text(objective),
            asks_to_keep(objective)) == (number, date, text, keep)


def test_the_built_in_tools_apply_only_where_the_objective_gives_them_work():
    assert calculator.applies("What is 17 * 23?") and not calculator.applies("What is the capital of Japan?")
    assert dates.applies("What weekday is 2024-03-01?") and not dates.applies("What is 17 * 23?")


@pytest.mark.parametrize("answer, objective, shaped", [
    ("The total is 1,234 dollars.", "How much in all? Reply with just the number.", "1,234"),
    ("It comes to -12.5.", "What is 5 - 17.5? Answer with only the final number.", "-12.5"),
    ("There is no number here.", "Reply with just the number.", "There is no number here."),
    ("No, 1919 is not a leap year.", "Is 1919 a leap year? Reply yes or no.", "No"),
    ("The review is Negative.", "Answer with one word in lower case: positive or negative. Review: cold soup",
     "negative"),
    ("The people are: Barack Obama, Angela Merkel and Tim Cook.", "Name the people, one per line: x",
     "Barack Obama\nAngela Merkel\nTim Cook"),
    ("- apple\n- pear\n- plum", "Name three fruits as a comma-separated list.", "apple, pear, plum"),
    ("Tokyo is the capital.", "What is the capital of Japan?", "Tokyo is the capital."),
])
def test_the_answer_takes_the_form_the_objective_states(answer, objective, shaped):
    assert follow_format(answer, objective) == shaped


def test_a_stated_form_reaches_the_final_answer(tmp_path):
    from agent import Agent, ScriptedModel

    model = ScriptedModel([{"next": "calculator", "arguments": {"expression": "6 * 7"}},
                           {"next": "finish", "answer": "The product is {1}."}])
    result = Agent(model=model, tools=[calculator], run_dir=tmp_path, experience=False,
                   shared_memory=False).run("What is 6 * 7? Reply with just the number.")
    assert result.final_answer == "42"


def test_a_passage_and_its_own_numbers_beside_it_are_the_passage_alone():
    from agent.deciding.moves import decision_model, undoubled

    decision = decision_model([calculator], plan=False, finish=False)

    def expression(objective: str, written: str) -> str:
        move = decision.model_validate({"next": "calculator", "arguments": {"expression": written}}).root
        return undoubled(move, objective).arguments.expression

    assert expression("What is 17 * 23?", "{a} * 23") == "{a}"
    assert expression("What is 17 * 23, then times 23 once more?", "{a} * 23") == "{a} * 23"  # written twice
    assert expression("What is 17 * 23?", "{a} * 5") == "{a} * 5"


def test_a_call_made_again_on_its_own_result_is_that_result():
    from agent.deciding.moves import decision_model, iterates
    from agent.records import Task, TaskStatus

    decision = decision_model([calculator], plan=False, finish=False)
    first = Task(id=1, description="calculator(expression=393 - 226 - 691)", tool="calculator",
                 arguments={"expression": "393 - 226 - 691"}, result="-524", status=TaskStatus.done)
    sale = Task(id=2, description="calculator(expression=35 - 0.2 * 35)", tool="calculator",
                arguments={"expression": "35 - 0.2 * 35"}, result="28", status=TaskStatus.done)

    def again(written: str, latest: Task = sale):
        call = decision.model_validate({"next": "calculator", "arguments": {"expression": written}}).root
        return iterates(call, [first if latest is sale else sale, latest], "Evaluate 393 - 226 - 691.")

    assert again("-524 - 226 - 691", first) is first  # it would go on to -1441, -2358, …
    assert again("28 - 0.2 * 28") is sale  # 22.4, 17.92, …
    assert again("-524 - 226 - 691") is None  # a step went on from -524 since: not the latest
    assert again("-524 * 2") is None  # a new operation: a step of its own
    assert again("28 + 5") is None
    assert again("393 - 226 - 691") is None  # the same call, not on its result (a repeat, dropped as such)
    hours = Task(id=3, description="calculator(expression=6 * 24)", tool="calculator",
                 arguments={"expression": "6 * 24"}, result="144", status=TaskStatus.done)
    call = decision.model_validate({"next": "calculator", "arguments": {"expression": "{3} * 24"}}).root
    assert iterates(call, [hours], "How many hours are in 6 days?") is hours  # quoted as {N}: the same
    twelve = Task(id=1, description="calculator(expression=12 * 12)", tool="calculator",
                  arguments={"expression": "12 * 12"}, result="144", status=TaskStatus.done)
    call = decision.model_validate({"next": "calculator", "arguments": {"expression": "144 * 12"}}).root
    assert iterates(call, [twelve], "Compute 12 * 12, then multiply by 12.") is None  # the third 12 is asked for
    assert iterates(call, [twelve], "Compute 12 * 12.") is twelve


def test_a_run_answers_with_the_result_it_would_go_on_computing_from(tmp_path):
    from agent import Agent, ScriptedModel

    model = ScriptedModel([{"next": "calculator", "arguments": {"expression": "393 - 226 - 691"}},
                           {"next": "calculator", "arguments": {"expression": "-524 - 226 - 691"}}])
    result = Agent(model=model, tools=[calculator], run_dir=tmp_path, experience=False,
                   shared_memory=False).run("I'm in room 403 of a building from 1979. Evaluate 393 - 226 - 691.")
    assert result.final_answer == "-524" and result.usage.llm_calls == 2 and len(result.tasks) == 1


def test_a_plain_question_is_asked_as_the_model_alone_would_be_asked(tmp_path):
    from agent import Agent, ScriptedModel

    model = ScriptedModel([{"next": "solve"}, "Tokyo."])
    result = Agent(model=model, tools=[calculator], run_dir=tmp_path, experience=False,
                   shared_memory=False).run("What is the capital of Japan?")
    assert result.final_answer == "Tokyo." and result.usage.llm_calls == 2
    assert model.calls[1].messages == [{"role": "user", "content": "What is the capital of Japan?"}]
    assert "calculator" not in str(model.calls[0].schema)  # no number: the calculator is not offered


def test_only_memories_near_the_objective_are_recalled():
    from agent.memory.base import Recall
    from agent.run.loop import recall

    class Stored:
        def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
            return [Recall("near", "the door code is 9187", 0.3, {"run": "old"}),
                    Recall("far", "What is 17 * 23?\n391", 0.8, {"run": "old"})]

    assert [r.id for r in recall(Stored(), "What was the door code?", "new", 3, 0.55)] == ["near"]


def test_references_are_resolved_in_one_pass_and_bounded():
    from agent.records import Task, TaskStatus
    from agent.text import MAX_RESOLVED_CHARS, resolve_refs

    hostile = Task(id=1, description="read_file", result="'{a}'" * 1333, status=TaskStatus.done)
    passage = {"a": "x" * 1900}
    once = resolve_refs("{1}", [hostile], passage)
    assert once == hostile.result  # the passage is not inserted into the inserted result
    many = resolve_refs(" / ".join(["{1}"] * 100) + " {a}", [hostile], passage)
    assert len(many) <= MAX_RESOLVED_CHARS + 4 and many.endswith("[…]")


def test_other_runs_answers_and_results_are_recalled_only_where_they_were_asked_to_keep_something():
    from agent.memory.base import FACT, Recall
    from agent.run.loop import recall

    class Stored:
        def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
            return [Recall("wrong", "What is 17 * 23?\n391 * 391", 0.1, {"run": "old", "kind": "answer"}),
                    Recall("step", "calculator(expression={a} * 391)\n152881", 0.2, {"run": "old", "kind": "result"}),
                    Recall("fact", "one valve costs 17 dollars", 0.3, {"run": "old", "kind": FACT}),
                    Recall("kept", "Note for later: a hinge costs 4 dollars.\nNoted.", 0.3,
                           {"run": "old", "kind": "answer"})]

    assert [r.id for r in recall(Stored(), "What is 17 * 23?", "new", 5)] == ["fact", "kept"]
    assert [r.id for r in recall(Stored(), "List three uses of a paperclip", "new", 5)] == ["fact", "kept"]
