"""`agent eval SUITE.jsonl`: run a suite with one model loaded once, print a table or JSON."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.batch.placement import needs_ray, open_executor
from agent.cli.batch import placement_of, placement_options
from agent.config import Settings, explicit_device
from agent.errors import UsageError
from agent.evaluation.suite import DEFAULT_TOOLS

if TYPE_CHECKING:
    from agent.evaluation.suite import EvalItem, ItemResult, SuiteReport
    from agent.models.base import ChatModel
    from agent.run.agent import Agent
    from agent.tools.base import Tool



@click.command("eval")
@click.argument("suite", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--model", metavar="SPEC",
              help="Preset name (smollm2-135m), local model directory, .gguf file, or HF id already cached.")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Cycle budget of each item's run.")
@click.option("--head", "heads", multiple=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="A trained head directory served as a tool (extract_entities, classify_sentiment); repeatable.")
@click.option("--run-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Directory holding the items' runs (each item writes DIR/<run id>/).")
@click.option("--device", metavar="DEVICE", help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Run the first N items only.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Run the items of this kind only (the items' `kind` field); repeatable.")
@click.option("--all-tools", is_flag=True,
              help="Offer items without a `tools` field every tool a configured user has (the built-ins, plugins, "
              "each --head, search_memory), not only the default tools.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
@placement_options
def eval_command(suite: Path, model: str | None, max_cycles: int | None, heads: tuple[Path, ...],
                 run_dir: Path | None, device: str | None, limit: int | None, kinds: tuple[str, ...],
                 all_tools: bool, as_json: bool, workers: int | None = None, ray_address: str | None = None,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0) -> None:
    """Run every item of SUITE (JSON lines: id, objective, check, tools?, memory?) and score the answers.

    The model is loaded once per worker and shared by its items; items sharing a memory key share one memory,
    fresh for this evaluation, and run on one worker in file order.
    """
    from agent.config import load_settings
    from agent.evaluation.suite import load_suite, run_suite
    from agent.run.agent import check_writable, load_configured_model

    items = select_items(load_suite(suite), kinds, limit)
    settings = load_settings(model=model, max_cycles=max_cycles, run_dir=run_dir, device=device)
    # items without a memory key each get their run's own store, never a shared server's
    settings = settings.model_copy(update={"memory_url": None, "shared_memory": False})
    check_writable(settings.run_dir)
    tools = _tool_pool(items, heads, settings.device, all_tools)  # every name is checked before the model loads
    placement = placement_of(workers, ray_address, cpus_per_worker, gpus_per_worker)
    if needs_ray(placement):
        from agent.batch.suite import run_suite_on
        from agent.models import check_model

        check_model(settings.model, device=settings.device, base_url=settings.base_url, cache_dir=settings.cache_dir)
        executor = open_executor(EvalWorkers(settings, items, tuple(heads), all_tools), placement)
        try:
            report = run_suite_on(executor, items, progress=not as_json)
        finally:
            executor.close()
    else:
        with tempfile.TemporaryDirectory(prefix="agent-eval-memory-", ignore_cleanup_errors=True) as scratch:
            make_agent = _agent_maker(settings, load_configured_model(settings), tools, all_tools, Path(scratch))
            report = run_suite(items, make_agent, progress=not as_json)
    click.echo(report_json(report) if as_json else format_table(report), nl=as_json)


def _agent_maker(settings: Settings, loaded: ChatModel, tools: dict[str, Tool], all_tools: bool,
                 scratch: Path) -> Callable[[EvalItem], Agent]:
    """An Agent per item on the loaded model: its tools, and its memory key's store under `scratch`."""
    from agent.evaluation.agents import ItemAgents

    agents = ItemAgents(settings, tools, all_tools, scratch)
    return lambda item: agents(item, loaded)


@dataclass(frozen=True)
class EvalWorkers:
    """The factory of evaluation workers (made once in each worker process): the model loaded once, the tool
    pool, a scratch directory for memories and workspaces; each job is a group of items run in order."""

    settings: Settings
    items: list[EvalItem]
    heads: tuple[Path, ...]
    all_tools: bool

    def __call__(self) -> Callable[[list[EvalItem]], list[ItemResult]]:
        from agent.evaluation.suite import run_item
        from agent.run.agent import load_configured_model

        tools = _tool_pool(self.items, self.heads, self.settings.device, self.all_tools)
        scratch = Path(tempfile.mkdtemp(prefix="agent-eval-worker-"))
        make_agent = _agent_maker(self.settings, load_configured_model(self.settings), tools, self.all_tools,
                                  scratch)
        return lambda group: [run_item(item, make_agent) for item in group]


