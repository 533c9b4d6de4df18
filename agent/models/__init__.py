"""Language-model backends behind the ChatModel protocol."""

from pathlib import Path

from agent.errors import UsageError
from agent.models.base import ChatModel, Generation, Message
from agent.models.catalog import PRESETS, resolve
from agent.models.fake import ScriptedModel

__all__ = ["ChatModel", "Generation", "Message", "PRESETS", "ScriptedModel", "load_model", "resolve"]


def load_model(spec: str, *, device: str = "auto", cache_dir: Path | None = None, base_url: str | None = None,
               api_key: str | None = None) -> ChatModel:
    """A preset name, local directory, .gguf path, cached HF id, or openai:NAME (with base_url) -> a ChatModel."""
    if spec.startswith("openai:"):
        from agent.models.openai_http import OpenAIModel

        if not base_url:
            raise UsageError("--model openai:NAME needs --base-url URL, e.g. http://127.0.0.1:8000/v1")
        return OpenAIModel(spec.removeprefix("openai:"), base_url, api_key=api_key)
    from agent.models.local import LocalModel

    return LocalModel(resolve(spec), device=device, cache_dir=cache_dir)
