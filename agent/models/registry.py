"""Backends by spec prefix (`openai:NAME` -> the OpenAI-compatible HTTP backend), plus plugins.

A package adds a backend under [project.entry-points."agent.models"]: the entry point's name is the prefix and
its value a `Backend`, or a plain loader `load(name, options) -> ChatModel`. `--model PREFIX:NAME` then loads
through it. Specs without a registered prefix are local files (agent/models/catalog.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from agent.errors import UsageError
from agent.models.base import ChatModel

ENTRY_POINT_GROUP = "agent.models"


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
