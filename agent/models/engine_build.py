"""The onnxruntime-genai model of a checkpoint, built once and cached.

`python -m onnxruntime_genai.models.builder` turns an HF directory (a GGUF file goes through the dequantized
safetensors cache of agent/models/local.py first) into int4 ONNX weights. The result is keyed by the content of
the weights, the builder's version and its options; it is built in a staging directory, given a manifest last,
and renamed into place, so a half-built model is never picked up. A directory whose manifest is missing or does
not match its files is rebuilt. Only a build imports torch; loading a built model does not.
"""

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from agent.errors import ModelError
from agent.models.catalog import ModelSource

# int4 weights; accuracy level 4 runs the int4 matmuls with int8 activations, which speeds up prefill on CPUs;
# a pruned LM head computes the logits of a prompt's last token only (the only ones read): prefill 1.2-1.3x
# faster on the 135M (benchmarks/prefill.py)
BUILD_ARGS = ("-p", "int4", "-e", "cpu", "--extra_options", "int4_accuracy_level=4", "prune_lm_head=true")
MANIFEST = "agent-engine.json"
FORMAT = 1  # bump when what this module writes into a built directory changes
GGUF_MAGIC = b"GGUF"


def engine_version() -> str:
    return "|".join(f"{p}={importlib.metadata.version(p)}" for p in ("onnxruntime-genai", "onnxruntime"))


def cache_root(cache_dir: Path | None) -> Path:
    return (cache_dir or Path(tempfile.gettempdir()) / "agent-cache") / "engines"


def engine_dir(source: ModelSource, cache_dir: Path | None, *, show_progress: bool = True,
               build_args: tuple[str, ...] = BUILD_ARGS) -> Path:
    """The built engine model of `source`, building it first when there is no sound one; `build_args` are the
    builder's options (other ones are for comparing configurations: benchmarks/prefill.py)."""
    root = cache_root(cache_dir)
    key = _key(source, root, build_args)
    target = root / f"{_stem(source)}-{key}"
    if is_sound(target, key):
        return target
    if target.exists():  # half-written, damaged or from another version: never used, rebuilt
        shutil.rmtree(target, ignore_errors=True)
    hf_dir = _hf_directory(source, cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    try:
        _run_builder(hf_dir, staging, source.label, show_progress, build_args)
        _fix_pad_token(staging)
        files = {p.name: p.stat().st_size for p in staging.iterdir() if p.is_file()}
        (staging / MANIFEST).write_text(json.dumps({"format": FORMAT, "key": key, "files": files}))
        staging.rename(target)
    except OSError as exc:
        if not is_sound(target, key):  # another process may have finished the same build first
            raise ModelError(f"cannot write the engine model under {root}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def is_sound(directory: Path, key: str) -> bool:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        return (manifest["format"] == FORMAT and manifest["key"] == key and all(
            (directory / name).stat().st_size == size for name, size in manifest["files"].items()))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def discard(directory: Path) -> None:
    """Forget a built model that failed to load, so the next engine_dir() rebuilds it."""
    shutil.rmtree(directory, ignore_errors=True)


def _stem(source: ModelSource) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(source.label).stem)[:60]


def _weight_files(source: ModelSource) -> list[Path]:
    if source.gguf_file:
        return [source.directory / source.gguf_file]
    return sorted(p for p in source.directory.iterdir()
                  if p.is_file() and p.suffix in (".json", ".safetensors", ".bin", ".model", ".txt", ".jinja"))


def _key(source: ModelSource, root: Path, build_args: tuple[str, ...] = BUILD_ARGS) -> str:
    digest = hashlib.blake2b(f"{FORMAT}|{engine_version()}|{' '.join(build_args)}".encode(), digest_size=8)
    for path in _weight_files(source):
        digest.update(f"{path.name}:{file_hash(path, root)}".encode())
    return digest.hexdigest()


def file_hash(path: Path, root: Path) -> str:
    """A file's content hash, remembered by (path, size, mtime) so a warm start does not read the weights."""
    stat = path.stat()
    memo_path = root / "hashes.json"
    stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if stamp in memo:
        return memo[stamp]
    digest = hashlib.blake2b(digest_size=12)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    memo[stamp] = digest.hexdigest()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staged = memo_path.with_suffix(f".{os.getpid()}.tmp")
        staged.write_text(json.dumps(memo))
        os.replace(staged, memo_path)
    except OSError:
        pass  # the memo only saves time
    return memo[stamp]


def _hf_directory(source: ModelSource, cache_dir: Path | None) -> Path:
    if not source.gguf_file:
        return source.directory
    path = source.directory / source.gguf_file
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"{path}: not a GGUF file (it does not start with the GGUF magic bytes)")
    _check_gguf(path)
    from agent.models.local import _materialize  # imports torch: only a build pays for it

    try:
        return _materialize(source, cache_dir)
    except (ValueError, KeyError, IndexError, RuntimeError, EOFError) as exc:
        raise ModelError(f"{path}: cannot read this GGUF file ({type(exc).__name__}: {exc})"[:300]) from exc


def _check_gguf(path: Path) -> None:
    """A truncated file is caught here, before a long dequantization fails on it."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
        end = max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors)
    except (ValueError, KeyError, IndexError, OSError) as exc:
        raise ModelError(f"{path}: damaged or truncated GGUF file ({exc})"[:300]) from exc
    if end > path.stat().st_size:
        raise ModelError(f"{path}: truncated GGUF file ({path.stat().st_size:,} bytes, tensors need {end:,})")


def _run_builder(hf_dir: Path, out: Path, label: str, show_progress: bool,
                 build_args: tuple[str, ...] = BUILD_ARGS) -> None:
    from rich.console import Console
    from rich.progress import Progress

    layers = json.loads((hf_dir / "config.json").read_text()).get("num_hidden_layers") or None
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-m", str(hf_dir), "-o", str(out),
               "-c", str(out / ".builder-cache"), *build_args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # a build never reaches a hub
    tail: list[str] = []
    with Progress(console=Console(stderr=True), transient=True, disable=not show_progress) as bar:
        task = bar.add_task(f"building the int4 engine model of {label} (once)", total=layers)
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                              errors="replace") as process:
            assert process.stdout is not None  # stdout=PIPE
            for line in process.stdout:
                tail = (tail + [line.strip()])[-20:]
                if line.startswith("Reading layer"):
                    bar.advance(task)
        if process.returncode != 0:
            reason = next((t for t in reversed(tail) if "Error" in t), tail[-1] if tail else "no output")
            raise ModelError(f"building the engine model of {label} failed: {reason}"[:300])
    shutil.rmtree(out / ".builder-cache", ignore_errors=True)


def _fix_pad_token(directory: Path) -> None:
    """The engine masks every prompt position holding the pad token; when that token is part of the chat
    markup (SmolLM2 pads with <|im_end|>), use an unused special token instead."""
    config_path = directory / "genai_config.json"
    config = json.loads(config_path.read_text())
    template_path = directory / "chat_template.jinja"
    template = template_path.read_text() if template_path.is_file() else ""
    added = json.loads((directory / "tokenizer.json").read_text()).get("added_tokens", [])
    by_id = {t["id"]: t["content"] for t in added}
    pad = config["model"].get("pad_token_id")
    if pad is None or by_id.get(pad, "\0") not in template:
        return
    for token in added:
        if token.get("special") and token["content"] not in template:
            config["model"]["pad_token_id"] = token["id"]
            config_path.write_text(json.dumps(config, indent=2))
            return
