"""Scoring heads: sklearn-style classification reports, token- and entity-level for NER."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from agent.heads.data import Polarity, TaggedSentence, iob_spans, load_split
from agent.heads.model import Head


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class ClassificationReport:
    """Per-label scores with micro, macro and support-weighted averages (sklearn semantics)."""

    per_label: dict[str, Scores]
    micro: Scores
    macro: Scores
    weighted: Scores
    accuracy: float | None = None


@dataclass
class EvalReport:
    """All reports for one split; ``metric`` is the number that model selection uses."""

    kind: str
    split: str
    examples: int
    seconds: float
    metric_name: str
    metric: float
    reports: dict[str, ClassificationReport] = field(default_factory=dict)


Counts = dict[str, tuple[int, int, int]]  # label -> (true positives, false positives, false negatives)


def _ratio(numerator: float, denominator: float) -> float:
    # sklearn's zero_division default: an undefined score counts as 0.
    return numerator / denominator if denominator else 0.0


def _scores(tp: int, fp: int, fn: int) -> Scores:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return Scores(precision, recall, _ratio(2 * precision * recall, precision + recall), tp + fn)


def report_from_counts(counts: Counts, accuracy: float | None = None) -> ClassificationReport:
    """Build a report from per-label (tp, fp, fn) counts."""
    per_label = {label: _scores(*counts[label]) for label in counts}
    rows = list(per_label.values())
    total = sum(row.support for row in rows)

    def mean(values: Sequence[float], weights: Sequence[float]) -> float:
        return _ratio(sum(v * w for v, w in zip(values, weights, strict=True)), sum(weights))

    def average(weights: Sequence[float]) -> Scores:
        precision = mean([row.precision for row in rows], weights)
        recall = mean([row.recall for row in rows], weights)
        return Scores(precision, recall, mean([row.f1 for row in rows], weights), total)

    micro = _scores(*(sum(count[i] for count in counts.values()) for i in range(3)))
    return ClassificationReport(
        per_label, micro, average([1.0] * len(rows)), average([row.support for row in rows]), accuracy
    )


def label_report(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None
) -> ClassificationReport:
    """Report over paired labels; ``labels`` restricts the rows and micro average (e.g. to drop "O")."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    pairs = Counter(zip(y_true, y_pred, strict=True))
    true_totals, pred_totals = Counter(y_true), Counter(y_pred)
    chosen = list(labels) if labels is not None else sorted(true_totals.keys() | pred_totals.keys())
    counts = {
        label: (pairs[label, label], pred_totals[label] - pairs[label, label], true_totals[label] - pairs[label, label])
        for label in chosen
    }
    # Accuracy only means something when every label is in view (then it equals micro F1).
    covered = set(chosen) >= true_totals.keys() | pred_totals.keys()
    accuracy = _ratio(sum(n for (t, p), n in pairs.items() if t == p), len(y_true)) if covered else None
    return report_from_counts(counts, accuracy)


def entity_report(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> ClassificationReport:
    """Entity-level report: a predicted span counts only if its type and both boundaries match."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for true_sequence, pred_sequence in zip(true_tags, pred_tags, strict=True):
        gold, guessed = set(iob_spans(true_sequence)), set(iob_spans(pred_sequence))
        tp.update(span[0] for span in gold & guessed)
        fp.update(span[0] for span in guessed - gold)
        fn.update(span[0] for span in gold - guessed)
    types = sorted(tp.keys() | fp.keys() | fn.keys())
    return report_from_counts({entity: (tp[entity], fp[entity], fn[entity]) for entity in types})


def evaluate_examples(head: Head, examples: Sequence[TaggedSentence] | Sequence[Polarity], split: str) -> EvalReport:
    """Score ``head`` on already loaded examples (used for validation during training too)."""
    started = time.perf_counter()
    if head.kind == "ner":
        sentences = cast(Sequence[TaggedSentence], examples)
        gold = [tags for _, tags in sentences]
        predicted = head.tag_words([tokens for tokens, _ in sentences])
        flat_gold = [tag for tags in gold for tag in tags]
        flat_pred = [tag for tags in predicted for tag in tags]
        tag_set = sorted(set(head.labels) | set(flat_gold), key=lambda tag: (tag[2:], tag))
        reports = {
            "token": label_report(flat_gold, flat_pred, tag_set),
            "token (without O)": label_report(flat_gold, flat_pred, [tag for tag in tag_set if tag != "O"]),
            "entity": entity_report(gold, predicted),
        }
        metric_name, metric = "entity_micro_f1", reports["entity"].micro.f1
    else:
        texts = cast(Sequence[Polarity], examples)
        predictions = head.classify([text for text, _ in texts])
        gold_labels = [head.labels[label] for _, label in texts]
        reports = {"class": label_report(gold_labels, [head.labels[index] for index, _ in predictions], head.labels)}
        metric_name, metric = "accuracy", cast(float, reports["class"].accuracy)
    return EvalReport(head.kind, split, len(examples), time.perf_counter() - started, metric_name, metric, reports)


def evaluate_head(
    head_dir: Path, data: Path, split: str = "test", max_examples: int | None = None, *, device: str | None = None
) -> EvalReport:
    """Load the head in ``head_dir`` and score it on ``split`` of the dataset in ``data``."""
    head = Head.load(head_dir, device=device)
    examples = load_split(head.kind, data, split)
    return evaluate_examples(head, examples[:max_examples], split)


def format_classification(report: ClassificationReport, digits: int = 4) -> str:
    """Format like ``sklearn.metrics.classification_report``."""
    averages = {"micro avg": report.micro, "macro avg": report.macro, "weighted avg": report.weighted}
    width = max(len(name) for name in [*report.per_label, *averages])
    lines = [" " * width + "".join(f"{title:>11}" for title in ("precision", "recall", "f1-score", "support")), ""]

    def row(name: str, scores: Scores) -> str:
        values = "".join(f"{value:>11.{digits}f}" for value in (scores.precision, scores.recall, scores.f1))
        return f"{name:>{width}}{values}{scores.support:>11}"

    lines += [row(name, scores) for name, scores in report.per_label.items()]
    lines.append("")
    if report.accuracy is not None:
        lines.append(f"{'accuracy':>{width}}{'':>22}{report.accuracy:>11.{digits}f}{report.micro.support:>11}")
    lines += [row(name, scores) for name, scores in averages.items()]
    return "\n".join(lines)


def format_report(report: EvalReport) -> str:
    """Human-readable evaluation: a header line and one classification report per view."""
    header = (
        f"{report.kind} head on {report.split} ({report.examples} examples, {report.seconds:.1f}s): "
        f"{report.metric_name} = {report.metric:.4f}"
    )
    sections = [f"== {name} ==\n{format_classification(body)}" for name, body in report.reports.items()]
    return "\n\n".join([header, *sections])
