"""`agent learn`: collect checked trajectories, train a LoRA adapter on them, keep it only if it evaluates
better than the base model on held-out objectives."""

import hashlib
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import AgentError, UsageError
from agent.learning.dataset import TrajectoryLog
from agent.learning.lora import LoraSettings, attach_lora, to_examples, train_lora
from agent.learning.replay import replay_stale
from agent.learning.trajectories import RecordingModel, Trajectory, collect, item_kind, kind_of
from agent.models.adapted import META_FILE, AdapterMeta


class NotBetter(AgentError):
    """The trained adapter did not beat the base model on the held-out objectives; nothing was kept."""


@dataclass
class LearnReport:
    train_items: int
    dev_items: int
    trajectories: int
    kept_runs: int
    examples: int
    base: dict[str, Any]
    adapter: dict[str, Any]
    training: dict[str, Any]
    kept: bool
    out: Path | None
    seconds: float
    by_purpose: dict[str, int] = field(default_factory=dict)


def split_suite(items: Sequence[Any], dev_fraction: float) -> tuple[list[Any], list[Any]]:
    """Items that name their split: the `tune` ones and the held-out ones. Otherwise a stable split by a digest
    of each id: the same item always lands on the same side."""
    if any(getattr(item, "split", None) for item in items):
        tune = [i for i in items if i.split == "tune"]
        held_out = [i for i in items if i.split and i.split != "tune"]
        if tune and held_out:
            return tune, held_out
    def score(item: Any) -> float:
        return int(hashlib.sha1(item.id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    train = [i for i in items if score(i) >= dev_fraction]
    dev = [i for i in items if score(i) < dev_fraction]
    if not train or not dev:
        raise UsageError(f"a suite of {len(items)} items leaves an empty train or held-out split; "
                         "give more items or --dev SUITE")
    return train, dev


def success_by_kind(items: Sequence[Any], passed: Sequence[bool]) -> dict[str, Any]:
    """Passed items in all, per kind, and per split when the items name theirs (held-out templates and held-out
    kinds are the figures that count)."""
    kinds: dict[str, list[bool]] = defaultdict(list)
    splits: dict[str, list[bool]] = defaultdict(list)
    for item, ok in zip(items, passed):
        kinds[item_kind(item)].append(ok)
        if getattr(item, "split", None):
            splits[item.split].append(ok)
    figures = {"passed": sum(passed), "n": len(passed), "success_rate": round(sum(passed) / max(1, len(passed)), 4),
               "by_kind": {k: {"passed": sum(v), "n": len(v)} for k, v in sorted(kinds.items())}}
    if splits:
        figures["by_split"] = {k: {"passed": sum(v), "n": len(v)} for k, v in sorted(splits.items())}
    return figures


class SuiteRunner:
    """Runs suite items through fresh Agents on one loaded model, in a scratch run dir, memory per item
    (or per shared memory key), no cross-run memory or experience: what is measured is the model. With
    `whole`, an item without tools of its own is offered the whole pool, as in `agent eval --all-tools`."""

    def __init__(self, settings: Any, tools: dict[str, Any], scratch: Path, whole: bool = False) -> None:
        from agent.evaluation.agents import ItemAgents

        settings = settings.model_copy(update={"run_dir": scratch / "runs", "shared_memory": False,
                                               "default_adapter": False, "experience": False,
                                               "memory_url": None, "adapter": None})
        self.agents = ItemAgents(settings, tools, whole, scratch)

    def __call__(self, item: Any, model: Any) -> tuple[bool, str]:
        from agent.evaluation.suite import passes

        observe = model.observe if isinstance(model, RecordingModel) else None
        try:
            answer = self.agents(item, model).run(item.objective, on_event=observe).final_answer
        except AgentError:
            return False, ""
        return passes(item.check, answer), answer

    def score(self, items: Sequence[Any], model: Any) -> dict[str, Any]:
        return success_by_kind(items, [self(item, model)[0] for item in items])


def collect_runs(items: Sequence[Any], source: Any, settings: Any, tools: dict[str, Any], *, samples: int,
                 temperature: float, seed: int, log: TrajectoryLog, whole: bool = False,
                 provenance: dict[str, str] | None = None,
                 progress: Callable[[str], None] = lambda line: None) -> list[Trajectory]:
    """Collection alone (`agent learn --collect-only`): `source`'s runs of `items` appended to `log`."""
    with tempfile.TemporaryDirectory(prefix="agent-collect-", ignore_cleanup_errors=True) as scratch:
        runner = SuiteRunner(settings, tools, Path(scratch), whole)
        replay_stale(log, items, runner, progress)
        progress(f"collecting trajectories on {len(items)} objectives with {source.name} into {log.path}")
        return collect(items, source, runner, samples=samples, temperature=temperature, seed=seed, log=log,
                       provenance=provenance, progress=progress)


def learn(train_items: Sequence[Any], dev_items: Sequence[Any], base: Any, settings: Any, tools: dict[str, Any],
          out: Path, *, base_key: str, source: Any = None, samples: int = 4, temperature: float = 0.8,
          lora: LoraSettings = LoraSettings(), data: dict[str, Any] | None = None,
          evaluate: Callable[[Path | None], Any] | None = None, log: TrajectoryLog | None = None,
          whole: bool = False, provenance: dict[str, str] | None = None, collect_missing: bool = True,
          progress: Callable[[str], None] = lambda line: None) -> LearnReport:
    """The whole loop on `base` (a LocalModel; `source`, e.g. a teacher, collects instead when given). The
    adapter lands in `out` only when it beats the base model on `dev_items`. `evaluate(adapter_dir or None)`
    gives the model to score with (e.g. the CPU engine on merged weights); by default `base` itself scores.
    With a `log`, collection resumes from it, and every passing run in it (any model's, any suite's) is
    trained on, except runs of a held-out objective and runs another loop recorded (stale, counted); with
    `collect_missing` False nothing is collected, the log's runs alone are trained on. The
    examples are mixed by kind: each kind gets an equal share of the training budget, so the kinds with few
    passing runs are not drowned by the easy ones."""
    started = time.perf_counter()
    source = source or base
    meta = AdapterMeta(base_model=settings.model, base_key=base_key,
                       created=datetime.now(UTC).isoformat(timespec="seconds"),
                       settings={**lora.as_dict(), "samples": samples, "temperature": temperature})
    with tempfile.TemporaryDirectory(prefix="agent-learn-", ignore_cleanup_errors=True) as scratch:
        runner = SuiteRunner(settings, tools, Path(scratch), whole)
        if log is not None:
            replay_stale(log, train_items, runner, progress)
        if collect_missing:
            progress(f"collecting trajectories on {len(train_items)} objectives with {source.name}")
        trajectories = collect(train_items if collect_missing else [], source, runner, samples=samples,
                               temperature=temperature, seed=lora.seed, log=log, provenance=provenance,
                               progress=progress)
        stale = 0
        if log is not None:
            held_out = {item.objective for item in dev_items}
            trajectories = [t for t in log.current() if t.objective not in held_out]
            stale = log.stale()
            if stale:
                progress(f"{stale} runs in {log.path} were recorded by another loop version: left out")
        kept = [t for t in trajectories if t.passed]
        if not kept:
            raise UsageError(f"no run passed its check on {len(train_items)} training objectives "
                             f"({len(trajectories)} tried): nothing to learn from, nothing kept; try --teacher MODEL")
        examples = mixed_by_kind(kept, base.tokenizer, lora)
        if not examples:
            raise UsageError("the passing runs left no usable example (all too long or rejected); nothing kept")
        progress(f"{len(kept)} passing runs, {len(examples)} examples; scoring the base model on "
                 f"{len(dev_items)} held-out objectives")
        base_score = runner.score(dev_items, evaluate(None) if evaluate else base)
        progress(f"base: {base_score['passed']}/{base_score['n']}; training")
        peft_model = attach_lora(base.model, lora)
        training = train_lora(peft_model, examples, lora, base.tokenizer.pad_token_id, progress)
        meta.data = {**(data or {}), "collected_with": source.name, "train_items": len(train_items),
                     "dev_items": len(dev_items), "trajectories": len(trajectories), "kept_runs": len(kept),
                     "examples": len(examples), "kept_runs_by_model": dict(Counter(t.model for t in kept)),
                     "kept_runs_by_kind": dict(sorted(Counter(t.kind or kind_of(t.item_id) for t in kept).items())),
                     "stale_runs_left_out": stale}
        staged = _stage(peft_model, out.parent, meta)
        try:
            if evaluate is None:
                base.swap_weights(peft_model)
            progress(f"scoring the adapter (base: {base_score['passed']}/{base_score['n']})")
            adapter_score = runner.score(dev_items, evaluate(staged) if evaluate else base)
            better = adapter_score["success_rate"] > base_score["success_rate"]
            if better:
                meta.figures.update({"base": base_score, "adapter": adapter_score, "training": training})
                (staged / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
                staged.rename(out)
        finally:
            shutil.rmtree(staged, ignore_errors=True)  # gone already when it was kept
        return LearnReport(len(train_items), len(dev_items), len(trajectories), len(kept), len(examples),
                           base_score, adapter_score, training, better, out if better else None,
                           round(time.perf_counter() - started, 1), _purposes(kept))


def mixed_by_kind(kept: Sequence[Trajectory], tokenizer: Any, lora: LoraSettings) -> list[Any]:
    """The training examples of the passing runs, at most `lora.max_examples`, shared out evenly between
    kinds (a kind with fewer examples than its share gives the rest to the others): a kind the model passes
    often must not crowd out one it rarely passes."""
    import random

    by_kind: dict[str, list[Any]] = defaultdict(list)
    for t in kept:
        by_kind[t.kind or kind_of(t.item_id)].append(t)
    pools = {kind: to_examples([c for t in runs for c in t.calls], tokenizer, lora.max_length)
             for kind, runs in sorted(by_kind.items())}
    rng = random.Random(lora.seed)
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[Any] = []
    budget, left = lora.max_examples, {k: v for k, v in pools.items() if v}
    while left and len(chosen) < budget:
        share = max(1, (budget - len(chosen)) // len(left))
        for kind in list(left):
            take, left[kind] = left[kind][:share], left[kind][share:]
            chosen.extend(take[:budget - len(chosen)])
            if not left[kind]:
                del left[kind]
    return chosen


def engine_scorer(settings: Any) -> Callable[[Path | None], Any] | None:
    """Where the configured backend is not transformers (the CPU engine), base and adapter are scored on it,
    the adapter as merged weights: faster, and what `agent run --adapter` will serve. None: score on `base`."""
    from agent.models import pick_backend
    from agent.run.agent import load_configured_model

    if pick_backend(settings.backend, settings.device) == "transformers":
        return None
    return lambda adapter: load_configured_model(settings.model_copy(update={"adapter": adapter,
                                                                             "default_adapter": False}))


def _purposes(kept: list[Trajectory]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for t in kept:
        for call in t.calls:
            if not call.rejected:
                counts[call.purpose or "unknown"] += 1
    return dict(counts)


def _stage(peft_model: Any, parent: Path, meta: AdapterMeta) -> Path:
    """Adapter weights and adapter.json in a staging directory beside the target, renamed into place once kept."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=".staging-"))
    try:
        peft_model.save_pretrained(staging)
        meta.figures["size_bytes"] = sum(p.stat().st_size for p in staging.iterdir())
        (staging / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging
