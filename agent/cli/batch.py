"""`agent batch OBJECTIVES.jsonl`: run many objectives on one or more workers, durably."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from agent.batch.executor import Placement
from agent.batch.placement import check_placement, open_executor, ray_available
from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.batch.ledger import BatchDir
    from agent.config import Settings

F = TypeVar("F", bound=Callable[..., Any])
CORES_PER_MODEL = 2  # a worker's share of a CPU node by default: the default model decodes well on 2 threads


def placement_options(command: F) -> F:
    """--workers, --ray-address, --cpus-per-worker, --gpus-per-worker (shared by batch, eval and learn)."""
    options = [
        click.option("--workers", type=click.IntRange(1, 10_000), metavar="N",
                     help="Worker processes, each with the model loaded once (default: 1; for `agent batch` with "
                     "Ray installed, one per 2 cores or one per GPU share). More than 1 runs them as Ray actors."),
        click.option("--ray-address", metavar="ADDR",
                     help="Run the workers on this Ray cluster (e.g. 10.0.0.5:6379, or auto) instead of a local one."),
        click.option("--cpus-per-worker", type=click.FloatRange(min=0, min_open=True), default=1.0,
                     show_default=True, help="CPUs Ray reserves for each worker."),
        click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="GPUs Ray reserves for each worker (a fraction shares one GPU)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def placement_of(workers: int | None, ray_address: str | None, cpus_per_worker: float,
                 gpus_per_worker: float, default_workers: int = 1) -> Placement:
    placement = Placement(workers=workers or default_workers, address=ray_address or None,
                          cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
    check_placement(placement)
    return placement


def default_workers(gpus_per_worker: float) -> int:
    """Without --workers: one worker in-process without Ray; with Ray, one per CORES_PER_MODEL cores of this
    machine, or (with --gpus-per-worker) as many as its GPUs hold."""
    if not ray_available():
        return 1
    if gpus_per_worker > 0:
        import torch

        return max(1, int(torch.cuda.device_count() / gpus_per_worker))
    return max(1, (os.cpu_count() or 1) // CORES_PER_MODEL)


@click.command("batch")
@click.argument("objectives", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--resume", "resume_id", metavar="ID", help="Finish batch ID: objectives already acknowledged are "
              "skipped, runs cut off are resumed.")
@placement_options
@click.option("--model", metavar="SPEC", help="Preset name, local model directory, .gguf file, cached HF id, or "
              "openai:NAME (every worker then shares that server).")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Cycle budget of each run.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Time budget of each run.")
@click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Directory holding the runs; the batch lives in DIR/.batches/<batch id>/.")
@click.option("--device", metavar="DEVICE", help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--base-url", metavar="URL", help="OpenAI-compatible server for --model openai:NAME.")
@click.option("--tool", "tools", multiple=True, metavar="NAME",
              help="Allow this tool in every run (repeatable; a line's `tools` replaces the list).")
@click.option("--no-memory", is_flag=True, help="Each run recalls only its own results, not earlier runs'.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON lines instead of a table.")
def batch(objectives: Path | None, resume_id: str | None, workers: int | None, ray_address: str | None,
          cpus_per_worker: float, gpus_per_worker: float, model: str | None, max_cycles: int | None,
          max_seconds: float | None, run_dir: Path | None, device: str | None, base_url: str | None,
          tools: tuple[str, ...], no_memory: bool, as_json: bool) -> None:
    """Run every objective of OBJECTIVES (JSON lines: {"objective": ..., "id"?, "max_cycles"?, "max_tokens"?,
    "max_seconds"?, "tools"?}, or a bare JSON string) and write one result document per objective and a summary
    into the batch's directory. Kill it at any point: `agent batch --resume ID` finishes it, and no objective
    is run twice."""
    from agent.batch.ledger import BatchDir, batches_root
    from agent.batch.runner import ObjectiveWorkers, run_batch
    from agent.config import build_settings, load_settings
    from agent.run.agent import check_writable

    if (objectives is None) == (resume_id is None):
        raise UsageError("give OBJECTIVES.jsonl to start a batch, or --resume ID to finish one (not both)")
    given = load_settings(run_dir=run_dir)
    root = batches_root(given.run_dir.resolve())
    placement = placement_of(workers, ray_address, cpus_per_worker, gpus_per_worker,
                             default_workers(gpus_per_worker) if workers is None else 1)
    if resume_id is not None:
        if any(v is not None for v in (model, max_cycles, max_seconds, device, base_url)) or tools or no_memory:
            raise UsageError("a resumed batch keeps its own settings: pass only --resume, --run-dir and the "
                             "placement options (--workers, --ray-address, ...)")
        folder = BatchDir.open(root, resume_id)
        settings = build_settings({**folder.settings, "run_dir": given.run_dir.resolve()})
        check_writable(settings.run_dir)
        _check_model(settings)
    else:
        assert objectives is not None
        settings = load_settings(model=model, max_cycles=max_cycles, max_seconds=max_seconds, run_dir=run_dir,
                                 device=device, base_url=base_url, tools=list(tools) or None,
                                 shared_memory=False if no_memory else None)
        settings = settings.model_copy(update={"run_dir": settings.run_dir.resolve()})
        check_writable(settings.run_dir)
        _check_model(settings)  # every input is checked before the batch is written
        folder = _create(objectives, settings, root)
    click.echo(f"batch {folder.batch_id}: {folder.path}", err=True)
    executor = open_executor(ObjectiveWorkers(settings), placement)
    try:
        with folder:
            report = run_batch(folder, executor, progress=not as_json)
    finally:
        executor.close()
    if as_json:
        for ack in report.acks:
            click.echo(ack.model_dump_json())
    else:
        click.echo((folder.path / "summary.txt").read_text(encoding="utf-8"), nl=False)


def _create(path: Path, settings: Settings, root: Path) -> BatchDir:
    """Check every line (objective text, tools) before anything is written, then create the batch."""
    from agent.batch.ledger import BatchDir
    from agent.batch.objectives import load_lines, number_lines
    from agent.run.agent import check_objective, check_writable, new_run_id
    from agent.tools.registry import select_tools

    lines = load_lines(path)
    for number, line in enumerate(lines, start=1):
        try:
            check_objective(line.objective, settings.max_objective_chars)
            select_tools([n for n in (line.tools if line.tools is not None else settings.tools)
                          if n != "search_memory"])
        except UsageError as exc:
            raise UsageError(f"{path} objective {number}: {exc}") from None
    check_writable(root)
    root.mkdir(parents=True, exist_ok=True)
    batch_id = new_run_id()
    numbered = number_lines(lines, batch_id)
    stored = settings.model_dump(mode="json", exclude={"api_key"})
    return BatchDir.create(root, batch_id, stored, numbered, str(path))


def _check_model(settings: Settings) -> None:
    from agent.models import check_model

    check_model(settings.model, device=settings.device, base_url=settings.base_url, cache_dir=settings.cache_dir)
