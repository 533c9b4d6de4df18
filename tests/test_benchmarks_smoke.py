"""Every script under benchmarks/ runs as a user runs it (`python benchmarks/X.py ...` from the repository root),
at the smallest size that still runs for real on the embedded default model on CPU, so that a change of the
agent's API that breaks a benchmark fails here instead of on the day someone measures. Figures are never
checked, only that each run ends well and prints the figures it names. benchmarks/reliability.py (the long
hardening probes) is left to its own tests."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = os.environ.get("AGENT_TEST_CACHE", str(ROOT / ".cache" / "agent"))  # the engine cache the suite shares
BROAD = str(ROOT / "examples" / "suites" / "broad" / "broad.jsonl")
HAS_SMOLAGENTS = importlib.util.find_spec("smolagents") is not None
# easy enough that the 135M model answers them (with the calculator), so that the learning paths run whole
DEV = [{"id": "arith-a", "kind": "arithmetic", "objective": "What is 12 + 30? Answer with the number.",
        "check": {"type": "number", "value": 42, "tolerance": 0}, "tools": ["calculator"]},
       {"id": "arith-b", "kind": "arithmetic", "objective": "What is 9 + 8? Answer with the number.",
        "check": {"type": "number", "value": 17, "tolerance": 0}, "tools": ["calculator"]}]
TRAIN = [{"id": "arith-c", "kind": "arithmetic", "objective": "What is 7 * 6? Answer with the number.",
          "check": {"type": "number", "value": 42, "tolerance": 0}, "tools": ["calculator"]}]


def bench(script: str, *args: object, runs: Path, cache: str | Path = CACHE,
          timeout: float = 900) -> subprocess.CompletedProcess:
    """`python benchmarks/<script> ARGS` from the repository root, its runs under `runs`, the shared cache."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AGENT_CACHE_DIR": str(cache), "AGENT_RUN_DIR": str(runs)}
    return subprocess.run([sys.executable, f"benchmarks/{script}", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ran(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """A refusal as a user must see it: a nonzero exit and one line on stderr, no traceback."""
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr[-3000:]
    return done.stderr


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def slow_if(condition: bool):
    return pytest.mark.slow if condition else lambda test: test


def scratch_cache(where: Path) -> Path:
    """A cache of its own over the shared one, for a run that writes a new model into its cache (a trained
    adapter merged, and built into an engine: over 600 MB a run, never used again): the shared cache's
    dequantized weights, embedder and built engines are linked in, so nothing already built is built again."""
    from agent.models.catalog import resolve
    from agent.models.engine_build import engine_dir

    shared = Path(CACHE)
    engine_dir(resolve("smollm2-135m"), shared, show_progress=False)  # built once into the shared cache
    cache = where / "cache"
    (cache / "engines").mkdir(parents=True)
    for name in ("models", "embedder"):
        if (shared / name).is_dir():
            (cache / name).symlink_to(shared / name)
    for built in (shared / "engines").iterdir():
        (cache / "engines" / built.name).symlink_to(built)
    return cache


@pytest.fixture(scope="module")
def ner_run(heads_data, tmp_path_factory) -> tuple[Path, str, Path]:
    """train_ner_full.py on 16 sentences for one epoch: its head (for checks_ablation too), output and summary."""
    where = tmp_path_factory.mktemp("ner")
    summary = where / "summary.json"
    out = ran(bench("train_ner_full.py", "--data-dir", heads_data, "--out", where / "ner", "--epochs", 1,
                    "--max-train-examples", 16, "--max-eval-examples", 16, "--device", "cpu", "--json", summary,
                    runs=where / "runs"))
    return where / "ner", out, summary


@pytest.fixture(scope="module")
def sentiment_head(heads_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sentiment") / "head"
    done = subprocess.run([sys.executable, "-m", "agent", "heads", "train", "sentiment", "--data", str(heads_data),
                           "--out", str(out), "--epochs", "1", "--max-train-examples", "16",
                           "--max-eval-examples", "16", "--device", "cpu"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=900)
    ran(done)
    return out


@pytest.fixture(scope="module")
def outcomes_run(tmp_path_factory) -> tuple[str, Path]:
    """outcomes.py on one broad-suite item, the agent and the model alone, its --log kept."""
    where = tmp_path_factory.mktemp("outcomes")
    log = where / "log.jsonl"
    out = ran(bench("outcomes.py", "--suite", BROAD, "--kinds", "arithmetic", "--limit", 1, "--skip-peer",
                    "--no-experience", "--device", "cpu", "--log", log, runs=where / "runs"))
    return out, log


@pytest.mark.slow
def test_generation_runs_every_section_but_the_cold_load(tmp_path):
    # `load` builds an engine model from nothing in a scratch cache (over a minute on 2 cores); the load_model
    # call it makes in a fresh process is the one decode's warm start makes
    sections = ["decode", "constrained", "batch", "prefix", "llama_cpp"]
    out = ran(bench("generation.py", "--quick", "--tokens", 2, "--batch-tokens", 2, "--device", "cpu",
                    "--cache-dir", CACHE, "--only", *sections, runs=tmp_path / "runs"))
    results = json.loads(out[out.rindex("\n{\n") + 1:])  # the whole report comes last, indented
    assert {"model", "device", "torch_threads", *sections} <= set(results)
    decode = results["decode"]
    assert {"bandwidth_GBps", "decode", "prefill", "constrained", "prefix", "warm_start_s"} <= set(decode)
    for kind in ("decode", "prefill"):
        assert {"transformers_float32", "onnxruntime-genai"} <= set(decode[kind])
        assert all("tok_s" in figure and "x_transformers_fp32" in figure for figure in decode[kind].values())
    assert {"free_tok_s", "constrained_tok_s", "overhead_per_token"} <= set(decode["constrained"])
    assert {"with_reuse_ttft_ms", "without_reuse_ttft_ms", "ttft_ratio"} <= set(decode["prefix"])
    assert {"free_tok_s", "constrained_tok_s", "overhead", "grammar_compile_ms"} <= set(results["constrained"])
    assert {"sequential_tok_s", "batch2_tok_s", "speedup", "greedy_equal"} <= set(results["batch"])
    assert {"with_reuse", "without_reuse", "prompt_tokens", "ttft_ratio"} <= set(results["prefix"])
    assert "skipped" in results["llama_cpp"] or "ratio" in results["llama_cpp"]


@pytest.mark.slow
def test_outcomes_runs_the_agent_and_the_model_alone_and_reprints_its_log(outcomes_run, tmp_path):
    out, log = outcomes_run
    for name in ("objectives achieved per kind", "per split", "agent (ours)", "model alone", "arithmetic", "total",
                 "median calls, single-step", "median s, all", "parse failures", "parse-failure answers", "errors"):
        assert name in out, name
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [row["runner"] for row in rows] == ["agent (ours)", "model alone"]
    again = ran(bench("outcomes.py", "--from-log", log, runs=tmp_path / "runs"))
    assert "objectives achieved per kind" in again and "agent (ours)" in again and "model alone" in again


@pytest.mark.slow
def test_outcomes_warms_experience_up_on_tune_items_then_measures_on_it_frozen(tmp_path):
    log = tmp_path / "log.jsonl"
    out = ran(bench("outcomes.py", "--suite", BROAD, "--kinds", "arithmetic", "--limit", 1, "--skip-peer",
                    "--skip-alone", "--warm-up", "tune", "--splits", "heldout_template",
                    "--device", "cpu", "--log", log, runs=tmp_path / "runs"))
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["runner"], r["split"]) for r in rows] == [("warm-up", "tune"), ("agent (ours)", "heldout_template")]
    assert "agent (ours)" in out and "heldout_template" in out


def test_outcomes_prints_the_tables_of_a_log_without_a_model(tmp_path):
    row = {"kind": "arithmetic", "template": "arithmetic/t01", "status": "done", "llm_calls": 2, "tokens": 900,
           "seconds": 1.5, "parse_failures": 0, "answer": "42", "error": None, "refused_by": []}
    log = write_jsonl(tmp_path / "log.jsonl", [
        {"runner": "agent (ours)", "id": "a-1", "split": "tune", "success": True, **row},
        {"runner": "agent (ours)", "id": "a-2", "split": "heldout_template", "success": False, **row},
        {"runner": "model alone", "id": "a-1", "split": "tune", "success": False, **row}])
    out = ran(bench("outcomes.py", "--from-log", log, "--items", runs=tmp_path / "runs"))
    for name in ("objectives achieved per kind", "per split", "heldout_template", "agent (ours)", "model alone",
                 "median calls, single-step", "every item", "a-2"):
        assert name in out, name


@pytest.mark.slow
def test_checks_ablation_reruns_the_items_a_check_refused_with_it_off(outcomes_run, ner_run, sentiment_head,
                                                                     tmp_path):
    from agent.answering.checks import NAMES

    _, log = outcomes_run
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    agent_rows = [row for row in rows if row["runner"] == "agent (ours)"]
    fired = next((name for row in agent_rows for name in row["refused_by"]), None)
    if fired is None:  # no check refused a move of the one item: say one did, so that its rerun runs for real
        fired = NAMES[0]
        agent_rows[0]["refused_by"] = [fired]
    never = next(name for name in NAMES if name != fired and all(name not in r["refused_by"] for r in agent_rows))
    reruns = tmp_path / "reruns.jsonl"
    out = ran(bench("checks_ablation.py", "--log", write_jsonl(tmp_path / "log.jsonl", rows), "--suite", BROAD,
                    "--ner-head", ner_run[0], "--sentiment-head", sentiment_head, "--checks", f"{fired},{never}",
                    "--out", reruns, runs=tmp_path / "runs"))
    for name in ("answer checks switched off one at a time", "fired on", "passed with it", "passed without it",
                 "difference", fired, never, "never fired"):
        assert name in out, name
    rerun = [json.loads(line) for line in reruns.read_text().splitlines()]
    assert rerun and {r["check_off"] for r in rerun} == {fired}
    assert {r["id"] for r in rerun} <= {row["id"] for row in agent_rows}


@pytest.mark.slow
def test_single_step_times_agent_run_in_a_new_process_and_on_a_resident_engine(tmp_path):
    out = ran(bench("single_step.py", "--kinds", "arithmetic", "--per-kind", 1, "--no-warm-up", "--resident",
                    runs=tmp_path / "runs"))
    lines = out.strip().splitlines()
    assert len(lines) == 4, out
    for label, (row, total) in (("process", lines[:2]), ("resident", lines[2:])):
        assert row.split()[:2] == [label, row.split()[1]] and row.split()[1].startswith("arith-"), row
        assert "calls" in row and "passed" in row and "error" not in row, row  # a failed run says so on its line
        assert total.startswith(f"{label}: median wall") and "median model calls" in total and "over 1 runs" in total
    assert not (Path(CACHE) / "serve.json").exists()  # the benchmark's server stopped and withdrew its file


@pytest.mark.slow
def test_learning_measures_experience_and_agent_learn(tmp_path):
    out = ran(bench("learning.py", "--dev", write_jsonl(tmp_path / "dev.jsonl", DEV),
                    "--train", write_jsonl(tmp_path / "train.jsonl", TRAIN), "--limit", 2, "--train-limit", 1,
                    "--samples", 1, "--epochs", 1, "--max-examples", 1, "--max-cycles", 2, runs=tmp_path / "runs",
                    cache=scratch_cache(tmp_path), timeout=1200))
    assert "(a) experience memory:" in out and "won with experience" in out
    assert "(b) agent learn on 1 objectives:" in out
    figures = json.loads(out.strip().splitlines()[-1])
    experience = figures["experience"]
    assert {"warm_up", "stored", "without", "with"} <= set(experience)
    assert experience["warm_up"]["n"] == experience["with"]["n"] == 1
    # a learn that found no passing run to train on says so and stops: that is not the path measured here
    assert "error" not in figures["learn"], f"{figures['learn']} (pick a training objective the model passes)"
    assert {"base", "adapter", "training", "kept", "examples", "kept_runs"} <= set(figures["learn"])


@pytest.mark.slow
def test_train_ner_full_trains_and_scores_a_head(ner_run):
    head, out, summary = ner_run
    for name in ("entity", "micro avg", "epochs_run", "valid_entity_f1", "test_entity_micro_f1",
                 "test_token_micro_f1_without_o"):
        assert name in out, name
    assert json.loads(summary.read_text())["train_sentences"] == 16
    assert (head / "head.json").is_file()


@slow_if(HAS_SMOLAGENTS)
def test_peer_smolagents_runs_or_says_in_one_line_that_smolagents_is_missing(tmp_path):
    if not HAS_SMOLAGENTS:  # not in the test extra: the scripts must say what to install, not fail part way
        refused = one_line_error(bench("peer_smolagents.py", "--limit", 1, runs=tmp_path / "runs"))
        assert "smolagents is not installed" in refused and "agent[peer]" in refused
        refused = one_line_error(bench("outcomes.py", "--suite", BROAD, "--limit", 1, runs=tmp_path / "runs"))
        assert "smolagents is not installed" in refused and "--skip-peer" in refused
        return
    out = ran(bench("peer_smolagents.py", "--limit", 1, "--max-steps", 1, "--max-cycles", 2, "--device", "cpu",
                    runs=tmp_path / "runs"))
    for name in ("same suite, same model, greedy decoding", "agent (ours)", "smolagents", "success",
                 "calls (mean)", "parse fails"):
        assert name in out, name


@pytest.mark.slow
def test_prefill_compares_the_engine_with_transformers_on_one_prompt(tmp_path):
    out = ran(bench("prefill.py", "--variants", "shipped", "--repeats", 1, "--prompt-tokens", 32,
                    runs=tmp_path / "runs"))
    lines = out.strip().splitlines()
    assert lines[0].startswith("smollm2-135m, 32-token prompt") and lines[1].startswith("transformers fp32")
    assert lines[2].startswith("shipped, threads default") and "x transformers" in lines[2] and "decode" in lines[2]
    assert "DIFFERS" not in out


def test_prompt_budget_counts_prompt_tokens_per_call_kind_over_a_directory_of_runs(tmp_path):
    from agent import Agent, ScriptedModel
    from agent.tools.builtin import calculator

    for n in (3, 4):  # two runs of two calls each: decide a call, then decide the answer
        model = ScriptedModel([{"next": "calculator", "arguments": {"expression": f"{n} * 2"}},
                               {"next": "finish", "answer": "{1}"}])
        Agent(model=model, tools=[calculator], run_dir=tmp_path / "runs", experience=False,
              shared_memory=False, default_adapter=False).run(f"What is {n} * 2?")
    figures = json.loads(ran(bench("prompt_budget.py", tmp_path / "runs", "--json", runs=tmp_path / "unused")))
    assert figures["runs"] == 2 and set(figures["purposes"]) == {"decide"}
    assert figures["purposes"]["decide"]["calls"] == 4 and figures["purposes"]["decide"]["share"] == 1.0
    assert figures["median_prompt_tokens_per_run"] > 0
    text = ran(bench("prompt_budget.py", tmp_path / "runs", runs=tmp_path / "unused"))
    assert text.startswith("2 runs; median prompt tokens per run") and "decide" in text
    assert "no runs" in bench("prompt_budget.py", tmp_path / "empty", runs=tmp_path / "unused").stderr
    assert figures["median_read_tokens_per_run"] is None  # the scripted model does not count what it reads


def test_prompt_budget_shows_the_tokens_an_engine_read_beside_those_it_was_sent(tmp_path):
    from agent import Agent, ScriptedModel
    from agent.tools.builtin import calculator

    class Counting(ScriptedModel):  # an engine that reads 7 tokens a call, the rest from a reused prefix
        prefilled_tokens = 0

        def generate(self, messages, **kwargs):
            self.prefilled_tokens += 7
            return super().generate(messages, **kwargs)

    model = Counting([{"next": "calculator", "arguments": {"expression": "3 * 2"}},
                      {"next": "finish", "answer": "{1}"}])
    Agent(model=model, tools=[calculator], run_dir=tmp_path / "runs", experience=False,
          shared_memory=False, default_adapter=False).run("What is 3 * 2?")
    figures = json.loads(ran(bench("prompt_budget.py", tmp_path / "runs", "--json", runs=tmp_path / "unused")))
    assert figures["median_read_tokens_per_run"] == 14 and figures["purposes"]["decide"]["median_read"] == 7
    assert figures["median_prompt_tokens_per_run"] > 14  # sent: the whole prompts, every call
    assert "median tokens read per run" in ran(bench("prompt_budget.py", tmp_path / "runs", runs=tmp_path / "unused"))
