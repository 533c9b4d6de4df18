"""Language-model backends behind the ChatModel protocol."""

import sys
from pathlib import Path

from agent.models.base import ChatModel, Generation, Message
from agent.models.catalog import PRESETS, check, resolve
from agent.models.fake import ScriptedModel
from agent.models.registry import Backend, Engine, LoadOptions, backend_for, engine, engines, register_engine

__all__ = ["Backend", "ChatModel", "Engine", "Generation", "LoadOptions", "Message", "PRESETS", "ScriptedModel",
           "check_model", "engines", "load_model", "register_engine", "resolve"]


def check_model(spec: str, *, device: str = "auto", base_url: str | None = None,
                cache_dir: Path | None = None) -> None:
    """The usage checks of load_model, without loading anything: a bad spec fails before a run writes."""
    registered = backend_for(spec)
    if registered:
        backend, name = registered
        if backend.check:
            backend.check(name, LoadOptions(device=device, cache_dir=cache_dir, base_url=base_url))
        return
    check(spec, cache_dir=cache_dir)  # an HF id not in the cache passes here: it is downloaded when loaded
    if device not in ("auto", "cpu"):  # only an explicit GPU request needs torch to be checked
        from agent.models.local import pick_device

        pick_device(device)


def load_model(spec: str, *, device: str = "auto", cache_dir: Path | None = None, base_url: str | None = None,
               api_key: str | None = None, backend: str = "auto") -> ChatModel:
    """A preset name, local directory, .gguf path, HF id (downloaded when not cached), or PREFIX:NAME of a
    registered backend (openai:NAME with base_url, or a plugin's, see agent/models/registry.py) -> a ChatModel.

    `backend`: a registered engine (agent/models/registry.py: transformers, the GPU path and the reference;
    onnxruntime-genai, int4 on the CPU; llama.cpp; or a plugin's), or auto: onnxruntime-genai on a machine
    without a CUDA GPU, transformers with one."""
    check_model(spec, device=device, base_url=base_url, cache_dir=cache_dir)
    registered = backend_for(spec)
    if registered:
        remote, name = registered
        return remote.load(name, LoadOptions(device=device, cache_dir=cache_dir, base_url=base_url, api_key=api_key))
    source = resolve(spec, cache_dir=cache_dir)
    options = LoadOptions(device=device, cache_dir=cache_dir, base_url=base_url, api_key=api_key)
    return engine(pick_backend(backend, device)).load(source, options)


def pick_backend(backend: str, device: str) -> str:
    """`auto` made concrete: onnxruntime-genai on a machine without a CUDA GPU (or on device cpu), else
    transformers; any other name is returned as it is."""
    if backend != "auto":
        return backend
    on_cpu = device == "cpu" or (device == "auto" and not _cuda_available())
    return "onnxruntime-genai" if on_cpu else "transformers"


def _cuda_available() -> bool:
    """Without an NVIDIA driver there is no CUDA device, and torch need not be imported to learn that."""
    gpus = Path("/proc/driver/nvidia/gpus")
    if sys.platform.startswith("linux") and not (gpus.is_dir() and any(gpus.iterdir())):
        return False
    import torch

    return torch.cuda.is_available()
