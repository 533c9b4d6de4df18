"""Tools of MCP servers, against real servers written with the SDK (tests/mcp_servers/tools_server.py), over
stdio and over streamable HTTP on 127.0.0.1: typed arguments, results as data, approval of risky tools, and
failures (a tool that raises, a slow one, a server that exits mid-call or never starts) as one line each."""

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_calls import cli
from ports import free_port, wait_listening

from agent import Agent, RunStatus, ScriptedModel, TaskStatus, ToolError, UsageError, mcp_tools
from agent.tools.runner import run_tool

from moves import call, finish

pytest.importorskip("mcp")
SERVER = Path(__file__).parent / "mcp_servers" / "tools_server.py"



@pytest.fixture(scope="module")
def http_url():
    """The test server on streamable HTTP, on a free loopback port, for the whole module."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, 30)
    yield f"http://127.0.0.1:{port}/mcp"
    process.kill()
    process.wait()


@pytest.fixture
def deleted(tmp_path) -> Path:
    """The file the risky tool appends to: it exists only if the tool ran."""
    return tmp_path / "deleted.log"


def servers(deleted: Path, **extra) -> dict:
    local = {"command": sys.executable, "args": [str(SERVER)], "env": {"TOOLS_SERVER_LOG": str(deleted)},
             "timeout": 3}
    return {"mcpServers": {"local": local, **extra}}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """One stdio server for the tests that only list and call (each start costs a Python start)."""
    log = tmp_path_factory.mktemp("mcp") / "deleted.log"
    document = servers(log)
    document["mcpServers"]["local"]["examples"] = {"echo": [["Say 'hi' twice", {"text": "{a}", "times": 2}],
                                                            ["Say nothing", {"words": "none"}]]}
    with mcp_tools(document) as toolset:
        yield {t.name: t for t in toolset}


def test_tools_join_as_server_dot_tool_with_typed_arguments_and_read_only_hints(local):
    assert {"local.echo", "local.measure", "local.delete_everything", "local.slow", "local.explode",
            "local.die"} <= set(local)
    assert not local["local.echo"].risky and local["local.delete_everything"].risky  # no readOnlyHint: risky
    schema = local["local.measure"].Arguments.model_json_schema()
    assert schema["properties"]["unit"]["enum"] == ["cm", "in"] and schema["required"] == ["unit", "values"]
    assert schema["additionalProperties"] is False
    with pytest.raises(ToolError, match="bad arguments for local.measure"):
        local["local.measure"].parse({"unit": "km", "values": [1]})
    assert local["local.echo"].parse({"text": "a"}).times == 1  # the server's default
    assert local["local.echo"].examples == [("Say 'hi' twice", {"text": "{a}", "times": 2})]  # the bad one left out


def test_results_are_data_structured_text_and_pictures_named_not_inlined(local):
    assert run_tool(local["local.echo"], {"text": "hi", "times": 2}) == "hi hi"  # structured, unwrapped
    assert json.loads(run_tool(local["local.measure"], {"unit": "cm", "values": [1, 2.5]})) == {
        "unit": "cm", "total": 3.5}
    shown = run_tool(local["local.picture"], {"caption": "a cat"})
    assert shown.startswith("a cat\n[image image/png") and "not shown" in shown and "iVBOR" not in shown


def test_failures_are_one_line_naming_the_server_and_the_next_call_starts_it_again(local):
    with pytest.raises(ToolError, match=r"^local\.explode failed: ") as raised:
        run_tool(local["local.explode"], {"reason": "boom"})
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"^MCP server 'local' gave no answer within 3 s calling slow$"):
        run_tool(local["local.slow"], {"seconds": 30})
    assert time.monotonic() - started < 25  # cut at its timeout, not run for its 30 s
    with pytest.raises(ToolError, match=r"^MCP server 'local' stopped while calling die") as died:
        run_tool(local["local.die"], {})
    for error in (raised.value, died.value):
        assert "\n" not in str(error) and "Traceback" not in str(error)
    assert run_tool(local["local.echo"], {"text": "back"}) == "back"  # started again, lazily


def test_a_server_that_never_starts_is_one_warning_and_the_others_still_serve(deleted, caplog):
    document = servers(deleted, broken={"command": sys.executable,
                                        "args": ["-c", "import sys; print('no config', file=sys.stderr); sys.exit(4)"]},
                       missing={"command": str(deleted.parent / "no-such-server")})
    with caplog.at_level(logging.WARNING, logger="agent"), mcp_tools(document) as toolset:
        names = [t.name for t in toolset]
    assert "local.echo" in names and not any(n.startswith(("broken.", "missing.")) for n in names)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("MCP server 'broken' did not start") and "no config" in line for line in lines)
    assert any(line.startswith("MCP server 'missing' did not start") for line in lines)


def test_a_resumed_run_gets_exactly_its_tools_and_those_of_a_server_down_fail_each_call(deleted):
    document = servers(deleted, down={"command": sys.executable, "args": ["-c", "raise SystemExit(1)"]})
    with mcp_tools(document) as toolset:
        assert toolset.select(["calculator"], exact=True) == []
        assert [t.name for t in toolset.select(["calculator"])] == [t.name for t in toolset]  # all join a run
        chosen = toolset.select(["local.echo", "down.lookup", "calculator"], exact=True)
        assert [t.name for t in chosen] == ["local.echo", "down.lookup"]
        with pytest.raises(ToolError, match=r"^down\.lookup is unavailable: MCP server 'down' did not start"):
            run_tool(chosen[1], {})
        with pytest.raises(UsageError, match="'local' has no tool 'nope'; it offers: local.delete_everything, "):
            toolset.select(["local.nope"])


def test_streamable_http_server(http_url):
    with mcp_tools({"mcpServers": {"remote": {"url": http_url, "headers": {"X-Test": "1"}}}}) as toolset:
        tools = {t.name: t for t in toolset}
        assert tools["remote.delete_everything"].risky and not tools["remote.echo"].risky
        assert run_tool(tools["remote.echo"], {"text": "over http"}) == "over http"
        with pytest.raises(ToolError, match="remote.explode failed"):
            run_tool(tools["remote.explode"], {"reason": "x"})


def _agent(model, toolset, tmp_path, memory, **kwargs) -> Agent:
    return Agent(model=model, tools=[*toolset], memory=memory, run_dir=tmp_path / "runs", experience=False,
                 similar_task_threshold=None, **kwargs)


def test_a_risky_mcp_tool_never_runs_without_approval(deleted, tmp_path, memory):
    with mcp_tools(servers(deleted)) as toolset:
        model = ScriptedModel([call("local.delete_everything", target="home"), finish("It was refused.")])
        result = _agent(model, toolset, tmp_path, memory).run("Delete my home directory")
        assert not deleted.exists()
        assert result.tasks[0].status is TaskStatus.failed
        assert result.tasks[0].result == "local.delete_everything was not approved by the user"
        model = ScriptedModel([call("local.delete_everything", target="tmp"), finish("Done: {1}.")])
        approved = _agent(model, toolset, tmp_path, memory, approve=lambda tool, args: True).run("Delete tmp")
    assert deleted.read_text() == "deleted tmp\n" and approved.final_answer == "Done: deleted tmp."


def test_a_run_goes_on_with_the_step_failed_when_its_server_dies_mid_call(deleted, tmp_path, memory):
    with mcp_tools(servers(deleted)) as toolset:
        model = ScriptedModel([call("local.die"), call("local.echo", text="again"), finish("{2}")])
        result = _agent(model, toolset, tmp_path, memory).run("Echo something")
    assert result.status is RunStatus.done and result.final_answer == "again"
    assert result.tasks[0].status is TaskStatus.failed
    assert result.tasks[0].result.startswith("MCP server 'local' stopped while calling die")


def test_cli_lists_the_servers_tools_and_says_what_is_wrong_in_one_line(deleted, tmp_path, monkeypatch, capsys):
    file = tmp_path / "servers.json"
    file.write_text(json.dumps(servers(deleted)))
    code, out, _ = cli(monkeypatch, capsys, "tools", "list", "--mcp", str(file))
    assert code == 0 and "local.delete_everything(target: string) [risky]" in out
    assert "local.echo(text: string, times: integer)\n    Repeat a text." in out
    monkeypatch.setenv("AGENT_MCP", str(file))  # the setting, as every other one, from the environment too
    code, out, _ = cli(monkeypatch, capsys, "tools", "list", "--json")
    assert code == 0 and "local.echo" in [spec["name"] for spec in json.loads(out)]
    monkeypatch.delenv("AGENT_MCP")
    file.write_text('{"servers": {}}')
    code, _, err = cli(monkeypatch, capsys, "tools", "list", "--mcp", str(file))
    assert code == 2 and err.count("\n") == 1 and "mcpServers" in err
    file.write_text('{"mcpServers": {"a.b": {"command": "x"}}}')
    code, _, err = cli(monkeypatch, capsys, "run", "hello", "--mcp", str(file))
    assert code == 2 and "server name 'a.b'" in err and err.count("\n") == 1
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "mcp" else object())
    code, _, err = cli(monkeypatch, capsys, "tools", "list", "--mcp", str(file))
    assert code == 2 and err == "agent: error: MCP support needs the mcp extra: pip install 'agent[mcp]'\n"
