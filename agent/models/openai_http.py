"""A ChatModel served over HTTP by any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, TGI,
llama.cpp server, Ollama)."""

import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.stop import stop_base

from agent.errors import BackendError, BudgetExhausted, UsageError
from agent.http_calls import request_within
from agent.models.base import ChatModel, Generation, Message
from agent.prompt_files import render
from agent.text import valid_text

log = logging.getLogger(__name__)

# Strongest first: a server that rejects one is asked with the next, for the rest of the model's life.
STRUCTURED_MODES = ("json_schema", "json_object", "none")
CONNECT_SECONDS = 10.0  # a server that does not accept a connection in this long is not there


class _Transient(Exception):
    """A reply worth asking again for (429, 5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class OpenAIModel(ChatModel):
    """`generate` posts one chat completion at temperature 0. With a schema it asks for the reply in that
    shape (`structured`: json_schema, json_object or none), stepping down once per instance when the server
    rejects the form; agent/prompting/structured.py validates whatever comes back. Below json_schema the server cannot
    constrain decoding, so the schema goes into the last message as text (`supports_schema` says which).

    `retries` is how many times a call is asked again after a connection error, a timeout, 429 or 5xx
    (1 + retries attempts), waiting `backoff` seconds, then twice as long each time, up to 8 s."""

    def __init__(self, name: str, base_url: str, *, api_key: str | None = None, timeout: float = 60.0,
                 retries: int = 3, structured: str = "json_schema", backoff: float = 0.5) -> None:
        if structured not in STRUCTURED_MODES:
            raise UsageError(f"structured output mode {structured!r} is unknown: use one of {STRUCTURED_MODES}")
        if retries < 0 or timeout <= 0 or backoff < 0:
            raise UsageError("retries and backoff must be >= 0 and timeout > 0")
        self.name = name
        self.url = _completions_url(base_url)
        self.timeout = timeout
        self.retries = retries
        self.structured = structured
        self.supports_schema = structured == "json_schema"
        self._backoff = backoff
        if api_key and not (api_key.isascii() and api_key.isprintable()):
            raise UsageError("the API key holds characters a request header cannot carry (non-ASCII or control "
                             "characters): check AGENT_API_KEY")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=self._timeout(None), headers=headers)

    def __repr__(self) -> str:  # never shows the api key
        return f"OpenAIModel(name={self.name!r}, url={self.url!r}, structured={self.structured!r})"

    def close(self) -> None:
        self._client.close()

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation:
        started = time.perf_counter()
        body: dict[str, Any] = {"model": self.name, "max_tokens": max_new_tokens, "temperature": 0}
        while True:
            mode = self.structured if schema is not None else "none"
            if schema is not None and mode != "json_schema":
                body["messages"] = _with_shape(messages, schema)
            else:
                body["messages"] = list(messages)
            if schema is not None and mode != "none":
                body["response_format"] = _response_format(mode, schema)
            else:
                body.pop("response_format", None)
            response = self._post(body, deadline)
            if schema is not None and mode != "none" and _rejects_response_format(response):
                self.structured = STRUCTURED_MODES[STRUCTURED_MODES.index(mode) + 1]
                self.supports_schema = False
                log.warning("%s rejected response_format %s; using %s from now on", self.url, mode, self.structured)
                continue
            break
        if response.is_error:
            raise BackendError(self._status_message(response))
        text = self._content(response)
        usage = _json(response).get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        if not isinstance(prompt_tokens, int):
            prompt_tokens = sum(len(m["content"].split()) for m in messages)
        if not isinstance(completion_tokens, int):
            completion_tokens = len(text.split())
        return Generation(text, prompt_tokens, completion_tokens, seconds=time.perf_counter() - started)

    def _timeout(self, deadline: float | None) -> httpx.Timeout:
        """Connect and read timeouts, cut to what is left before `deadline`."""
        total = self.timeout if deadline is None else max(min(self.timeout, deadline - time.monotonic()), 0.001)
        return httpx.Timeout(total, connect=min(CONNECT_SECONDS, total))

    def _post(self, body: dict[str, Any], deadline: float | None = None) -> httpx.Response:
        """One call, asked again on transient failures; BackendError once they are spent, BudgetExhausted
        when the deadline passes first."""
        attempts = self.retries + 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts) | _StopAt(deadline),
            wait=wait_exponential(multiplier=self._backoff, max=8),
            retry=retry_if_exception_type((_Transient, httpx.TransportError)),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if _past(deadline):
                        raise BudgetExhausted("max_seconds", f"time budget spent waiting for {self.url}")
                    timeout = self._timeout(deadline)
                    response = request_within(self._client, "POST", self.url, timeout.read or self.timeout,
                                              json=body, timeout=timeout)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Transient(response)
        except (_Transient, httpx.TransportError) as exc:
            if _past(deadline):
                raise BudgetExhausted("max_seconds", f"time budget spent waiting for {self.url}") from None
            if isinstance(exc, _Transient):
                raise BackendError(self._status_message(exc.response, attempts)) from None
            if isinstance(exc, httpx.TimeoutException):
                raise BackendError(
                    f"model server at {self.url} gave no reply within {self.timeout:g} s ({type(exc).__name__}, "
                    f"{attempts} attempts): is the server running and the model loaded? A slow model needs a "
                    "longer timeout") from None
            raise BackendError(
                f"cannot reach the model server at {self.url} ({type(exc).__name__}: {exc}, {attempts} attempts):"
                f" is the server running at {self.url}?") from None
        return response

    def _status_message(self, response: httpx.Response, attempts: int = 1) -> str:
        status = response.status_code
        hint = {
            401: "check the API key",
            403: "check the API key and its permissions",
            404: f"check the base URL (it usually ends in /v1) and that the server serves model {self.name!r}",
            429: "the server is rate-limiting: wait, or lower the request rate",
        }.get(status, "check the server's log" if status >= 500 else "check the model name and the request")
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return f"model server at {self.url} answered HTTP {status}{tries}: {_detail(response)}; {hint}"

    def _content(self, response: httpx.Response) -> str:
        try:
            content = _json(response)["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(f"model server at {self.url} sent no choices[0].message in its reply "
                               f"({response.text[:200]!r}): is it an OpenAI-compatible endpoint?") from None
        # a reply cut off before any text (or a tool-call-only reply) is empty text, which validation re-asks
        return valid_text(content) if isinstance(content, str) else ""


class _StopAt(stop_base):
    """Stop asking again once the deadline has passed."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return _past(self.deadline)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _completions_url(base_url: str) -> str:
    """`http://host:port` gets the conventional /v1; a base URL with a path is used as given."""
    usage = f"base URL {base_url!r} is not an http(s) URL: pass e.g. http://127.0.0.1:8000/v1"
    try:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(usage)
        path = parts.path.rstrip("/") or "/v1"
        url = f"{parts.scheme}://{parts.netloc}{path}/chat/completions"
        _ = parts.port  # a port out of range
        httpx.URL(url).copy_with()  # the host as the client will read it (an IPv4 part over 255)
    except (ValueError, httpx.InvalidURL) as exc:
        raise UsageError(f"{usage} ({exc})") from None
    return url


def _with_shape(messages: Sequence[Message], schema: dict[str, Any]) -> list[Message]:
    """The messages with the JSON shape stated at the end of the last one: a server that cannot constrain
    decoding otherwise leaves a small model guessing the keys. Appended last, so the shared prefix of the
    run's calls (system prompt, objective) stays the same for the server's prefix cache."""
    shape = render("json_shape", schema=json.dumps(schema, separators=(",", ":")))
    *earlier, last = messages
    return [*earlier, Message(role=last["role"], content=f"{last['content']}\n\n{shape}")]


def _response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any]:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    return {"type": "json_object"}


def _rejects_response_format(response: httpx.Response) -> bool:
    # FastAPI-based servers answer a body they cannot parse with 422 rather than 400
    if response.status_code not in (400, 422):
        return False
    text = response.text.lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _detail(response: httpx.Response) -> str:
    """The server's own error message, short."""
    error = _json(response).get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or response.text or response.reason_phrase)[:300]