def _tool_pool(items: list[EvalItem], heads: tuple[Path, ...] | list[Path], device: str,
               whole: bool = False) -> dict[str, Tool]:
    """Name -> Tool for every name the items use (with `whole`, every tool there is but those allowed by name
    only): head tools from --head, the rest from the registry."""
    from agent.tools.heads import HeadTool
    from agent.tools.registry import BY_NAME_ONLY, available_tools

    pool: dict[str, Tool] = {}
    for head_dir in heads:
        # one instance per head: its weights load once, on the first item that calls it
        head_tool = HeadTool(head_dir, device=explicit_device(device))
        if head_tool.name in pool:
            raise UsageError(f"two --head directories both serve {head_tool.name}; pass one of each kind")
        pool[head_tool.name] = head_tool
    registry = available_tools()
    if whole:
        pool.update({name: tool for name, tool in registry.items() if name not in pool and name not in BY_NAME_ONLY})
    for item in items:
        for name in DEFAULT_TOOLS if item.tools is None else item.tools:
            if name in pool:
                continue
            if name in registry:
                pool[name] = registry[name]
            elif name in ("extract_entities", "classify_sentiment"):
                kind = "ner" if name == "extract_entities" else "sentiment"
                raise UsageError(f"item {item.id!r} uses {name}: pass --head DIR with a trained {kind} head "
                                 f"(agent heads train {kind} --data DIR --out DIR)")
            else:
                raise UsageError(f"item {item.id!r} uses unknown tool {name!r}; available: "
                                 f"{', '.join(sorted({*registry, *pool}))}")
    return pool


def select_items(items: list[EvalItem], kinds: tuple[str, ...] | list[str], limit: int | None) -> list[EvalItem]:
    """The items of `kinds` (all when empty), then the first `limit`; an unknown kind is a usage error."""
    if kinds:
        known = {item.kind for item in items}
        unknown = [k for k in kinds if k not in known]
        if unknown:
            raise UsageError(f"no items of kind {', '.join(unknown)}; the suite has "
                             f"{', '.join(sorted(k for k in known if k)) or 'no kinds'}")
        items = [item for item in items if item.kind in kinds]
    return items[:limit]


def format_table(report: SuiteReport, width: int = 120) -> str:
    """The per-item table, the per-kind totals and a totals line, as plain text."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for name in ("id", "kind", "ok", "status", "calls", "tokens", "s", "parse fails", "answer / error"):
        numeric = name in ("calls", "tokens", "s", "parse fails")
        table.add_column(name, justify="right" if numeric else "left", overflow="ellipsis",
                         no_wrap=name == "answer / error")
    for r in report.items:
        shown = r.error or " ".join(r.answer.split())
        table.add_row(r.id, r.kind or "-", "✓" if r.success else "✗", r.status or "error", str(r.llm_calls),
                      str(r.tokens), f"{r.seconds:.1f}", str(r.parse_failures), shown[:80])
    kinds = Table(show_edge=False, pad_edge=False)
    for name in ("kind", "success", "median calls", "median s", "parse-failure answers"):
        kinds.add_column(name, justify="left" if name == "kind" else "right")
    for k in report.kinds:
        kinds.add_row(k.kind, f"{k.passed}/{k.items}", f"{k.median_llm_calls:g}", f"{k.median_seconds:.1f}",
                      str(k.parse_failure_answers))
    buffer = StringIO()
    console = Console(file=buffer, width=width, no_color=True, highlight=False)
    console.print(table)
    console.print()
    console.print(kinds)
    n = len(report.items)
    buffer.write(f"\nsuccess {report.passed}/{n} ({report.success_rate:.0%}) · model calls {report.llm_calls} "
                 f"(mean {report.mean_llm_calls:.1f}, median {report.median_llm_calls:g}) · tokens {report.tokens} "
                 f"(mean {report.mean_tokens:.0f}) · {report.seconds:.1f} s (mean {report.mean_seconds:.1f}, median "
                 f"{report.median_seconds:.1f}) · parse failures {report.parse_failures} · parse-failure answers "
                 f"{report.parse_failure_answers} · errors {report.errors}\n")
    return buffer.getvalue()


def report_json(report: SuiteReport) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2)
