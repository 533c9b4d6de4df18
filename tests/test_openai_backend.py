"""OpenAIModel against a real HTTP server on 127.0.0.1 that answers from a per-test script."""

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent import Agent, RunStatus
from agent.errors import AgentError, BackendError, UsageError
from agent.models.base import ChatModel
from agent.models.openai_http import OpenAIModel

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi"}]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
REJECT_SCHEMA = {"error": {"message": "response_format type json_schema is not supported", "type": "invalid"}}


def completion(content: str, usage: dict | None = None) -> dict:
    body: dict[str, Any] = {"id": "c1", "object": "chat.completion",
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                         "finish_reason": "stop"}]}
    if usage is not None:
        body["usage"] = usage
    return body


@dataclass
class Script:
    """What the server answers, in order: (status, JSON body, seconds to wait first); `default` once empty."""

    url: str = ""
    replies: deque = field(default_factory=deque)
    default: tuple[int, Any, float] = (418, {"error": {"message": "test script exhausted"}}, 0.0)
    bodies: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)

    def reply(self, status: int, body: Any, delay: float = 0.0) -> "Script":
        self.replies.append((status, body, delay))
        return self


@pytest.fixture
def server() -> Iterator[Script]:
    script = Script()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                script.bodies.append(body)
                script.headers.append(dict(self.headers))
                status, reply, delay = script.replies.popleft() if script.replies else script.default
            time.sleep(delay)
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up, which is what a delayed reply is for

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield script
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_model(server: Script) -> Iterator:
    models: list[OpenAIModel] = []

    def make(**kwargs: Any) -> OpenAIModel:
        kwargs.setdefault("backoff", 0.01)  # keeps retry tests fast; the doubling is still exercised
        models.append(OpenAIModel("test-model", server.url, **kwargs))
        return models[-1]

    yield make
    for model in models:
        model.close()


def test_plain_reply(server, make_model):
    server.reply(200, completion("hi there"))
    model = make_model()
    assert isinstance(model, ChatModel)
    generation = model.generate(MESSAGES, max_new_tokens=17)
    assert generation.text == "hi there" and generation.seconds > 0
    assert server.bodies == [{"model": "test-model", "messages": MESSAGES, "max_tokens": 17, "temperature": 0}]


def test_usage_is_read_from_the_reply_or_estimated(server, make_model):
    server.reply(200, completion("one two three", {"prompt_tokens": 42, "completion_tokens": 7}))
    server.reply(200, completion("one two three"))
    model = make_model()
    first, second = model.generate(MESSAGES), model.generate(MESSAGES)
    assert (first.prompt_tokens, first.completion_tokens) == (42, 7)
    assert (second.prompt_tokens, second.completion_tokens) == (4, 3)  # whitespace words


def test_schema_is_sent_as_json_schema_response_format(server, make_model):
    server.reply(200, completion('{"answer": "hi"}'))
    assert make_model().generate(MESSAGES, schema=SCHEMA).text == '{"answer": "hi"}'
    assert server.bodies[0]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True}}


def test_rejected_response_format_falls_back_and_is_remembered(server, make_model):
    server.reply(400, REJECT_SCHEMA).reply(200, completion('{"answer": "a"}')).reply(200, completion('{"answer": "b"}'))
    model = make_model()
    assert model.generate(MESSAGES, schema=SCHEMA).text == '{"answer": "a"}'
    assert model.generate(MESSAGES, schema=SCHEMA).text == '{"answer": "b"}'
    formats = [body["response_format"]["type"] for body in server.bodies]
    assert formats == ["json_schema", "json_object", "json_object"]  # asked once with json_schema, ever
    assert model.structured == "json_object"


def test_a_server_without_any_response_format_gets_none(server, make_model):
    reject_object = {"error": {"message": "unknown field: response_format"}}
    server.reply(400, REJECT_SCHEMA).reply(422, reject_object).reply(200, completion("{}"))
    model = make_model()
    model.generate(MESSAGES, schema=SCHEMA)
    assert [body.get("response_format", {}).get("type") for body in server.bodies] == [
        "json_schema", "json_object", None]
    assert model.structured == "none"


def test_server_error_is_retried(server, make_model):
    server.reply(500, {"error": "boom"}).reply(200, completion("recovered"))
    assert make_model(retries=3).generate(MESSAGES).text == "recovered"
    assert len(server.bodies) == 2


def test_persistent_503_gives_up_after_the_retries(server, make_model):
    server.default = (503, {"error": {"message": "overloaded"}}, 0.0)
    started = time.monotonic()
    with pytest.raises(BackendError) as raised:
        make_model(retries=2).generate(MESSAGES)
    assert len(server.bodies) == 3 and time.monotonic() - started < 5
    message = str(raised.value)
    assert "503" in message and "3 attempts" in message and "overloaded" in message and server.url in message


def test_timeout_is_retried_then_fails(server, make_model):
    server.default = (200, completion("too late"), 1.0)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"no reply within 0\.2 s .*2 attempts.*is the server running"):
        make_model(timeout=0.2, retries=1).generate(MESSAGES)
    assert len(server.bodies) == 2 and time.monotonic() - started < 3


