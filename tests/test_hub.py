"""`--model ORG/NAME` not in the HF cache is downloaded; every failure is one line. Nothing here reaches a hub:
the download function is replaced, or huggingface_hub runs in offline mode against an empty cache."""

import json
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import constants
from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

from agent.errors import ModelNotFoundError
from agent.models import catalog, check_model, hub
from tests.cli_calls import cli

REPO = "some-org/tiny-model"


@pytest.fixture(autouse=True)
def empty_hf_cache(monkeypatch, tmp_path):
    """An empty HF cache, whatever the machine has cached, and offline mode in case a fake is forgotten."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hf-cache"


def fake_download(into: Path, files=("config.json", "tokenizer.json", "model.safetensors")):
    calls: list[str] = []

    def download(repo_id: str) -> str:
        calls.append(repo_id)
        snapshot = into / "snapshot"
        snapshot.mkdir(parents=True, exist_ok=True)
        for name in files:
            (snapshot / name).write_text("{}")
        return str(snapshot)

    download.calls = calls  # type: ignore[attr-defined]
    return download


def no_download(repo_id: str) -> str:
    raise AssertionError(f"{repo_id} must not be downloaded here")


def http_error(cls, status: int):
    response = httpx2.Response(status, request=httpx2.Request("GET", f"https://huggingface.co/api/models/{REPO}"))
    return cls(f"{status} Client Error.\n\nRepository Not Found for url: {response.request.url}", response=response)


def test_an_id_not_in_the_cache_is_downloaded_and_resolves_to_its_snapshot(monkeypatch, tmp_path):
    download = fake_download(tmp_path)
    monkeypatch.setattr(hub, "snapshot_download", download)
    source = catalog.resolve(f"  {REPO} ")
    assert download.calls == [REPO]
    assert source.directory == tmp_path / "snapshot" and source.gguf_file is None


def test_the_library_is_asked_for_configs_tokenizers_and_safetensors_only(monkeypatch, tmp_path):
    seen = {}

    def library_download(repo_id, **kwargs):
        seen.update(kwargs, repo_id=repo_id)
        return fake_download(tmp_path)(repo_id)

    monkeypatch.setattr("huggingface_hub.snapshot_download", library_download)
    catalog.resolve(REPO)
    patterns = seen["allow_patterns"]
    assert seen["repo_id"] == REPO
    assert {"*.json", "*.safetensors", "*.txt", "*.model"} <= set(patterns)
    assert not {"*.bin", "*.gguf", "*.pt", "*"} & set(patterns)


def test_an_id_already_in_the_cache_is_not_downloaded(monkeypatch, empty_hf_cache):
    commit = "a" * 40
    repo_dir = empty_hf_cache / f"models--{REPO.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hub, "snapshot_download", no_download)
    assert catalog.resolve(REPO).directory == snapshot


FAILURES = [
    (LocalEntryNotFoundError("Cannot find an appropriate cached snapshot folder"), "offline mode"),
    (http_error(RepositoryNotFoundError, 404), "no such repository, or it is private"),
    (http_error(RepositoryNotFoundError, 401), "(401/404)"),
    (http_error(GatedRepoError, 403), "gated"),
    (OSError(28, "No space left on device"), "No space left on device"),
    (httpx2.ConnectError("[Errno -3] Temporary failure\nin name resolution"), "ConnectError: [Errno -3]"),
]


@pytest.mark.parametrize("error,reason", FAILURES, ids=lambda value: type(value).__name__)
def test_a_failed_download_is_one_line_naming_the_id_and_the_way_out(monkeypatch, error, reason):
    def failing(repo_id: str) -> str:
        raise error

    monkeypatch.setattr(hub, "snapshot_download", failing)
    with pytest.raises(ModelNotFoundError) as raised:
        catalog.resolve(REPO)
    message = str(raised.value)
    assert "\n" not in message
    assert f"could not download {REPO} from the Hugging Face hub" in message
    assert reason in message and "pass a local directory" in message


def test_offline_mode_with_the_real_library_fails_in_one_line(monkeypatch):
    # the autouse fixture leaves huggingface_hub offline with an empty cache: it raises before any request
    with pytest.raises(ModelNotFoundError, match=f"could not download {REPO} .*offline mode") as raised:
        catalog.resolve(REPO)
    assert "\n" not in str(raised.value)


def test_a_repo_without_config_json_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "snapshot_download", fake_download(tmp_path, files=("README.md",)))
    with pytest.raises(ModelNotFoundError, match="has no config.json: for a GGUF-only repo"):
        catalog.resolve(REPO)


def test_checking_a_spec_never_downloads(monkeypatch):
    monkeypatch.setattr(hub, "snapshot_download", no_download)
    catalog.check(REPO)
    check_model(REPO)


@pytest.mark.parametrize("spec", ["no-such-model", "a/b/c", "org/na me", "org/", "./org/name", "~/org/name", "x:y/z"])
def test_specs_that_are_no_repo_id_fail_the_check_without_a_download(monkeypatch, spec):
    monkeypatch.setattr(hub, "snapshot_download", no_download)
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        catalog.check(spec)


def test_an_existing_file_that_is_no_model_is_not_taken_for_an_id(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    Path("org").mkdir()
    Path("org/name").write_text("not a model")
    monkeypatch.setattr(hub, "snapshot_download", no_download)
    with pytest.raises(ModelNotFoundError, match="org/name: not a model directory or a .gguf file"):
        catalog.check("org/name")


def test_run_with_an_id_that_cannot_be_downloaded_exits_2_in_one_line(monkeypatch, capsys, tmp_path):
    calls: list[str] = []

    def failing(repo_id: str) -> str:
        calls.append(repo_id)
        raise http_error(RepositoryNotFoundError, 404)

    monkeypatch.setattr(hub, "snapshot_download", failing)
    monkeypatch.setenv("AGENT_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "runs"
    code, out, err = cli(monkeypatch, capsys, "run", "x", "--model", "org/name", "--run-dir", str(run_dir))
    assert calls == ["org/name"]  # the check let it through; loading the model tried the download
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("agent: error: could not download org/name from the Hugging Face hub")
    assert not run_dir.exists()
