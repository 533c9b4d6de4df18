"""Evaluation suites: checkers, suite validation, run_suite with scripted agents, shared memory, `agent eval`."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from conftest import ListMemory

from agent import BackendError, UsageError
from agent.cli.eval import eval_command, format_table, report_json, select_items
from agent.evaluation.suite import (
    EvalItem,
    ItemResult,
    SharedMemories,
    SuiteReport,
    first_label,
    last_number,
    load_suite,
    parse_failure_answer,
    parse_suite,
    passes,
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


@pytest.mark.parametrize("answer, expected", [
    ("The entities are Clarke and Michael Heseltine.", True),
    ("Clarke, Michael Heseltine, deputy prime minister", False),  # a stretch of the sentence: an echo
    ("CLARKE;  michael\nheseltine", True),
    ("Clarke only", False),
])
def test_strings_check_forbids_stretches_of_the_input(answer, expected):
    check = {"type": "strings", "values": ["Clarke", "Michael Heseltine"], "forbid": ["deputy prime minister"]}
    assert passes(item("x", check).check, answer) is expected


@pytest.mark.parametrize("answer, leaked", [
    ("", True), ("   ", True), ('{"summary": "x", "done": true}', True), ("[1, 2]", False),
    ("```json\n{}\n```", True), ("The answer is <data>42</data>", True),
    ("The reply is not valid JSON: EOF while parsing", True), ("summary: Field required", True),
    ("The answer is 42.", False), ("Use {braces} later in a sentence", False), ("Friday", False),
])
def test_parse_failure_answer(answer, leaked):
    assert parse_failure_answer(answer) is leaked


def fake_agent(answer: str, calls: int = 2):
    """A stand-in for Agent: run_item reads only the final answer, status and usage of a run."""
    usage = SimpleNamespace(llm_calls=calls, total_tokens=10 * calls)
    result = SimpleNamespace(final_answer=answer, status=SimpleNamespace(value="done"), usage=usage)
    recorded: list = []
    return SimpleNamespace(run=lambda objective, on_event, record=True: result, recorded=recorded,
                           record_success=recorded.append)


def test_only_runs_that_pass_their_check_become_experiences():
    agents = {"right": fake_agent("It is 4."), "wrong": fake_agent("It is 5.")}
    items = [item("right", {"type": "number", "value": 4}), item("wrong", {"type": "number", "value": 4})]
    run_suite(items, lambda i: agents[i.id], progress=False)
    assert len(agents["right"].recorded) == 1 and agents["wrong"].recorded == []
    frozen = fake_agent("It is 4.")  # a measurement after a warm-up: the store is read, never added to
    report = run_suite(items[:1], lambda i: frozen, progress=False, keep_successes=False)
    assert report.items[0].success and frozen.recorded == []


def test_kind_totals_medians_and_parse_failure_answers():
    items = [item("a1", {"type": "number", "value": 4}, kind="arithmetic"),
             item("w1", {"type": "number", "value": 9}, kind="word_problems"),
             item("a2", {"type": "number", "value": 5}, kind="arithmetic"),
             item("a3", {"type": "number", "value": 6}, kind="arithmetic"),
             item("n1", {"type": "number", "value": 1})]
    replies = {"a1": ("It is 4.", 2), "w1": ('{"summary": "9"}', 9), "a2": ("5", 3), "a3": ("7", 10),
               "n1": ("1", 1)}
    report = run_suite(items, lambda i: fake_agent(*replies[i.id]), progress=False)
    by_kind = {k.kind: k for k in report.kinds}
    assert [k.kind for k in report.kinds] == ["arithmetic", "word_problems", "-"]
    assert (by_kind["arithmetic"].passed, by_kind["arithmetic"].items) == (2, 3)
    assert by_kind["arithmetic"].median_llm_calls == 3 and by_kind["word_problems"].parse_failure_answers == 1
    # a leaked JSON reply whose last number matches still passes its check: the two are counted apart
    assert report.items[1].success and report.parse_failure_answers == 1
    assert report.median_llm_calls == 3 and report.items[0].kind == "arithmetic"
    document = json.loads(report_json(report))
    assert document["items"][1]["parse_failure_answer"] is True and document["kinds"][0]["kind"] == "arithmetic"
    assert SuiteReport.model_validate(document) == report  # the JSON reads back as the same report
    table = format_table(report)
    assert "word_problems" in table and "parse-failure answers 1" in table and "median 3" in table


def test_an_errored_item_is_not_a_parse_failure_answer():
    result = ItemResult(id="e", success=False, status=None, llm_calls=0, tokens=0, seconds=0.1, parse_failures=0,
                        answer="", error="BackendError: down")
    assert not result.parse_failure_answer and SuiteReport.of([result]).parse_failure_answers == 0


def test_select_items_by_kind_then_limit():
    items = [item(f"i{n}", {"type": "number", "value": n}, kind="a" if n % 2 else "b") for n in range(6)]
    assert [i.id for i in select_items(items, ("a",), 2)] == ["i1", "i3"]
    assert [i.id for i in select_items(items, (), 3)] == ["i0", "i1", "i2"]
    with pytest.raises(UsageError, match="no items of kind c; the suite has a, b"):
        select_items(items, ("a", "c"), None)


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


class EventAgent:
    """A stand-in for Agent that emits the events a run emits: model calls (and rejected replies) or a raise."""

    def __init__(self, answer: str | Exception, calls: int = 2, rejected: int = 0) -> None:
        self.answer, self.calls, self.rejected = answer, calls, rejected

    def record_success(self, result) -> None:
        self.recorded = result

    def run(self, objective, on_event, record=True):
        for _ in range(self.calls):
            on_event(SimpleNamespace(kind="model_called", prompt_tokens=7, completion_tokens=3))
        for _ in range(self.rejected):
            on_event(SimpleNamespace(kind="output_rejected"))
        if isinstance(self.answer, Exception):
            raise self.answer
        return fake_agent(self.answer, self.calls).run(objective, on_event)


def test_run_suite_scores_counts_parse_failures_and_records_errors():
    agents = {"sum": EventAgent("The sum is 4.", calls=4), "bad-json": EventAgent("Paris.", calls=5, rejected=1),
              "broken": EventAgent(BackendError("model server down"), calls=1),
              "wrong": EventAgent("I do not know.", calls=4),
              "bug": EventAgent(ValueError("a bug"))}
    items = [item("sum", {"type": "number", "value": 4}), item("bad-json", {"type": "strings", "values": ["paris"]}),
             item("broken", {"type": "number", "value": 1}), item("wrong", {"type": "strings", "values": ["Rome"]})]
    report = run_suite(items, lambda i: agents[i.id], progress=False)
    rows = {r.id: r for r in report.items}
    assert [r.id for r in report.items] == ["sum", "bad-json", "broken", "wrong"]
    assert [r.success for r in report.items] == [True, True, False, False]
    assert [r.parse_failures for r in report.items] == [0, 1, 0, 0]
    assert rows["bad-json"].llm_calls == 5 and rows["sum"].llm_calls == 4 and rows["sum"].tokens == 40
    assert rows["sum"].status == "done" and rows["sum"].answer == "The sum is 4."
    assert rows["broken"].status is None and rows["broken"].error == "BackendError: model server down"
    assert rows["broken"].llm_calls == 1 and rows["broken"].tokens == 10  # usage seen before the raise
    assert report.passed == 2 and report.success_rate == 0.5 and report.errors == 1
    assert report.llm_calls == 14 and report.mean_llm_calls == 14 / 4 and report.parse_failures == 1
    table = format_table(report)
    assert "bad-json" in table and "BackendError: model server down" in table and "success 2/4 (50%)" in table
    assert json.loads(report_json(report))["items"][2]["error"] == "BackendError: model server down"
    with pytest.raises(ValueError, match="a bug"):  # not an AgentError: a bug in the agent, never hidden
        run_suite([item("bug", {"type": "number", "value": 1})], lambda i: agents[i.id], progress=False)


def test_items_sharing_a_memory_key_share_one_chroma_store(tmp_path):
    class MemoryAgent:
        def __init__(self, memory) -> None:
            self.memory = memory

        def record_success(self, result) -> None:
            pass

        def run(self, objective, on_event, record=True):
            if objective.startswith("Remember"):
                self.memory.add("fact", objective.removeprefix("Remember: "))
                return fake_agent("Noted.").run(objective, on_event)
            recalled = self.memory.search(objective, k=1) if self.memory.count() else []
            return fake_agent(recalled[0].text if recalled else "Unknown.").run(objective, on_event)

    items = [EvalItem(id="store", objective="Remember: the code word for project Lark is amber-17.",
                      check={"type": "strings", "values": ["noted"]}, memory="lark"),
             EvalItem(id="recall", objective="What is the code word for project Lark?",
                      check={"type": "strings", "values": ["amber-17"]}, memory="lark"),
             EvalItem(id="alone", objective="What is the code word for project Lark?",  # no key: a store of its own
                      check={"type": "strings", "values": ["amber-17"]})]
    memories = SharedMemories(tmp_path / "memory")
    report = run_suite(items, lambda i: MemoryAgent(memories(i.memory) or ListMemory()), progress=False)
    assert [r.success for r in report.items] == [True, True, False]
    assert memories("lark") is memories("lark") and memories("lark").count() == 1
    assert memories(None) is None and len([p for p in (tmp_path / "memory").iterdir() if p.is_dir()]) == 1


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


class RecordingAgent:
    """Replaces agent.run.agent.Agent in CLI tests: records how eval builds each item's agent, answers 42."""

    built: list[dict] = []

    def __init__(self, **kwargs) -> None:
        RecordingAgent.built.append(kwargs)

    def record_success(self, result) -> None:
        pass

    def run(self, objective, on_event, record=True):
        return fake_agent("The result is 42.").run(objective, on_event)


