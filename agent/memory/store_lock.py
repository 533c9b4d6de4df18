"""The cross-process lock of a local store, held while it is opened and around each operation on it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from agent.errors import StorageError

OPENING_TIMEOUT = 120.0  # seconds a run waits for another process holding the same store


def store_lock(path: Path) -> filelock.FileLock:
    """The cross-process lock of the local store at `path` (a lock file beside it): held while the store is
    opened and around each operation on it. chromadb's local store is not safe for two processes at once (one
    writing its index files while another reads or opens them), and runs share stores (named memory,
    experience). One instance per path in a process, so holding it again in the same thread nests."""
    return filelock.FileLock(str(path.parent / f".{path.name}.lock"), is_singleton=True)


@contextmanager
def holding(path: Path, doing: str = "using") -> Iterator[None]:
    """`store_lock(path)` held; a holder that keeps it OPENING_TIMEOUT seconds is one line."""
    lock = store_lock(path)
    try:
        lock.acquire(timeout=OPENING_TIMEOUT)
    except filelock.Timeout:
        raise StorageError(f"another process has been {doing} {path} for {OPENING_TIMEOUT:g} s: wait for it "
                           "to finish, or stop it, then try again") from None
    try:
        yield
    finally:
        lock.release()