def test_timeout_then_prompt_reply_succeeds(server, make_model):
    server.reply(200, completion("late"), 1.0).reply(200, completion("on time"))
    assert make_model(timeout=0.2).generate(MESSAGES).text == "on time"


def test_client_errors_are_not_retried_and_the_key_is_never_shown(server, make_model):
    server.reply(401, {"error": {"message": "invalid api key"}})
    model = make_model(api_key="sk-secret-123", retries=3)
    with pytest.raises(BackendError) as raised:
        model.generate(MESSAGES)
    assert len(server.bodies) == 1
    assert server.headers[0]["Authorization"] == "Bearer sk-secret-123"
    message = str(raised.value)
    assert "HTTP 401" in message and "check the API key" in message
    assert "sk-secret" not in message and "sk-secret" not in repr(model)


def test_no_server_at_the_url():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAIModel("m", f"http://127.0.0.1:{port}", retries=1, backoff=0.01)
    assert model.url == f"http://127.0.0.1:{port}/v1/chat/completions"
    with pytest.raises(BackendError, match="is the server running at"):
        model.generate(MESSAGES)
    model.close()


def test_a_reply_that_is_not_a_chat_completion(server, make_model):
    server.reply(200, {"hello": "world"})
    with pytest.raises(BackendError, match="OpenAI-compatible"):
        make_model().generate(MESSAGES)


@pytest.mark.parametrize("kwargs", [{"base_url": "localhost:8000"}, {"base_url": "ftp://h/v1"},
                                    {"base_url": "http://h/v1", "structured": "grammar"},
                                    {"base_url": "http://h/v1", "retries": -1}, {"base_url": "http://[::1"},
                                    {"base_url": "http://256.1.1.1:80/v1"}, {"base_url": "http://h:99999/v1"},
                                    {"base_url": "http://h/v1", "api_key": "éé"},
                                    {"base_url": "http://h/v1", "api_key": "sk-1\nX-Injected: 1"}])
def test_bad_settings_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        OpenAIModel("m", **kwargs)


def test_backend_error_is_an_agent_error():
    assert issubclass(BackendError, AgentError)


def test_a_full_agent_run_over_http(server, make_model, memory, tmp_path):
    plan = {"next": "plan", "steps": ["find the capital of France", "check it"]}
    for content in (json.dumps(plan), "Paris is the capital.", "It is.",
                    json.dumps({"next": "finish", "answer": "Paris."})):
        server.reply(200, completion(content, {"prompt_tokens": 10, "completion_tokens": 5}))
    result = Agent(model=make_model(), memory=memory, run_dir=tmp_path / "runs").run("Name the capital of France")
    assert result.status is RunStatus.done and result.final_answer == "Paris."
    assert result.tasks[0].result == "Paris is the capital." and memory.count() == 3  # two results, the answer
    assert (result.usage.llm_calls, result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 40, 20)
    structured = ["response_format" in body for body in server.bodies]
    assert structured == [True, False, False, True]
    assert "plan" in json.dumps(server.bodies[0]["response_format"]["json_schema"]["schema"])


def test_a_fallback_without_json_schema_states_the_shape_in_the_request(server, make_model):
    server.reply(400, REJECT_SCHEMA).reply(200, completion('{"answer": "a"}'))
    model = make_model()
    assert model.supports_schema
    model.generate(MESSAGES, schema=SCHEMA)
    constrained, fallback = server.bodies
    assert constrained["messages"] == MESSAGES  # the server constrains decoding: no shape in the words
    assert not model.supports_schema
    *earlier, last = fallback["messages"]
    assert earlier == MESSAGES[:-1] and last["role"] == "user"
    assert last["content"].startswith("say hi\n\n") and "JSON" in last["content"]
    assert json.loads(last["content"].split("\n")[-1]) == SCHEMA  # the schema itself, not just "JSON"


@pytest.mark.parametrize("structured", ["json_object", "none"])
def test_every_unconstrained_mode_states_the_shape_and_free_text_does_not(server, make_model, structured):
    server.reply(200, completion("{}")).reply(200, completion("hi"))
    model = make_model(structured=structured)
    model.generate(MESSAGES, schema=SCHEMA)
    model.generate(MESSAGES)
    shaped, free = server.bodies
    assert json.dumps(SCHEMA, separators=(",", ":")) in shaped["messages"][-1]["content"]
    assert free["messages"] == MESSAGES and "response_format" not in free


def test_a_reply_with_a_lone_surrogate_is_stored_text(server, make_model, memory, tmp_path):
    """JSON may carry a lone surrogate, UTF-8 cannot: the reply keeps a replacement character in its place and
    the run its state (a commit used to fail, leaving the run "running")."""
    server.reply(200, completion("4 \ud800 ok"))
    assert make_model().generate(MESSAGES).text == "4 \ufffd ok"
    server.default = (200, completion(json.dumps({"next": "finish", "answer": "4 \ud800"})), 0.0)
    result = Agent(model=make_model(), memory=memory, run_dir=tmp_path / "runs").run("Name the capital of France")
    assert result.status in (RunStatus.done, RunStatus.no_tasks)  # ended, not left running by a failed commit
    assert "\ud800" not in json.dumps(result.model_dump(mode="json"))
