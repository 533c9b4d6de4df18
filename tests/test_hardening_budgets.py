"""Time bounds the calls themselves: a slow model, a silent model server or a silent memory server end on time."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from agent.errors import BackendError, BudgetExhausted
from agent.models.fake import ScriptedModel
from agent.models.openai_http import OpenAIModel
from agent.prompting.meter import Meter


@pytest.fixture
def silent_server():
    """A listener that accepts connections (the kernel does, from its backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@contextlib.contextmanager
def trickler(interval: float) -> Iterator[str]:
    """A local server (HOST:PORT) that answers every connection with HTTP headers, then one body byte every
    `interval` seconds for as long as it runs: each read is quick, the reply never ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 1000000000\r\n\r\n")
                while not stop.is_set():
                    connection.sendall(b" ")
                    stop.wait(interval)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:  # the accept timeout, or the listener closed
                continue
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@pytest.fixture
def trickling_server() -> Iterator[str]:
    with trickler(0.2) as address:
        yield address


def test_a_trickling_model_server_ends_at_the_deadline(trickling_server):
    """Each byte comes well within the read timeout; the call as a whole still ends at the run's deadline."""
    model = OpenAIModel("m", f"http://{trickling_server}/v1", timeout=60, retries=3, backoff=0)
    started = time.monotonic()
    with pytest.raises(BudgetExhausted):
        model.generate([{"role": "user", "content": "hi"}], deadline=time.monotonic() + 1.0)
    assert time.monotonic() - started < 5  # the server would trickle for 30 s


def test_a_trickling_model_server_is_bounded_by_the_timeout(trickling_server):
    model = OpenAIModel("m", f"http://{trickling_server}/v1", timeout=1.0, retries=0, backoff=0)
    started = time.monotonic()
    with pytest.raises(BackendError, match="gave no reply within 1 s"):
        model.generate([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 5


def test_a_trickling_memory_server_is_one_line_naming_it(trickling_server):
    from agent.memory.remote import remote_memory

    started = time.monotonic()
    with pytest.raises(BackendError, match=f"chroma server at http://{trickling_server} did not answer"):
        remote_memory(f"http://{trickling_server}", connect_timeout=0.5, read_timeout=0.5, attempts=2)
    assert time.monotonic() - started < 8


def test_the_meter_hands_the_time_left_to_the_backend_as_a_deadline():
    model = ScriptedModel(default="slow reply", seconds=30)
    meter = Meter(model, max_tokens=10_000, max_seconds=0.5, emit=lambda event: None)
    started = time.monotonic()
    generation = meter.generate([{"role": "user", "content": "hi"}], purpose="plan")
    assert time.monotonic() - started < 2 and generation.text == ""
    assert model.calls[0].deadline == pytest.approx(started + 0.5, abs=0.2)
    with pytest.raises(BudgetExhausted, match="time budget"):
        meter.generate([{"role": "user", "content": "hi"}], purpose="plan")
    with meter.unbounded():  # the closing answer is not cut short
        assert meter.deadline() is None


def test_a_silent_model_server_ends_at_the_deadline(silent_server):
    model = OpenAIModel("m", f"http://{silent_server}/v1", timeout=60, retries=3, backoff=0)
    started = time.monotonic()
    with pytest.raises(BudgetExhausted):
        model.generate([{"role": "user", "content": "hi"}], deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 3


def test_a_silent_model_server_is_one_line_after_bounded_attempts(silent_server):
    model = OpenAIModel("m", f"http://{silent_server}/v1", timeout=0.3, retries=1, backoff=0)
    started = time.monotonic()
    with pytest.raises(BackendError, match="gave no reply within 0.3 s") as caught:
        model.generate([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 5 and "\n" not in str(caught.value)


def test_a_silent_memory_server_is_one_line_naming_it(silent_server):
    from agent.memory.remote import remote_memory

    started = time.monotonic()
    with pytest.raises(BackendError, match=f"chroma server at http://{silent_server} did not answer"):
        remote_memory(f"http://{silent_server}", connect_timeout=0.3, read_timeout=0.3, attempts=2)
    assert time.monotonic() - started < 10


def test_no_memory_server_at_all_is_one_line():
    from agent.memory.remote import remote_memory

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(BackendError, match="no chroma server at"):
        remote_memory(f"http://127.0.0.1:{port}", attempts=1)


def test_a_run_with_a_slow_model_ends_by_its_time_budget(memory, tmp_path):
    from agent.run.agent import Agent

    model = ScriptedModel(default=lambda messages, schema: "{}" if schema else "words", seconds=20)
    agent = Agent(model=model, memory=memory, run_dir=tmp_path, max_seconds=1.0, similar_task_threshold=None)
    started = time.monotonic()
    result = agent.run("objective")
    assert result.status.value == "max_seconds"
    assert time.monotonic() - started < 1.0 + 4  # without the deadline the first call alone takes 20 s
    assert all(call.deadline is None or call.deadline <= started + 1.3 for call in model.calls)


@pytest.mark.slow
def test_a_deadline_stops_the_real_model_mid_generation():
    from pathlib import Path

    from agent.models.catalog import resolve
    from agent.models.local import LocalModel

    model = LocalModel(resolve("smollm2-135m"), device="cpu",
                       cache_dir=Path(__file__).parent.parent / ".cache" / "agent")
    assert model.load_seconds > 0
    messages = [{"role": "user", "content": "Write a very long story about a paperclip."}]
    # 400 tokens take many seconds on any CPU; the deadline leaves time for a handful at most
    generation = model.generate(messages, max_new_tokens=400, deadline=time.monotonic() + 0.3)
    assert 0 < generation.completion_tokens < 400
