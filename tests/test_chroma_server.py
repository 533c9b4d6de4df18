"""Memory on a real `chroma run` server on 127.0.0.1, with the real packaged embedder."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
import httpx
import pytest
from chromadb.config import Settings as ChromaSettings

from agent import Agent, RunStatus, ScriptedModel
from agent.errors import BackendError, UsageError
from agent.memory.remote import remote_memory

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("chroma")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")  # a file, not a pipe: a full pipe would stall the server
    server = subprocess.Popen([str(CHROMA), "run", "--path", str(root / "db"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"chroma run exited with {server.returncode}:\n{(root / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run gave no heartbeat in 60 s:\n{(root / 'server.log').read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_results_round_trip_through_the_server(chroma_url):
    memory = remote_memory(chroma_url, collection="round-trip")
    memory.add("r1", "Paris is the capital of France.", {"kind": "result"})
    memory.add("r2", "Bananas are rich in potassium.", {"kind": "result"})
    memory.add("r1", "Paris is the capital of France.", {"kind": "result"})  # upsert: no duplicate
    hits = memory.search("Which city is France's seat of government?", k=1)
    assert memory.count() == 2 and [h.id for h in hits] == ["r1"] and 0.0 <= hits[0].distance < 1.0
    assert remote_memory(chroma_url, collection="round-trip").search("fruit nutrition", k=1)[0].id == "r2"


def test_an_agent_run_stores_its_results_on_the_server(chroma_url, tmp_path):
    model = ScriptedModel([{"next": "solve"}, "Paris is the capital."])
    memory = remote_memory(chroma_url, collection="agent-run")
    result = Agent(model=model, memory=memory, run_dir=tmp_path / "runs").run("Name the capital of France")
    assert result.status is RunStatus.done
    port = int(chroma_url.rsplit(":", 1)[1])
    other = chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))
    stored = other.get_collection("agent-run").get(include=["documents"])
    assert len(stored["ids"]) == 2 and any("Paris is the capital." in d for d in stored["documents"])


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:notaport",
                                 "http://127.0.0.1:8000/some/path", "http://:8000"])
def test_a_malformed_url_is_a_usage_error(url):
    with pytest.raises(UsageError, match="http://HOST:PORT"):
        remote_memory(url)


def test_no_server_at_the_url_says_how_to_start_one():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendError, match=r"no chroma server at .*chroma run --path DIR --port N"):
        remote_memory(url)
