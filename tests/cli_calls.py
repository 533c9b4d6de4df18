"""Calling the `agent` command in-process, as a user would from a shell."""

import pytest

from agent.cli import main


def cli(monkeypatch, capsys, *args):
    """Run `agent ARGS...`; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr("sys.argv", ["agent", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err
