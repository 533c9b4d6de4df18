"""Trajectory collection: run the agent on training objectives with every model call recorded, and keep
the calls of runs whose answers pass the item's check."""

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.events import Event, Judged, OutputRejected, TasksAdded
from agent.models.base import ChatModel, Generation, Message


@dataclass
class RecordedCall:
    messages: list[Message]
    schema: dict[str, Any] | None
    reply: str
    purpose: str | None = None
    rejected: bool = False  # the reply failed validation, or the loop refused or dropped the move it made:
    # never a training target (a passing run may still hold such calls, e.g. a repeat of a call already made)


class RecordingModel(ChatModel):
    """Wraps a ChatModel and records every call: messages, schema, reply. Purposes and rejections (a reply
    that failed validation, a decision refused, a move dropped as a repeat) arrive as the run's events
    (`observe`), in call order."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self.supports_schema = model.supports_schema  # no batch: every call is recorded one by one
        self.context = model.context
        self.calls: list[RecordedCall] = []
        self._labelled = 0

    def generate(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 max_new_tokens: int = 256, **options: Any) -> Generation:
        # other keyword options of the protocol (e.g. a deadline) pass through untouched
        generation = self.model.generate(messages, schema=schema, max_new_tokens=max_new_tokens, **options)
        self.calls.append(RecordedCall([m.copy() for m in messages], schema, generation.text))
        return generation

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self.model.count_tokens(messages)

    def observe(self, event: Event) -> None:
        if event.kind == "model_called" and self._labelled < len(self.calls):
            self.calls[self._labelled].purpose = getattr(event, "purpose", None)
            self._labelled += 1
        elif self._labelled and _turned_down(event):
            self.calls[self._labelled - 1].rejected = True


def _turned_down(event: Event) -> bool:
    """The reply of the latest call failed validation, or the move it decided was refused or only dropped."""
    return (isinstance(event, OutputRejected) or (isinstance(event, Judged) and event.refused)
            or (isinstance(event, TasksAdded) and bool(event.dropped) and not event.tasks))


@dataclass
class Trajectory:
    item_id: str
    sample: int
    passed: bool
    answer: str
    calls: list[RecordedCall] = field(default_factory=list)
    objective: str = ""
    model: str = ""  # the name of the model that made the calls (a teacher's, or the learner's own)
    # provenance: the item's kind, wording template and split; the weights that made the calls (their key);
    # the suite (name and digest); the loop that recorded them (agent.learning.dataset.loop_version); when
    kind: str = ""
    template: str = ""
    split: str = ""
    weights: str = ""
    suite: str = ""
    loop: str = ""
    collected: str = ""
    replayed_from: str = ""  # the loop version it was recorded under, when it was converted by replay


def kind_of(item_id: str) -> str:
    """The kind of a suite item: its id without the trailing number ("arith-07" -> "arith")."""
    head, _, tail = item_id.rpartition("-")
    return head if head and tail.isdigit() else item_id


def item_kind(item: Any) -> str:
    """A suite item's kind: its own kind field, else the one its id names."""
    return getattr(item, "kind", None) or kind_of(item.id)


class RunLog(Protocol):
    """Where collected runs are kept (agent.learning.dataset.TrajectoryLog)."""

    def of(self, model: str, item: Any) -> list[Trajectory]: ...

    def add(self, trajectory: Trajectory) -> None: ...


def collect(items: Sequence[Any], model: ChatModel, run_item: Callable[[Any, RecordingModel], tuple[bool, str]],
            *, samples: int, temperature: float, seed: int = 0, log: RunLog | None = None,
            provenance: dict[str, str] | None = None,
            progress: Callable[[str], None] | None = None) -> list[Trajectory]:
    """Run every item up to `samples` times with a recording wrapper: greedily first, then sampled at
    `temperature` (only once, greedily, when the model cannot sample or temperature is 0), until two runs of it
    pass. `run_item(item, recorder) -> (passed, answer)` runs the agent and checks its answer. With a `log`,
    runs this model already made of an item are taken from it (and count), new ones are appended to it.
    `provenance` ({"weights", "suite"}) is stamped on every new run, with the item's kind, template and split."""
    rounds = samples if temperature > 0 and getattr(model, "supports_sampling", False) else 1
    trajectories = []
    for index, item in enumerate(items):
        done = log.of(model.name, item) if log is not None else []
        trajectories.extend(done)
        passes = sum(t.passed for t in done)
        for sample in range(len(done), rounds):
            if passes >= 2:
                break  # two passing runs of one objective are enough; spend the time on others
            recorder = RecordingModel(model)
            with model.sampling(temperature, seed + 1000 * index + sample) if sample else nullcontext():
                passed, answer = run_item(item, recorder)
            trajectory = Trajectory(item.id, sample, passed, answer, recorder.calls, item.objective, model.name,
                                    kind=item_kind(item), template=getattr(item, "template", None) or "",
                                    split=getattr(item, "split", None) or "",
                                    collected=datetime.now(UTC).isoformat(timespec="seconds"), **(provenance or {}))
            trajectories.append(trajectory)
            if log is not None:
                log.add(trajectory)
            if progress is not None:
                kept = sum(t.passed for t in trajectories)
                progress(f"{item.id} run {sample + 1}/{rounds}: {'pass' if passed else 'fail'} (kept {kept})")
            passes += passed
    return trajectories
