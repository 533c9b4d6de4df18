"""The run core: the `Agent` wires model, memory, tools and settings into one run, and the loop drives it
phase by phase (decide, execute, answer), committing each step before its effects so a run can resume."""
