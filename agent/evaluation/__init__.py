"""Evaluation: suites of objectives with checks of their answers, run through agents, scored and tabulated
per kind."""
