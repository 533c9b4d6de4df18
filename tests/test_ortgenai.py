"""The onnxruntime-genai backend on the embedded SmolLM2: its engine model is built once per session (cached under
.cache/ across sessions), every structured call is valid against its schema, batches and deadlines work, a reused
prompt prefix changes nothing but the work done, a damaged cache is rebuilt, a bad GGUF is one line."""

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from agent.deciding.moves import decision_model
from agent.errors import ModelError
from agent.models import load_model
from agent.models.catalog import resolve
from agent.models.engine_build import MANIFEST, cache_root, engine_dir, is_sound
from agent.models.ortgenai import OrtGenAIModel, strict_schema
from agent.prompting.structured import bounded
from agent.prompting.templates import conversation
from agent.tools.builtin import calculator

CACHE = Path(__file__).parent.parent / ".cache" / "agent"
OBJECTIVES = ["List three uses of a paperclip", "Compute the total cost of 3 books at 12.50 each"]


class Step(BaseModel):
    description: str = Field(max_length=120)
    depends_on: list[int] = Field(default_factory=list, max_length=3)


class Plan(BaseModel):
    tasks: list[Step] = Field(max_length=3)


class Verdict(BaseModel):
    done: bool
    reason: str = Field(max_length=160)


Choice = decision_model([calculator], plan=True, finish=False)  # the agent's own decide shape

SCHEMAS = [(Plan, "Break the objective into at most three tasks. Reply in JSON."),
           (Verdict, "Is the objective met? Reply in JSON with done and reason."),
           (Choice, "Pick a tool for the first task, or solve it in words. Reply in JSON.")]


@pytest.fixture(scope="session")
def engine() -> Path:
    return engine_dir(resolve("smollm2-135m"), CACHE, show_progress=False)


@pytest.fixture(scope="module")
def model(engine) -> OrtGenAIModel:
    return OrtGenAIModel(resolve("smollm2-135m"), cache_dir=CACHE)


@pytest.mark.slow
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_structured_call_is_valid(model, objective):
    for output_type, prompt in SCHEMAS:
        reply = model.generate(conversation(objective, prompt), schema=bounded(output_type.model_json_schema()),
                               max_new_tokens=300)  # bounded strings, as every call of the agent
        output_type.model_validate_json(reply.text)  # raises if not valid
        assert reply.prompt_tokens > 20 and 0 < reply.completion_tokens <= 300


@pytest.mark.slow
def test_batch_gives_one_valid_reply_per_conversation(model):
    conversations = [conversation(o, SCHEMAS[1][1]) for o in OBJECTIVES + ["Plan a picnic for four people"]]
    replies = model.generate_batch(conversations, schema=Verdict.model_json_schema(), max_new_tokens=120)
    assert len(replies) == 3
    for reply in replies:
        Verdict.model_validate_json(reply.text)
    free = model.generate_batch(conversations[:2], max_new_tokens=12)
    assert len(free) == 2 and all(0 < g.completion_tokens <= 12 and g.text.strip() for g in free)


@pytest.mark.slow
def test_prefix_reuse_gives_the_same_greedy_output_with_less_prefill(model):
    conversations = [conversation(OBJECTIVES[0], f"Describe use number {i} of a paperclip in one sentence.")
                     for i in range(1, 4)]
    model.reuse_prefix = False
    before = model.prefilled_tokens
    fresh = [model.generate(c, max_new_tokens=16).text for c in conversations]
    full = model.prefilled_tokens - before
    model.reuse_prefix = True
    before = model.prefilled_tokens
    reused = [model.generate(c, max_new_tokens=16).text for c in conversations]
    assert reused == fresh
    assert model.prefilled_tokens - before < full * 0.6  # the shared system prompt + objective was not read again


@pytest.mark.slow
def test_structured_calls_with_different_schemas_share_one_cache(model):
    """A run's decide calls differ in schema (finish is offered once a step settled): the second one still
    rewinds to the prefix the first one left, and replies exactly as it would from a fresh cache."""
    first = conversation(OBJECTIVES[0], "Choose the next move. Reply in JSON.")
    second = conversation(OBJECTIVES[0], "Step 1 is done: its result is 42. Choose the next move. Reply in JSON.")
    schemas = [decision_model([calculator], plan=True, finish=f).model_json_schema() for f in (False, True)]
    model.reuse_prefix = False
    fresh = model.generate(second, schema=schemas[1], max_new_tokens=60).text
    model.reuse_prefix = True
    model.generate(first, schema=schemas[0], max_new_tokens=60)
    before = model.prefilled_tokens
    reply = model.generate(second, schema=schemas[1], max_new_tokens=60)
    assert reply.text == fresh
    assert model.prefilled_tokens - before < reply.prompt_tokens * 0.5


