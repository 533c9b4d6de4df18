"""Memory on a chroma server (`chroma run`), shared by every run that points at it."""

from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings as ChromaSettings

from agent.errors import BackendError, UsageError
from agent.memory.chroma import COLLECTION, ChromaMemory

_FORM = "use http://HOST:PORT, e.g. http://127.0.0.1:8000"


def remote_memory(url: str, *, collection: str = COLLECTION) -> ChromaMemory:
    """A ChromaMemory on the chroma server at `url`; without a port, http means chroma's 8000, https 443."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"memory URL {url!r} has an invalid port: {_FORM}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") \
            or parts.query or parts.fragment or parts.username:
        raise UsageError(f"memory URL {url!r} is not of the form http://HOST:PORT: {_FORM}")
    ssl = parts.scheme == "https"
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=port or (443 if ssl else 8000), ssl=ssl,
                                     settings=ChromaSettings(anonymized_telemetry=False))
    except ValueError as exc:  # chromadb reports every failure to connect as ValueError
        raise BackendError(f"no chroma server at {url} ({exc}): start one with "
                           "`chroma run --path DIR --port N`") from None
    return ChromaMemory(client, collection=collection)
