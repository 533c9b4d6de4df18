"""The agent as an MCP server (`agent mcp serve`), driven by the SDK's own client over stdio and streamable
HTTP: a run with progress notifications, the run list, memory search, resuming, and errors as tool errors."""

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters  # noqa: E402
from ports import free_port, wait_listening  # noqa: E402

AGENT_SERVER = Path(__file__).parent / "mcp_servers" / "agent_server.py"


def _structured(result) -> object:
    assert not result.is_error, result.content
    value = result.structured_content
    return value["result"] if isinstance(value, dict) and list(value) == ["result"] else value


def test_a_client_runs_an_objective_with_progress_then_lists_searches_and_resumes(tmp_path):
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def session() -> dict:
        server = StdioServerParameters(command=sys.executable, args=[str(AGENT_SERVER), str(tmp_path / "runs")])
        async with Client(server) as client:
            names = {t.name: t for t in (await client.list_tools()).tools}
            document = _structured(await client.call_tool("run_objective", {"objective": "What is 6 * 7?"},
                                                          progress_callback=on_progress))
            runs = _structured(await client.call_tool("list_runs", {}))
            found = _structured(await client.call_tool("search_memory", {"query": "6 * 7", "k": 2}))
            finished = await client.call_tool("resume_run", {"run_id": document["run_id"]})
            unknown = await client.call_tool("resume_run", {"run_id": "../etc"})
            empty = await client.call_tool("run_objective", {"objective": "  "})
            return {"names": names, "document": document, "runs": runs, "found": found, "finished": finished,
                    "unknown": unknown, "empty": empty}

    got = anyio.run(session)
    assert set(got["names"]) == {"run_objective", "resume_run", "list_runs", "search_memory"}
    assert got["names"]["list_runs"].annotations.read_only_hint
    document = got["document"]
    assert document["status"] == "done" and document["final_answer"] == "6 * 7 = 42."
    assert document["tasks"][0]["tool"] == "calculator" and document["tasks"][0]["result"] == "42"
    values = [value for value, _ in progress]
    assert values == sorted(set(values)) and len(values) >= 3  # increasing, one per cycle / task / end
    assert any("task 1 done" in (message or "") for _, message in progress)
    assert progress[-1][1] == "run finished: done"
    assert [(r["run_id"], r["status"], r["objective"]) for r in got["runs"]] == [
        (document["run_id"], "done", "What is 6 * 7?")]
    assert any("42" in entry["text"] for entry in got["found"])
    for error, said in ((got["finished"], "already finished"), (got["unknown"], "is not a run id"),
                        (got["empty"], "the objective is empty")):
        assert error.is_error and said in error.content[0].text and "Traceback" not in error.content[0].text


def test_the_server_on_streamable_http_on_loopback(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, str(AGENT_SERVER), str(tmp_path / "runs"), "--http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, 60)

        async def listing() -> object:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return _structured(await client.call_tool("list_runs", {}))

        assert anyio.run(listing) == []
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_agent_mcp_serve_runs_an_objective_with_the_default_model(tmp_path):
    async def session() -> dict:
        server = StdioServerParameters(command=sys.executable, args=[
            "-m", "agent", "mcp", "serve", "--run-dir", str(tmp_path / "runs"), "--max-cycles", "2"])
        async with Client(server, read_timeout_seconds=300) as client:
            return _structured(await client.call_tool("run_objective", {"objective": "What is 12 * 11?"}))

    document = anyio.run(session)
    assert set(document) >= {"run_id", "objective", "status", "final_answer", "tasks", "usage"}
    assert document["status"] in ("done", "max_cycles") and document["final_answer"].strip()
    print(json.dumps(document)[:300])
