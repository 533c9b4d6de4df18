"""Vector memory behind the Memory protocol. The store and the embedder load on first use (PEP 562): what only
needs the protocol (`agent.memory.base`) does not import chromadb."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from agent.memory.base import Memory, Recall

_HOMES = {"ChromaMemory": "agent.memory.chroma", "PackagedEmbedder": "agent.memory.embedder",
          "packaged_encoder_dir": "agent.memory.embedder"}
__all__ = ["ChromaMemory", "Memory", "PackagedEmbedder", "Recall", "packaged_encoder_dir"]

if TYPE_CHECKING:
    from agent.memory.chroma import ChromaMemory
    from agent.memory.embedder import PackagedEmbedder, packaged_encoder_dir


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'agent.memory' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
