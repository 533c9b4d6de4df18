"""The trajectory dataset: compressed, append-only, resumable, with provenance; stale runs are counted and
left out; training examples are mixed by kind; suites with splits train on `tune` only."""

import gzip
import json

import pytest

from agent.errors import UsageError
from agent.evaluation.suite import parse_suite
from agent.learning.dataset import FORMAT, TrajectoryLog, loop_version
from agent.learning.learn import mixed_by_kind, split_suite
from agent.learning.lora import LoraSettings
from agent.learning.trajectories import RecordedCall, Trajectory, collect
from agent.models.fake import ScriptedModel


def items(n: int, kind: str = "sums", split: str | None = None):
    return parse_suite([json.dumps({"id": f"{kind}-{i:02d}", "kind": kind, "template": f"{kind}/t0{i % 3 + 1}",
                                    **({"split": split} if split else {}), "objective": f"What is {i} + {i}?",
                                    "check": {"type": "number", "value": 2 * i}}) for i in range(n)])


def run_item(item, recorder):
    recorder.generate([{"role": "user", "content": item.objective}])
    return item.id.endswith("0"), f"answer to {item.id}"


def test_a_compressed_log_grows_one_member_per_run_and_reads_back_with_provenance(tmp_path):
    path = tmp_path / "runs.jsonl.gz"
    collect(items(2, split="tune"), ScriptedModel(default="r", name="teacher"), run_item, samples=1,
            temperature=0, log=TrajectoryLog(path), provenance={"weights": "abc123", "suite": "s.jsonl@0f0f"})
    first_size = path.stat().st_size
    collect(items(3, split="tune"), ScriptedModel(default="r", name="teacher"), run_item, samples=1,
            temperature=0, log=TrajectoryLog(path))  # a later session: only the third item runs
    assert path.stat().st_size > first_size
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()  # any gzip reader reads every member
    assert [json.loads(line)["item_id"] for line in lines] == ["sums-00", "sums-01", "sums-02"]
    run = TrajectoryLog(path).runs[0]
    assert json.loads(lines[0])["format"] == FORMAT
    assert (run.model, run.kind, run.template, run.split, run.weights, run.suite, run.loop) == (
        "teacher", "sums", "sums/t01", "tune", "abc123", "s.jsonl@0f0f", loop_version())
    assert run.collected[:2] == "20" and run.calls[0].reply == "r"


def test_a_run_cut_off_mid_write_is_cut_away_before_the_next_append(tmp_path):
    for name in ("runs.jsonl.gz", "runs.jsonl"):
        path = tmp_path / name
        collect(items(2), ScriptedModel(default="r"), run_item, samples=1, temperature=0, log=TrajectoryLog(path))
        whole = path.read_bytes()
        path.write_bytes(whole[:-7])  # the second run's record was cut off while written
        log = TrajectoryLog(path)
        assert [t.item_id for t in log.runs] == ["sums-00"]
        collect(items(2), ScriptedModel(default="r"), run_item, samples=1, temperature=0, log=log)
        assert [t.item_id for t in TrajectoryLog(path).runs] == ["sums-00", "sums-01"]  # collected again, intact


def test_damage_before_later_runs_is_one_line_and_nothing_is_cut(tmp_path):
    path = tmp_path / "runs.jsonl.gz"
    collect(items(3), ScriptedModel(default="r"), run_item, samples=1, temperature=0, log=TrajectoryLog(path))
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # inside the first member's compressed data
    path.write_bytes(bytes(data))
    with pytest.raises(UsageError, match="cannot read the collected runs"):
        TrajectoryLog(path)
    assert path.read_bytes() == bytes(data)


