"""A trained head (NER or sentiment, see agent.heads) served as a tool: a batch of texts in, predictions out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from agent.heads.meta import read_head_meta
from agent.text import hands_over_text
from agent.tools.base import Arguments, Tool

if TYPE_CHECKING:
    from agent.heads import Head

MAX_TEXTS = 32
MAX_TEXT_CHARS = 2000
TOOL_NAMES = {"ner": "extract_entities", "sentiment": "classify_sentiment"}
GROUPS = {"PER": "people", "ORG": "organizations", "LOC": "places", "MISC": "other"}  # entity types in words


class HeadArguments(Arguments):
    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS} texts of at most {MAX_TEXT_CHARS} characters, predicted in one batch",
    )


class HeadTool(Tool[HeadArguments]):
    """`HeadTool(Path("ner-head"))`: the head in that directory, loaded on first use."""

    Arguments = HeadArguments
    reads_text = True

    def __init__(self, head_dir: Path, name: str | None = None, device: str | None = None) -> None:
        super().__init__()
        self.head_dir, self.device = Path(head_dir), device
        meta = read_head_meta(self.head_dir)  # only head.json: the weights load in setup()
        self.kind, self.labels = meta["kind"], [str(label) for label in meta["labels"]]
        self.name = name or TOOL_NAMES[self.kind]
        self.description = _describe(self.kind, self.labels)
        self.head: Head | None = None

    def setup(self) -> None:
        # Imported here: torch and transformers cost seconds, and listing tools must not pay for them.
        from agent.heads import Head

        self.head = Head.load(self.head_dir, device=self.device)

    def applies(self, objective: str) -> bool:
        return hands_over_text(objective)

    def run(self, args: HeadArguments) -> Any:
        assert self.head is not None, "setup() runs before run()"
        predictions = self.head.predict(list(args.texts))
        if self.kind != "sentiment":  # the names and their count come first: "how many?" needs no counting
            found = [(e["text"], e["type"]) if isinstance(e, dict) else (e.text, e.type)
                     for per_text in predictions for e in per_text]
            # and last, by type in words: "who is named?" is {1.by_type.people.names}, "how many companies?"
            # {1.by_type.organizations.count}
            groups: dict[str, list[str]] = {group: [] for group in _groups(self.labels)}
            for name, kind in found:
                groups.setdefault(_in_words(kind), []).append(name)
            return {"count": len(found), "names": [name for name, _ in found], "entities": predictions,
                    "by_type": {group: {"count": len(names), "names": names} for group, names in groups.items()}}
        # the counts per label come with the predictions: "how many are positive?" needs no counting by the model
        labels = [p["label"] if isinstance(p, dict) else p.label for p in predictions]
        return {"counts": {label: labels.count(label) for label in self.labels}, "predictions": predictions}

    def plain(self, result: str, objective: str = "") -> str | None:
        """A NER head's names ("Cristiano Ronaldo, London, IBM"), of the one type the objective asks about where
        it names one ("which is a company?"), or their count for "how many"; a sentiment head's label for one
        text, or how many texts got the label the objective names (each label's count where it names none)."""
        try:
            found = json.loads(result)
        except (ValueError, RecursionError):
            return None
        if not isinstance(found, dict):
            return None
        many = _HOW_MANY.search(objective) is not None
        if isinstance(names := found.get("names"), list):
            asked = [group for group, words in _TYPE_WORDS.items() if words.search(objective)]
            part = found.get("by_type", {}).get(asked[0]) if len(asked) == 1 else None
            names = part["names"] if isinstance(part, dict) and isinstance(part.get("names"), list) else names
            return str(len(names)) if many else ", ".join(map(str, names)) or "none"
        predictions, counts = found.get("predictions"), found.get("counts")
        if isinstance(predictions, list) and len(predictions) == 1 and isinstance(predictions[0], dict):
            return str(predictions[0].get("label", "")) or None
        if isinstance(counts, dict):
            named = [label for label in counts if re.search(rf"\b{re.escape(str(label))}\b", objective, re.I)]
            if many and len(named) == 1:
                return str(counts[named[0]])
            return ", ".join(f"{n} {label}" for label, n in counts.items())
        return None


_HOW_MANY = re.compile(r"\bhow many\b|\bcount\b|\bnumber of\b", re.IGNORECASE)
# the words that ask about one type of entity, by its group (GROUPS)
_TYPE_WORDS = {
    "people": re.compile(r"\b(?:people|persons?|who)\b", re.IGNORECASE),
    "organizations": re.compile(r"\b(?:compan(?:y|ies)|organi[sz]ations?|firms?|brands?)\b", re.IGNORECASE),
    "places": re.compile(r"\b(?:places?|cit(?:y|ies)|countr(?:y|ies)|where|locations?)\b", re.IGNORECASE),
}


def _describe(kind: str, labels: list[str]) -> str:
    if kind == "ner":
        types = ", ".join(sorted({label[2:] for label in labels if label != "O"}))
        return (f"Find named entities ({types}) in each text. Returns their count, their names, and one list "
                f"per text, in order, of {{text, type, start, end}} with character offsets into that text.")
    return (f"Classify the sentiment of each text as {' or '.join(labels)}. Returns how many texts got each "
            f"label, and one {{label, score}} per text, in order; score is the probability of the label.")


def _groups(labels: list[str]) -> list[str]:
    """The entity types of BIO labels in words, people first ("B-PER" -> "people"; an unknown type lower-cased)."""
    types = {label[2:] for label in labels if label != "O"}
    return [_in_words(t) for t in GROUPS if t in types] + sorted(_in_words(t) for t in types - set(GROUPS))


def _in_words(kind: str) -> str:
    return GROUPS.get(kind, kind.lower())