@pytest.mark.slow
def test_guided_decoding_matches_the_engines_own_guidance(model):
    """The grammar masks applied here choose, token for token, what the engine's built-in guidance chooses."""
    import numpy as np
    import onnxruntime_genai as og

    schema = Plan.model_json_schema()
    messages = conversation(OBJECTIVES[1], SCHEMAS[0][1])
    ids = model.prompt_ids(messages)
    params = og.GeneratorParams(model.model)
    params.set_guidance("json_schema", strict_schema(schema))
    params.set_search_options(max_length=model.context, do_sample=False)
    generator = og.Generator(model.model, params)
    generator.append_tokens(np.asarray(ids, dtype=np.int32))
    engine: list[int] = []
    while not generator.is_done() and len(engine) < 120:
        generator.generate_next_token()
        engine.append(int(generator.get_next_tokens()[0]))
    engine = [t for t in engine if t not in model.eos_ids]
    ours = model.generate(messages, schema=schema, max_new_tokens=120)
    assert ours.text == model._text(engine)
    assert ours.completion_tokens == len(engine)


@pytest.mark.slow
def test_deadline_stops_generation(model):
    reply = model.generate(conversation(OBJECTIVES[0], "Describe each use in detail."), max_new_tokens=200,
                           deadline=time.monotonic())
    assert reply.completion_tokens == 0 and reply.text == ""


@pytest.mark.slow
def test_a_deadline_passed_before_the_prefill_reads_no_prompt_and_a_far_one_changes_nothing(model, monkeypatch):
    """Under a deadline the prompt goes in by chunks, the deadline checked before each: a long prefill ends at
    the deadline, not after the whole prompt. Read in chunks, a prompt gives the reply it gives read whole."""
    messages = conversation(OBJECTIVES[1], "Work out the cost step by step. " * 40)
    before = model.prefilled_tokens
    late = model.generate(messages, max_new_tokens=20, deadline=time.monotonic() - 1)
    assert (late.text, late.completion_tokens, model.prefilled_tokens - before) == ("", 0, 0)
    model.reuse_prefix = False
    whole = model.generate(messages, max_new_tokens=20).text
    monkeypatch.setattr("agent.models.ortgenai.PREFILL_CHUNK", 64)
    before = model.prefilled_tokens
    chunked = model.generate(messages, max_new_tokens=20, deadline=time.monotonic() + 600)
    model.reuse_prefix = True
    assert chunked.text == whole and chunked.prompt_tokens > 4 * 64
    assert model.prefilled_tokens - before == chunked.prompt_tokens


