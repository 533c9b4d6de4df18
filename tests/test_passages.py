"""Passages of the objective and parts of results, taken by reference; facts kept by one run, answered by the next."""

from typing import Any

from pydantic import Field

from agent import Agent, RunStatus, ScriptedModel
from agent.deciding.moves import Finish, literal_numbers
from agent.memory.base import FACT
from agent.prompt_files import render
from agent.records import Task, TaskStatus
from agent.text import hint, passages, renumber, resolve_refs, result_part
from agent.tools.base import Arguments, Tool

from moves import call, finish, plan

REVIEWS = "How many of these sentences are positive? (a) a dull , long film . (b) warm and funny . (c) superb ."


class TextsArguments(Arguments):
    texts: list[str] = Field(min_length=1, max_length=8)


class CountTexts(Tool[TextsArguments]):
    """Returns what it was given, with a count: stands in for a head tool."""

    name = "count_texts"
    description = "Counts texts."
    Arguments = TextsArguments

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[str]] = []

    def run(self, args: TextsArguments) -> Any:
        self.seen.append(list(args.texts))
        return {"count": len(args.texts), "names": list(args.texts)}


def told(objective: str) -> str:
    """The line of the prompt that names the objective's passages."""
    return render("passages", passages=hint(objective))


def offered_moves(schema: dict) -> set[str]:
    return {v["properties"]["next"]["const"] for v in schema["$defs"].values() if "next" in v["properties"]}


def test_enumerated_items_are_the_passages_whatever_their_labels():
    assert passages(REVIEWS) == {"a": "a dull , long film .", "b": "warm and funny .", "c": "superb ."}
    assert passages("Sort: (1) pears (2) figs") == {"a": "pears", "b": "figs"}
    assert told("Sort: (1) pears (2) figs") == "In arguments and answers, write {a}, {b} to insert exactly the " \
        "objective's texts (1), (2)."


def test_quoted_passages_then_the_text_after_a_colon_then_none():
    assert passages('Compare "the red one" with “the blue one”.') == {"a": "the red one", "b": "the blue one"}
    sentence = "Shares of Nokia rose in Helsinki after Siemens cut its forecast ."
    assert passages(f"List the named entities in: {sentence}") == {"a": sentence}
    assert told('Compare "the red one" with "the blue one".').endswith("the objective's quoted texts, in order.")
    assert told(f"List the named entities in: {sentence}").endswith("the objective's text after the colon.")
    assert passages("What is 17*23 in words?") == {} and told("What is 17*23 in words?") == ""
    assert passages("Hey, settle a bet for us: how many sides does a triangle have?") == {}  # the question itself


def test_arithmetic_expressions_are_passages_but_dates_are_not():
    assert passages("Evaluate: -161 - 859 - -453. Answer with the number.") == {"a": "-161 - 859 - -453"}
    assert passages("Solve ( 637 - -657 ) * 2.") == {"a": "( 637 - -657 ) * 2"}
    assert passages("What is 1,250 + 3,975 / 5?") == {"a": "1250 + 3975 / 5"}  # as the calculator reads it
    assert passages("How many days from 2023-02-01 to 07/12/2023?") == {}
    assert told("What is 614 * 624?").endswith("write {a} to insert exactly the objective's expression.")
    assert told("Is 2 + 3 more than 4 * 1?").endswith("the objective's expressions, in order.")


def test_references_insert_passages_and_a_list_written_in_one_string_is_split():
    found = passages(REVIEWS)
    assert resolve_refs({"texts": ["{a}", "{c}"]}, [], found) == {"texts": ["a dull , long film .", "superb ."]}
    assert resolve_refs(["{a}', '{b}"], [], found) == ["a dull , long film .", "warm and funny ."]
    assert resolve_refs(["{z} and {a}"], [], found) == ["{z} and a dull , long film ."]  # unknown labels stay


def test_a_reference_can_name_a_part_of_a_json_result():
    result = '{"counts": {"positive": 2, "negative": 1}, "names": ["Nokia", "Siemens"], "rows": [[1, 2]]}'
    assert result_part(result, ".counts.positive") == "2"
    assert result_part(result, ".names") == "Nokia, Siemens"  # a list of names reads as one
    assert result_part(result, ".rows.0") == "1, 2"
    assert result_part(result, ".counts.neutral") is None and result_part("383136", ".count") is None
    done = Task(id=1, description="d", result=result, status=TaskStatus.done)
    assert resolve_refs("{1.counts.positive} of 3; {1.nope}", [done]) == "2 of 3; {1.nope}"
    assert renumber("add {1.count} to {2}", first=4) == "add {4.count} to {5}"


def test_a_tool_gets_the_objectives_passages_and_the_answer_quotes_part_of_its_result(memory, tmp_path):
    tool = CountTexts()
    model = ScriptedModel([call("count_texts", texts=["{a}", "{b}", "{c}"]), finish("Counted {1.count}.")])
    result = Agent(model=model, tools=[tool], memory=memory, run_dir=tmp_path / "runs").run(REVIEWS)
    assert tool.seen == [["a dull , long film .", "warm and funny .", "superb ."]]
    assert result.status is RunStatus.done and result.final_answer == "Counted 3."
    assert "write {a}, {b}, {c} to insert exactly the objective's texts (a), (b), (c)" in \
        model.calls[0].messages[-1]["content"]


