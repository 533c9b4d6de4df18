"""Vector memory behind the Memory protocol."""

from agent.memory.base import Memory, Recall
from agent.memory.chroma import ChromaMemory
from agent.memory.embedder import PackagedEmbedder, packaged_encoder_dir

__all__ = ["ChromaMemory", "Memory", "PackagedEmbedder", "Recall", "packaged_encoder_dir"]
