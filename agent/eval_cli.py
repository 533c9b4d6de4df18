"""`agent eval SUITE.jsonl`: run a suite with one model loaded once, print a table or JSON."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.evaluation import EvalItem
    from agent.tools.base import Tool

DEFAULT_TOOLS = ["calculator"]  # as `agent run` without --tool


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
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def eval_command(suite: Path, model: str | None, max_cycles: int | None, heads: tuple[Path, ...],
                 run_dir: Path | None, device: str | None, limit: int | None, as_json: bool) -> None:
    """Run every item of SUITE (JSON lines: id, objective, check, tools?, memory?) and score the answers.

    The model is loaded once and shared by all items; items sharing a memory key share one memory, fresh
    for this evaluation.
    """
    from agent.agent import Agent, check_writable, load_configured_model
    from agent.config import load_settings
    from agent.evaluation import (
        SharedMemories,
        format_table,
        load_suite,
        report_json,
        run_suite,
    )

    items = load_suite(suite)[:limit]
    settings = load_settings(model=model, max_cycles=max_cycles, run_dir=run_dir, device=device)
    # items without a memory key each get their run's own store, never a shared server's
    settings = settings.model_copy(update={"memory_url": None})
    check_writable(settings.run_dir)
    tools = _tool_pool(items, heads, settings.device)  # every name is checked before the model loads
    loaded = load_configured_model(settings)
    with tempfile.TemporaryDirectory(prefix="agent-eval-memory-", ignore_cleanup_errors=True) as scratch:
        memories = SharedMemories(Path(scratch))

        def make_agent(item: EvalItem) -> Agent:
            names = DEFAULT_TOOLS if item.tools is None else item.tools
            return Agent(model=loaded, tools=[tools[n] for n in names], memory=memories(item.memory),
                         settings=settings)

        report = run_suite(items, make_agent, progress=not as_json)
    click.echo(report_json(report) if as_json else format_table(report), nl=as_json)


def _tool_pool(items: list[EvalItem], heads: tuple[Path, ...], device: str) -> dict[str, Tool]:
    """Name -> Tool for every name the items use: head tools from --head, the rest from the registry."""
    from agent.tools.heads import HeadTool
    from agent.tools.registry import available_tools

    pool: dict[str, Tool] = {}
    for head_dir in heads:
        # one instance per head: its weights load once, on the first item that calls it
        head_tool = HeadTool(head_dir, device=None if device == "auto" else device)
        if head_tool.name in pool:
            raise UsageError(f"two --head directories both serve {head_tool.name}; pass one of each kind")
        pool[head_tool.name] = head_tool
    registry = available_tools()
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
