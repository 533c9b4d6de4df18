"""Evaluation suites: checkers, suite validation, run_suite with scripted agents, shared memory, `agent eval`."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ListMemory

from agent import Agent, BackendError, ScriptedModel, UsageError
from agent.eval_cli import eval_command
from agent.evaluation import (
    EvalItem,
    SharedMemories,
    first_label,
    format_table,
    last_number,
    load_suite,
    parse_suite,
    passes,
    report_json,
    run_suite,
)

SUITES = Path(__file__).parent.parent / "examples" / "suites"


def plan(*descriptions: str) -> dict:
    return {"tasks": [{"description": d, "depends_on": []} for d in descriptions]}


def progress(done: bool) -> dict:
    return {"summary": "progress", "done": done, "reason": "because"}


def item(id: str, check: dict, **extra) -> EvalItem:
    return EvalItem.model_validate({"id": id, "objective": f"objective of {id}", "check": check, **extra})


@pytest.mark.parametrize("text, number", [
    ("The answer is 1,234.5.", 1234.5), ("-3", -3.0), ("x = 1e3!", 1000.0), ("2.5E-3 it is", 0.0025),
    ("first 12, then 7.", 7.0), ("$-1,043.", -1043.0), ("\u22125", -5.0), (".5", 0.5), ("it is 42%", 42.0),
    ("3-4", 4.0),  # a minus between numbers is subtraction, not a sign
    ("the code is amber-17", 17.0), ("1,23", 23.0), ("v1.2.3", None), ("SmolLM2", None), ("none", None), ("", None),
])
def test_last_number(text, number):
    assert last_number(text) == number


@pytest.mark.parametrize("check, answer, expected", [
    ({"type": "number", "value": 1234.5}, "so 1,234.5.", True),
    ({"type": "number", "value": -1043}, "-1043 is the result", True),
    ({"type": "number", "value": 10, "tolerance": 0.5}, "about 10.4", True),
    ({"type": "number", "value": 10, "tolerance": 0.5}, "about 10.6", False),
    ({"type": "number", "value": 0.3}, "0.30000000000000004", True),
    ({"type": "number", "value": 3}, "3 apples and then 4", False),  # the last number counts
    ({"type": "number", "value": 3}, "no number at all", False),
    ({"type": "strings", "values": ["New York", "IBM"]}, "ibm opened in new\n york", True),
    ({"type": "strings", "values": ["New York", "IBM"]}, "IBM only", False),
    ({"type": "strings", "values": ["New York", "IBM"], "mode": "any"}, "IBM only", True),
    ({"type": "regex", "pattern": r"\bamber-\d+\b"}, "it is amber-17.", True),
    ({"type": "regex", "pattern": r"^\d+$"}, "17 apples", False),
    ({"type": "label", "value": "positive", "labels": ["negative", "positive"]}, "Positive, not negative.", True),
    ({"type": "label", "value": "positive", "labels": ["negative", "positive"]}, "negative, not positive", False),
    ({"type": "label", "value": "positive", "labels": ["negative", "positive"]}, "nonpositive", False),
    ({"type": "label", "value": "positive", "labels": ["negative", "positive"]}, "no idea", False),
])
def test_checks(check, answer, expected):
    assert passes(item("x", check).check, answer) is expected


def test_first_label_prefers_the_earliest_then_the_longest_mention():
    assert first_label("very positive overall", ["positive", "very positive"]) == "very positive"
    assert first_label("N/A then yes", ["yes", "N/A"]) == "N/A"


GOOD = '{"id": "a", "objective": "2+2?", "check": {"type": "number", "value": 4}}'


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 3: item: Invalid JSON"),
    ('{"id": "b", "objective": "o", "check": {"type": "number", "value": 4}, "extra": 1}', "line 3: extra"),
    ('{"id": "b", "objective": "o", "check": {"type": "vibes"}}', "line 3: check"),
    ('{"id": "b", "objective": "o", "check": {"type": "number", "value": 4, "tolerance": -1}}', "line 3: check.number"),
    ('{"id": "b", "objective": "o", "check": {"type": "strings", "values": []}}', "line 3: check.strings.values"),
    ('{"id": "b", "objective": "o", "check": {"type": "regex", "pattern": "(unclosed"}}',
     "line 3: check.regex.pattern: not a valid regular"),
    ('{"id": "b", "objective": "o", "check": {"type": "label", "value": "x", "labels": ["y"]}}',
     "line 3: check.label: value 'x' is not one of labels"),
    ('{"id": "b", "check": {"type": "number", "value": 4}}', "line 3: objective: Field required"),
    ('{"id": "a", "objective": "o", "check": {"type": "number", "value": 4}}', "line 3: id 'a' already used on line 1"),
])
def test_a_malformed_line_is_a_usage_error_naming_it(line, message):
    with pytest.raises(UsageError, match="suite.jsonl " + re.escape(message)):
        parse_suite([GOOD, "", line], "suite.jsonl")


def test_an_empty_or_missing_suite_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="holds no items"):
        parse_suite(["", "  "], "empty.jsonl")
    with pytest.raises(UsageError, match="cannot read suite"):
        load_suite(tmp_path / "missing.jsonl")


def test_run_suite_scores_counts_parse_failures_and_records_errors(tmp_path):
    def down(messages, schema):
        raise BackendError("model server down")

    models = {
        "sum": ScriptedModel([plan("add them"), "4", progress(True), "The sum is 4."]),
        "bad-json": ScriptedModel(["Sure! Here is my plan", plan("look"), "Paris", progress(True), "Paris."]),
        "broken": ScriptedModel([down]),
        "wrong": ScriptedModel([plan("think"), "no idea", progress(True), "I do not know."]),
    }
    items = [item("sum", {"type": "number", "value": 4}), item("bad-json", {"type": "strings", "values": ["paris"]}),
             item("broken", {"type": "number", "value": 1}), item("wrong", {"type": "strings", "values": ["Rome"]})]

    def make_agent(eval_item: EvalItem) -> Agent:
        return Agent(model=models[eval_item.id], memory=ListMemory(), run_dir=tmp_path / "runs")

    report = run_suite(items, make_agent, progress=False)
    rows = {r.id: r for r in report.items}
    assert [r.id for r in report.items] == ["sum", "bad-json", "broken", "wrong"]
    assert [r.success for r in report.items] == [True, True, False, False]
    assert [r.parse_failures for r in report.items] == [0, 1, 0, 0]
    assert rows["bad-json"].llm_calls == 5 and rows["sum"].llm_calls == 4 and rows["sum"].tokens > 0
    assert rows["sum"].status == "done" and rows["sum"].answer == "The sum is 4."
    assert rows["broken"].status is None and rows["broken"].error == "BackendError: model server down"
    assert report.passed == 2 and report.success_rate == 0.5 and report.errors == 1
    assert report.llm_calls == 13 and report.mean_llm_calls == 13 / 4 and report.parse_failures == 1
    table = format_table(report)
    assert "bad-json" in table and "BackendError: model server down" in table and "success 2/4 (50%)" in table
    assert json.loads(report_json(report))["items"][2]["error"] == "BackendError: model server down"


def test_items_sharing_a_memory_key_share_one_chroma_store(tmp_path):
    model = ScriptedModel([plan("store the code word"), "The code word for project Lark is amber-17.",
                           progress(True), "Noted.",
                           plan("recall the code word for project Lark"), "amber-17", progress(True),
                           "The code word is amber-17.",
                           plan("recall the code word for project Lark"), "unknown", progress(True), "Unknown."])
    items = [item("store", {"type": "strings", "values": ["noted"]}, memory="lark"),
             item("recall", {"type": "strings", "values": ["amber-17"]}, memory="lark"),
             item("alone", {"type": "strings", "values": ["amber-17"]})]  # no key: a fresh store of its own
    memories = SharedMemories(tmp_path / "memory")

    def make_agent(eval_item: EvalItem) -> Agent:
        return Agent(model=model, memory=memories(eval_item.memory), run_dir=tmp_path / "runs")

    report = run_suite(items, make_agent, progress=False)
    assert [r.success for r in report.items] == [True, True, False]
    recall_execute, alone_execute = model.calls[5].messages[1]["content"], model.calls[9].messages[1]["content"]
    assert "The code word for project Lark is amber-17." in recall_execute
    assert "amber-17" not in alone_execute
    assert memories("lark") is memories("lark") and memories("lark").count() == 2


@pytest.mark.parametrize("name", ["arithmetic", "entities", "sentiment", "memory"])
def test_each_shipped_suite_validates(name):
    items = load_suite(SUITES / f"{name}.jsonl")
    assert 10 <= len(items) <= 20
    if name == "memory":
        keys = [i.memory for i in items]
        assert all(keys) and all(keys.count(k) == 2 for k in keys)


def write_suite(tmp_path: Path, *items: dict) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    return path


def test_eval_command_loads_one_model_and_prints_json(tmp_path, monkeypatch):
    loads = []

    def fake_load(settings):
        loads.append(settings.model)
        return ScriptedModel(default=lambda messages, schema: json.dumps(
            plan("compute") if schema and "tasks" in schema["properties"] else
            {"action": {"tool": "calculator", "arguments": {"expression": "6*7"}}} if schema and "action" in
            schema["properties"] else progress(True)) if schema else "The result is 42.")

    monkeypatch.setattr("agent.agent.load_configured_model", fake_load)
    suite = write_suite(tmp_path, {"id": "a", "objective": "6*7?", "check": {"type": "number", "value": 42}},
                        {"id": "b", "objective": "6*7 again?", "check": {"type": "number", "value": 41}},
                        {"id": "c", "objective": "unused", "check": {"type": "number", "value": 0}})
    arguments = [str(suite), "--json", "--limit", "2", "--run-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(eval_command, arguments)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(i["id"], i["success"]) for i in document["items"]] == [("a", True), ("b", False)]
    assert len(loads) == 1 and len(list((tmp_path / "r").iterdir())) == 2


def test_eval_command_checks_tool_names_before_loading(tmp_path, monkeypatch):
    monkeypatch.setattr("agent.agent.load_configured_model", lambda settings: pytest.fail("the model was loaded"))
    ner = write_suite(tmp_path, {"id": "n", "objective": "o", "check": {"type": "number", "value": 1},
                                 "tools": ["extract_entities"]})
    result = CliRunner().invoke(eval_command, [str(ner), "--run-dir", str(tmp_path / "r")])
    assert isinstance(result.exception, UsageError)
    assert "pass --head DIR with a trained ner head" in str(result.exception)
    odd = write_suite(tmp_path, {"id": "n", "objective": "o", "check": {"type": "number", "value": 1},
                                 "tools": ["nope"]})
    result = CliRunner().invoke(eval_command, [str(odd), "--run-dir", str(tmp_path / "r")])
    assert isinstance(result.exception, UsageError) and "unknown tool 'nope'" in str(result.exception)


def test_head_directories_serve_the_head_tools_items_ask_for(tmp_path, monkeypatch):
    head = tmp_path / "ner-head"
    head.mkdir()
    (head / "head.json").write_text(json.dumps({"kind": "ner", "labels": ["O", "B-PER", "I-PER"]}))
    offered = []

    def answer(messages, schema):
        if schema and "action" in schema["properties"]:
            offered.append("extract_entities" in json.dumps(schema))
            return json.dumps({"action": {"tool": "none"}})
        return json.dumps(plan("find names") if schema and "tasks" in schema["properties"] else progress(True)) \
            if schema else "Ada Lovelace"

    monkeypatch.setattr("agent.agent.load_configured_model", lambda settings: ScriptedModel(default=answer))
    suite = write_suite(tmp_path, {"id": "n", "objective": "Names in: Ada Lovelace wrote.",
                                   "tools": ["extract_entities"],
                                   "check": {"type": "strings", "values": ["Ada Lovelace"]}})
    result = CliRunner().invoke(eval_command, [str(suite), "--head", str(head), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert offered == [True] and "success 1/1 (100%)" in result.output


def test_the_progress_bar_does_not_change_the_report(tmp_path):
    model = ScriptedModel([plan("add"), "4", progress(True), "4"])
    report = run_suite([item("one", {"type": "number", "value": 4})],
                       lambda i: Agent(model=model, memory=ListMemory(), run_dir=tmp_path / "runs"), progress=True)
    assert report.passed == 1
