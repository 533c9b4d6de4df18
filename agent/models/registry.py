"""Every way a model is loaded, in one registry: local engines by name, and served backends by spec prefix.

Local engines (`--backend NAME`) load a model directory or GGUF file: transformers, onnxruntime-genai and
llama.cpp are built in; adding one is a module with its model class and one `register_engine` call (or an entry
point under [project.entry-points."agent.engines"] whose value is an `Engine`). An engine declares whether it
serves LoRA adapters on the weights (`peft`) or needs them merged into a weights directory first (`merged`).
The CLI's --backend choices derive from this registry.

Backends by spec prefix (`openai:NAME` -> the OpenAI-compatible HTTP backend), plus plugins: a package adds one
under [project.entry-points."agent.models"]: the entry point's name is the prefix and its value a `Backend`, or
a plain loader `load(name, options) -> ChatModel`. `--model PREFIX:NAME` then loads through it. Specs without a
registered prefix are local files (agent/models/catalog.py).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal

from agent.errors import UsageError
from agent.models.base import ChatModel
from agent.models.catalog import ModelSource

ENTRY_POINT_GROUP = "agent.models"
ENGINE_GROUP = "agent.engines"


@dataclass(frozen=True)
class LoadOptions:
    """What `load_model` was given besides the spec; a backend reads the options it needs."""

    device: str = "auto"
    cache_dir: Path | None = None
    base_url: str | None = None
    api_key: str | None = None


@dataclass(frozen=True)
class Backend:
    """`load` builds the model; `check`, when given, raises a UsageError for bad options before a run writes."""

    load: Callable[[str, LoadOptions], ChatModel]
    check: Callable[[str, LoadOptions], None] | None = None


def _check_openai(name: str, options: LoadOptions) -> None:
    if not options.base_url:
        raise UsageError("--model openai:NAME needs --base-url URL, e.g. http://127.0.0.1:8000/v1")


def _load_openai(name: str, options: LoadOptions) -> ChatModel:
    from agent.models.openai_http import OpenAIModel  # httpx only for those who use it

    assert options.base_url is not None, "checked by _check_openai"
    return OpenAIModel(name, options.base_url, api_key=options.api_key)


BUILTIN: dict[str, Backend] = {"openai": Backend(_load_openai, _check_openai)}


def _as_backend(obj: object, prefix: str) -> Backend:
    if isinstance(obj, Backend):
        return obj
    if callable(obj):
        return Backend(obj)
    raise UsageError(f"model plugin {prefix!r} is not a Backend or a loader function")


def _load(point: EntryPoint) -> Backend:
    try:
        loaded = point.load()
    except Exception as exc:  # a broken plugin is reported in one line, it never takes the agent down
        raise UsageError(f"model plugin {point.name!r} ({point.value}) failed to load: {exc}") from exc
    return _as_backend(loaded, point.name)


def backends() -> dict[str, Backend]:
    """Every prefix: the built-ins, then plugins (a plugin never replaces a built-in)."""
    found = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in found:
            found[point.name] = _load(point)
    return found


def backend_for(spec: str) -> tuple[Backend, str] | None:
    """(backend, name) for `PREFIX:NAME` with a registered prefix; None for a local spec. Only that one
    plugin is imported."""
    prefix, colon, name = spec.partition(":")
    if not colon or not prefix or "/" in prefix:  # a path with a colon in it is still a path
        return None
    if prefix in BUILTIN:
        return BUILTIN[prefix], name
    points = entry_points(group=ENTRY_POINT_GROUP, name=prefix)
    return (_load(next(iter(points))), name) if points else None


@dataclass(frozen=True)
class Engine:
    """A local engine: `load(source, options)` builds a ChatModel from a resolved model (a directory, or a .gguf
    file in it); `adapters` says how it serves a LoRA adapter: on the weights (`peft`), from merged weights
    (`merged`), or from merged weights on another engine that can (None)."""

    name: str
    load: Callable[[ModelSource, LoadOptions], ChatModel]
    adapters: Literal["peft", "merged"] | None = None


def _lazy(module: str, attribute: str, **fixed: object) -> Callable[[ModelSource, LoadOptions], ChatModel]:
    """A loader importing its engine only when a model is loaded (torch, onnxruntime, llama.cpp are heavy)."""
    def load(source: ModelSource, options: LoadOptions) -> ChatModel:
        cls = getattr(importlib.import_module(module), attribute)
        return cls(source, **{name: getattr(options, name) for name in fixed})

    return load


ENGINES: dict[str, Engine] = {}


def register_engine(engine: Engine) -> Engine:
    """Make `engine` loadable as `--backend NAME` (a later registration of the same name replaces it)."""
    ENGINES[engine.name] = engine
    return engine


register_engine(Engine("transformers", _lazy("agent.models.local", "LocalModel", device=True, cache_dir=True),
                       adapters="peft"))
register_engine(Engine("onnxruntime-genai", _lazy("agent.models.ortgenai", "OrtGenAIModel", cache_dir=True),
                       adapters="merged"))
register_engine(Engine("llama.cpp", _lazy("agent.models.llamacpp", "LlamaCppModel")))


def engines() -> dict[str, Engine]:
    """Every local engine: the built-ins and those registered in code, then plugins (never replacing one)."""
    found = dict(ENGINES)
    for point in entry_points(group=ENGINE_GROUP):
        if point.name not in found:
            try:
                engine = point.load()
            except Exception as exc:  # a broken plugin is one line, never a traceback
                raise UsageError(f"engine plugin {point.name!r} ({point.value}) failed to load: {exc}") from exc
            if not isinstance(engine, Engine):
                raise UsageError(f"engine plugin {point.name!r} is not an Engine")
            found[point.name] = engine
    return found


def engine(name: str) -> Engine:
    """The engine called `name`; a UsageError naming the known ones otherwise."""
    found = engines()
    if name not in found:
        raise UsageError(f"unknown backend {name!r}: use auto or one of {', '.join(sorted(found))}")
    return found[name]
