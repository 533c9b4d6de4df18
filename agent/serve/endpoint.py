"""Where a resident engine listens and what it serves, as its discovery file says; found and checked by clients.

The file (`<cache dir>/serve.json`, readable by its owner only) holds the port, the process id, a token every
request must carry, and the key of the model served: the settings that decide which weights answer. A client
uses a server only when its own settings give the same key; a file left by a process that is gone, or a server
that does not answer its health check within a second, is no server."""

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.config import Settings

FILE = "serve.json"
HEALTH_SECONDS = 1.0


@dataclass(frozen=True)
class Endpoint:
    port: int
    pid: int
    token: str
    model: str  # model_key() of the settings it was started with

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def model_key(settings: Settings) -> str:
    """What decides the weights and engine that answer: a run with another key needs another server."""
    adapter = str(settings.adapter.resolve()) if settings.adapter else ("default" if settings.default_adapter else "")
    return json.dumps([settings.model, settings.backend, settings.device, settings.base_url, adapter,
                       str(settings.cache_dir.resolve())])


def new_token() -> str:
    return secrets.token_urlsafe(24)


def publish(endpoint: Endpoint, cache_dir: Path) -> Path:
    """Write the discovery file atomically, readable by its owner only."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / FILE
    staged = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(endpoint), handle)
    os.replace(staged, path)
    return path


def withdraw(endpoint: Endpoint, cache_dir: Path) -> None:
    """Remove the discovery file if it is still this server's."""
    path = cache_dir / FILE
    try:
        if json.loads(path.read_text()).get("pid") == endpoint.pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def find(settings: Settings) -> Endpoint | None:
    """The resident engine serving these settings' model, alive and answering; None otherwise."""
    try:
        endpoint = Endpoint(**json.loads((settings.cache_dir / FILE).read_text()))
        os.kill(endpoint.pid, 0)
    except (OSError, ValueError, TypeError):
        return None
    if endpoint.model != model_key(settings):
        return None
    import httpx  # only once a server is there to ask: a run without one does not pay for the import

    try:
        reply = httpx.get(f"{endpoint.url}/health", headers=endpoint.headers, timeout=HEALTH_SECONDS)
        healthy = reply.status_code == 200 and reply.json().get("model") == endpoint.model
    except (httpx.HTTPError, ValueError):
        return None
    return endpoint if healthy else None
