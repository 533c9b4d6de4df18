"""OpenTelemetry spans from a run's events (opentelemetry-sdk: the `otel` extra)."""

import contextlib
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent import Agent, ScriptedModel
from agent.observing.telemetry import telemetry_listener

from moves import SOLVE, plan
from moves import final as final_answer


def test_spans_per_run_cycle_and_model_call(memory, tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    listener = telemetry_listener(provider=provider)
    assert listener is not None
    model = ScriptedModel([plan("look up the boiling point of water", "convert it to Fahrenheit"),
                           "100 C at sea level", "212 F", "not json", SOLVE, "212 F", final_answer("212 F")])
    result = Agent(model=model, memory=memory, run_dir=tmp_path / "runs", max_cycles=2).run(
        "water?", on_event=listener)

    spans = exporter.get_finished_spans()
    (run,) = [s for s in spans if s.name == "agent.run"]
    cycles = sorted((s for s in spans if s.name.startswith("agent.cycle")), key=lambda s: s.start_time)
    calls = [s for s in spans if s.name.startswith("agent.model")]
    assert [s.attributes["agent.cycle"] for s in cycles] == [1, 2]
    assert all(s.parent.span_id == run.context.span_id for s in cycles)
    assert cycles[0].end_time <= cycles[1].start_time and cycles[1].end_time <= run.end_time
    assert len(calls) == result.usage.llm_calls == 7
    assert sum(s.attributes["gen_ai.usage.output_tokens"] for s in calls) == result.usage.completion_tokens
    (final,) = [s for s in calls if s.attributes["agent.purpose"] == "final"]
    assert final.parent.span_id == run.context.span_id
    in_second = [s.attributes["agent.purpose"] for s in calls if s.parent.span_id == cycles[1].context.span_id]
    assert in_second == ["decide", "decide", "execute"]  # a rejected decision, then its retry
    for span in calls:  # back-dated by the call's own seconds
        assert span.end_time - span.start_time == int(span.attributes["agent.seconds"] * 1e9)
        assert span.context.trace_id == run.context.trace_id
    assert run.attributes["agent.status"] == "max_cycles" and run.attributes["agent.run_id"] == result.run_id
    events = [e.name for e in cycles[1].events]
    assert events[:2] == ["output_rejected", "tasks_added"] and "task_finished" in events


def test_close_ends_open_spans_after_a_crash(memory, tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    listener = telemetry_listener(provider=provider)
    agent = Agent(model=ScriptedModel([plan("only task", "another")]), memory=memory, run_dir=tmp_path / "runs")
    with contextlib.suppress(AssertionError):  # the scripted model runs dry: the run dies mid-cycle
        agent.run("objective", on_event=listener)
    assert [s.name for s in exporter.get_finished_spans()] == ["agent.model decide"]
    listener.close()
    listener.close()
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["agent.cycle 1", "agent.model decide",
                                                                    "agent.run"]


def test_without_opentelemetry_there_is_no_listener(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # makes `import opentelemetry...` fail
    assert telemetry_listener() is None
