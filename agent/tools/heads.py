"""A trained head (NER or sentiment, see agent.heads) served as a tool: a batch of texts in, predictions out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from agent.errors import UsageError
from agent.tools.base import Arguments, Tool

if TYPE_CHECKING:
    from agent.heads import Head

MAX_TEXTS = 32
MAX_TEXT_CHARS = 2000
TOOL_NAMES = {"ner": "extract_entities", "sentiment": "classify_sentiment"}
_TRAIN_HINT = "train one with `agent heads train ner|sentiment --data DIR --out DIR`"


class HeadArguments(Arguments):
    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS} texts of at most {MAX_TEXT_CHARS} characters, predicted in one batch",
    )


class HeadTool(Tool):
    """`HeadTool(Path("ner-head"))`: the head in that directory, loaded on first use."""

    Arguments = HeadArguments

    def __init__(self, head_dir: Path, name: str | None = None, device: str | None = None) -> None:
        super().__init__()
        self.head_dir, self.device = Path(head_dir), device
        self.kind, self.labels = _read_kind_and_labels(self.head_dir)
        self.name = name or TOOL_NAMES[self.kind]  # type: ignore[misc]
        self.description = _describe(self.kind, self.labels)  # type: ignore[misc]
        self.head: Head | None = None

    def setup(self) -> None:
        # Imported here: torch and transformers cost seconds, and listing tools must not pay for them.
        from agent.heads import Head

        self.head = Head.load(self.head_dir, device=self.device)

    def run(self, args: BaseModel) -> Any:
        assert self.head is not None, "setup() runs before run()"
        return self.head.predict(list(args.texts))  # type: ignore[attr-defined]


def _read_kind_and_labels(head_dir: Path) -> tuple[str, list[str]]:
    # Only head.json is read here (not via agent.heads, which imports torch); Head.load checks it in full.
    path = head_dir / "head.json"
    if not path.is_file():
        raise UsageError(f"{head_dir} is not a head directory (no head.json); {_TRAIN_HINT}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; {_TRAIN_HINT}") from exc
    if not isinstance(meta, dict) or meta.get("kind") not in TOOL_NAMES or not meta.get("labels"):
        raise UsageError(f"{path} needs a 'kind' (ner|sentiment) and a 'labels' list; {_TRAIN_HINT}")
    return meta["kind"], [str(label) for label in meta["labels"]]


def _describe(kind: str, labels: list[str]) -> str:
    if kind == "ner":
        types = ", ".join(sorted({label[2:] for label in labels if label != "O"}))
        return (f"Find named entities ({types}) in each text. Returns one list per text, in order, of "
                f"{{text, type, start, end}} with character offsets into that text.")
    return (f"Classify the sentiment of each text as {' or '.join(labels)}. Returns one {{label, score}} "
            f"per text, in order; score is the probability of the label.")
