"""Observing a run: its trace of typed events, the run view read back from a run's directory, the HTML report,
and OpenTelemetry spans."""