def test_an_answer_quoting_a_part_the_result_lacks_is_refused(memory, tmp_path):
    model = ScriptedModel([call("count_texts", texts=["{a}"]), finish("{1.total} texts"), finish("{1.count} texts")])
    result = Agent(model=model, tools=[CountTexts()], memory=memory, run_dir=tmp_path / "runs").run(REVIEWS)
    assert result.final_answer == "1 texts" and model.pending == 0
    assert "part of step 1's result that it does not have" in model.calls[2].messages[-1]["content"]


def test_a_fact_kept_by_one_run_answers_the_next_at_once(memory, tmp_path):
    keep = ScriptedModel([{"next": "remember", "fact": "Freya's locker number is 444."}])
    kept = Agent(model=keep, memory=memory, run_dir=tmp_path / "runs").run("Remember: Freya's locker number is 444.")
    assert kept.status is RunStatus.done and kept.usage.llm_calls == 1
    assert kept.final_answer == "Noted: Freya's locker number is 444."
    assert ("Freya's locker number is 444.", FACT) in [(text, meta["kind"]) for text, meta in memory.items.values()]

    ask = ScriptedModel([finish("Freya's locker number is 444.")])
    answered = Agent(model=ask, memory=memory, run_dir=tmp_path / "runs").run("What is Freya's locker number?")
    assert answered.status is RunStatus.done and answered.final_answer == "Freya's locker number is 444."
    assert "finish" in offered_moves(ask.calls[0].schema)  # a kept fact can answer before any step
    assert "Freya's locker number is 444." in ask.calls[0].messages[-1]["content"]


def test_an_answer_on_a_kept_fact_refused_once_makes_the_next_move_a_step(memory, tmp_path):
    from agent.tools.builtin import calculator

    memory.add("old:task-1", "one hinge costs 63 dollars.", {"kind": FACT, "run": "old"})
    model = ScriptedModel([finish("14 hinges cost {-1} dollars."), call("calculator", expression="14 * 63"),
                           finish("14 hinges cost {1} dollars.")])
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "How many dollars do 14 hinges cost?")
    assert result.final_answer == "14 hinges cost 882 dollars." and model.pending == 0
    assert "finish" in offered_moves(model.calls[0].schema)
    assert "finish" not in offered_moves(model.calls[1].schema)  # refused on the fact alone: a step comes next
    assert "calculator" in offered_moves(model.calls[1].schema)


def test_a_planned_step_sees_what_memory_recalled_when_its_tool_is_chosen(memory, tmp_path):
    from agent.tools.builtin import calculator

    memory.add("old:task-1", "one hinge costs 63 dollars.", {"kind": FACT, "run": "old"})
    model = ScriptedModel([plan("Compute the cost of 14 hinges", "Add the 5 dollars of shipping to {1}"),
                           call("calculator", expression="14 * 63"), call("calculator", expression="{1} + 5"),
                           finish("{2} dollars.")])
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "How many dollars do 14 hinges cost with 5 dollars of shipping?")
    assert result.final_answer == "887 dollars." and model.pending == 0
    assert "one hinge costs 63 dollars." in model.calls[1].messages[-1]["content"]  # choosing step 1's tool


def test_without_a_kept_fact_the_first_decision_cannot_finish(memory, tmp_path):
    memory.add("old:task-1", "calculator(expression=2 + 2)\n4", {"kind": "result", "run": "old"})
    model = ScriptedModel([call("count_texts", texts=["{a}"]), finish("{1.count}")])
    Agent(model=model, tools=[CountTexts()], memory=memory, run_dir=tmp_path / "runs").run(REVIEWS)
    offered = offered_moves(model.calls[0].schema)
    assert "finish" not in offered and "count_texts" in offered
    assert "remember" not in offered  # nothing asks to keep a fact


def test_remember_is_offered_only_when_the_objective_asks_to_keep_a_fact(memory, tmp_path):
    for objective, offered in (("Please keep in mind that the gate code is 4411.", True),
                               ("How many words are in 'the quick brown fox'?", False)):
        model = ScriptedModel([{"next": "solve"}], default="done")
        Agent(model=model, tools=[], memory=memory, run_dir=tmp_path / "runs").run(objective)
        assert ("remember" in offered_moves(model.calls[0].schema)) is offered


def test_an_answer_quoting_a_result_a_later_step_went_on_from_is_refused(memory, tmp_path):
    from agent.tools.builtin import calculator

    model = ScriptedModel([call("calculator", expression="859 + 444"), call("calculator", expression="{1} * 27"),
                           finish("The final number is {1}."), finish("The final number is {2}.")])
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "Add 859 and 444, then multiply the sum by 27.")
    assert result.final_answer == "The final number is 35181." and model.pending == 0
    assert "step 2 went on from it: write {2}" in model.calls[3].messages[-1]["content"]


