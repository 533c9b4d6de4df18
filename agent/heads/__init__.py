"""Small fine-tuned task heads (NER, sentiment) on the packaged all-MiniLM-L6-v2 encoder.

Names load on first use, so that reading a head's metadata does not import torch."""

import importlib
from typing import Any

_EXPORTS = {
    "agent.heads.data": ["HeadDataError", "fetch_datasets", "iob_spans", "load_split", "read_conll",
                         "read_polarity", "split_polarity"],
    "agent.heads.evaluate": ["ClassificationReport", "EvalReport", "Scores", "evaluate_head", "format_report"],
    "agent.heads.meta": ["HeadError", "read_head_meta"],
    "agent.heads.model": ["Entity", "Head", "Sentiment", "align_labels"],
    "agent.heads.train": ["TrainReport", "train_head"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agent.heads' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
