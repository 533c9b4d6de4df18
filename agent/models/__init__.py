"""Language-model backends behind the ChatModel protocol."""

from pathlib import Path

from agent.models.base import ChatModel, Generation, Message
from agent.models.catalog import PRESETS, resolve
from agent.models.fake import ScriptedModel

__all__ = ["ChatModel", "Generation", "Message", "PRESETS", "ScriptedModel", "load_model", "resolve"]


def load_model(spec: str, *, device: str = "auto", cache_dir: Path | None = None) -> ChatModel:
    """A preset name, local directory, .gguf path or cached HF id -> a loaded ChatModel."""
    from agent.models.local import LocalModel

    return LocalModel(resolve(spec), device=device, cache_dir=cache_dir)
