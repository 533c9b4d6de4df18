"""Loopback ports for tests that start servers: a free one, and waiting until a server listens on it."""

import socket
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, seconds: float) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`, or after `seconds` (the test then fails
    on its own first request, with that request's error)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
