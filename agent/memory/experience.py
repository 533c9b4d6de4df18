"""Experience memory: successful runs kept across runs, recalled by objective as worked examples."""

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent.errors import UsageError, describe
from agent.memory.store_lock import holding
from agent.records import RunResult, RunStatus, TaskStatus

COLLECTION = "experience"
MIN_SIMILARITY = 0.5  # below this cosine, a past objective is another kind of problem: no example at all
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CANDIDATES = 4  # nearest runs looked at for each one shown, before those of another number of quantities go


def number_shape(objective: str) -> str:
    """The objective with its numbers masked: what is embedded and compared. With the numbers in, MiniLM
    puts "What is 18 * 24?" nearer a calendar question than "What is 614 * 624?"; masked, most problems of
    one kind score >= 0.7 and of unrelated kinds <= 0.35 (all-MiniLM-L6-v2), but a composite question scores as
    high against the one-step questions it contains (see `quantities`)."""
    return _NUMBER.sub("N", " ".join(objective.split()))


def quantities(objective: str) -> int:
    """How many things the objective hands over: its passages (agent.text), its dates, its other numbers.
    Embeddings cannot tell "which weekday is it 9 times 11 days after D" from "which weekday is D" (cosine
    0.8), and a replay of the one-step run makes the model skip the product; a past run is therefore shown
    only for an objective that hands over as many things as its own did."""
    from agent.text import STATED_DATE, passages

    found = {label: text for label, text in passages(objective).items() if text in objective}  # as written
    rest = objective
    for text in found.values():
        rest = rest.replace(text, " ")
    dates = len(STATED_DATE.findall(rest))
    return len(found) + dates + len(_NUMBER.findall(STATED_DATE.sub(" ", rest)))


class Step(BaseModel):
    description: str
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    result: str | None = None


class Experience(BaseModel):
    """What a successful run did: its objective, the steps that settled it, and its answer."""

    objective: str
    steps: list[Step] = Field(default_factory=list)
    answer: str
    written_answer: str | None = None  # the answer with its references as the model wrote them ({1.counts.positive})
    success: bool = True
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> str:
        # one experience per objective: a later success replaces the earlier one
        return "exp-" + hashlib.sha1(" ".join(self.objective.split()).casefold().encode()).hexdigest()[:12]


def experience_from_result(result: RunResult) -> Experience:
    """The done tasks of `result`, in order, with their tool calls as the model wrote them (`{a}`, `{1}`: a
    replay shows how to refer, never another objective's texts or numbers to copy), their results, and the
    final answer."""
    steps = [Step(description=t.description, tool=t.tool, arguments=t.written or t.arguments, result=t.result)
             for t in result.tasks if t.status == TaskStatus.done]
    return Experience(objective=result.objective, steps=steps, answer=result.final_answer,
                      written_answer=result.written_answer, success=result.status == RunStatus.done)


def experience_root(run_dir: Path, experience_dir: Path | None = None) -> Path:
    """`experience_dir`, else `<run_dir>/.experience`, beside the runs it was learnt from."""
    return Path(experience_dir) if experience_dir is not None else Path(run_dir) / ".experience"