def test_runs_of_another_loop_are_stale_and_older_lines_are_converted(tmp_path):
    path = tmp_path / "runs.jsonl"
    call = {"messages": [{"role": "user", "content": "q"}], "schema": None, "reply": "a"}
    old = {"item_id": "sums-00", "sample": 0, "passed": True, "answer": "0", "calls": [call],
           "objective": "What is 0 + 0?", "model": "teacher"}  # format 1: no provenance
    other_loop = {"format": FORMAT, **old, "item_id": "sums-01", "objective": "What is 1 + 1?", "loop": "0" * 16}
    path.write_text(json.dumps(old) + "\n" + json.dumps(other_loop) + "\n")
    log = TrajectoryLog(path)
    assert len(log.runs) == 2 and log.converted == 1 and log.stale() == 2 and log.current() == []
    assert log.of("teacher", items(1)[0]) == []  # a stale run does not count as collected: it is run again
    collect(items(1), ScriptedModel(default="r", name="teacher"), run_item, samples=1, temperature=0, log=log)
    summary = TrajectoryLog(path).summary()
    assert (summary["runs"], summary["stale"], summary["converted"], summary["passing"]) == (1, 2, 1, 1)
    assert summary["passing_by_kind"] == {"sums": 1} and summary["by_model"] == {"teacher": 1}
    future = {**other_loop, "format": FORMAT + 1}
    path.write_text(json.dumps(future) + "\n")
    with pytest.raises(UsageError, match="line 1 is not a collected run"):
        TrajectoryLog(path)


class Tokens:
    """A tokenizer of characters, enough for to_examples."""

    unk_token_id, eos_token_id = 0, 1

    def convert_tokens_to_ids(self, token):
        return 2

    def apply_chat_template(self, messages, **_):
        return {"input_ids": [ord(c) for m in messages for c in m["content"]]}

    def __call__(self, text, **_):
        return {"input_ids": [ord(c) for c in text]}


def test_training_examples_are_shared_out_evenly_between_kinds():
    def runs(kind, n):
        return [Trajectory(f"{kind}-{i}", 0, True, "a", [RecordedCall([{"role": "user", "content": f"{kind} {i}"}],
                                                                      None, "reply")], kind=kind) for i in range(n)]

    kept = runs("easy", 40) + runs("rare", 3) + runs("mid", 10)
    chosen = mixed_by_kind(kept, Tokens(), LoraSettings(max_examples=18))
    texts = ["".join(chr(t) for t in e.input_ids) for e in chosen]
    by_kind = {k: sum(t.startswith(k) for t in texts) for k in ("easy", "rare", "mid")}
    assert len(chosen) == 18 and by_kind["rare"] == 3  # the rare kind keeps every example it has
    assert by_kind["mid"] >= 6 and by_kind["easy"] <= 9  # and the easy one does not crowd out the others
    assert len(mixed_by_kind(kept, Tokens(), LoraSettings(max_examples=500))) == 53  # under budget: all of them


def test_a_suite_with_splits_trains_on_tune_and_compares_on_the_held_out_splits():
    suite = [*items(4, "a", "tune"), *items(2, "b", "heldout_template"), *items(2, "c", "heldout_kind")]
    train, dev = split_suite(suite, 0.25)
    assert {i.split for i in train} == {"tune"} and {i.split for i in dev} == {"heldout_template", "heldout_kind"}
    train, dev = split_suite(items(20), 0.25)  # no splits named: a stable quarter
    assert train and dev and len(train) + len(dev) == 20


