"""The command line: help texts, and bad input that ends in one line on stderr, status 2, nothing written."""

import json
import sys

import pytest

from agent import cli


def invoke(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["agent", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["tools", "--help"], ["tools", "list", "--help"]])
def test_help_is_clear(monkeypatch, capsys, args):
    code, out, _ = invoke(monkeypatch, capsys, *args)
    assert code == 0 and "Usage: agent" in out


def test_run_help_names_every_contract_option(monkeypatch, capsys):
    _, out, _ = invoke(monkeypatch, capsys, "run", "--help")
    for option in ("--model", "--max-cycles", "--run-dir", "--device", "--json", "--max-tokens", "--max-seconds"):
        assert option in out


BAD_INPUTS = [
    (["run", ""], "objective is empty"),
    (["run", "   \n\t "], "objective is empty"),
    (["run", "x" * 2001], "limit is 2000"),
    (["run", "hello\x00world"], "control characters"),
    (["run", "ok", "--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["run", "ok", "--max-cycles", "0"], "--max-cycles must be positive"),
    (["run", "ok", "--max-cycles", "-3"], "--max-cycles must be positive"),
    (["run", "ok", "--max-cycles", "two"], "'two' is not a valid integer"),
    (["run", "ok", "--max-tokens", "0"], "--max-tokens must be positive"),
    (["run", "ok", "--tool", "nope"], "unknown tool(s) nope"),
    (["run", "ok", "--device", "tpu"], "device"),
    (["run"], "Missing argument"),
    (["frobnicate"], "No such command"),
]


@pytest.mark.parametrize("args,message", BAD_INPUTS)
def test_bad_input_is_one_line_status_2_and_writes_nothing(monkeypatch, capsys, tmp_path, args, message):
    run_dir = tmp_path / "runs"
    code, out, err = invoke(monkeypatch, capsys, *args, *(["--run-dir", str(run_dir)] if args[0] == "run" and
                                                          len(args) > 1 else []))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("agent: error:")
    assert message in err
    assert not run_dir.exists()


def test_run_dir_under_a_file(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = invoke(monkeypatch, capsys, "run", "ok", "--run-dir", str(blocker / "runs"))
    assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a directory"


def test_tools_list_shows_schemas(monkeypatch, capsys):
    code, out, _ = invoke(monkeypatch, capsys, "tools", "list", "--json")
    assert code == 0
    specs = {spec["name"]: spec for spec in json.loads(out)}
    assert specs["calculator"]["parameters"]["properties"]["expression"]["type"] == "string"

