"""Memory on a chroma server (`chroma run`), shared by every run that points at it.

Every request has connect and read timeouts: a server that accepts connections but never answers is an error
naming it after a bounded number of attempts, never a hang."""

from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from agent.errors import BackendError, UsageError
from agent.http_calls import request_within
from agent.memory.chroma import COLLECTION, ChromaMemory

_FORM = "use http://HOST:PORT, e.g. http://127.0.0.1:8000"
CONNECT_SECONDS = 5.0
READ_SECONDS = 30.0  # a query embeds nothing server-side (we send vectors), so this is generous
ATTEMPTS = 3


def remote_memory(url: str, *, collection: str = COLLECTION, connect_timeout: float = CONNECT_SECONDS,
                  read_timeout: float = READ_SECONDS, attempts: int = ATTEMPTS) -> ChromaMemory:
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
    port = port or (443 if ssl else 8000)
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    # the heartbeat is tiny: a server that takes longer than a connect to answer it is not answering
    _heartbeat(f"{parts.scheme}://{parts.hostname}:{port}", url, httpx.Timeout(connect_timeout), attempts)
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=port, ssl=ssl,
                                     settings=ChromaSettings(anonymized_telemetry=False))
    except (ValueError, httpx.TransportError) as exc:  # chromadb reports most failures to connect as ValueError
        raise BackendError(f"no chroma server at {url} ({exc}): start one with "
                           "`chroma run --path DIR --port N`") from None
    # chromadb builds its httpx session with no timeout at all and offers no setting for one
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = timeout
    return ChromaMemory(client, collection=collection, where=url)


def _heartbeat(base: str, url: str, timeout: httpx.Timeout, attempts: int) -> None:
    """Ask the server for its heartbeat, with timeouts and a bounded retry, before chromadb talks to it."""
    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=0.5, max=4),
                        retry=retry_if_exception_type(httpx.TransportError), reraise=True)
    try:
        for attempt in retrying:
            with attempt, httpx.Client(timeout=timeout) as http:
                request_within(http, "GET", f"{base}/api/v2/heartbeat", timeout.connect or CONNECT_SECONDS)
    except httpx.TimeoutException as exc:
        raise BackendError(f"chroma server at {url} did not answer within {timeout.read or 0:g} s "
                           f"({type(exc).__name__}, {attempts} attempts): is it a chroma server, and alive?") from None
    except httpx.TransportError as exc:
        raise BackendError(f"no chroma server at {url} ({type(exc).__name__}: {exc}, {attempts} attempts): start "
                           "one with `chroma run --path DIR --port N`") from None