def test_collect_only_fills_the_dataset_and_a_rerun_adds_nothing(monkeypatch, capsys, tmp_path):
    from cli_calls import cli

    suite_file = tmp_path / "suite.jsonl"
    suite_file.write_text("\n".join(json.dumps({"id": f"sums-{i}", "kind": "sums", "split": split,
                                                "objective": f"What is {i} + 1?", "check": {"type": "number",
                                                                                           "value": i + 1}})
                                    for i, split in enumerate(["tune", "tune", "heldout_template"])))
    loaded = []

    def fake_load(settings, spec=None):
        loaded.append(spec or settings.model)
        return ScriptedModel(default='{"answer": "2"}', name=spec or "student")

    monkeypatch.setattr("agent.run.agent.load_configured_model", fake_load)
    monkeypatch.setattr("agent.models.adapted.base_directory", lambda spec, cache: tmp_path)
    monkeypatch.setattr("agent.models.adapted.weights_key", lambda directory, cache=None: "k" * 16)
    monkeypatch.setenv("AGENT_RUN_DIR", str(tmp_path / "rd"))
    data = tmp_path / "data" / "runs.jsonl.gz"
    args = ("learn", str(suite_file), "--teacher", "big", "--collect-only", "--trajectories", str(data),
            "--samples", "1", "--max-cycles", "2")
    monkeypatch.setattr("agent.models.check_model", lambda *a, **k: None)
    code, out, err = cli(monkeypatch, capsys, *args)
    assert code == 0, err
    log = TrajectoryLog(data)
    assert [t.item_id for t in log.runs] == ["sums-0", "sums-1"]  # the tune items only
    assert {(t.model, t.weights, t.split) for t in log.runs} == {("big", "k" * 16, "tune")}
    assert log.runs[0].suite.startswith("suite.jsonl@") and "2 runs of this loop" in out
    assert "student" not in loaded[1:]  # only the collecting model was loaded, no base to train
    code, out, err = cli(monkeypatch, capsys, *args)
    assert code == 0 and len(TrajectoryLog(data).runs) == 2  # nothing collected twice
    for flags in (["--collect-only"], ["--train-only"], ["--collect-only", "--train-only", "--trajectories", "x"]):
        code, _, err = cli(monkeypatch, capsys, "learn", str(suite_file), *flags)
        assert code == 2 and ("--trajectories" in err or "contradict" in err) and len(err.strip().splitlines()) == 1


def test_a_pulled_teacher_preset_is_found_in_the_configured_cache(monkeypatch, capsys, tmp_path):
    from cli_calls import cli

    from agent.models.catalog import PRESETS, models_dir, pulled_path

    cache = tmp_path / "cache"
    weights = pulled_path("qwen2.5-coder-0.5b", models_dir(cache))
    weights.parent.mkdir(parents=True)
    with weights.open("wb") as out:
        out.truncate(PRESETS["qwen2.5-coder-0.5b"].size)  # sparse: the size is what a pulled preset is known by
    suite_file = tmp_path / "suite.jsonl"
    suite_file.write_text(json.dumps({"id": "sums-0", "split": "tune", "objective": "What is 0 + 1?",
                                      "check": {"type": "number", "value": 1}}) + "\n" + json.dumps(
        {"id": "sums-1", "split": "heldout_kind", "objective": "What is 1 + 1?", "check": {"type": "number",
                                                                                      "value": 2}}))
    monkeypatch.setattr("agent.run.agent.load_configured_model",
                        lambda settings, spec=None: ScriptedModel(default="1", name=spec or "student"))
    monkeypatch.setattr("agent.models.adapted.base_directory", lambda spec, cache: tmp_path)
    monkeypatch.setattr("agent.models.adapted.weights_key", lambda directory, cache=None: "k" * 16)
    monkeypatch.setenv("AGENT_CACHE_DIR", str(cache))
    monkeypatch.setenv("AGENT_RUN_DIR", str(tmp_path / "rd"))
    code, _, err = cli(monkeypatch, capsys, "learn", str(suite_file), "--teacher", "qwen2.5-coder-0.5b",
                       "--collect-only", "--trajectories", str(tmp_path / "runs.jsonl"), "--samples", "1")
    assert code == 0, err
    weights.unlink()
    code, _, err = cli(monkeypatch, capsys, "learn", str(suite_file), "--teacher", "qwen2.5-coder-0.5b",
                       "--collect-only", "--trajectories", str(tmp_path / "runs.jsonl"))
    assert code != 0 and "agent models pull qwen2.5-coder-0.5b" in err


