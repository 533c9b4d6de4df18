"""Stale runs converted by replay: a passing run recorded under another loop version is run again under this
loop with its recorded replies as the model's, in order. When this loop asks no more calls than were recorded
and the answer still passes the item's check, the new recording (this loop's prompts, the same replies) joins
the dataset; otherwise the run is dropped and counted. A teacher's expensive runs survive a change of prompts."""

import dataclasses
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from agent.learning.dataset import TrajectoryLog, loop_version
from agent.learning.trajectories import RecordedCall, RecordingModel, Trajectory
from agent.models.base import ChatModel, Generation, Message


class ReplayModel(ChatModel):
    """Answers each call with the next recorded reply; a call past the last one is answered with nothing and
    marks the replay as diverged."""

    supports_schema = True  # the replies were decoded under their schemas

    def __init__(self, calls: Sequence[RecordedCall], name: str) -> None:
        self.name = name
        self._replies = deque(call.reply for call in calls)
        self.diverged = False

    def generate(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 max_new_tokens: int = 256, **options: Any) -> Generation:
        if not self._replies:
            self.diverged = True
            return Generation("", 0, 0, 0.001)
        text = self._replies.popleft()
        return Generation(text, 0, max(1, len(text.split())), 0.001)


def replay(run: Trajectory, item: Any,
           run_item: Callable[[Any, RecordingModel], tuple[bool, str]]) -> Trajectory | None:
    """`run` recorded again under this loop, or None when this loop no longer reaches a passing answer with
    its replies."""
    model = ReplayModel(run.calls, run.model)
    recorder = RecordingModel(model)
    passed, answer = run_item(item, recorder)
    if model.diverged or not passed:
        return None
    return dataclasses.replace(run, answer=answer, calls=recorder.calls, loop=loop_version(), replayed_from=run.loop)


def replay_stale(log: TrajectoryLog, items: Sequence[Any],
                 run_item: Callable[[Any, RecordingModel], tuple[bool, str]],
                 progress: Callable[[str], None] = lambda line: None) -> tuple[int, int]:
    """Replay the stale passing runs of `items` (in suite order, so a memory item's store run comes before its
    question) that have no current counterpart yet; each converted run is appended to `log`. Returns how many
    were converted and how many dropped (failed runs of another loop are dropped: they teach nothing)."""
    version = loop_version()
    def key(t: Trajectory) -> tuple[str, str, str, int]:
        return t.model, t.item_id, t.objective, t.sample

    done = {key(t) for t in log.current()}
    latest: dict[tuple[str, str, str, int], Trajectory] = {}  # a run replayed before: its newest recording
    for t in log.runs:
        if t.loop != version and key(t) not in done:
            latest[key(t)] = t
    stale: dict[tuple[str, str], list[Trajectory]] = {}
    for t in latest.values():
        stale.setdefault((t.item_id, t.objective), []).append(t)
    converted = dropped = 0
    for item in items:
        for run in stale.pop((item.id, item.objective), []):
            new = replay(run, item, run_item) if run.passed else None
            if new is None:
                dropped += 1
                continue
            log.add(new)
            converted += 1
    if converted or dropped:
        progress(f"stale runs replayed under this loop: {converted} converted, {dropped} dropped")
    return converted, dropped
