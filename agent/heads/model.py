"""Loading a trained head and running batched predictions with it."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    BatchEncoding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from agent.heads.data import Kind, iob_spans
from agent.heads.meta import HEAD_FILE, HeadError, read_head_meta

ENCODER_NAME = "all-MiniLM-L6-v2"
# all-MiniLM-L6-v2 was trained on 256-token inputs; the longest CoNLL sentence is 164 subwords.
MAX_LENGTH = 256
IGNORE_INDEX = -100  # positions the cross-entropy loss skips
SENTIMENT_LABELS = ["negative", "positive"]
# Close to CoNLL tokenisation: keeps "Anglo-Dutch", "U.S", "O'Neill" whole and splits off other punctuation.
_WORD = re.compile(r"\w+(?:[-'\u2019.&/]\w+)*|[^\w\s]")


class Entity(TypedDict):
    text: str
    type: str
    start: int
    end: int


class Sentiment(TypedDict):
    label: str
    score: float


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Token labels from word labels: a word's first subword carries it, the rest are ignored."""
    labels: list[int] = []
    previous: int | None = None
    for word in word_ids:
        labels.append(IGNORE_INDEX if word is None or word == previous else word_labels[word])
        previous = word
    return labels


def first_subwords(word_ids: Sequence[int | None]) -> dict[int, int]:
    """Map each word index to the position of its first subword token."""
    first: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None:
            first.setdefault(word, position)
    return first


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` (whitespace and punctuation separated)."""
    return [match.span() for match in _WORD.finditer(text)]


def _word_ids_from_offsets(offsets: Sequence[Sequence[int]], spans: Sequence[tuple[int, int]]) -> list[int | None]:
    # Special and padding tokens have empty offsets; every other token starts inside exactly one word.
    starts = [start for start, _ in spans]
    word_ids: list[int | None] = []
    for start, end in offsets:
        index = bisect.bisect_right(starts, start) - 1
        inside = start < end and index >= 0 and start < spans[index][1]
        word_ids.append(index if inside else None)
    return word_ids


@dataclass
class Head:
    """A fine-tuned encoder with its task: NER tagging or sentiment classification."""

    kind: Kind
    labels: list[str]
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device

    @classmethod
    def load(cls, head_dir: Path, device: str | None = None) -> Head:
        """Load a head saved by ``train_head``; ``device`` defaults to CUDA when available."""
        meta = read_head_meta(head_dir)
        model_class = AutoModelForTokenClassification if meta["kind"] == "ner" else AutoModelForSequenceClassification
        try:
            model = model_class.from_pretrained(head_dir)
            tokenizer = AutoTokenizer.from_pretrained(head_dir)
        except (OSError, ValueError) as error:
            raise HeadError(f"cannot load the head in {head_dir}: {error}") from error
        if not tokenizer.is_fast:
            raise HeadError(f"{head_dir}: a fast tokenizer (tokenizer.json) is required for word alignment")
        if model.config.num_labels != len(meta["labels"]):
            raise HeadError(
                f"{head_dir}: {HEAD_FILE} lists {len(meta['labels'])} labels, model has {model.config.num_labels}"
            )
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.to(target).eval()
        return cls(meta["kind"], list(meta["labels"]), model, tokenizer, target)

    def predict(self, texts: list[str]) -> list[list[Entity]] | list[Sentiment]:
        """Predict for all ``texts`` in one padded forward pass: entities (NER) or polarity (sentiment)."""
        if not texts:
            return []
        if self.kind == "sentiment":
            return [Sentiment(label=self.labels[index], score=score) for index, score in self._classify_batch(texts)]
        encoding = self._encode(texts, return_offsets_mapping=True)
        offsets = encoding.pop("offset_mapping").tolist()
        predictions = self._logits(encoding).argmax(-1).tolist()
        results: list[list[Entity]] = []
        for text, text_offsets, token_predictions in zip(texts, offsets, predictions, strict=True):
            spans = split_words(text)
            tags = self._word_tags(_word_ids_from_offsets(text_offsets, spans), token_predictions, len(spans))
            entities = []
            for entity, first, last in iob_spans(tags):
                start, end = spans[first][0], spans[last - 1][1]
                entities.append(Entity(text=text[start:end], type=entity, start=start, end=end))
            results.append(entities)
        return results

    def tag_words(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[list[str]]:
        """IOB tags for pre-tokenised sentences, predicted from each word's first subword."""
        tags: list[list[str]] = []
        for begin in range(0, len(sentences), batch_size):
            batch = [list(words) for words in sentences[begin : begin + batch_size]]
            encoding = self._encode(batch, is_split_into_words=True)
            predictions = self._logits(encoding).argmax(-1).tolist()
            for index, (words, token_predictions) in enumerate(zip(batch, predictions, strict=True)):
                tags.append(self._word_tags(encoding.word_ids(index), token_predictions, len(words)))
        return tags

    def classify(self, texts: Sequence[str], batch_size: int = 64) -> list[tuple[int, float]]:
        """(label index, probability) per text, in batches of ``batch_size``."""
        results: list[tuple[int, float]] = []
        for begin in range(0, len(texts), batch_size):
            results += self._classify_batch(list(texts[begin : begin + batch_size]))
        return results

    def _classify_batch(self, texts: list[str]) -> list[tuple[int, float]]:
        probabilities = self._logits(self._encode(texts)).softmax(-1)
        scores, indices = probabilities.max(-1)
        return list(zip(indices.tolist(), scores.tolist(), strict=True))

    def _word_tags(self, word_ids: Sequence[int | None], predictions: Sequence[int], n_words: int) -> list[str]:
        # Words lost to truncation (or that tokenise to nothing) get "O" rather than a guess.
        first = first_subwords(word_ids)
        return [self.labels[predictions[first[word]]] if word in first else "O" for word in range(n_words)]

    def _encode(self, inputs: list[str] | list[list[str]], **options: Any) -> BatchEncoding:
        return self.tokenizer(
            inputs, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt", **options
        )

    def _logits(self, encoding: BatchEncoding) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(**{key: value.to(self.device) for key, value in encoding.items()}).logits.float().cpu()
