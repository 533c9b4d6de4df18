"""`agent experience ...`, `agent learn SUITE.jsonl` and `agent feedback RUN_ID`."""

import functools
import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from agent.batch.placement import needs_ray, open_executor
from agent.cli.batch import placement_of, placement_options
from agent.config import load_settings
from agent.errors import UsageError
from agent.learning.feedback import MAX_LABEL_CHARS

if TYPE_CHECKING:
    from agent.learning.dataset import TrajectoryLog

_RUN_DIR = click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
                        help="Directory holding runs (the experience store lives in DIR/.experience).")


def _store(run_dir: Path | None):
    from agent.memory.experience import ExperienceStore, experience_root

    settings = load_settings(run_dir=run_dir)
    return ExperienceStore(experience_root(settings.run_dir, settings.experience_dir), cache_dir=settings.cache_dir)


@click.group("experience")
def experience() -> None:
    """Successful past runs, shown to the planner and tool chooser as worked examples for similar
    objectives (off for a run with --no-experience)."""


@experience.command("list")
@_RUN_DIR
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def experience_list(run_dir: Path | None, as_json: bool) -> None:
    """Every stored experience: id, date, steps, objective."""
    pairs = _store(run_dir).list()
    if as_json:
        click.echo(json.dumps([{"id": i, **e.model_dump(mode="json")} for i, e in pairs], ensure_ascii=False,
                              indent=2))
        return
    for i, e in pairs:
        click.echo(f"{i}  {e.created:%Y-%m-%d %H:%M}  {len(e.steps)} steps  {' '.join(e.objective.split())[:70]}")


@experience.command("show")
@click.argument("experience_id", metavar="ID")
@_RUN_DIR
def experience_show(experience_id: str, run_dir: Path | None) -> None:
    """One experience as the model sees it, then as JSON."""
    from agent.memory.experience import as_example

    found = _store(run_dir).get(experience_id)
    click.echo(as_example(found, max_chars=10_000))
    click.echo(found.model_dump_json(indent=2))


@experience.command("rm")
@click.argument("experience_id", metavar="ID")
@_RUN_DIR
def experience_rm(experience_id: str, run_dir: Path | None) -> None:
    """Forget one experience."""
    _store(run_dir).rm(experience_id)
    click.echo(f"removed {experience_id}")


@experience.command("clear")
@_RUN_DIR
def experience_clear(run_dir: Path | None) -> None:
    """Forget every experience."""
    click.echo(f"removed {_store(run_dir).clear()} experiences")


@click.command("feedback")
@click.argument("run_id")
@click.option("--task", type=int, metavar="N", help="The task the feedback is about (default: the whole run).")
@click.option("--good", is_flag=True, help="The run (or task) was right.")
@click.option("--bad", is_flag=True, help="The run (or task) was wrong.")
@click.option("--label", metavar="LABEL", help="The right label (e.g. positive/negative for a sentiment task).")
@_RUN_DIR
def feedback(run_id: str, task: int | None, good: bool, bad: bool, label: str | None,
             run_dir: Path | None) -> None:
    """Record a correction for RUN_ID (or its task N) in the run's feedback.jsonl; `agent heads train
    --from-feedback` learns from labelled ones. A whole run marked --good is kept as an experience (a worked
    example for similar objectives); one marked --bad is removed from the experience store."""
    from agent.learning.feedback import Feedback, record_feedback

    if good and bad:
        raise UsageError("--good and --bad contradict each other: pass one of them")
    verdict: Literal["good", "bad"] | None = "good" if good else "bad" if bad else None
    if label is not None:
        _check_label(label)
    settings = load_settings(run_dir=run_dir)
    path = record_feedback(settings.run_dir,
                           Feedback(run_id=run_id, task=task, verdict=verdict, label=label and label.strip()))
    click.echo(f"recorded in {path}")
    if task is None and verdict is not None and settings.experience:
        from agent.memory.experience import experience_from_result
        from agent.store import read_result

        result = read_result(settings.run_dir / run_id)  # the id was checked when the feedback was recorded
        if result is None:
            click.echo("not an experience: the run has no result yet (finish it with `agent resume`)")
            return
        store, experience = _store(run_dir), experience_from_result(result)
        if verdict == "good" and result.status.value != "done":
            click.echo(f"not kept as an experience: the run ended {result.status.value}, not done; only a run "
                       "that reached its answer is shown as a worked example")
        elif verdict == "good":
            click.echo(f"kept as experience {store.add(experience.model_copy(update={'success': True}))}")
        elif store.discard(experience.id):
            click.echo(f"removed experience {experience.id}: it is no longer shown as a worked example")


