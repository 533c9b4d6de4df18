"""The resident engine: `agent serve` keeps the model loaded; `agent run` with the same model settings runs
there (events streamed back, the run stored as any other), and in its own process whenever the server is gone,
serves another model, or the run would need to ask before a risky tool. Runs sent at once are queued."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from cli_calls import cli

from agent.config import build_settings
from agent.events import ModelCalled, RunFinished
from agent.models.fake import ScriptedModel
from agent.serve.client import ServedRunError, run_resident
from agent.serve.endpoint import FILE, Endpoint, find, model_key, publish
from agent.serve.server import Resident, make_server

from moves import call, finish


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in ("AGENT_CACHE_DIR", "AGENT_RUN_DIR", "AGENT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return build_settings({"cache_dir": tmp_path / "cache", "run_dir": tmp_path / "runs", "experience": False,
                           "default_adapter": False})


@pytest.fixture
def served(settings):
    """A resident engine over a scripted model on 127.0.0.1, published in the settings' cache dir."""
    model = ScriptedModel()
    server, endpoint = make_server(Resident(settings, model))
    publish(endpoint, settings.cache_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield model, endpoint
    server.shutdown()
    server.server_close()


def test_a_run_on_the_resident_engine_streams_its_events_and_is_stored(served, settings):
    model, endpoint = served
    model.enqueue(call("calculator", expression="17 * 23"), finish("17 * 23 = {1}."))
    assert find(settings) == endpoint
    events = []
    document = run_resident(endpoint, "What is 17 * 23?", settings, approve_risky=False, on_event=events.append)
    assert document["status"] == "done" and document["final_answer"] == "17 * 23 = 391."
    assert [e for e in events if isinstance(e, ModelCalled)] and isinstance(events[-1], RunFinished)
    stored = json.loads((settings.run_dir / document["run_id"] / "result.json").read_text())
    assert stored["final_answer"] == "17 * 23 = 391."


def test_runs_sent_at_once_are_queued_and_each_gets_its_own_answer(served, settings):
    model, endpoint = served
    model.seconds = 0.05  # slow enough for the two runs to overlap if they were not queued

    def reply(messages, schema):
        objective = next(m["content"] for m in reversed(messages) if m["content"].startswith("Objective:"))
        number = objective.split("What is ")[1].split(" ")[0]
        if any("Steps so far" in m["content"] for m in messages[-1:]):
            return json.dumps(finish(f"{number} * 2 = {{1}}."))
        return json.dumps(call("calculator", expression=f"{number} * 2"))

    model.default = reply
    documents: dict[int, dict] = {}

    def send(n: int) -> None:
        documents[n] = run_resident(endpoint, f"What is {n} * 2?", settings, approve_risky=False,
                                    on_event=lambda e: None)

    threads = [threading.Thread(target=send, args=(n,)) for n in (21, 34)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert documents[21]["final_answer"] == "21 * 2 = 42." and documents[34]["final_answer"] == "34 * 2 = 68."


def test_no_server_a_dead_one_another_model_or_a_wrong_token_is_no_resident_engine(served, settings, tmp_path):
    _, endpoint = served
    other = settings.model_copy(update={"model": "qwen2.5-coder-0.5b"})
    assert model_key(other) != endpoint.model and find(other) is None
    assert httpx.get(f"{endpoint.url}/health", headers={"Authorization": "Bearer nope"}).status_code == 403
    elsewhere = settings.model_copy(update={"cache_dir": tmp_path / "empty"})
    assert find(elsewhere) is None  # no discovery file
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    publish(Endpoint(endpoint.port, int(dead.stdout), endpoint.token, endpoint.model), elsewhere.cache_dir)
    assert find(elsewhere) is None  # its process is gone
    (elsewhere.cache_dir / FILE).write_text("{not json")
    assert find(elsewhere) is None


def test_a_run_the_server_refuses_is_one_line(served, settings):
    _, endpoint = served
    with pytest.raises(ServedRunError, match="serves smollm2-135m with other settings"):
        run_resident(endpoint, "What is 1 + 1?", settings.model_copy(update={"backend": "transformers"}),
                     approve_risky=False, on_event=lambda e: None)


def test_agent_run_uses_the_resident_engine_and_says_so(served, settings, monkeypatch, capsys):
    model, _ = served
    model.enqueue(call("calculator", expression="6 * 7"), finish("{1}"))
    monkeypatch.setenv("AGENT_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("AGENT_RUN_DIR", str(settings.run_dir))
    code, out, err = cli(monkeypatch, capsys, "run", "What is 6 * 7?", "--no-adapter", "--no-experience")
    assert code == 0 and out.strip() == "42" and "resident engine" in err
    assert model.pending == 0  # the scripted server model answered, not a model loaded here


@pytest.mark.slow
def test_agent_serve_with_the_default_model_answers_agent_run(tmp_path):
    env = {**os.environ, "AGENT_CACHE_DIR": str(Path(__file__).parent.parent / ".cache" / "agent"),
           "AGENT_RUN_DIR": str(tmp_path / "runs")}
    env.pop("AGENT_MODEL", None)
    agent = [sys.executable, "-m", "agent"]
    server = subprocess.Popen([*agent, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        for line in server.stdout:  # type: ignore[union-attr]
            if "serving" in line:
                break
        else:
            pytest.fail("agent serve stopped before it served")
        runs = [subprocess.run([*agent, "run", "What is 614 * 624?", "--no-experience", *extra], env=env,
                               capture_output=True, text=True, timeout=300) for extra in (["--json"], [])]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert all(done.returncode == 0 for done in runs), runs[0].stderr + runs[1].stderr
    assert "383136" in json.loads(runs[0].stdout)["final_answer"] and "383136" in runs[1].stdout
    assert "running on the resident engine" in runs[1].stderr
    assert not (Path(env["AGENT_CACHE_DIR"]) / FILE).exists()  # withdrawn when it stopped


def test_runs_on_the_resident_engine_leave_no_files_open(served, settings):
    model, endpoint = served
    model.default = lambda messages, schema: json.dumps(finish("done")) if schema and "finish" in json.dumps(
        schema) else json.dumps({"next": "solve"}) if schema else "a slogan"

    def runs(n: int) -> int:
        for i in range(n):
            run_resident(endpoint, f"Write slogan {i}", settings, approve_risky=False, on_event=lambda e: None)
        return len(os.listdir("/proc/self/fd"))

    after_two = runs(2)
    assert runs(6) <= after_two + 2  # each run's memory stores are closed with it (they were not: 12 files a run)
