"""`agent memory list|search|forget`: look inside the persistent memory that runs share."""

import json
from pathlib import Path

import click

from agent.config import load_settings
from agent.errors import UsageError

_NAME_HELP = "Which persistent memory (default: 'default', as `agent run --memory NAME`)."


def _options(command):
    command = click.option("--memory", "name", metavar="NAME", help=_NAME_HELP)(command)
    command = click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
                           help="Directory holding runs (the memories live in DIR/.memory).")(command)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


def _open(name: str | None, run_dir: Path | None, *, create: bool = False):
    from agent.memory.shared import memory_names, memory_root, open_named

    settings = load_settings(memory_name=name, run_dir=run_dir)
    root = memory_root(settings.run_dir, settings.memory_dir)
    if not create and settings.memory_name not in memory_names(root):
        known = ", ".join(memory_names(root)) or "none yet"
        raise UsageError(f"no memory {settings.memory_name!r} under {root} (known: {known}); "
                         "a run creates it: agent run OBJECTIVE --memory NAME")
    return open_named(root, settings.memory_name)


def _show(recalls, as_json: bool, scored: bool = False) -> None:
    if as_json:
        click.echo(json.dumps([{"id": r.id, "text": r.text, "metadata": r.metadata,
                                **({"similarity": round(1 - r.distance, 4)} if scored else {})}
                               for r in recalls], ensure_ascii=False, indent=2))
        return
    for r in recalls:
        score = f"{1 - r.distance:.2f}  " if scored else ""
        click.echo(f"{score}{r.id}  {' '.join(r.text.split())[:100]}")


@click.group("memory")
def memory() -> None:
    """The persistent memory every `agent run` stores results in and recalls from (off with --no-memory).

    Entries are task results with ids RUN_ID:task-N."""


@memory.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most N entries.")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only the results of this run.")
@_options
def list_entries(limit: int, run_id: str | None, name: str | None, run_dir: Path | None, as_json: bool) -> None:
    """List stored entries: id and text."""
    store = _open(name, run_dir)
    _show(store.entries(limit=limit, where={"run": run_id} if run_id else None), as_json)


@memory.command("search")
@click.argument("query")
@click.option("-k", type=click.IntRange(min=1), default=5, show_default=True, help="How many entries.")
@_options
def search(query: str, k: int, name: str | None, run_dir: Path | None, as_json: bool) -> None:
    """The K entries nearest in meaning to QUERY, with their cosine similarity."""
    if not query.strip():
        raise UsageError("the query is empty: say what to look for")
    _show(_open(name, run_dir).search(query, k), as_json, scored=True)


@memory.command("forget")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--run", "run_id", metavar="RUN_ID", help="Forget every result of this run.")
@click.option("--all", "everything", is_flag=True, help="Forget every entry of memory NAME.")
@_options
def forget(ids: tuple[str, ...], run_id: str | None, everything: bool, name: str | None, run_dir: Path | None,
           as_json: bool) -> None:
    """Forget entries by ID, every entry of --run RUN_ID, or --all of them."""
    if sum([bool(ids), run_id is not None, everything]) != 1:
        raise UsageError("say what to forget: entry IDs, --run RUN_ID, or --all")
    store = _open(name, run_dir)
    if everything:
        count = store.delete()
    else:
        count = store.delete(ids=list(ids)) if ids else store.delete(where={"run": run_id})
        if count == 0:
            what = f"no entry of run {run_id}" if run_id else "no entry has those ids"
            raise UsageError(f"nothing to forget: {what}")
    click.echo(json.dumps({"forgotten": count}) if as_json else f"forgot {count} entries")