def _describe(log: "TrajectoryLog") -> str:
    """What a trajectory file holds, as its data card tells it."""
    s = log.summary()
    lines = [f"{log.path}: {s['runs']} runs of this loop ({s['loop']}), {s['passing']} passing"
             + (f" ({s['replayed']} replayed from another loop)" if s["replayed"] else "")
             + f"; {s['stale']} lines of another loop"
             + (f" ({s['converted']} of an older format)" if s["converted"] else ""),
             "by model: " + ", ".join(f"{m} {n}" for m, n in s["by_model"].items())]
    lines += [f"  {kind}: {s['passing_by_kind'].get(kind, 0)}/{n} passing" for kind, n in s["runs_by_kind"].items()]
    return "\n".join(lines)


def _check_label(label: str) -> None:
    if not label.strip():
        raise UsageError("--label is empty: give the right label")
    if len(label.strip()) > MAX_LABEL_CHARS:
        raise UsageError(f"--label has {len(label.strip())} characters; a label has at most {MAX_LABEL_CHARS}")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in label):  # undecodable bytes of the command line
        raise UsageError("--label is not valid UTF-8 text: give the label as text")
    if not label.strip().isprintable():
        raise UsageError("--label holds a line break or control character: give the label on one line")


@click.command("learn")
@click.argument("suite", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dev", type=click.Path(path_type=Path, dir_okay=False), metavar="SUITE",
              help="Held-out suite to compare base and adapter on (default: a stable quarter of SUITE).")
@click.option("--model", metavar="SPEC", help="Base model to adapt (default: the configured model).")
@click.option("--teacher", metavar="SPEC", help="Collect trajectories with this stronger model (distillation) "
              "instead of the model itself as `agent run` serves it.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Where a kept adapter goes (default: <run dir>/.adapters/<time>).")
@click.option("--trajectories", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Keep the collected runs in FILE (JSON lines) and reuse them: a rerun collects only what is "
                   "missing, and passing runs already there (e.g. a teacher's) are trained on too.")
@click.option("--samples", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Runs per training objective: greedy, then sampled, until two pass (backends that sample).")
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.8, show_default=True,
              help="Sampling temperature of the collecting runs (0: greedy, once).")
@click.option("--epochs", type=click.IntRange(1, 20), default=2, show_default=True, help="Training epochs.")
@click.option("--rank", type=click.IntRange(1, 256), default=16, show_default=True, help="LoRA rank.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True,
              help="Learning rate.")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Cycle budget of each run.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Train on the first N objectives only.")
@click.option("--head", "heads", multiple=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="A trained head directory served as a tool (as in agent eval); repeatable.")
@click.option("--all-tools", is_flag=True,
              help="Offer every item without tools of its own the whole tool set (as agent eval --all-tools).")
@click.option("--collect-only", is_flag=True, help="Only collect runs into --trajectories FILE; train nothing.")
@click.option("--train-only", is_flag=True,
              help="Collect nothing: train on the runs --trajectories FILE holds (e.g. a teacher's, committed).")
