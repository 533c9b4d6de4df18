"""Vector memory on chromadb: a persistent store in the run dir, or a chroma server."""

from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from agent.memory.base import Recall
from agent.memory.embedder import PackagedEmbedder

COLLECTION = "results"


class ChromaMemory:
    """Every stored text is embedded by the packaged MiniLM, never by chroma's downloading default."""

    def __init__(self, client: "chromadb.ClientAPI", collection: str = COLLECTION, device: str = "cpu") -> None:
        self._collection = client.get_or_create_collection(
            collection, embedding_function=PackagedEmbedder(device), metadata={"hnsw:space": "cosine"}
        )

    @classmethod
    def persistent(cls, path: Path, **kwargs) -> "ChromaMemory":
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        return cls(client, **kwargs)

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        # upsert: re-storing the same id (e.g. after a resume) never duplicates a memory
        self._collection.upsert(ids=[id], documents=[text], metadatas=[metadata or {"kind": "note"}])

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        total = self._collection.count()
        if total == 0 or k <= 0:
            return []
        found = self._collection.query(query_texts=[query], n_results=min(k, total), where=where)
        return [
            Recall(id=i, text=doc, distance=float(dist), metadata=dict(meta or {}))
            for i, doc, dist, meta in zip(
                found["ids"][0], found["documents"][0], found["distances"][0], found["metadatas"][0]
            )
        ]

    def count(self) -> int:
        return self._collection.count()
