"""LoRA adapter directories: what they declare (adapter.json), which base model they belong to, and loading
them onto a model, as a peft wrapper (transformers) or as merged weights any backend can load."""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent.errors import UsageError

META_FILE = "adapter.json"
_PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")


class AdapterMeta(BaseModel):
    """The version record kept beside every adapter: base model, data, settings and figures."""

    format: int = 1
    base_model: str
    base_key: str
    created: str
    data: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    figures: dict[str, Any] = Field(default_factory=dict)


def base_directory(spec: str, cache_dir: Path | None) -> Path:
    """The HF weights directory of a model spec; for a GGUF model, its dequantized safetensors copy."""
    from agent.models.catalog import resolve
    from agent.models.local import _materialize

    if spec.startswith("openai:"):
        raise UsageError("adapters need local weights; --model openai:NAME serves none")
    source = resolve(spec, cache_dir=cache_dir)
    return _materialize(source, cache_dir) if source.gguf_file else source.directory


def weights_key(directory: Path, cache_dir: Path | None = None) -> str:
    """A digest of the config and weight files: an adapter is tied to exactly these weights. Each file's hash
    is remembered in the cache by (path, size, mtime), as the engine builds do, so it is read once."""
    from agent.models.engine_build import cache_root, file_hash

    files = sorted(p for p in Path(directory).iterdir()
                   if p.suffix in (".safetensors", ".bin") or p.name == "config.json")
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        content = _config_digest(path) if path.name == "config.json" else file_hash(path, cache_root(cache_dir))
        digest.update(f"{path.name}:{content}".encode())
    return digest.hexdigest()


def _config_digest(path: Path) -> str:
    """The config's digest without what only says which program wrote it: transformers stamps its own version
    into every config it saves, so the same weights, dequantized by a newer release, must keep their key."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable JSON config ({exc}); remove the directory to rebuild it") \
            from None
    config.pop("transformers_version", None)
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(canonical, digest_size=12).hexdigest()


def _shipped(name: str) -> Path:
    """Where an adapter shipped with the package lives."""
    from importlib import resources

    return Path(str(resources.files("agent.models") / "adapters" / name))


def bundled_adapter(spec: str) -> Path | None:
    """The adapter shipped with the package for a preset (learned by `agent learn`), if it names one."""
    from agent.models.catalog import PRESETS

    preset = PRESETS.get(spec.strip())
    return None if preset is None or preset.adapter is None else _shipped(preset.adapter)


def find_adapter(value: str | Path, run_dir: Path) -> Path:
    """An adapter directory from what a user typed: a path, a name under <run_dir>/.adapters (where
    `agent learn` keeps them), `latest` (the most recently created adapter kept there), or the name of one
    shipped with the package."""
    given = Path(value).expanduser()
    if given.is_dir():
        return given
    kept = Path(run_dir) / ".adapters"
    if str(value) == "latest":
        found = [p for p in kept.glob("*") if (p / META_FILE).is_file()] if kept.is_dir() else []
        if not found:
            raise UsageError(f"no adapter has been kept in {kept} yet; train one with `agent learn SUITE.jsonl`")
        return max(found, key=lambda p: (read_meta(p).created, p.name))
    if (kept / str(value)).is_dir():
        return kept / str(value)
    if "/" not in str(value) and (_shipped(str(value)) / META_FILE).is_file():
        return _shipped(str(value))
    raise UsageError(f"adapter {value!r} is neither a directory nor a name in {kept}; "
                     "give a path, a kept adapter's name, or latest")


def read_meta(adapter: Path) -> AdapterMeta:
    """adapter.json, checked together with the peft files; anything missing or malformed is one UsageError."""
    adapter = Path(adapter)
    if not adapter.is_dir():
        raise UsageError(f"adapter {adapter} is not a directory; train one with `agent learn SUITE.jsonl`")
    missing = [name for name in (META_FILE, *_PEFT_FILES) if not (adapter / name).is_file()]
    if missing:
        raise UsageError(f"adapter {adapter} is incomplete or corrupt ({', '.join(missing)} missing)")
    try:
        meta = AdapterMeta.model_validate_json((adapter / META_FILE).read_text(encoding="utf-8"))
        json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError) as exc:
        raise UsageError(f"adapter {adapter} is corrupt: {str(exc).splitlines()[0]}") from exc
    _check_weights(adapter / "adapter_model.safetensors")
    return meta


def _check_weights(path: Path) -> None:
    """The weights file's header, and that the file holds every byte it announces (a truncated copy does not)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as weights:
            weights.keys()
    except (OSError, SafetensorError) as exc:
        raise UsageError(f"adapter {path.parent} is corrupt: {path.name}: {str(exc).splitlines()[0]}: train it "
                         "again or copy it whole") from None


