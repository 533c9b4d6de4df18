"""Prompt templates, one file per role (system, decide, step, execute, final, repair, json_shape) and the worked
decide examples (examples.jsonl). This folder is installed as the package `agent.prompts` (pyproject.toml,
[tool.setuptools.package-dir]); agent/prompting/templates.py renders them with strict undefined variables."""
