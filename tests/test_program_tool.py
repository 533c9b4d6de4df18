"""The `python` tool: a model's short program, run by the project's own interpreter, never by eval/exec."""

import json

import pytest

from agent import Agent, ScriptedModel
from agent.errors import ToolError
from agent.tools.builtin import python
from agent.tools.interpreter import MAX_ITEMS, ProgramError, interpret
from agent.tools.registry import builtin_tools


@pytest.mark.parametrize(("code", "printed"), [
    ("price = 80\nprice = price - price * 25 / 100\nprice -= 10\nprint(price)", "50"),
    ("nums = [4, 8, 15, 16, 23, 42]\nprint(sum(nums) / len(nums))\nprint(median(nums), max(nums) - min(nums))",
     "18\n15.5 38"),
    ("h, m = divmod(10 * 60 + 30 + 165, 60)\nprint(f'{h % 24:02d}:{m:02d}')", "13:15"),
    ("total = 0\nfor i in range(1, 11):\n    if i % 2 == 0:\n        total += i\n    else:\n        pass\ntotal", "30"),
    ("words = 'the quick brown fox'.split()\nprint(len(words), words[-1].upper())", "4 FOX"),
    ("squares = [n * n for n in range(5) if n > 1]\nprint(squares, squares[1:])", "[4, 9, 16] [9, 16]"),
    ("import math\nfrom statistics import mean\nprint(round(math.sqrt(2), 3), mean([1, 2]))", "1.414 1.5"),
    ("ages = {'ann': 31, 'bo': 27}\nages['cy'] = 40\nprint(max(ages.values()), sorted(ages))",
     "40 ['ann', 'bo', 'cy']"),
    ("x = 2 ** 10\nx", "1024"),
    ("print(0.1 + 0.2, 7 // 2, 7 % 3, 1 < 2 < 3, 'a' in 'cat', not 0)", "0.3 3 1 True True True"),
])
def test_a_program_prints_what_python_would(code: str, printed: str) -> None:
    assert interpret(code) == printed


@pytest.mark.parametrize(("code", "says"), [
    ("import os\nos.system('ls')", "import of os"),
    ("().__class__.__bases__", "Attribute"),
    ("print((1).__class__)", "Attribute"),
    ("open('/etc/passwd')", "unknown function: open"),
    ("eval('1')", "unknown function: eval"),
    ("print('{0.__class__}'.format(1))", "str.format is not allowed"),
    ("while True:\n    pass", "While"),
    ("def f():\n    return 1", "FunctionDef"),
    ("f = lambda: 1", "Lambda"),
    ("print(sum(range(10 ** 12)))", f"more than {MAX_ITEMS}"),
    ("x = [[0] * 10000] * 10000\nprint(x)", "characters to show"),
    ("s = 'ab' * 100000", f"more than {MAX_ITEMS}"),
    ("x = 9 ** 99999", "exponent"),
    ("for i in range(9000):\n    for j in range(9000):\n        pass", "steps"),
    ("print(1 / 0)", "division by zero"),
    ("x = [1, 2][5]", "IndexError"),
    ("x = 1\nx.real", "Attribute"),
    ("print(", "invalid syntax"),
    ("y = 1", None),
    ("", "empty"),
])
def test_what_a_program_may_not_do_is_one_line_saying_so(code: str, says: str | None) -> None:
    if says is None:
        assert interpret(code) == "1"
        return
    with pytest.raises(ProgramError) as caught:
        interpret(code)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_program_calls_the_pure_tools_by_name_with_keywords() -> None:
    assert python(code="print(dates(operation='add_days', date='March 3, 2021', days=45))") == "2021-04-17, a Saturday"
    assert python(code="km = convert(value=5, from_unit='mile', to_unit='kilometre')\nprint(km)") == "8.04672"
    with pytest.raises(ToolError, match="keyword arguments"):
        python(code="dates('weekday', 'May 1, 2024')")
    with pytest.raises(ToolError, match="python: .*dates"):
        python(code="print(dates(operation='weekday', date='the 40th of Smarch'))")
    with pytest.raises(ToolError, match="is a tool and cannot be assigned"):
        python(code="dates = 3")


def test_the_tool_is_built_in_offered_where_there_is_something_to_compute_and_documented() -> None:
    assert python in builtin_tools()
    assert python.applies("A jacket costs 80 dollars with 25% off. What is the price?")
    assert not python.applies("What is the capital of Japan?")
    spec = python.spec()
    assert "dates(...)" in spec["description"] and spec["parameters"]["required"] == ["code"]


def test_a_run_answers_from_what_the_program_prints(memory, tmp_path) -> None:
    code = "cost = 3 * 2.50 + 1.20\nprint(20 - cost)"
    model = ScriptedModel([json.dumps({"next": "python", "arguments": {"code": code}}),
                           json.dumps({"next": "finish", "answer": "The change is {1} dollars."})])
    agent = Agent(model=model, tools=[python], memory=memory, run_dir=tmp_path / "runs")
    result = agent.run("Tom buys 3 notebooks at 2.50 dollars each and a pen for 1.20 dollars. He pays with a "
                       "20 dollar bill. How much change does he get?")
    assert result.final_answer == "The change is 11.3 dollars."
    assert result.tasks[0].tool == "python" and result.tasks[0].result == "11.3"


def test_beside_the_workspace_a_program_reads_its_files_and_is_offered_for_a_named_file(memory, tmp_path) -> None:
    from agent.tools.workspace import workspace_tools

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "orders.csv").write_text("id,amount,status\n1,12.5,shipped\n2,7,open\n3,30,shipped\n")
    code = ("rows = [line.split(',') for line in read_file(path='orders.csv').splitlines()[1:]]\n"
            "print(sum(float(r[1]) for r in rows if r[2] == 'shipped'))")
    model = ScriptedModel([json.dumps({"next": "python", "arguments": {"code": code}}),
                           json.dumps({"next": "finish", "answer": "{1}"})])
    tools = [python, *workspace_tools(tmp_path / "ws")]
    agent = Agent(model=model, tools=tools, memory=memory, run_dir=tmp_path / "runs")
    result = agent.run("What is the total amount of the shipped orders in orders.csv?")
    assert result.final_answer == "42.5"
    beside = python.beside(tools)
    assert [t.name for t in beside.tools] == ["read_file", "list_files"]  # never write_file: it changes things
    assert beside.applies("Which product in stock.csv has the lowest quantity?")
    assert "no file is read" in python.description and "no file is read" not in beside.description
    assert not python.applies("Which product in stock.csv has the lowest quantity?")  # no file tool to read it


def test_python_is_allowed_by_name_only_never_in_every_tool_there_is(tmp_path) -> None:
    from agent.cli.eval import _tool_pool
    from agent.evaluation.suite import load_suite

    suite = tmp_path / "suite.jsonl"
    lines = [{"id": "a", "objective": "What is 2 + 2?", "check": {"type": "number", "value": 4}},
             {"id": "b", "objective": "What is 3 + 3?", "check": {"type": "number", "value": 6}, "tools": ["python"]}]
    suite.write_text("\n".join(json.dumps(line) for line in lines))
    items = load_suite(suite)
    assert "python" not in _tool_pool(items[:1], [], "cpu", whole=True)
    assert {"calculator", "dates", "convert"} <= set(_tool_pool(items[:1], [], "cpu", whole=True))
    assert "python" in _tool_pool(items, [], "cpu", whole=True)  # an item that names it gets it