def test_eval_command_loads_one_model_and_prints_json(tmp_path, monkeypatch):
    loads, RecordingAgent.built = [], []
    monkeypatch.setattr("agent.run.agent.load_configured_model", lambda settings: loads.append(settings) or "model")
    monkeypatch.setattr("agent.run.agent.Agent", RecordingAgent)
    suite = write_suite(tmp_path, {"id": "a", "objective": "6*7?", "check": {"type": "number", "value": 42}},
                        {"id": "b", "objective": "6*7 again?", "check": {"type": "number", "value": 41}},
                        {"id": "c", "objective": "unused", "check": {"type": "number", "value": 0}})
    arguments = [str(suite), "--json", "--limit", "2", "--run-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(eval_command, arguments)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(i["id"], i["success"]) for i in document["items"]] == [("a", True), ("b", False)]
    assert len(loads) == 1 and [b["model"] for b in RecordingAgent.built] == ["model", "model"]
    assert [[t.name for t in b["tools"]] for b in RecordingAgent.built] == [["calculator", "dates", "convert"]] * 2
    assert not any(b["settings"].shared_memory for b in RecordingAgent.built)  # no item recalls another's results


def test_eval_command_filters_by_kind(tmp_path, monkeypatch):
    RecordingAgent.built = []
    monkeypatch.setattr("agent.run.agent.load_configured_model", lambda settings: "model")
    monkeypatch.setattr("agent.run.agent.Agent", RecordingAgent)
    suite = write_suite(tmp_path, {"id": "a", "kind": "x", "objective": "o", "check": {"type": "number", "value": 42}},
                        {"id": "b", "kind": "y", "objective": "o", "check": {"type": "number", "value": 42},
                         "tools": ["dates"]})
    result = CliRunner().invoke(eval_command, [str(suite), "--kind", "y", "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert [[t.name for t in b["tools"]] for b in RecordingAgent.built] == [["dates"]]
    kind_rows = [line.split() for line in result.output.splitlines() if line.startswith(("x ", "y "))]
    assert "success 1/1" in result.output and [row[:5] for row in kind_rows] == [["y", "│", "1/1", "│", "2"]]


def test_eval_command_checks_tool_names_before_loading(tmp_path, monkeypatch):
    monkeypatch.setattr("agent.run.agent.load_configured_model", lambda settings: pytest.fail("the model was loaded"))
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
    RecordingAgent.built = []
    monkeypatch.setattr("agent.run.agent.load_configured_model", lambda settings: "model")
    monkeypatch.setattr("agent.run.agent.Agent", RecordingAgent)
    suite = write_suite(tmp_path, {"id": "n", "objective": "Names in: Ada Lovelace wrote.",
                                   "tools": ["extract_entities"], "check": {"type": "number", "value": 42}})
    result = CliRunner().invoke(eval_command, [str(suite), "--head", str(head), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    (tools,) = [b["tools"] for b in RecordingAgent.built]
    assert [t.name for t in tools] == ["extract_entities"] and "success 1/1 (100%)" in result.output


def test_the_progress_bar_does_not_change_the_report():
    items = [item("one", {"type": "number", "value": 4}), item("two", {"type": "number", "value": 5})]
    quiet = run_suite(items, lambda i: fake_agent("4"), progress=False)
    shown = run_suite(items, lambda i: fake_agent("4"), progress=True)
    assert [r.success for r in shown.items] == [r.success for r in quiet.items] == [True, False]
