"""The attack cases of benchmarks/reliability.py, each run once at a tiny size: only the counts that must be 0 are
checked here (the timings depend on the machine's load; the benchmark prints them against their targets)."""

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "reliability", Path(__file__).resolve().parent.parent / "benchmarks" / "reliability.py")
assert _SPEC is not None and _SPEC.loader is not None
reliability = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(reliability)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedder cache for the module: the encoder is exported into it once."""
    return tmp_path_factory.mktemp("embedder-cache")


def test_a_trickling_server_is_a_one_line_error_for_the_model_and_the_memory():
    figures = reliability.trickling_server(deadline=1.0, interval=0.2,
                                           memory_limits={"connect_timeout": 0.5, "read_timeout": 0.5, "attempts": 1})
    assert figures["not a one-line AgentError"] == 0, figures


def test_a_stuck_tool_returns_nothing_and_leaves_no_child():
    figures = reliability.stuck_tool(timeout=1.0)
    assert figures["ended"] == "ToolError", figures
    assert figures["results returned"] == 0 and figures["children left running"] == 0, figures


def test_references_to_a_result_full_of_references_stay_bounded(tmp_path, cache):
    figures = reliability.unbounded_references(tmp_path, cache)
    over = next(value for key, value in figures.items() if key.startswith("over the cap"))
    assert over == 0, figures


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> dict:
    return reliability.poisoned_experience(tmp_path_factory.mktemp("poisoned"), cache)


def test_a_poisoned_experience_never_reaches_the_prompt_outside_data(poisoned):
    assert all(figures["in prompts"] == 0 for name, figures in poisoned.items() if isinstance(figures, dict))
    assert poisoned["a step's result, answered {1}"]["in replayed replies"] == 0, poisoned
    assert poisoned["answer, no step"]["in replayed replies"] == 0, poisoned


def test_a_poisoned_answer_is_never_replayed_outside_data(poisoned):
    assert poisoned["PWNED outside <data>"] == 0, poisoned


def test_processes_creating_one_store_together_all_succeed_and_move_nothing_aside(tmp_path, cache):
    figures = reliability.concurrent_first_runs(1, tmp_path, cache, processes=4)
    assert figures["failed or traceback"] == 0 and figures["moved aside as damaged"] == 0, figures
    assert figures["texts missing"] == 0, figures


def test_a_full_disk_is_one_line_for_every_store(tmp_path, cache):
    figures = reliability.full_disk(tmp_path, cache, sizes=("64k",))
    if "skipped" in figures:
        pytest.skip(figures["skipped"])
    assert figures["traceback"] == 0 and figures["other"] == 0 and figures["moved aside"] == 0, figures