class ExperienceStore:
    """A persistent chroma collection: the document is the objective's shape, the experience rides as JSON."""

    def __init__(self, path: Path, *, min_similarity: float = MIN_SIMILARITY,
                 cache_dir: Path | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        from agent.memory.chroma import open_or_move_aside
        from agent.memory.embedder import PackagedEmbedder

        def open_store(where: Path) -> Any:
            if where.exists() and not where.is_dir():
                raise NotADirectoryError(f"{where} is not a directory")
            where.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(where), settings=ChromaSettings(anonymized_telemetry=False))
            try:
                collection = client.get_or_create_collection(
                    COLLECTION, embedding_function=PackagedEmbedder(cache_dir),  # type: ignore[arg-type]  # chroma's protocol also types image inputs; ours embeds documents only
                    metadata={"hnsw:space": "cosine"})
                collection.count()  # reads the segment files: damage shows here, not mid-run
                collection.peek(1)
            except BaseException:
                client.close()  # type: ignore[attr-defined]  # as in ChromaMemory._open: frees the path
                raise
            return client, collection

        # runs started together on a new store create it once; a damaged one is kept aside, never deleted
        self._client, self._collection = open_or_move_aside(Path(path), open_store, "experience store")
        self.path = Path(path)
        self.min_similarity = min_similarity

    @classmethod
    def for_settings(cls, settings: Any) -> "ExperienceStore | None":
        """The store a run uses, or None when settings.experience is off."""
        if not settings.experience:
            return None
        return cls(experience_root(settings.run_dir, settings.experience_dir), cache_dir=settings.cache_dir)

    def add(self, experience: Experience) -> str:
        """Store (or replace) the experience of its objective; returns its id. A full disk is one line."""
        from agent.memory.chroma import full_disk_said

        with full_disk_said(str(self.path)), holding(self.path):
            self._collection.upsert(ids=[experience.id], documents=[number_shape(experience.objective)],
                                    metadatas=[{"json": experience.model_dump_json(), "success": experience.success}])
        return experience.id

    def similar(self, objective: str, k: int = 2) -> list[Experience]:
        """The k successful experiences nearest to `objective`, nearest first, none below min_similarity and
        none over another number of quantities (see `quantities`)."""
        with holding(self.path):
            total = self._collection.count()
            if total == 0 or k <= 0:
                return []
            found = self._collection.query(query_texts=[number_shape(objective)],
                                           n_results=min(k * _CANDIDATES, total), where={"success": True},
                                           include=["metadatas", "distances"])
        metadatas, distances = found["metadatas"] or [[]], found["distances"] or [[]]
        near = [_parse(meta) for meta, distance in zip(metadatas[0], distances[0])
                if 1.0 - distance >= self.min_similarity]
        wanted = quantities(objective)
        return [e for e in near if quantities(e.objective) == wanted][:k]

    def list(self) -> list[tuple[str, Experience]]:
        with holding(self.path):
            found = self._collection.get(include=["metadatas"])
        pairs = [(i, _parse(meta)) for i, meta in zip(found["ids"], found["metadatas"] or [])]
        return sorted(pairs, key=lambda pair: pair[1].created)

    def get(self, id: str) -> Experience:
        with holding(self.path):
            found = self._collection.get(ids=[id], include=["metadatas"])
        if not found["ids"]:
            raise UsageError(f"no experience {id!r} (see `agent experience list`)")
        return _parse(found["metadatas"][0] if found["metadatas"] else None)

    def rm(self, id: str) -> None:
        if not self.discard(id):
            raise UsageError(f"no experience {id!r} (see `agent experience list`)")

    def discard(self, id: str) -> bool:
        """Remove experience `id` when it is there; whether it was."""
        with holding(self.path):
            if not self._collection.get(ids=[id], include=[])["ids"]:
                return False
            self._collection.delete(ids=[id])
        return True

    def clear(self) -> int:
        with holding(self.path):
            ids = self._collection.get(include=[])["ids"]
            if ids:
                self._collection.delete(ids=ids)
        return len(ids)

    def count(self) -> int:
        with holding(self.path):
            return self._collection.count()


def as_example(experience: Experience, max_chars: int = 600) -> str:
    """A compact worked example: objective, each step with its tool call and result, answer."""
    lines = [f"Objective: {experience.objective}"]
    for number, step in enumerate(experience.steps, start=1):
        call = f" -> {step.tool}({json.dumps(step.arguments or {}, ensure_ascii=False)})" if step.tool else ""
        lines.append(f"{number}. {step.description}{call}: {' '.join((step.result or '').split())[:120]}")
    lines.append(f"Answer: {experience.answer}")
    return "\n".join(lines)[:max_chars]


def _parse(meta: Mapping[str, Any] | None) -> Experience:
    try:
        return Experience.model_validate_json((meta or {}).get("json", ""))
    except ValidationError as exc:
        raise UsageError(f"the experience store holds a malformed entry ({describe(exc, limit=1)}); "
                         "remove it with `agent experience rm ID` or `agent experience clear`") from exc
