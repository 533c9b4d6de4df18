"""Optional OpenTelemetry export: a span per run, per cycle and per model call, built from the run's events.

Needs opentelemetry-api and -sdk (`pip install 'agent[otel]'`); without them `telemetry_listener` is None."""

import sys
import time
from collections.abc import Callable
from typing import Any

from agent.events import (
    CycleStarted,
    Event,
    Judged,
    ModelCalled,
    OutputRejected,
    RunFinished,
    RunStarted,
    StepFailed,
    TaskFinished,
    TasksAdded,
    TaskStarted,
    ToolCalled,
)


class SpanRecorder:
    """An event callback: run_started opens the run's span, cycle_started a cycle span under it (closing the
    previous one), model_called a finished child span back-dated by its seconds; run_finished closes all."""

    def __init__(self, tracer: Any, flush: Callable[[], Any] | None = None) -> None:
        from opentelemetry import trace

        self._trace = trace
        self.tracer, self.flush = tracer, flush
        self.run: Any = None
        self.cycle: Any = None

    def __call__(self, event: Event) -> None:
        now = time.time_ns()  # events arrive as they happen: now is when the step ended
        if isinstance(event, RunStarted):
            self.close(now)
            self.run = self.tracer.start_span("agent.run", start_time=now, attributes={
                "agent.run_id": event.run_id, "agent.model": event.model, "agent.resumed": event.resumed})
        elif isinstance(event, CycleStarted):
            self._end_cycle(now)
            self.cycle = self._start(f"agent.cycle {event.cycle}", self.run, now, {
                "agent.cycle": event.cycle, "agent.pending": event.pending, "agent.completed": event.completed})
        elif isinstance(event, ModelCalled):
            # the closing answer is the run's, not its last cycle's
            parent = self.run if event.purpose == "final" or self.cycle is None else self.cycle
            span = self._start(f"agent.model {event.purpose}", parent, now - int(event.seconds * 1e9), {
                "agent.purpose": event.purpose, "gen_ai.usage.input_tokens": event.prompt_tokens,
                "gen_ai.usage.output_tokens": event.completion_tokens, "agent.seconds": event.seconds,
                "agent.tokens_per_second": event.tokens_per_second})
            span.end(end_time=now)
        elif isinstance(event, RunFinished):
            if self.run is not None:
                usage = event.result.usage
                self.run.set_attributes({"agent.status": event.result.status.value, "agent.llm_calls": usage.llm_calls,
                                         "gen_ai.usage.input_tokens": usage.prompt_tokens,
                                         "gen_ai.usage.output_tokens": usage.completion_tokens})
            self.close(now)
        else:
            self._note(event, now)

    def _note(self, event: Event, now: int) -> None:
        """Smaller steps become span events on the open cycle (or run)."""
        span = self.cycle or self.run
        if span is None:
            return
        if isinstance(event, (TaskStarted, TaskFinished)):
            attributes = {"agent.task_id": event.task.id, "agent.status": event.task.status.value}
        elif isinstance(event, ToolCalled):
            attributes = {"agent.task_id": event.task_id, "agent.tool": event.tool, "agent.ok": event.ok}
        elif isinstance(event, TasksAdded):
            attributes = {"agent.added": len(event.tasks), "agent.dropped": len(event.dropped)}
        elif isinstance(event, (OutputRejected, StepFailed)):
            attributes = {"agent.purpose": event.purpose, "agent.error": event.error[:500]}
        elif isinstance(event, Judged):
            attributes = {"agent.done": event.done, "agent.reason": event.reason}
        else:
            attributes = {}
        span.add_event(event.kind, attributes=attributes, timestamp=now)

    def _start(self, name: str, parent: Any, start: int, attributes: dict[str, Any]) -> Any:
        context = self._trace.set_span_in_context(parent) if parent is not None else None
        return self.tracer.start_span(name, context=context, start_time=start, attributes=attributes)

    def _end_cycle(self, now: int) -> None:
        if self.cycle is not None:
            self.cycle.end(end_time=now)
            self.cycle = None

    def close(self, now: int | None = None) -> None:
        """End what is still open (after a crash too) and flush; safe to call twice."""
        now = now or time.time_ns()
        self._end_cycle(now)
        if self.run is not None:
            self.run.end(end_time=now)
            self.run = None
            if self.flush is not None:
                self.flush()


def telemetry_listener(service_name: str = "agent", *, provider: Any = None) -> SpanRecorder | None:
    """An `on_event` callback exporting spans, or None when opentelemetry's SDK is not installed.

    Spans go to `provider` (an SDK TracerProvider) when given, else to the process's global one if an
    application configured it, else to a new provider that exports over OTLP (the exporter's OTEL_EXPORTER_OTLP_*
    environment applies) or, without the OTLP exporter package, to stderr."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
        )
    except ImportError:
        return None
    if provider is None and isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = trace.get_tracer_provider()
    if provider is None:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter,
            )
            exporter: Any = OTLPSpanExporter()
        except ImportError:
            exporter = ConsoleSpanExporter(out=sys.stderr)  # stdout carries `agent run --json`
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return SpanRecorder(provider.get_tracer("agent"), flush=provider.force_flush)
