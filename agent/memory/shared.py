"""Memory that outlives a run: a persistent chroma store per name, beside the runs it came from."""

import re
from pathlib import Path

from agent.errors import UsageError
from agent.memory.base import Recall
from agent.memory.chroma import ChromaMemory

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def memory_root(run_dir: Path, memory_dir: Path | None = None) -> Path:
    """Where the named stores live: `memory_dir`, else `<run_dir>/.memory` (so a separate run dir, as in
    tests or a project of its own, never sees another one's memories)."""
    return Path(memory_dir) if memory_dir is not None else Path(run_dir) / ".memory"


def check_memory_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise UsageError(f"{name!r} is not a memory name (letters, digits, '.', '_' and '-', at most 64)")
    return name


class NamedMemory(ChromaMemory):
    """A persistent store that can also be listed and pruned (`agent memory`)."""

    def entries(self, limit: int | None = None, where: dict | None = None) -> list[Recall]:
        with self._guard():
            found = self._collection.get(limit=limit, where=where, include=["documents", "metadatas"])
        documents, metadatas = found["documents"] or [], found["metadatas"] or []
        return [Recall(id=i, text=doc or "", distance=0.0, metadata=dict(meta or {}))
                for i, doc, meta in zip(found["ids"], documents, metadatas)]

    def delete(self, ids: list[str] | None = None, where: dict | None = None) -> int:
        """Forget the given ids, or every entry matching `where`; returns how many went."""
        with self._guard():
            found = self._collection.get(ids=ids, where=where, include=[])["ids"]
            if found:
                self._collection.delete(ids=found)
        return len(found)


def open_named(root: Path, name: str, cache_dir: Path | None = None) -> NamedMemory:
    """The persistent store `name` under `root`, created on first use."""
    return NamedMemory.persistent(Path(root) / check_memory_name(name), cache_dir=cache_dir)


def memory_names(root: Path) -> list[str]:
    root = Path(root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)) if root.is_dir() else []


class RunAndShared:
    """The run's own store plus the shared one. Every result goes into both (the run directory stays complete
    on its own); recall searches the shared store, which holds this run's results and every earlier run's."""

    def __init__(self, own: ChromaMemory, shared: ChromaMemory) -> None:
        self.own = own
        self.shared = shared

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        self.own.add(id, text, metadata)
        self.shared.add(id, text, metadata)

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        return self.shared.search(query, k, where)

    def count(self) -> int:
        return self.shared.count()

    def close(self) -> None:
        self.own.close()
        self.shared.close()