def test_train_only_trains_on_the_dataset_without_collecting(tmp_path, monkeypatch):
    from agent.config import build_settings
    from agent.learning import learn as learn_module
    from agent.learning.learn import learn
    from agent.tools.registry import select_tools

    log = TrajectoryLog(tmp_path / "runs.jsonl.gz")
    log.add(Trajectory("sums-01", 0, True, "2", [RecordedCall([{"role": "user", "content": "What is 1 + 1?"}],
                                                              None, "2")], "What is 1 + 1?", "teacher", kind="sums"))
    trained_on = []

    def fake_examples(kept, tokenizer, lora):
        trained_on.extend(t.objective for t in kept)
        raise UsageError("stop here")

    monkeypatch.setattr(learn_module, "mixed_by_kind", fake_examples)
    student = ScriptedModel(default="never asked")
    student.tokenizer = None  # never used: the examples are the fake's
    with pytest.raises(UsageError, match="stop here"):
        learn(items(3)[2:], items(1), student, build_settings({"run_dir": tmp_path / "runs", "max_cycles": 1}),
              {t.name: t for t in select_tools(["calculator"])}, tmp_path / "adapter", base_key="k", samples=1,
              log=log, collect_missing=False)
    assert trained_on == ["What is 1 + 1?"] and student.calls == []  # "What is 2 + 2?" was never run


def test_stale_passing_runs_are_replayed_under_this_loop_and_the_rest_dropped(tmp_path):
    from agent.config import build_settings
    from agent.learning.learn import SuiteRunner
    from agent.learning.replay import replay_stale
    from agent.tools.registry import select_tools

    from moves import call, finish

    suite = parse_suite([json.dumps({"id": f"sums-{i}", "kind": "sums", "objective": f"Add {i}1 and {i}2.",
                                     "check": {"type": "number", "value": 2 * (10 * i) + 3}}) for i in range(3)])
    runner = SuiteRunner(build_settings({"run_dir": tmp_path / "runs", "max_cycles": 4}),
                         {t.name: t for t in select_tools(["calculator", "dates"])}, tmp_path / "scratch")
    path = tmp_path / "runs.jsonl.gz"
    teacher = ScriptedModel([call("calculator", expression="1 + 2"), finish("It is {1}."),
                             call("calculator", expression="11 + 12"), finish("It is {1}."),
                             call("calculator", expression="21 + 22"), finish("It is 7.")], name="teacher")
    collect(suite, teacher, runner, samples=1, temperature=0, log=TrajectoryLog(path))
    fresh = TrajectoryLog(path).runs
    assert [t.passed for t in fresh] == [True, True, False]

    # the same runs as an older loop recorded them: other prompts, another loop version; sums-1's first reply
    # is altered so that under this loop its answer no longer passes
    path.unlink()
    old = TrajectoryLog(path)
    for run in fresh:
        calls = [RecordedCall([{**m, "content": "an older prompt: " + m["content"]} for m in c.messages], c.schema,
                              c.reply, c.purpose, c.rejected) for c in run.calls]
        if run.item_id == "sums-1":
            calls[0].reply = json.dumps(call("calculator", expression="11 * 12"))
        old.add(Trajectory(**{**run.__dict__, "calls": calls, "loop": "0ld0ld0ld0ld0ld0"}))
    log = TrajectoryLog(path)
    assert log.stale() == 3 and log.current() == []
    assert replay_stale(log, suite, runner) == (1, 2)  # sums-1 no longer passes; sums-2 never did
    again = TrajectoryLog(path)
    (converted,) = again.current()
    assert (converted.item_id, converted.model, converted.replayed_from) == ("sums-0", "teacher", "0ld0ld0ld0ld0ld0")
    assert [c.messages for c in converted.calls] == [c.messages for c in fresh[0].calls]  # this loop's prompts
    assert [c.reply for c in converted.calls] == [c.reply for c in fresh[0].calls]
    assert again.summary()["replayed"] == 1
    assert replay_stale(again, suite[:1], runner) == (0, 0)  # converted once, never again

    # a run already replayed once, under a loop that is now old too, has two recordings: only the newest replays
    twice = TrajectoryLog(tmp_path / "twice.jsonl.gz")
    for loop in ("0ld0ld0ld0ld0ld0", "m1dm1dm1dm1dm1d"):
        twice.add(Trajectory(**{**fresh[0].__dict__, "loop": loop}))
    assert replay_stale(twice, suite[:1], runner) == (1, 0)
    (once,) = TrajectoryLog(tmp_path / "twice.jsonl.gz").current()
    assert once.replayed_from == "m1dm1dm1dm1dm1d"
