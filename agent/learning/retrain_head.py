"""A head trained again on its data plus the user's feedback, kept only when it is better."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import UsageError
from agent.heads.meta import HEAD_FILE, read_head_meta


@dataclass
class RetrainReport:
    examples: int
    base: dict[str, float]
    candidate: dict[str, float]
    kept: bool


def feedback_examples(kind: str, labels: list[str], run_dir: Path) -> list[Any]:
    """Sentiment examples from feedback on runs under `run_dir`: a `--label` on a task gives (its input text,
    that label); `--good` on a task that classified sentiment confirms the label its result states."""
    from agent.evaluation.suite import first_label
    from agent.learning.feedback import labelled_feedback

    if kind != "sentiment":
        raise UsageError("--from-feedback trains sentiment heads; NER corrections need entity spans, which "
                         "feedback labels do not carry")
    examples = []
    for item in labelled_feedback(run_dir):
        verdict, label = item.feedback.verdict, item.feedback.label
        if label is None and verdict == "good" and item.tool == "classify_sentiment":
            label = first_label(item.result or "", labels)
        if label is None or not item.text:
            continue
        if label.lower() not in labels:
            raise UsageError(f"feedback on run {item.feedback.run_id} gives label {label!r}; "
                             f"a sentiment head knows {', '.join(labels)}")
        examples.append((item.text, labels.index(label.lower())))
    return examples


def _scores(head_dir: Path, data: Path, examples: list[Any], max_eval: int | None, device: str | None) -> dict:
    from agent.heads.data import load_split
    from agent.heads.evaluate import evaluate_examples
    from agent.heads.model import Head

    head = Head.load(head_dir, device=device)
    valid = evaluate_examples(head, load_split("sentiment", data, "valid")[:max_eval], "valid").metric
    predicted = head.classify([text for text, _ in examples])
    right = sum(index == gold for (index, _), (_, gold) in zip(predicted, examples))
    return {"valid": round(valid, 4), "feedback": round(right / max(1, len(examples)), 4)}


def retrain_from_feedback(head_dir: Path, data: Path, run_dir: Path, *, epochs: int = 1, repeat: int = 8,
                          max_train_examples: int | None = None, max_eval_examples: int | None = None,
                          device: str | None = None, progress: bool = True) -> RetrainReport:
    """Fine-tune the head in `head_dir` again on its training data plus the feedback examples (each repeated
    `repeat` times, so a handful of corrections weighs against thousands of sentences). The new weights
    replace the old only when they score at least as well on the validation split and on the feedback, and
    better on one of them; head.json records every version."""
    from agent.heads.train import train_head

    meta = read_head_meta(head_dir)
    examples = feedback_examples(meta["kind"], meta["labels"], run_dir)
    if not examples:
        raise UsageError(f"no labelled feedback for a {meta['kind']} head under {run_dir}: record some with "
                         "`agent feedback RUN_ID --task N --label LABEL` (or --good)")
    base = _scores(head_dir, data, examples, max_eval_examples, device)
    with tempfile.TemporaryDirectory(prefix="agent-head-", dir=head_dir.parent) as scratch:
        candidate_dir = Path(scratch) / "head"
        train_head(meta["kind"], data, candidate_dir, epochs=epochs, max_train_examples=max_train_examples,
                   max_eval_examples=max_eval_examples, device=device, progress=progress, init=head_dir,
                   extra=examples * repeat)
        candidate = _scores(candidate_dir, data, examples, max_eval_examples, device)
        pairs = [(candidate[k], base[k]) for k in ("valid", "feedback")]
        kept = all(c >= b for c, b in pairs) and any(c > b for c, b in pairs)
        version = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "source": "feedback",
                   "feedback_examples": len(examples), "epochs": epochs, "base": base, "candidate": candidate,
                   "kept": kept}
        if kept:
            for path in candidate_dir.iterdir():
                if path.name != HEAD_FILE:
                    shutil.copy2(path, head_dir / path.name)
            meta = {**json.loads((candidate_dir / HEAD_FILE).read_text(encoding="utf-8")),
                    "versions": meta.get("versions", [])}
    meta["versions"] = [*meta.get("versions", []), version]
    (head_dir / HEAD_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return RetrainReport(len(examples), base, candidate, kept)
