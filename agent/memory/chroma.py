"""Vector memory on chromadb: a persistent store in the run dir, or a chroma server.

A run's memory is derived from its acknowledged results (the run re-stores every one of them on resume), so a
damaged local store is moved aside and rebuilt rather than fatal. Failures of a server or a full disk become one
clear error naming the server or the path."""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Self, TypeVar

import chromadb
from chromadb.config import Settings as ChromaSettings

from agent.errors import BackendError, StorageError
from agent.memory.base import Recall
from agent.memory.embedder import PackagedEmbedder
from agent.memory.store_lock import holding
from agent.store import disk_full

log = logging.getLogger(__name__)
T = TypeVar("T")

COLLECTION = "results"


@contextmanager
def opening_lock(path: Path) -> Iterator[None]:
    """Held while creating or opening the store at `path`, across processes (see `store_lock`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if disk_full(exc):
            raise StorageError(f"no space left on {path.parent}: free some space and try again") from None
        raise
    with holding(path, "opening"):
        yield


def open_or_move_aside(path: Path, open_store: Callable[[Path], T], what: str) -> T:
    """`open_store(path)` under the opening lock; when it fails on a damaged store, the store is renamed to
    `<path>.damaged-<time>` (nothing is deleted), a warning line names both paths, and a new one is opened.
    A full disk is said as such, and nothing is moved."""
    with opening_lock(path):
        _refuse_foreign(path, what)
        try:
            with full_disk_said(str(path)):  # a full disk is not damage: nothing is moved
                return open_store(path)
        except StorageError:
            _forget_system(path)
            raise
        except Exception as exc:  # chromadb surfaces damage as many types (InternalError, sqlite, Rust panics)
            if not (path / "chroma.sqlite3").exists():  # only a store of ours is ever moved
                raise
            if _not_damage(exc):
                raise StorageError(f"the {what} at {path} cannot be written now ({_first_line(exc)}): check its "
                                   "permissions, or whether another program holds it, then try again") from None
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}")
            path.rename(aside)
            _forget_system(path)
            reason = _first_line(exc)
            log.warning("the %s at %s could not be opened (%s): moved it aside to %s and started a new one",
                        what, path, reason, aside)
            return open_store(path)


@contextmanager
def full_disk_said(where: str, then: str = "free some space and try again") -> Iterator[None]:
    """A failure of the store at `where` on a full disk as one line, `then` saying what to do (chroma's
    compaction errors do not say why they failed, so a disk with almost no space left counts too)."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if disk_full(exc) or _nearly_full(where):
            raise StorageError(f"no space left on {where}: {then}") from None
        raise


def _refuse_foreign(path: Path, what: str) -> None:
    """Something at `path` that is not a store (a file, a directory of other things) is never moved or
    written into: a one-line error says so."""
    if path.is_symlink() and not path.exists():
        raise StorageError(f"the {what} path {path} is a broken link: remove it or choose another directory")
    if path.exists() and not path.is_dir():
        raise StorageError(f"the {what} path {path} is a file, not a store: move it away or choose another "
                           "directory")
    if path.is_dir() and not (path / "chroma.sqlite3").exists():
        try:
            foreign = next(iter(path.iterdir()), None)
        except OSError as exc:
            raise StorageError(f"the {what} at {path} cannot be read ({exc.strerror}): check its permissions"
                               ) from None
        if foreign is not None:
            raise StorageError(f"{path} holds other files ({foreign.name}) and no {what}: choose an empty or "
                               "new directory")


class ChromaMemory:
    """Every stored text is embedded by the packaged MiniLM, never by chroma's downloading default.
    `where` names the store in error messages (a path, or the server's URL)."""

    _local: Path | None = None  # the path of a local store: its operations hold its store_lock

    def __init__(self, client: "chromadb.ClientAPI", collection: str = COLLECTION, cache_dir: Path | None = None,
                 where: str = "the memory store") -> None:
        self.where = where
        self._client = client
        with self._guard():
            self._collection = client.get_or_create_collection(
                collection, embedding_function=PackagedEmbedder(cache_dir), metadata={"hnsw:space": "cosine"}  # type: ignore[arg-type]  # chroma's protocol also types image inputs; ours embeds documents only
            )

    @classmethod
    def persistent(cls, path: Path, **kwargs: Any) -> Self:
        """The store at `path`; a damaged one (garbled files, a truncated database, a file in its place) is
        moved aside to `<path>.damaged-<time>`, with a line saying so, and a fresh one is started (the run
        re-stores its results). Opening holds `opening_lock(path)`: runs started together on a new store create
        it once, never take a half-made one for damaged."""
        return open_or_move_aside(path, lambda where: cls._open(where, **kwargs), "memory store")

    @classmethod
    def _open(cls, path: Path, **kwargs: Any) -> Self:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if disk_full(exc):
                raise StorageError(f"no space left on {path}: free some space and try again") from None
            raise
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        try:
            memory = cls(client, where=str(path), **kwargs)
            memory._local = path
            memory._collection.count()  # reads the segment files: damage shows here, not mid-run
            memory._collection.peek(1)
        except BaseException:
            client.close()  # type: ignore[attr-defined]  # chromadb 1.x has close(), its stub does not; release the cached system, so the path can be opened afresh
            raise
        return memory

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        # upsert: re-storing the same id (e.g. after a resume) never duplicates a memory
        with self._guard():
            self._collection.upsert(ids=[id], documents=[text], metadatas=[metadata or {"kind": "note"}])

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        with self._guard():
            total = self._collection.count()
            if total == 0 or k <= 0:
                return []
            found = self._collection.query(query_texts=[query], n_results=min(k, total), where=where)
        documents, distances, metadatas = found["documents"], found["distances"], found["metadatas"]
        assert documents is not None and distances is not None and metadatas is not None  # included by default
        return [
            Recall(id=i, text=doc, distance=float(dist), metadata=dict(meta or {}))
            for i, doc, dist, meta in zip(found["ids"][0], documents[0], distances[0], metadatas[0])
        ]

    def count(self) -> int:
        with self._guard():
            return self._collection.count()

    def close(self) -> None:
        """Release the store's files and connections (a long-lived process opens a store per run)."""
        with self._guard():  # closing may write the index files
            self._client.close()  # type: ignore[attr-defined]  # chromadb 1.x has close(), its stub does not

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """A full disk or an unreachable server as one line; anything else is left as it is."""
        import httpx

        try:
            with full_disk_said(self.where, "free some space, then `agent resume RUN_ID` continues the run"), \
                    (holding(self._local) if self._local is not None else nullcontext()):
                yield
        except httpx.TransportError as exc:
            raise BackendError(f"memory server at {self.where} failed ({type(exc).__name__}: {exc}): is it "
                               "running? The run can be resumed with `agent resume RUN_ID` once it is") from None


def _forget_system(path: Path) -> None:
    """chromadb caches one system per store path, even one that failed to start; a fresh store at the same path
    needs that entry gone (chromadb has no public call for one path)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


def _not_damage(exc: BaseException) -> bool:
    """A store that is locked, busy or read-only is whole: moving it aside would lose it for nothing (and
    break every process that has it open)."""
    said = str(exc).lower()
    return any(word in said for word in ("readonly", "read-only", "database is locked", "busy", "permission"))


def _nearly_full(where: str) -> bool:
    """Whether the local store at `where` sits on a disk with almost no space left (False for a server)."""
    import shutil

    try:
        return Path(where).exists() and shutil.disk_usage(where).free < 16 * 1024 * 1024
    except (OSError, ValueError):
        return False