def test_strict_schema_closes_objects_keeps_field_order_and_fixes_whitespace():
    strict = json.loads(strict_schema(Plan.model_json_schema()))
    assert strict["additionalProperties"] is False
    assert strict["$defs"]["Step"]["additionalProperties"] is False
    assert strict["x-guidance"] == {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
    # fields keep their declared order: the grammar writes them in this order, so sorting them would force a
    # model to start a reply with a field it does not expect
    assert list(strict["$defs"]["Step"]["properties"]) == list(Plan.model_json_schema()["$defs"]["Step"]["properties"])


@pytest.mark.slow
def test_loading_a_built_model_does_not_import_torch(engine):
    code = ("import sys; from agent.models import load_model; "
            f"m = load_model('smollm2-135m', device='cpu', cache_dir=__import__('pathlib').Path({str(CACHE)!r})); "
            "assert type(m).__name__ == 'OrtGenAIModel', type(m); "
            "m.generate([{'role': 'user', 'content': 'Hi'}], max_new_tokens=2); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_damaged_cache_is_rebuilt(engine, tmp_path):
    # a private cache holding a copy of the built model, and a link to the dequantized weights it was built from
    models = CACHE / "models"
    (tmp_path / "models").mkdir()
    for built in models.iterdir():
        if built.is_dir() and not built.name.startswith("."):
            (tmp_path / "models" / built.name).symlink_to(built)
    copy = cache_root(tmp_path) / engine.name
    shutil.copytree(engine, copy)
    data = copy / "model.onnx.data"
    with data.open("r+b") as handle:
        handle.truncate(data.stat().st_size // 2)  # as if the disk filled up while it was written
    key = json.loads((copy / MANIFEST).read_text())["key"]
    assert not is_sound(copy, key)
    model = OrtGenAIModel(resolve("smollm2-135m"), cache_dir=tmp_path, show_progress=False)
    assert model.directory == copy and is_sound(copy, key)
    assert model.generate(conversation(OBJECTIVES[0], "Say hello."), max_new_tokens=4).completion_tokens > 0
    assert not [p for p in cache_root(tmp_path).iterdir() if p.name.startswith(".staging-")]


@pytest.mark.slow
def test_a_same_size_garbled_tokenizer_is_rebuilt_with_a_line(engine, tmp_path, caplog):
    """Damage the manifest cannot see (same size, other bytes): the load fails, a line says so, it is rebuilt."""
    models = CACHE / "models"
    (tmp_path / "models").mkdir()
    for built in models.iterdir():
        if built.is_dir() and not built.name.startswith("."):
            (tmp_path / "models" / built.name).symlink_to(built)
    copy = cache_root(tmp_path) / engine.name
    shutil.copytree(engine, copy)
    tokenizer = copy / "tokenizer.json"
    tokenizer.write_bytes(b"\x00" * tokenizer.stat().st_size)
    key = json.loads((copy / MANIFEST).read_text())["key"]
    assert is_sound(copy, key)  # the sizes still match
    with caplog.at_level(logging.WARNING, logger="agent"):
        model = OrtGenAIModel(resolve("smollm2-135m"), cache_dir=tmp_path, show_progress=False)
    assert any("damaged" in r.getMessage() and "building it again" in r.getMessage() for r in caplog.records)
    assert model.generate(conversation(OBJECTIVES[0], "Say hello."), max_new_tokens=4).completion_tokens > 0


def test_missing_manifest_means_unsound(tmp_path):
    (tmp_path / "genai_config.json").write_text("{}")
    assert not is_sound(tmp_path, "anything")


def test_foreign_file_named_gguf_is_one_line_error(tmp_path):
    foreign = tmp_path / "weights.gguf"
    foreign.write_bytes(b"PK\x03\x04" + b"\0" * 4096)
    with pytest.raises(ModelError, match="not a GGUF file"):
        load_model(str(foreign), backend="onnxruntime-genai", cache_dir=tmp_path)


def test_truncated_gguf_is_one_line_error(tmp_path):
    source = resolve("smollm2-135m")
    truncated = tmp_path / "cut.gguf"
    with (source.directory / str(source.gguf_file)).open("rb") as full:
        truncated.write_bytes(full.read(20_000_000))
    with pytest.raises(ModelError, match="truncated") as caught:
        load_model(str(truncated), backend="onnxruntime-genai", cache_dir=tmp_path)
    assert "\n" not in str(caught.value)
    assert not (cache_root(tmp_path)).exists() or not list(cache_root(tmp_path).glob("cut-*"))


@pytest.mark.slow
def test_sampling_draws_valid_varied_replies_and_greedy_returns_after(model, monkeypatch):
    """What `agent learn` collects with: sampled replies stay valid under the grammar, one seed gives one
    reply, several seeds give several, and after the block decoding is greedy (and the same) again. Without
    prefix reuse: a rewound cache may tip a greedy near-tie (KV computed one token at a time differs slightly)."""
    monkeypatch.setattr(model, "reuse_prefix", False)
    prompt = conversation(OBJECTIVES[0], SCHEMAS[0][1])
    schema = bounded(Plan.model_json_schema())
    greedy = model.generate(prompt, schema=schema, max_new_tokens=120).text
    free = model.generate(prompt, max_new_tokens=12).text
    drawn = []
    for seed in (1, 2, 3, 1):
        with model.sampling(1.0, seed):
            reply = model.generate(prompt, schema=schema, max_new_tokens=120).text
            text = model.generate(prompt, max_new_tokens=12).text
        Plan.model_validate_json(reply)
        drawn.append((reply, text))
    assert drawn[0] == drawn[3] and len({d[0] for d in drawn}) >= 2 and len({d[1] for d in drawn}) >= 2
    assert model.generate(prompt, schema=schema, max_new_tokens=120).text == greedy
    assert model.generate(prompt, max_new_tokens=12).text == free


@pytest.mark.slow
def test_a_prompt_beyond_the_context_is_fitted_not_fatal(model):
    from agent.events import ModelCalled
    from agent.prompting.meter import Meter

    assert model.context == 4096  # the 135M: the cache of the 8,192 it was trained for is over the budget
    small = OrtGenAIModel(resolve("smollm2-135m"), cache_dir=CACHE, context=1024)  # the same, read faster
    events: list = []
    meter = Meter(small, max_tokens=10**6, max_seconds=600, emit=events.append)
    recall = " ".join(f"note {n}: the locker number was {n}." for n in range(500))  # ~5,000 tokens
    messages = conversation("What was the first locker number?", f"Remembered:\n<data>{recall}</data>\nAnswer.")
    generation = meter.generate(messages, purpose="execute", max_new_tokens=16)
    called = next(e for e in events if isinstance(e, ModelCalled))
    assert generation.prompt_tokens <= 1024 - 16 and "characters of material" in called.left_out


def test_the_context_is_the_trained_one_within_the_cache_budget():
    from agent.models.ortgenai import supported_context

    def config(layers, kv_heads, head, trained):
        return {"context_length": trained, "decoder": {"num_hidden_layers": layers, "num_key_value_heads": kv_heads,
                                                       "head_size": head}}
    assert supported_context(config(30, 3, 64, 8192)) == 4096  # smollm2-135m
    assert supported_context(config(24, 2, 64, 32768)) == 8192  # qwen2.5-coder-0.5b
    assert supported_context(config(28, 2, 128, 32768)) == 4096  # qwen2.5-coder-1.5b: never under 4,096
    assert supported_context(config(24, 2, 64, 2048)) == 2048  # never past what it was trained for
