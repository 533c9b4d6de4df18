"""Language-model backends behind the ChatModel protocol."""

from pathlib import Path

from agent.errors import UsageError
from agent.models.base import ChatModel, Generation, Message
from agent.models.catalog import PRESETS, resolve
from agent.models.fake import ScriptedModel

__all__ = ["ChatModel", "Generation", "Message", "PRESETS", "ScriptedModel", "check_model", "load_model", "resolve"]


def check_model(spec: str, *, device: str = "auto", base_url: str | None = None) -> None:
    """The usage checks of load_model, without loading anything: a bad spec fails before a run writes."""
    if spec.startswith("openai:"):
        if not base_url:
            raise UsageError("--model openai:NAME needs --base-url URL, e.g. http://127.0.0.1:8000/v1")
        return
    resolve(spec)
    from agent.models.local import pick_device

    pick_device(device)


def load_model(spec: str, *, device: str = "auto", cache_dir: Path | None = None, base_url: str | None = None,
               api_key: str | None = None, backend: str = "auto") -> ChatModel:
    """A preset name, local directory, .gguf path, cached HF id, or openai:NAME (with base_url) -> a ChatModel.

    `backend`: transformers, llama.cpp, or auto: llama.cpp for a GGUF model on the CPU when it is installed
    (it decodes the 4-bit weights faster there), transformers otherwise (and always on a GPU)."""
    check_model(spec, device=device, base_url=base_url)
    if spec.startswith("openai:"):
        from agent.models.openai_http import OpenAIModel

        return OpenAIModel(spec.removeprefix("openai:"), base_url, api_key=api_key)
    from agent.models.llamacpp import LlamaCppModel, llama_cpp_available

    source = resolve(spec)
    if backend == "auto":
        on_cpu = device == "cpu" or (device == "auto" and not _cuda_available())
        backend = "llama.cpp" if source.gguf_file and on_cpu and llama_cpp_available() else "transformers"
    if backend == "llama.cpp":
        return LlamaCppModel(source)
    from agent.models.local import LocalModel

    return LocalModel(source, device=device, cache_dir=cache_dir)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