def test_an_answer_quoting_a_result_a_later_step_retyped_is_refused_once(memory, tmp_path):
    from agent.tools.builtin import calculator, dates

    objective = "How many hours are there between July 12, 2021 and September 30, 2021?"
    days = call("dates", operation="days_between", date="2021-07-12", end_date="2021-09-30")
    short = finish("It is {1}.")
    model = ScriptedModel([days, call("calculator", expression="80 * 24"), short, finish("It is {2} hours.")])
    result = Agent(model=model, tools=[calculator, dates], memory=memory, run_dir=tmp_path / "runs").run(objective)
    assert result.final_answer == "It is 1920 hours." and model.pending == 0
    assert "step 2 went on from its result: write {2}" in model.calls[3].messages[-1]["content"]

    insisting = ScriptedModel([days, call("calculator", expression="80 * 24"), short, short])
    result = Agent(model=insisting, tools=[calculator, dates], memory=memory, run_dir=tmp_path / "r2").run(objective)
    assert result.final_answer.startswith("It is 2021-07-12 to 2021-09-30: 80 days")  # made again, it stands

    unrelated = ScriptedModel([days, call("calculator", expression="12 * 24"), short])
    result = Agent(model=unrelated, tools=[calculator, dates], memory=memory, run_dir=tmp_path / "r3").run(objective)
    assert unrelated.pending == 0  # 12 is the objective's own number: nothing went on from step 1


def test_a_call_quoting_a_step_that_has_no_result_is_refused_not_run(memory, tmp_path):
    from agent.tools.builtin import calculator

    model = ScriptedModel([call("calculator", expression="{1.count} * 14"), call("calculator", expression="2 * 14"),
                           finish("{1}")])
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run("Twice 14?")
    assert result.final_answer == "28" and [t.description for t in result.tasks] == ["calculator(expression=2 * 14)"]
    assert "refused (the call quotes step 1, which has no result yet)" in model.calls[1].messages[-1]["content"]


def test_braces_around_one_of_the_objectives_numbers_read_as_that_number(memory, tmp_path):
    from agent.tools.builtin import calculator

    model = ScriptedModel([call("calculator", expression="{859} + {444}"), call("calculator", expression="{1} * {27}"),
                           finish("It is {2}: {27} times the sum.")])
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "Add 859 and 444, then multiply the sum by 27.")
    assert [t.description for t in result.tasks] == ["calculator(expression=859 + 444)",
                                                     "calculator(expression={1} * 27)"]
    assert result.final_answer == "It is 35181: 27 times the sum." and model.pending == 0
    # a step the run could still have, a number the objective does not write, a part: left as written
    move = literal_numbers(Finish(next="finish", answer="{5}, {35181}, {859.count}, {859}"), "Add 859 and 5.", 1)
    assert move.answer == "{5}, {35181}, {859.count}, 859"
    # a negative number in braces names no step: the objective's own is read as the number, another stays a
    # placeholder ("14 hinges cost {-1}" stood in for a price the model did not have)
    move = literal_numbers(Finish(next="finish", answer="{-1}, { -2.5 }, {-x}, {-14}"),
                           "Answer with -1 if none, or -2.5 if 14 are missing.", 0)
    assert move.answer == "-1, -2.5, {-x}, {-14}"


def test_worked_examples_are_the_nearest_within_a_turn_budget():
    from agent.deciding.examples import worked_examples

    def embed(texts: list[str]) -> list[list[float]]:  # nearness by shared words with the first text
        words = set(texts[0].lower().split())
        return [[1.0]] + [[len(words & set(t.lower().split())) / 10] for t in texts[1:]]

    objective = "Add 25 and 17, then multiply the sum by 3. What is the final number?"
    turns = worked_examples({"calculator", "dates", "remember"}, objective, embed=embed, max_turns=6)
    assert 0 < len(turns) <= 6
    assert turns[-1][0].startswith(f"Objective: {objective}")  # the nearest example comes last, whole
    assert len(worked_examples({"calculator"}, objective, embed=embed, max_turns=2)) == 3  # one unit at least


def test_every_worked_example_is_a_valid_move_and_its_calculator_results_are_the_calculators():
    import re

    from agent.deciding.examples import _examples
    from agent.deciding.moves import decision_model
    from agent.records import Task, TaskStatus
    from agent.text import passages, resolve_refs
    from agent.tools.builtin import calculator, dates

    Decision = decision_model([calculator, dates], plan=True, finish=True, remember=True)
    checked = 0
    for example in _examples():
        if not set(example["tools"]) <= {"calculator", "dates", "remember"}:
            continue
        Decision.model_validate(example["reply"])  # the grammar could have produced it
        done: list[Task] = []
        for n, step in enumerate(example["tasks"], 1):
            if (call := re.fullmatch(r"calculator\(expression=(.+)\)", step["description"])) is not None:
                expression = resolve_refs(call.group(1), done, passages(example["objective"]))
                assert calculator(expression=expression) == step["result"], example["objective"]
                checked += 1
            done.append(Task(id=n, description=step["description"], result=step["result"], status=TaskStatus.done))
    assert checked >= 5
