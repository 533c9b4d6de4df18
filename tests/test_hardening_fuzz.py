"""Fuzzed model files and traces: the only outcomes are a result or one clear error, never a crash."""

import contextlib
import json
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ModelError
from agent.models.validate import check_gguf
from agent.observing.trace import read_trace

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)
kinds = st.sampled_from(["run_started", "task_started", "task_finished", "tool_called", "model_called",
                         "judged", "tasks_added", "whatever"])


@FAST
@given(st.binary(max_size=512))
def test_any_bytes_as_gguf_are_a_model_error_or_an_architecture(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(data)
    try:
        assert isinstance(check_gguf(path), str)
    except ModelError as exc:
        assert "\n" not in str(exc)


@FAST
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.binary(max_size=256))
def test_a_gguf_header_with_any_counts_is_a_model_error(tmp_path_factory, tensors, keys, rest):
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, tensors, keys) + rest)
    with contextlib.suppress(ModelError):
        check_gguf(path)


@FAST
@given(st.lists(st.one_of(json_values.map(json.dumps), st.text(max_size=40),
                          st.builds(lambda k, v: json.dumps({"kind": k, **(v if isinstance(v, dict) else {})}),
                                    kinds, json_values)), max_size=12))
def test_any_trace_reads_back_as_objects_with_a_kind(tmp_path_factory, lines):
    path: Path = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
    for record in read_trace(path):
        assert isinstance(record, dict) and isinstance(record["kind"], str)


event_lines = st.builds(
    lambda k, v: json.dumps({"kind": k, "time": 1.0, **(v if isinstance(v, dict) else {})}),
    kinds, st.dictionaries(st.sampled_from(["task", "task_id", "purpose", "cycle", "tool", "arguments", "ok",
                                            "output", "prompt_tokens", "seconds", "done", "reason", "summary",
                                            "time", "resumed", "model"]), json_values, max_size=6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(event_lines, json_values.map(json.dumps)), max_size=10))
def test_a_report_renders_over_any_trace(tmp_path_factory, lines):
    from test_hardening_rundir import make_run

    from agent.observing.report import render_report

    run = make_run(tmp_path_factory.mktemp("runs") / "run", steps=1)
    (run / "trace.jsonl").write_text("\n".join(lines), encoding="utf-8")
    assert "result 1" in render_report(run)