def adapter_key(adapter: Path) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for name in (META_FILE, *_PEFT_FILES):
        digest.update((Path(adapter) / name).read_bytes())
    return digest.hexdigest()


def check_base(adapter: Path, base_dir: Path, cache_dir: Path | None = None) -> AdapterMeta:
    meta = read_meta(adapter)
    key = weights_key(base_dir, cache_dir)
    if meta.base_key != key:
        raise UsageError(f"adapter {adapter} was trained on {meta.base_model} (weights {meta.base_key}), "
                         f"not on the model given (weights {key}); pass the model it was trained on")
    return meta


def wrap(hf_model: Any, adapter: Path) -> Any:
    """`hf_model` with the adapter's weights added through peft (not merged)."""
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(hf_model, str(adapter), is_trainable=False).eval()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise UsageError(f"adapter {adapter} does not fit this model: {str(exc).splitlines()[0]}") from exc


def merged_directory(adapter: Path, spec: str, cache_dir: Path) -> Path:
    """An HF model directory with the adapter merged into the weights of `spec` (merge_and_unload), written
    once under the cache, keyed by the adapter's content and the spec. The base is checked when it is made;
    afterwards it is found without touching the base weights (or importing torch)."""
    spec_key = hashlib.blake2b(spec.encode(), digest_size=4).hexdigest()
    target = Path(cache_dir) / "merged" / f"{adapter_key(adapter)}-{spec_key}"
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = base_directory(spec, cache_dir)
    check_base(adapter, base_dir, cache_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    merged = wrap(model, adapter).merge_and_unload()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    try:
        merged.save_pretrained(staging)
        AutoTokenizer.from_pretrained(base_dir, local_files_only=True).save_pretrained(staging)
        staging.rename(target)  # atomic: a half-written directory is never picked up
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").is_file():
            raise
    return target


def load_adapted(settings: Any, spec: str | None = None) -> Any:
    """The configured model with settings.adapter. The transformers backend serves it through peft; the CPU
    engine loads the merged weights directory (built into an engine once, then cached), and llama.cpp, which
    reads GGUF rather than adapters, gets the merged weights on transformers."""
    from agent.models import load_model, pick_backend
    from agent.models.registry import engine

    spec = spec or settings.model
    adapter = Path(settings.adapter)
    read_meta(adapter)  # a corrupt directory fails before any weights load
    backend = pick_backend(settings.backend, settings.device)
    serves = engine(backend).adapters
    if serves != "peft":
        merged = merged_directory(adapter, spec, settings.cache_dir)
        model = load_model(str(merged), device=settings.device, cache_dir=settings.cache_dir,
                           backend=backend if serves == "merged" else "transformers")
        model.name = f"{spec}+{adapter.name}"
        return model
    from agent.models.local import LocalModel

    check_base(adapter, base_directory(spec, settings.cache_dir), settings.cache_dir)
    model = load_model(spec, device=settings.device, cache_dir=settings.cache_dir, backend="transformers")
    if not isinstance(model, LocalModel):  # a served model (openai:NAME) has no weights here to adapt
        raise UsageError(f"--adapter needs a local model, not {spec!r}")
    model.swap_weights(wrap(model.model, adapter))
    model.name = f"{model.name}+{adapter.name}"
    return model
