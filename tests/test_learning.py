"""agent learn: recorded calls, trajectory collection, supervised examples, LoRA adapters and their checks."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from agent.errors import UsageError
from agent.evaluation.suite import parse_suite
from agent.learning.learn import learn, split_suite, success_by_kind
from agent.learning.trajectories import RecordedCall, RecordingModel, collect, kind_of
from agent.models.adapted import META_FILE, AdapterMeta, find_adapter, read_meta, weights_key
from agent.models.fake import ScriptedModel


def suite(n: int = 8):
    return parse_suite([json.dumps({"id": f"arith-{i:02d}", "objective": f"What is {i} + {i}?",
                                    "check": {"type": "number", "value": 2 * i}}) for i in range(n)])


def test_recording_model_records_calls_with_purposes_and_rejections():
    from agent.events import ModelCalled, OutputRejected

    recorder = RecordingModel(ScriptedModel(["first", "second", "third"]))
    for text in ("a", "b", "c"):
        recorder.generate([{"role": "user", "content": text}], schema={"title": "X"} if text == "b" else None)
        kind = {"a": "plan", "b": "decide", "c": "final"}[text]
        recorder.observe(ModelCalled(purpose=kind, prompt_tokens=1, completion_tokens=1, seconds=0.1,
                                     tokens_per_second=10.0))
        if text == "b":
            recorder.observe(OutputRejected(purpose=kind, error="bad", attempt=1, output="second"))
    assert [(c.messages[0]["content"], c.reply, c.purpose, c.rejected) for c in recorder.calls] == [
        ("a", "first", "plan", False), ("b", "second", "decide", True), ("c", "third", "final", False)]
    assert recorder.calls[1].schema == {"title": "X"}


def test_collect_runs_a_non_sampling_model_once_per_item():
    seen = []

    def run_item(item, recorder):
        recorder.generate([{"role": "user", "content": item.objective}])
        seen.append(item.id)
        return item.id.endswith("1"), "answer"

    trajectories = collect(suite(3), ScriptedModel(default="x"), run_item, samples=4, temperature=0.8)
    assert seen == ["arith-00", "arith-01", "arith-02"]  # greedy once: the scripted model cannot sample
    assert [t.passed for t in trajectories] == [False, True, False]
    assert trajectories[1].calls[0].messages[0]["content"] == "What is 1 + 1?"


def test_split_is_stable_and_disjoint():
    items = suite(40)
    train, dev = split_suite(items, 0.25)
    again_train, again_dev = split_suite(list(reversed(items)), 0.25)
    assert {i.id for i in train} == {i.id for i in again_train} and {i.id for i in dev} == {i.id for i in again_dev}
    assert not {i.id for i in train} & {i.id for i in dev} and 4 <= len(dev) <= 18
    with pytest.raises(UsageError, match="empty train or held-out split"):
        split_suite(items[:1], 0.25)


def test_kinds_and_scores():
    assert kind_of("arith-07") == "arith" and kind_of("gsm-symbolic-12") == "gsm-symbolic" and kind_of("x") == "x"
    score = success_by_kind(suite(3), [True, False, True])
    assert score["passed"] == 2 and score["by_kind"] == {"arith": {"passed": 2, "n": 3}} and "by_split" not in score
    split = parse_suite([json.dumps({"id": f"k-{i}", "split": s, "objective": "q", "check": {"type": "number",
                                                                                          "value": 1}})
                         for i, s in enumerate(["heldout_kind", "heldout_template", "heldout_kind"])])
    assert success_by_kind(split, [True, False, False])["by_split"] == {
        "heldout_kind": {"passed": 1, "n": 2}, "heldout_template": {"passed": 0, "n": 1}}


def test_a_suite_with_no_passing_trajectory_keeps_nothing(tmp_path):
    from agent.config import build_settings
    from agent.tools.registry import select_tools

    model = ScriptedModel(default="I do not know.")
    model.tokenizer = None  # never reached: learning stops before any example is built
    out = tmp_path / "adapter"
    with pytest.raises(UsageError, match="no run passed its check on 2 training objectives"):
        learn(suite(2), suite(1), model, build_settings({"run_dir": tmp_path / "runs", "max_cycles": 1}),
              {t.name: t for t in select_tools(["calculator", "dates"])}, out, base_key="k", samples=2)
    assert not out.exists()


def write_adapter(directory, **meta):
    directory.mkdir()
    (directory / "adapter_config.json").write_text("{}")
    save_file({"lora_A": np.zeros((2, 4), dtype=np.float32)}, str(directory / "adapter_model.safetensors"))
    values = {"base_model": "smollm2-135m", "base_key": "abc", "created": "now", **meta}
    (directory / META_FILE).write_text(AdapterMeta(**values).model_dump_json())
    return directory


def test_adapters_are_found_by_path_name_or_latest(tmp_path):
    kept = tmp_path / "runs" / ".adapters"
    kept.mkdir(parents=True)
    for name, created in (("b-older", "2026-01-02T00:00:00+00:00"), ("a-newer", "2026-03-04T00:00:00+00:00")):
        write_adapter(kept / name, base_model="m", base_key="k", created=created)
    runs = tmp_path / "runs"
    assert find_adapter(kept / "b-older", runs) == kept / "b-older"
    assert find_adapter("b-older", runs) == kept / "b-older"
    assert find_adapter("latest", runs) == kept / "a-newer"  # by creation time, not by name
    with pytest.raises(UsageError, match="neither a directory nor a name"):
        find_adapter("nope", runs)
    with pytest.raises(UsageError, match="no adapter has been kept"):
        find_adapter("latest", tmp_path / "elsewhere")


def test_run_with_an_unknown_adapter_name_is_one_line(monkeypatch, capsys, tmp_path):
    from cli_calls import cli

    code, out, err = cli(monkeypatch, capsys, "run", "What is 2 + 2?", "--adapter", "nope",
                         "--run-dir", str(tmp_path / "runs"))
    assert code == 2 and "neither a directory nor a name" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_preset_serves_the_adapter_it_ships_with_unless_turned_off(monkeypatch):
    import dataclasses

    from agent.config import build_settings
    from agent.models import adapted as adapters
    from agent.models import catalog
    from agent.run import agent as agent_module

    preset = dataclasses.replace(catalog.PRESETS["smollm2-135m"], adapter="demo-adapter")
    monkeypatch.setitem(catalog.PRESETS, "smollm2-135m", preset)
    assert adapters.bundled_adapter("smollm2-135m").parts[-2:] == ("adapters", "demo-adapter")
    assert adapters.bundled_adapter("qwen2.5-coder-0.5b") is None
    served = []
    monkeypatch.setattr(adapters, "load_adapted", lambda settings, spec: served.append(settings.adapter) or "adapted")
    monkeypatch.setattr("agent.models.load_model", lambda spec, **options: "plain")
    assert agent_module.load_configured_model(build_settings({"model": "smollm2-135m"})) == "adapted"
    assert served == [adapters.bundled_adapter("smollm2-135m")]
    off = build_settings({"model": "smollm2-135m", "default_adapter": False})
    assert agent_module.load_configured_model(off) == "plain"


def test_the_weights_key_is_remembered_and_follows_the_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    cache = tmp_path / "cache"
    first = weights_key(tmp_path, cache)
    assert (cache / "engines" / "hashes.json").is_file() and weights_key(tmp_path, cache) == first
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert weights_key(tmp_path, cache) != first


def test_corrupt_or_incomplete_adapter_dirs_are_usage_errors(tmp_path):
    assert read_meta(write_adapter(tmp_path / "good")).base_key == "abc"
    with pytest.raises(UsageError, match="not a directory"):
        read_meta(tmp_path / "missing")
    broken = write_adapter(tmp_path / "broken")
    (broken / "adapter_model.safetensors").unlink()
    with pytest.raises(UsageError, match=r"incomplete or corrupt \(adapter_model.safetensors missing\)"):
        read_meta(broken)
    garbled = write_adapter(tmp_path / "garbled")
    (garbled / META_FILE).write_text("{not json")
    with pytest.raises(UsageError, match="is corrupt"):
        read_meta(garbled)
    for cut in (1000, 8, 3):  # mid-data, mid-header, inside the header's length
        truncated = write_adapter(tmp_path / f"truncated-{cut}")
        weights = truncated / "adapter_model.safetensors"
        weights.write_bytes(weights.read_bytes()[:min(cut, weights.stat().st_size - 4)])
        with pytest.raises(UsageError, match=r"is corrupt: adapter_model.safetensors: .*: train it again"):
            read_meta(truncated)


# --- the real model -----------------------------------------------------------------------------------------

MESSAGES = [{"role": "user", "content": "What is 17 * 23? Answer with the number."}]


@pytest.fixture(scope="module")
def cache_dir():
    from agent.config import load_settings

    return load_settings().cache_dir  # the user's cache: the dequantized default model is converted once


@pytest.fixture(scope="module")
def base_dir(cache_dir):
    from agent.models.adapted import base_directory

    return base_directory("smollm2-135m", cache_dir)


@pytest.mark.slow
def test_lora_train_save_load_and_checks(tmp_path, base_dir, cache_dir):
    from agent.config import build_settings
    from agent.learning.learn import _stage
    from agent.learning.lora import LoraSettings, attach_lora, to_examples, train_lora
    from agent.models.adapted import load_adapted, weights_key
    from agent.run.agent import load_configured_model

    settings = build_settings({"run_dir": tmp_path / "runs", "cache_dir": cache_dir, "device": "cpu",
                               "backend": "transformers", "default_adapter": False})  # the plain weights
    model = load_configured_model(settings)
    plain = model.generate(MESSAGES, max_new_tokens=24).text
    # no adapter: the configured model is the plain model, greedy replies identical
    assert load_configured_model(settings).generate(MESSAGES, max_new_tokens=24).text == plain

    calls = [RecordedCall(MESSAGES, None, "391"), RecordedCall(MESSAGES, None, "391"),
             RecordedCall(MESSAGES, None, "rejected", rejected=True)]
    examples = to_examples(calls, model.tokenizer, 512)
    assert len(examples) == 1  # duplicates and rejected replies are not targets
    reply_ids = [t for t in examples[0].labels if t != -100]
    assert model.tokenizer.decode(reply_ids) == "391<|im_end|>"

    peft_model = attach_lora(model.model, LoraSettings(rank=4, alpha=8, lr=2e-3, epochs=8, batch_size=1))
    model.swap_weights(peft_model)
    assert model.generate(MESSAGES, max_new_tokens=24).text == plain  # a fresh adapter is the identity
    figures = train_lora(peft_model, examples * 4, LoraSettings(rank=4, alpha=8, lr=2e-3, epochs=8, batch_size=2),
                         model.tokenizer.pad_token_id)
    assert figures["epoch_losses"][-1] < figures["epoch_losses"][0]
    out = tmp_path / "adapter"
    _stage(peft_model, tmp_path, AdapterMeta(base_model="smollm2-135m", base_key=weights_key(base_dir),
                                             created="now")).rename(out)
    assert json.loads((out / META_FILE).read_text())["figures"]["size_bytes"] < 20 * 2**20

    adapted = load_adapted(settings.model_copy(update={"adapter": out}))
    assert adapted.generate(MESSAGES, max_new_tokens=8).text.strip().startswith("391")
    # the CPU engine serves it as merged weights, built into an engine once
    engine = load_adapted(settings.model_copy(update={"adapter": out, "backend": "onnxruntime-genai"}))
    assert type(engine).__name__ == "OrtGenAIModel" and engine.name.endswith("+adapter")
    assert engine.generate(MESSAGES, max_new_tokens=8).text.strip().startswith("391")

    meta = json.loads((out / META_FILE).read_text())
    (out / META_FILE).write_text(json.dumps({**meta, "base_key": "0" * 16}))
    with pytest.raises(UsageError, match="was trained on smollm2-135m"):
        load_adapted(settings.model_copy(update={"adapter": out}))


def test_collect_runs_greedily_first_then_samples_until_two_pass():
    from contextlib import contextmanager

    class Sampler(ScriptedModel):
        supports_sampling = True

        def __init__(self):
            super().__init__(default="x")
            self.mode, self.modes = "greedy", []

        @contextmanager
        def sampling(self, temperature, seed):
            self.mode = (temperature, seed)
            yield
            self.mode = "greedy"

    model = Sampler()

    def run_item(item, recorder):
        model.modes.append((item.id, model.mode))
        return item.id == "arith-00" or len(model.modes) % 2 == 0, "answer"

    trajectories = collect(suite(2), model, run_item, samples=4, temperature=0.7, seed=5)
    assert model.modes == [("arith-00", "greedy"), ("arith-00", (0.7, 6)),  # two passes: the next item
                           ("arith-01", "greedy"), ("arith-01", (0.7, 1006)), ("arith-01", (0.7, 1007)),
                           ("arith-01", (0.7, 1008))]
    assert [(t.item_id, t.sample, t.passed) for t in trajectories][2:] == [
        ("arith-01", 0, False), ("arith-01", 1, True), ("arith-01", 2, False), ("arith-01", 3, True)]


def test_moves_the_loop_refused_or_dropped_are_never_training_targets(tmp_path, memory):
    from agent import Agent
    from agent.tools.builtin import calculator

    from moves import call, finish

    model = ScriptedModel([call("calculator", expression="859 + 444"), call("calculator", expression="859 + 444"),
                           call("calculator", expression="{1} * 27"), finish("It is {1}."), finish("It is {2}.")])
    recorder = RecordingModel(model)
    result = Agent(model=recorder, tools=[calculator], memory=memory, run_dir=tmp_path).run(
        "Add 859 and 444, then multiply the sum by 27.", on_event=recorder.observe)
    assert result.final_answer == "It is 35181."
    kept = [c.reply for c in recorder.calls if not c.rejected]  # the repeat and the refused answer are out
    assert [json.loads(r) for r in kept] == [call("calculator", expression="859 + 444"),
                                             call("calculator", expression="{1} * 27"), finish("It is {2}.")]


def test_the_weights_key_ignores_the_transformers_version_a_config_was_saved_with(tmp_path):
    config = {"model_type": "llama", "vocab_size": 49152, "transformers_version": "5.23.0"}
    for name, version, vocab in (("old", "5.23.0", 49152), ("new", "5.24.0", 49152), ("other", "5.24.0", 100)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({**config, "transformers_version": version,
                                                                   "vocab_size": vocab}, indent=1))
        (tmp_path / name / "model.safetensors").write_bytes(b"weights")
    keys = {name: weights_key(tmp_path / name, tmp_path / "cache") for name in ("old", "new", "other")}
    assert keys["old"] == keys["new"] != keys["other"]  # a newer release saved the same weights: same key


def test_collected_runs_are_logged_and_a_rerun_collects_only_what_is_missing(tmp_path):
    from agent.learning.dataset import TrajectoryLog

    ran = []

    def run_item(item, recorder):
        recorder.generate([{"role": "user", "content": item.objective}])
        ran.append(item.id)
        return item.id != "arith-01", f"answer to {item.id}"

    path = tmp_path / "runs.jsonl"
    first = collect(suite(2), ScriptedModel(default="reply"), run_item, samples=1, temperature=0,
                    log=TrajectoryLog(path))
    assert ran == ["arith-00", "arith-01"] and len(path.read_text().splitlines()) == 2
    again = TrajectoryLog(path)  # a new process: read back from the file
    second = collect(suite(3), ScriptedModel(default="reply"), run_item, samples=1, temperature=0, log=again)
    assert ran == ["arith-00", "arith-01", "arith-02"]  # only the new objective ran
    assert [(t.item_id, t.passed, t.objective, t.model) for t in second[:2]] == [
        (t.item_id, t.passed, t.objective, t.model) for t in first]
    assert second[0].calls[0].messages == [{"role": "user", "content": "What is 0 + 0?"}]
    assert second[0].calls[0].reply == "reply" and second[0].model == "scripted"
    other = collect(suite(1), ScriptedModel(default="other", name="teacher"), run_item, samples=1,
                    temperature=0, log=again)  # another model's runs are its own
    assert ran[-1] == "arith-00" and other[0].model == "teacher" and len(again.runs) == 4


def test_a_run_cut_off_while_logged_is_collected_again_and_a_corrupt_log_is_one_line(tmp_path):
    from agent.learning.dataset import TrajectoryLog

    def run_item(item, recorder):
        recorder.generate([{"role": "user", "content": item.objective}])
        return True, "ok"

    path = tmp_path / "runs.jsonl"
    collect(suite(2), ScriptedModel(default="r"), run_item, samples=1, temperature=0, log=TrajectoryLog(path))
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:40])  # the second run's line was cut off mid-write
    log = TrajectoryLog(path)
    assert [t.item_id for t in log.runs] == ["arith-00"]
    path.write_text("{not json\n" + lines[0] + "\n")
    with pytest.raises(UsageError, match="line 1 is not a collected run"):
        TrajectoryLog(path)


def test_learn_trains_on_every_passing_logged_run_but_never_a_held_out_objective(tmp_path, monkeypatch):
    from agent.config import build_settings
    from agent.learning import learn as learn_module
    from agent.learning.dataset import TrajectoryLog
    from agent.learning.trajectories import Trajectory
    from agent.tools.registry import select_tools

    log = TrajectoryLog(tmp_path / "runs.jsonl")
    dev = suite(1)  # "What is 0 + 0?"
    for objective, model in (("What is 0 + 0?", "teacher"), ("Name a colour.", "teacher")):
        log.add(Trajectory("x", 0, True, "a", [RecordedCall([{"role": "user", "content": objective}], None, "a")],
                           objective, model))
    trained_on = []

    def fake_examples(calls, tokenizer, max_length):
        trained_on.extend(c.messages[0]["content"] for c in calls)
        raise UsageError("stop here")  # what is trained on is what this test checks

    monkeypatch.setattr(learn_module, "to_examples", fake_examples)
    model = ScriptedModel(default="I do not know.")
    model.tokenizer = None  # never used: examples are the fake's
    with pytest.raises(UsageError, match="stop here"):
        learn(parse_suite([json.dumps({"id": "w-00", "objective": "What is 5 + 5?",
                                       "check": {"type": "number", "value": 10}})]), dev, model,
              build_settings({"run_dir": tmp_path / "runs", "max_cycles": 1}),
              {t.name: t for t in select_tools(["calculator", "dates"])}, tmp_path / "adapter", base_key="k",
              samples=1, log=log)
    assert trained_on == ["Name a colour."]  # the teacher's run of a held-out objective is left out
    assert [t.objective for t in log.runs][-1] == "What is 5 + 5?"  # the model's own failed run was logged


def test_learn_with_an_unreadable_trajectory_file_is_one_line_and_keeps_nothing(monkeypatch, capsys, tmp_path):
    from cli_calls import cli

    suite_file = tmp_path / "suite.jsonl"
    suite_file.write_text("\n".join(json.dumps({"id": f"arith-{i}", "objective": f"What is {i} + 1?",
                                                "check": {"type": "number", "value": i + 1}}) for i in range(8)))
    runs = tmp_path / "runs.jsonl"
    runs.write_text('{"item_id": 1}\n{"item_id": 2}\n')  # not collected runs
    out = tmp_path / "adapter"
    monkeypatch.setenv("AGENT_RUN_DIR", str(tmp_path / "rd"))
    code, _, err = cli(monkeypatch, capsys, "learn", str(suite_file), "--trajectories", str(runs), "--out", str(out))
    assert code == 2 and "line 1 is not a collected run" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert runs.read_text() == '{"item_id": 1}\n{"item_id": 2}\n'  # left as it was
