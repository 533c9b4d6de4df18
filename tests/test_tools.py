"""Tools: @tool schemas, argument errors, lazy setup, plugins, the workspace, memory search, the executor."""

import os
import sys
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent import Agent, ScriptedModel, TaskStatus, Tool, ToolError, UsageError, tool
from agent.tools.base import Arguments
from agent.tools.builtin import calculator
from agent.tools.memory_search import MemorySearch
from agent.tools.registry import available_tools
from agent.tools.workspace import workspace_tools

from moves import SOLVE, call, finish


def run_one_call(tmp_path, memory, tools, action, **options):
    """A run whose single task calls `action`; returns that task."""
    model = ScriptedModel([action, finish("answer")])
    result = Agent(model=model, tools=tools, memory=memory, run_dir=tmp_path / "runs", **options).run(
        "compute objective 1")
    return result.tasks[0]


def test_tool_schema_comes_from_hints_defaults_and_docstring():
    @tool
    def greet(name: str, times: int = 1, loud: bool = False) -> str:
        """Greet someone by name.

        Longer notes for humans stay out of the description.
        """
        return ("hi " + name) * times

    spec = greet.spec()
    assert (spec["name"], spec["description"], spec["risky"]) == ("greet", "Greet someone by name.", False)
    properties = spec["parameters"]["properties"]
    assert {k: v["type"] for k, v in properties.items()} == {"name": "string", "times": "integer", "loud": "boolean"}
    assert (properties["times"]["default"], properties["loud"]["default"]) == (1, False)
    assert spec["parameters"]["required"] == ["name"]
    assert greet(name="ann", times=2) == "hi annhi ann"
    assert tool(name="shout", risky=True)(greet.function).spec()["name"] == "shout"


def test_tool_without_docstring_or_type_hint_is_a_type_error():
    def undocumented(x: int) -> int:
        return x

    def untyped(x):
        """Has a docstring."""

    with pytest.raises(TypeError, match="docstring"):
        tool(undocumented)
    with pytest.raises(TypeError, match="'x' needs a type hint"):
        tool(untyped)


@pytest.mark.parametrize("arguments, field", [({}, "expression"), ({"expression": 3}, "expression"),
                                              ({"expression": "1", "extra": 1}, "extra")])
def test_bad_arguments_are_a_tool_error_naming_the_field(arguments, field):
    with pytest.raises(ToolError, match=f"bad arguments for calculator: {field}"):
        calculator(**arguments)


def test_setup_runs_once_and_only_when_first_called():
    class Counter(Tool):
        name = "counter"
        description = "Counts its setups."

        def __init__(self) -> None:
            super().__init__()
            self.setups = 0

        def setup(self) -> None:
            self.setups += 1

        def run(self, args: BaseModel) -> int:
            return self.setups

    counter = Counter()
    counter.spec()
    assert counter.setups == 0
    assert [counter(), counter()] == [1, 1]


def write_plugin(root: Path, dist: str, module: str, source: str, target: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[agent.tools]\n{dist} = {module}:{target}\n")


def test_plugin_tools_are_discovered_from_entry_points(tmp_path, monkeypatch):
    source = "from agent import tool\n\n@tool\ndef shout(text: str) -> str:\n    \"\"\"Upper-case text.\"\"\"\n" \
             "    return text.upper()\n"
    write_plugin(tmp_path, "fake_plugin", "fake_plugin", source, "shout")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_plugin", raising=False)
    tools = available_tools()
    assert "calculator" in tools and tools["shout"](text="hey") == "HEY"


@pytest.mark.parametrize("source, target, message", [
    ("raise ImportError('missing dependency')\n", "thing", "failed to load: missing dependency"),
    ("thing = 42\n", "thing", "is not a Tool"),
])
def test_a_broken_plugin_is_a_usage_error(tmp_path, monkeypatch, source, target, message):
    write_plugin(tmp_path, "broken_plugin", "broken_plugin", source, target)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "broken_plugin", raising=False)
    with pytest.raises(UsageError, match=message):
        available_tools()


