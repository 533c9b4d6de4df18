"""Running an objective on a resident engine: the client's settings travel with it (paths made absolute), its
events come back as they happen and its result document last."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from agent.config import Settings
from agent.errors import AgentError, ModelError
from agent.events import Event, parse_event
from agent.serve.endpoint import Endpoint

CONNECT_SECONDS = 5.0


class ServedRunError(AgentError):
    """The resident engine refused the run or the run failed there; the message is the server's line."""


def portable(settings: Settings) -> dict[str, Any]:
    """The settings as JSON, every path absolute (the server's working directory is not the client's); the
    API key stays with the client."""
    resolved = {name: value.resolve() if isinstance(value, Path) else
                [v.resolve() if isinstance(v, Path) else v for v in value] if isinstance(value, list) else value
                for name, value in settings}
    return settings.model_validate(resolved).model_dump(mode="json", exclude={"api_key"})


def run_resident(endpoint: Endpoint, objective: str, settings: Settings, *, approve_risky: bool,
                 on_event: Callable[[Event], None]) -> dict[str, Any]:
    """The run's result document, as `RunResult.to_json_document()` gives it."""
    body = {"objective": objective, "settings": portable(settings), "approve_risky": approve_risky}
    try:
        with httpx.stream("POST", f"{endpoint.url}/run", json=body, headers=endpoint.headers,
                          timeout=httpx.Timeout(CONNECT_SECONDS, read=None)) as reply:
            if reply.status_code != 200:
                raise ServedRunError(f"the resident engine at {endpoint.url} refused the run "
                                     f"(HTTP {reply.status_code})")
            for line in reply.iter_lines():
                message = json.loads(line)
                if "event" in message:
                    on_event(parse_event(message["event"]))
                elif "result" in message:
                    return message["result"]
                elif "error" in message:
                    raise ServedRunError(str(message["error"]))
    except (httpx.HTTPError, ValueError) as exc:
        raise ModelError(f"lost the resident engine at {endpoint.url} ({type(exc).__name__}): the run may still "
                         "finish there; see `agent runs`") from None
    raise ModelError(f"the resident engine at {endpoint.url} stopped before the run ended: see `agent runs`")
