"""Arithmetic written in a step worked out in words is computed as the model writes it."""

from pathlib import Path

import pytest

from agent import Agent, RunStatus, ScriptedModel
from agent.executing.worked_arithmetic import interjection
from agent.models.base import ChatModel, Message
from agent.models.catalog import resolve
from agent.tools.builtin import calculator

from moves import SOLVE


@pytest.mark.parametrize("text, value", [
    ("So 16 * 0.25 =", " 4"),
    ("So 16 * 0.25 = ", "4"),
    ("He has 4 (dozen) so 4 * 12 =", " 48"),
    ("total: $24 - 12 - 4.33 =", " 7.67"),
    ("Then \\( 16 \\times 0.25 = ", "4"),
    ("\\frac{24}{3} =", " 8"),
    ("1,250 + 3 =", " 1253"),
    ("25% of 16 =", " 4"),
    ("2 * 6 = 12 + 4 =", " 16"),  # a chain: the expression after the last "="
    ("Step 1. 3 * 4 =", " 12"),
    ("(6 * 2 + 4 =", " 16"),  # a bracket left open is closed
    ("\\[ 200 \\times 0.75 = 150 \\]\n\\[ 150 \\times 2 =", " 300"),
    ("\\[ \\text{Tennis balls} = 16 \\times 0.25 =", " 4"),
    ("\\[ x = 24.5 - 10.25 \\]\n\\[ x =", " 14.25"),  # the name given an expression on the line before
])
def test_an_expression_before_an_equals_sign_is_computed(text, value):
    assert interjection(text) == value


@pytest.mark.parametrize("text", [
    "x = 5 =",  # no operation
    "The answer is 5 =",
    "a == ",  # comparisons
    "if a <= ",
    "The total =",  # words
    "so 6 + 4) * 2 =",  # the bracket opened before the text: what is left is one number
    "7 / 0 =",  # the calculator refuses it: the model writes what it will
    "6 * 2 = 12",  # not at an equals sign
    "y = 3 * 4\nx =",  # another name
    "6 + x + 4.25 =",  # a variable in it
])
def test_nothing_is_written_where_there_is_nothing_to_compute(text):
    assert interjection(text) is None


def test_a_step_in_words_gets_exact_arithmetic_where_the_calculator_is_allowed(memory, tmp_path):
    reasoning = "Tennis balls: 16 * 0.25 = 3. Red ones: half of those, 4 / 2 = 3.\nAnswer: 2"
    model = ScriptedModel([SOLVE, reasoning], supports_interjection=True)
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "A juggler has 16 balls; 25% are tennis balls and half of those are red. How many red tennis balls?")
    assert result.status is RunStatus.done and result.usage.llm_calls == 2
    # each value as computed, in place of the number the model wrote
    assert result.final_answer == "Tennis balls: 16 * 0.25 = 4. Red ones: half of those, 4 / 2 = 2.\nAnswer: 2"
    assert model.calls[-1].max_new_tokens == 2 * 200  # the whole objective reasoned out: twice a step's room
    assert "step by step" in model.calls[-1].messages[-1]["content"]


def test_without_the_calculator_a_step_in_words_is_left_as_written(memory, tmp_path):
    model = ScriptedModel([SOLVE, "16 * 0.25 = 3.\nAnswer: 3"], supports_interjection=True)
    result = Agent(model=model, tools=[], memory=memory, run_dir=tmp_path / "runs").run("What is a quarter of 16?")
    assert result.final_answer == "16 * 0.25 = 3.\nAnswer: 3"


PROGRAM = "Jennifer's score is half of Mary's plus 13.\n```python\nmary = 456\njennifer = mary * 0.5 + 13\n" \
          "print(mary + jennifer)\n```\n```output\n"


def test_what_a_program_of_arithmetic_prints_is_written_into_its_output_block():
    assert interjection(PROGRAM) == "697\n```\n"
    assert interjection(PROGRAM.replace("print(mary + jennifer)", "import os")) is None  # not arithmetic alone
    assert interjection(PROGRAM.replace("```output\n", "")) is None  # not at an output block
    assert interjection(PROGRAM.replace("print(mary + jennifer)\n", "")) is None  # nothing printed


def test_a_made_up_program_output_is_replaced_by_what_the_program_prints(memory, tmp_path):
    model = ScriptedModel([SOLVE, PROGRAM + "729.0\n```\nThey scored 697 points in total.\nAnswer: 697"],
                          supports_interjection=True)
    result = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path / "runs").run(
        "Mary scored 456 points. Jennifer scored 13 more than 50% as many as Mary. How many points in total?")
    assert "```output\n697\n```\nThey scored" in result.final_answer and "729" not in result.final_answer


CACHE = Path(__file__).parent.parent / ".cache" / "agent"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnxruntime-genai", "transformers"])
def test_interjected_text_is_read_by_a_real_model_as_if_it_had_written_it(backend):
    if backend == "transformers":
        from agent.models.local import LocalModel
        model: ChatModel = LocalModel(resolve("smollm2-135m"), device="cpu", cache_dir=CACHE)
    else:
        from agent.models.ortgenai import OrtGenAIModel
        model = OrtGenAIModel(resolve("smollm2-135m"), cache_dir=CACHE, show_progress=False)
    asked: list[str] = []

    def interject(reply: str) -> str | None:
        asked.append(reply)
        return "4242 is" if len(asked) == 1 else None  # at the first "=" or line break

    messages: list[Message] = [{"role": "user", "content": "Write 6 * 7 =, 5 * 8 = and 9 * 9 = on three lines, "
                                                           "each with its value."}]
    generation = model.generate_interjected(messages, interject, max_new_tokens=60)
    assert asked and all(generation.text.startswith(reply.rstrip()) for reply in asked)  # the reply so far
    assert generation.text.startswith(asked[0] + "4242 is")  # and the model went on after the interjection
    assert len(generation.text) > len(asked[0] + "4242 is")
