"""Small fine-tuned task heads (NER, sentiment) on the packaged all-MiniLM-L6-v2 encoder."""

from agent.heads.data import (
    HeadDataError,
    fetch_datasets,
    iob_spans,
    load_split,
    read_conll,
    read_polarity,
    split_polarity,
)
from agent.heads.evaluate import ClassificationReport, EvalReport, Scores, evaluate_head, format_report
from agent.heads.model import Entity, Head, HeadError, Sentiment, align_labels
from agent.heads.train import TrainReport, train_head

__all__ = [
    "ClassificationReport",
    "Entity",
    "EvalReport",
    "Head",
    "HeadDataError",
    "HeadError",
    "Scores",
    "Sentiment",
    "TrainReport",
    "align_labels",
    "evaluate_head",
    "fetch_datasets",
    "format_report",
    "iob_spans",
    "load_split",
    "read_conll",
    "read_polarity",
    "split_polarity",
    "train_head",
]
