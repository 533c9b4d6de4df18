"""The transformers backend with the embedded SmolLM2 on CPU: every structured call is valid by construction,
batched greedy replies equal sequential ones, prefix reuse changes nothing but speed, grammars are cached."""

import inspect
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.deciding.moves import FinalAnswer, decision_model
from agent.models.catalog import resolve
from agent.models.local import LocalModel
from agent.prompt_files import render
from agent.prompting.structured import ask, parse_reply
from agent.prompting.templates import conversation
from agent.records import Task, TaskStatus
from agent.tools.builtin import calculator

pytestmark = pytest.mark.slow
STRUCTURED = inspect.signature(ask).parameters["max_new_tokens"].default
CACHE = Path(__file__).parent.parent / ".cache" / "agent"
OBJECTIVES = ["List three uses of a paperclip", "Compute the total cost of 3 books at 12.50 each",
              "Plan a picnic for four people"]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(resolve("smollm2-135m"), device="cpu", cache_dir=CACHE)


def structured_calls():
    step = Task(id=2, description="Rank them by usefulness")
    done = Task(id=1, description="Find three uses", result="Bookmark, reset pin, zipper pull.",
                status=TaskStatus.done)
    yield decision_model([calculator], plan=True, finish=False), render("decide", recalls=[], tasks=[], dropped=[],
                                                                        refused=None, passages={})
    yield decision_model([calculator], plan=False, finish=True), render("decide", recalls=[], tasks=[done],
                                                                         dropped=[], refused=None, passages={})
    yield decision_model([calculator], plan=False, finish=False), render("step", recalls=[], tasks=[done], task=step,
                                                                     passages={})
    yield FinalAnswer, render("final", tasks=[done])


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_structured_call_validates_where_free_decoding_fails(model, objective):
    free_failures = 0
    for output_type, prompt in structured_calls():
        messages = conversation(objective, prompt, render("system", tools=[calculator], decide=True))
        # the loop's own budget for a structured call: every bounded field fits in it, even a looping one
        constrained = model.generate(messages, schema=output_type.model_json_schema(), max_new_tokens=STRUCTURED)
        parse_reply(constrained.text, output_type)  # raises if not valid
        free = model.generate(messages, max_new_tokens=120)
        try:
            parse_reply(free.text, output_type)
        except ValidationError:
            free_failures += 1
    assert free_failures >= 2  # the prompts do make the unconstrained model fail (see tests/golden/)


def test_batched_greedy_equals_sequential(model):
    conversations = [conversation(OBJECTIVES[0], render("execute", recalls=[], tasks=[], step=d, compute=True))
                     for i, d in enumerate(["Describe a paperclip bookmark", "Explain a paperclip reset pin",
                                            "Say how a paperclip holds cables"], 1)]
    model.reuse_prefix = False
    sequential = [model.generate(c, max_new_tokens=20).text for c in conversations]
    batched = [g.text for g in model.generate_batch(conversations, max_new_tokens=20)]
    model.reuse_prefix = True
    with_prefix = [model.generate(c, max_new_tokens=20).text for c in conversations]
    assert batched == sequential == with_prefix
    assert model.prefixes.ids  # the shared prefix was learnt and reused


def test_compiled_grammars_are_reused_from_disk(model, tmp_path):
    from agent.models.grammar import GrammarCache

    schema = decision_model([calculator], plan=True, finish=False).model_json_schema()
    first = GrammarCache(model.tokenizer, model.model.config.vocab_size, model.eos_ids, directory=tmp_path)
    first.compiled(schema)
    assert len(list(tmp_path.glob("*.json"))) == 1
    second = GrammarCache(model.tokenizer, model.model.config.vocab_size, model.eos_ids, directory=tmp_path)
    assert second._load(json.dumps(schema, sort_keys=True)) is not None


def test_a_compiler_that_ignores_a_length_beside_a_pattern_keeps_the_length_over_an_unbounded_pattern():
    from agent.models.base import length_over_pattern

    schema = {"properties": {
        "expression": {"type": "string", "pattern": "^(?:[^{]|\\{[^0-9])*$", "maxLength": 300},
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "maxLength": 60},
        "free": {"type": "string", "pattern": "^a+$"}}}
    kept = length_over_pattern(schema)["properties"]
    assert kept["expression"] == {"type": "string", "maxLength": 300}  # else it could run to the token limit
    assert kept["date"] == schema["properties"]["date"]  # a bounded pattern is its own bound
    assert kept["free"] == schema["properties"]["free"]  # nothing to keep in its place
    assert "pattern" in schema["properties"]["expression"]  # the caller's schema is left as it was