@click.option("--device", metavar="DEVICE", help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@placement_options
def learn(suite: Path, dev: Path | None, model: str | None, teacher: str | None, out: Path | None,
          trajectories: Path | None, samples: int, temperature: float, epochs: int, rank: int, lr: float,
          max_cycles: int | None, limit: int | None, heads: tuple[Path, ...], all_tools: bool, collect_only: bool,
          train_only: bool,
          device: str | None, as_json: bool, workers: int | None = None, ray_address: str | None = None,
          cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0) -> None:
    """Improve the model itself: run it on SUITE's objectives (sampled several times), keep the runs whose
    answers pass the checks, train a LoRA adapter on their model calls, and keep the adapter only when it
    beats the base model on held-out objectives. Use it with `agent run --adapter DIR`.

    A suite whose items name their split (like examples/suites/broad) trains on its `tune` items and compares
    on the held-out ones; otherwise a stable quarter is held out. With --trajectories FILE (.jsonl, or
    .jsonl.gz to commit it) the runs accumulate there with their provenance, across reruns and machines."""
    import hashlib

    from agent.cli.eval import _tool_pool
    from agent.evaluation.suite import load_suite
    from agent.learning.dataset import TrajectoryLog
    from agent.learning.learn import NotBetter, collect_runs, engine_scorer, split_suite
    from agent.learning.learn import learn as run_learn
    from agent.learning.lora import LoraSettings
    from agent.models.adapted import base_directory, weights_key
    from agent.run.agent import check_writable, load_configured_model

    placement = placement_of(workers, ray_address, cpus_per_worker, gpus_per_worker)
    served = load_settings(model=model, max_cycles=max_cycles, device=device)  # as `agent run` would serve it
    settings = served.model_copy(update={"default_adapter": False})  # the plain weights are what is adapted
    items = load_suite(suite)
    train_items, dev_items = (items, load_suite(dev)) if dev else split_suite(items, 0.25)
    train_items = train_items[:limit]
    if (collect_only or train_only) and not trajectories:
        flag = "--collect-only" if collect_only else "--train-only"
        raise UsageError(f"{flag} needs the file of collected runs: give --trajectories FILE")
    if collect_only and train_only:
        raise UsageError("--collect-only and --train-only contradict each other: pass one of them")
    out = out or settings.run_dir / ".adapters" / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and not collect_only:
        raise UsageError(f"--out {out} already exists; adapters are never overwritten, pass a new directory")
    if not collect_only:
        check_writable(out.parent)
    log = TrajectoryLog(trajectories) if trajectories else None  # a bad file is refused before any loading
    if trajectories:
        check_writable(trajectories.parent)
    tools = _tool_pool([*train_items, *dev_items], heads, settings.device, all_tools)
    if teacher:
        from agent.models import check_model

        check_model(teacher, device=settings.device, base_url=settings.base_url, cache_dir=settings.cache_dir)
    # rejects openai: models too
    base_key = weights_key(base_directory(settings.model, settings.cache_dir), settings.cache_dir)
    base = None if collect_only else \
        load_configured_model(settings.model_copy(update={"adapter": None, "backend": "transformers"}))
    # the runs learnt from: the teacher's, or the model's own as `agent run` serves it (its shipped adapter
    # included unless turned off), on the configured backend (the CPU engine samples there too)
    source = base if train_only else load_configured_model(served.model_copy(update={"adapter": None}), teacher)
    assert source is not None  # --train-only loads the base, which is then the only model
    note = (lambda line: None) if as_json else (lambda line: click.echo(line, err=True))
    suite_sha = hashlib.sha256(suite.read_bytes()).hexdigest()
    data = {"suite": str(suite), "suite_sha256": suite_sha,
            "dev": str(dev) if dev else ("held-out splits of the suite" if any(i.split for i in items)
                                         else "held-out quarter of the suite")}
    provenance = {"suite": f"{suite.name}@{suite_sha[:12]}",
                  "weights": weights_key(base_directory(teacher or settings.model, settings.cache_dir),
                                         settings.cache_dir)}
    lora = LoraSettings(rank=rank, alpha=2 * rank, lr=lr, epochs=epochs)
    with tempfile.TemporaryDirectory(prefix="agent-learn-log-", ignore_cleanup_errors=True) as spare:
        if needs_ray(placement) and not train_only:  # collected on the workers first; the loop below finds them
            from agent.batch.collect import CollectWorkers, collect_on
            from agent.cli.eval import _tool_pool as tool_pool
            from agent.learning.learn import SuiteRunner
            from agent.learning.replay import replay_stale

            log = log or TrajectoryLog(Path(spare) / "trajectories.jsonl")
            make_tools = functools.partial(tool_pool, [*train_items, *dev_items], list(heads), settings.device,
                                           all_tools)
            executor = open_executor(CollectWorkers(settings, served, teacher, make_tools, samples, temperature,
                                                    whole=all_tools, provenance=provenance), placement)
            try:
                with tempfile.TemporaryDirectory(prefix="agent-replay-", ignore_cleanup_errors=True) as scratch:
                    replay_stale(log, train_items, SuiteRunner(settings, tools, Path(scratch), all_tools), note)
                collect_on(executor, train_items, log, source.name, lora.seed, note)
            finally:
                executor.close()
        if collect_only:
            assert log is not None
            collect_runs(train_items, source, settings, tools, samples=samples, temperature=temperature,
                         seed=lora.seed, log=log, whole=all_tools, provenance=provenance, progress=note)
            click.echo(json.dumps(log.summary(), indent=2) if as_json else _describe(log))
            return
        report = run_learn(train_items, dev_items, base, settings, tools, out, base_key=base_key, source=source,
                           samples=samples, temperature=temperature, lora=lora, data=data,
                           evaluate=engine_scorer(settings), log=log, whole=all_tools, provenance=provenance,
                           collect_missing=not train_only, progress=note)
    figures = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(report).items()}
    if as_json:
        click.echo(json.dumps(figures, indent=2))
    else:
        b, a = report.base, report.adapter
        click.echo(f"held-out success: base {b['passed']}/{b['n']}, adapter {a['passed']}/{a['n']} "
                   f"({report.kept_runs} passing runs of {report.trajectories}, {report.examples} examples, "
                   f"trained in {report.training['seconds']} s)")
        for split in b.get("by_split", {}):
            click.echo(f"  split {split}: base {b['by_split'][split]['passed']}/{b['by_split'][split]['n']}, "
                       f"adapter {a['by_split'][split]['passed']}/{a['by_split'][split]['n']}")
        for kind in b["by_kind"]:
            click.echo(f"  {kind}: base {b['by_kind'][kind]['passed']}/{b['by_kind'][kind]['n']}, "
                       f"adapter {a['by_kind'][kind]['passed']}/{a['by_kind'][kind]['n']}")
    if not report.kept:
        raise NotBetter("the adapter is not better than the base model on the held-out objectives: not kept")
    if not as_json:
        click.echo(f"adapter kept: {report.out}\nuse it: agent run OBJECTIVE --adapter {report.out}")
