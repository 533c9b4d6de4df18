"""HeadTool: a NER head, trained here on a small CoNLL sample, answering as a tool in a scripted run."""

import json
from pathlib import Path

import pytest
import torch

from agent import Agent, ScriptedModel, TaskStatus, ToolError, UsageError
from agent.heads import Head, train_head
from agent.tools.heads import MAX_TEXT_CHARS, MAX_TEXTS, HeadTool

from moves import call, finish


@pytest.fixture(scope="module")
def ner_head(tmp_path_factory: pytest.TempPathFactory, heads_data: Path) -> Path:
    data = heads_data
    out = tmp_path_factory.mktemp("ner-head")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 100-sentence run gains little from threads and loses much on busy shared cores
    try:
        train_head("ner", data, out, epochs=1, max_train_examples=100, max_eval_examples=20, device="cpu",
                   progress=False)
    finally:
        torch.set_num_threads(threads)
    return out


def fake_head_dir(tmp_path: Path, kind: str, labels: list[str]) -> Path:
    """A head.json without weights: enough to build the tool, which loads nothing until called."""
    (tmp_path / "head.json").write_text(json.dumps({"kind": kind, "labels": labels}))
    return tmp_path


def test_a_directory_that_is_not_a_head_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="head.json is missing.*agent heads train"):
        HeadTool(tmp_path)
    (tmp_path / "head.json").write_text('{"kind": "translation", "labels": ["x"]}')
    with pytest.raises(UsageError, match="'kind' \\(ner\\|sentiment\\)"):
        HeadTool(tmp_path)


def test_the_tool_is_named_and_described_from_head_json_without_loading(tmp_path):
    ner = HeadTool(fake_head_dir(tmp_path, "ner", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]))
    assert ner.name == "extract_entities" and "(LOC, PER)" in ner.description
    assert "people" not in ner.description  # the small default model would quote {1.people}, which is not there
    assert ner.spec()["parameters"]["properties"]["texts"]["maxItems"] == MAX_TEXTS
    assert ner.head is None
    sentiment = HeadTool(fake_head_dir(tmp_path, "sentiment", ["negative", "positive"]), name="mood")
    assert sentiment.name == "mood" and "negative or positive" in sentiment.description


@pytest.mark.parametrize("texts", [[], ["x"] * (MAX_TEXTS + 1), ["x" * (MAX_TEXT_CHARS + 1)]])
def test_text_limits_are_checked_before_any_loading(tmp_path, texts):
    head_tool = HeadTool(fake_head_dir(tmp_path, "ner", ["O", "B-PER", "I-PER"]))
    with pytest.raises(ToolError, match="bad arguments for extract_entities: texts"):
        head_tool(texts=texts)
    assert head_tool.head is None


def test_the_model_picks_the_head_tool_and_the_head_answers(ner_head, memory, tmp_path):
    texts = ["Angela Merkel visited Paris ."]
    model = ScriptedModel([call("extract_entities", texts=texts), finish("{1.count} entities: {1.names}.")])
    head_tool = HeadTool(ner_head, device="cpu")
    result = Agent(model=model, tools=[head_tool], memory=memory, run_dir=tmp_path / "runs").run(
        "Who and where: Angela Merkel visited Paris .")

    (task,) = result.tasks
    assert (task.status, task.tool) == (TaskStatus.done, "extract_entities")
    entities = Head.load(ner_head, device="cpu").predict(texts)
    names = [e["text"] for e in entities[0]]
    by_type = {group: [e["text"] for e in entities[0] if e["type"] == kind]
               for kind, group in (("PER", "people"), ("ORG", "organizations"), ("LOC", "places"), ("MISC", "other"))}
    assert json.loads(task.result) == {"count": len(names), "names": names, "entities": entities, "by_type": {
        group: {"count": len(found), "names": found} for group, found in by_type.items()}}
    assert "extract_entities(texts: array" in model.calls[0].messages[0]["content"]  # offered with its parameters
    assert "Find named entities" in model.calls[0].messages[0]["content"]
    assert result.final_answer == f"{len(names)} entities: {', '.join(names)}."  # parts of the result, by reference
    assert task.result in memory.items[f"{result.run_id}:task-1"][0]


def test_all_texts_go_through_one_batched_predict(ner_head, monkeypatch):
    head_tool = HeadTool(ner_head, device="cpu")
    head_tool(texts=["warm up"])
    batches = []
    predict = head_tool.head.predict
    monkeypatch.setattr(head_tool.head, "predict", lambda texts: batches.append(texts) or predict(texts))
    texts = ["Angela Merkel visited Paris .", "Nothing here", "Reuters reported from London ."]
    result = head_tool(texts=texts)
    entities = result["entities"]
    assert batches == [texts] and len(entities) == 3
    assert result["names"] == [e["text"] for found in entities for e in found] and result["count"] > 0
    for text, found in zip(texts, entities, strict=True):
        assert all(text[e["start"]:e["end"]] == e["text"] for e in found)
