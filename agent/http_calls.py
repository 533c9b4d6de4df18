"""HTTP calls bounded as a whole.

httpx's timeouts bound each connect and each read, not a call: a server that sends one byte every few seconds
holds a call for as long as it likes. `request_within` reads the reply in a worker thread and gives up at the
call's end, whatever the server does; the worker stops at its next byte (or its read timeout) and is left behind,
a daemon that cannot keep the process alive."""

import queue
import threading
import time
from typing import Any

import httpx

_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")  # the body is kept decoded


def request_within(client: httpx.Client, method: str, url: str, seconds: float, **kwargs: Any) -> httpx.Response:
    """`client.request(method, url, **kwargs)` with its whole body read, or httpx.ReadTimeout once `seconds`
    have passed since the call began."""
    end = time.monotonic() + max(seconds, 0.0)
    request = client.build_request(method, url, **{k: v for k, v in kwargs.items() if k != "timeout"})
    timeout = kwargs.get("timeout")
    if timeout is not None:
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
    replies: queue.SimpleQueue[httpx.Response | BaseException] = queue.SimpleQueue()

    def fetch() -> None:
        try:
            response = client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    if time.monotonic() > end:
                        raise httpx.ReadTimeout(f"no whole reply within {seconds:g} s", request=request)
                    body += chunk
            finally:
                response.close()
            headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_HEADERS]
            replies.put(httpx.Response(response.status_code, headers=headers, content=bytes(body),
                                       request=request))
        except BaseException as exc:  # handed to the caller's thread, raised there
            replies.put(exc)

    threading.Thread(target=fetch, name="http-call", daemon=True).start()
    try:
        reply = replies.get(timeout=max(end - time.monotonic(), 0.0) + 0.05)
    except queue.Empty:
        raise httpx.ReadTimeout(f"no whole reply within {seconds:g} s", request=request) from None
    if isinstance(reply, BaseException):
        raise reply
    return reply
