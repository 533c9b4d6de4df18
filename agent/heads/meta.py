"""What a head directory declares (head.json), readable without importing torch."""

import json
from pathlib import Path
from typing import Any

from agent.errors import UsageError

HEAD_FILE = "head.json"
KINDS = ("ner", "sentiment")
TRAIN_HINT = "train one with `agent heads train ner|sentiment --data DIR --out DIR`"


class HeadError(UsageError, RuntimeError):
    """A head directory is missing, malformed or cannot be loaded."""


def read_head_meta(head_dir: Path) -> dict[str, Any]:
    """Read and check ``head.json``; raises :class:`HeadError` if ``head_dir`` is not a head."""
    path = head_dir / HEAD_FILE
    if not path.is_file():
        raise HeadError(f"{head_dir} is not a head directory ({HEAD_FILE} is missing); {TRAIN_HINT}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HeadError(f"cannot read {path}: {error}") from error
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS or not isinstance(labels, list) or not labels \
            or not all(isinstance(label, str) and label for label in labels) or len(set(labels)) != len(labels):
        raise HeadError(f"{path} must hold a 'kind' (ner|sentiment) and a non-empty list of distinct 'labels' "
                        f"strings; {TRAIN_HINT}")
    return meta