@pytest.fixture
def workspace(tmp_path):
    """(read_file, write_file, list_files, root, outside): the root has a file, a link out and a linked dir."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "notes.txt").write_text("hello")
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside, root / "linked")
    return (*workspace_tools(root), root, outside)


@pytest.mark.parametrize("path, message", [
    ("../outside/secret.txt", "'..' is not allowed"), ("a/../../outside/secret.txt", "'..' is not allowed"),
    ("/etc/passwd", "relative"), ("", "relative"), (".", "relative"),
    ("link.txt", "outside the workspace"), ("linked/secret.txt", "outside the workspace"),
    ("linked/new.txt", "outside the workspace"),
])
def test_paths_out_of_the_workspace_are_refused(workspace, path, message):
    read_file, write_file, _, _, outside = workspace
    with pytest.raises(ToolError, match=message):
        read_file(path=path)
    with pytest.raises(ToolError, match=message):
        write_file(path=path, content="pwned")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


def test_workspace_reads_writes_and_lists_inside(workspace):
    read_file, write_file, list_files, root, _ = workspace
    assert read_file(path="notes.txt") == "hello"
    assert write_file(path="sub/new.txt", content="héllo") == "wrote 6 bytes to sub/new.txt"
    assert (root / "sub" / "new.txt").read_text() == "héllo"
    assert list_files() == {"files": [{"path": "notes.txt", "bytes": 5}, {"path": "sub/new.txt", "bytes": 6}],
                            "omitted": 0}
    (root / "blob.bin").write_bytes(b"\xff\x00")
    with pytest.raises(ToolError, match="not UTF-8 text"):
        read_file(path="blob.bin")
    with pytest.raises(ToolError, match="content"):
        write_file(path="big.txt", content="x" * 100_001)
    assert write_file.risky and not read_file.risky and not list_files.risky


@pytest.mark.parametrize("approved", [False, True])
def test_write_file_runs_only_when_approved(tmp_path, memory, approved):
    root = tmp_path / "ws"
    asked = []

    def approve(tool, arguments):
        asked.append((tool.name, arguments))
        return approved

    task = run_one_call(tmp_path, memory, workspace_tools(root), call("write_file", path="a/b.txt", content="hi"),
                        approve=approve)
    assert asked == [("write_file", {"path": "a/b.txt", "content": "hi"})]
    assert task.tool == "write_file"
    if approved:
        assert task.status is TaskStatus.done and (root / "a" / "b.txt").read_text() == "hi"
    else:
        assert task.status is TaskStatus.failed and "not approved" in task.result
        assert not root.exists()  # the workspace is created on the first write, and there was none


def test_memory_search_returns_stored_items(memory):
    memory.add("r1", "the moon is 384400 km away", {"kind": "result"})
    memory.add("r2", "paris is the capital of france", {"kind": "result"})
    search = MemorySearch(memory)
    found = search(query="how far away is the moon", k=1)
    assert [(r["id"], r["text"]) for r in found] == [("r1", "the moon is 384400 km away")]
    assert isinstance(found[0]["distance"], float)
    assert len(search(query="the", k=10)) == 2
    with pytest.raises(ToolError, match="k"):
        search(query="moon", k=11)
    memory.add("this:task-1", "the moon is far away", {"kind": "result", "run": "this"})
    assert [r["id"] for r in MemorySearch(memory, "this")(query="how far away is the moon", k=1)] == ["r1"]
    assert [r["id"] for r in search(query="how far away is the moon", k=1)] == ["this:task-1"]


def test_executor_calls_the_calculator(tmp_path, memory):
    task = run_one_call(tmp_path, memory, [calculator], call("calculator", expression="2^10"))
    assert (task.status, task.result, task.tool) == (TaskStatus.done, "1024", "calculator")


def test_a_failing_tool_fails_its_task_and_the_run_goes_on(tmp_path, memory):
    @tool
    def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"boom: {reason}")

    model = ScriptedModel([call("explode", reason="test"), SOLVE, "second done", finish("answer")])
    result = Agent(model=model, tools=[explode], memory=memory, run_dir=tmp_path / "runs").run("compute objective 1")
    first, second = result.tasks
    assert (first.status, first.tool, first.result) == (TaskStatus.failed, "explode",
                                                        "explode failed: RuntimeError: boom: test")
    assert (second.status, second.result) == (TaskStatus.done, "second done")
    assert result.final_answer == "answer"


def test_a_tool_slower_than_its_timeout_is_a_tool_error(tmp_path, memory):
    release = threading.Event()

    class Slow(Tool):
        name = "slow"
        description = "Takes its time."
        timeout_seconds = 0.2

        def run(self, args: BaseModel) -> str:
            release.wait(10)
            return "too late"

    try:
        task = run_one_call(tmp_path, memory, [Slow()], call("slow"))
    finally:
        release.set()  # lets the abandoned worker thread finish
    assert (task.status, task.tool, task.result) == (
        TaskStatus.failed, "slow", "slow timed out after 0.2 s and was abandoned")


def test_parameter_descriptions_come_from_the_docstring_into_the_schema():
    @tool
    def convert(amount: float, unit: str = "km", precise: bool = False) -> str:
        """Convert a distance.

        Args:
            amount: how far, as a number
                (negative is refused)
            unit (str): the unit to convert to
        :param precise: keep every digit
        """
        return f"{amount} {unit}"

    properties = convert.spec()["parameters"]["properties"]
    assert convert.description == "Convert a distance."
    assert properties["amount"]["description"] == "how far, as a number (negative is refused)"
    assert properties["unit"]["description"] == "the unit to convert to" and properties["unit"]["default"] == "km"
    assert properties["precise"]["description"] == "keep every digit"
    assert convert(amount=2) == "2.0 km"


def test_a_docstring_without_parameters_describes_none():
    assert "description" not in calculator.spec()["parameters"]["properties"]["expression"]


def test_typed_tools_receive_their_own_argument_model():
    class Echo(Arguments):
        text: str

    class Shout(Tool[Echo]):
        name = "shout"
        description = "Upper-case text."
        Arguments = Echo

        def run(self, args: Echo) -> str:
            return args.text.upper()  # an Echo, not a bare BaseModel: no cast, no ignore

    assert Shout()(text="hey") == "HEY"
