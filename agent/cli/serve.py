"""`agent serve`: the resident engine. It keeps the model loaded and warm; `agent run` with the same model
settings hands it the objective (and says so) instead of loading the model again."""

from pathlib import Path

import click
from rich.console import Console

from agent.config import load_settings


@click.command("serve")
@click.option("--model", metavar="SPEC", help="The model to keep loaded (default: the configured one).")
@click.option("--device", metavar="DEVICE", help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--backend", metavar="ENGINE", help="A registered engine, or auto.")
@click.option("--adapter", metavar="DIR|NAME", help="A LoRA adapter from `agent learn` (as for `agent run`).")
@click.option("--no-adapter", is_flag=True, help="Serve the model's own weights, not its preset's adapter.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one; clients find it in <cache dir>/serve.json).")
def serve_command(model: str | None, device: str | None, backend: str | None, adapter: str | None,
                  no_adapter: bool, port: int) -> None:
    """Keep a model loaded and run the objectives `agent run` sends, one at a time, until interrupted."""
    from agent.models import check_model
    from agent.serve.server import serve

    settings = load_settings(model=model, device=device, backend=backend,
                             default_adapter=False if no_adapter else None)
    if adapter is not None:
        from agent.models.adapted import find_adapter

        settings = settings.model_copy(update={"adapter": find_adapter(adapter, settings.run_dir)})
    check_model(settings.model, device=settings.device, base_url=settings.base_url, cache_dir=settings.cache_dir)
    stderr = Console(stderr=True)
    stderr.print(f"loading {settings.model}")

    def ready(endpoint) -> None:
        stderr.print(f"serving {settings.model} at {endpoint.url} (found through "
                     f"{Path(settings.cache_dir) / 'serve.json'}); Ctrl-C stops")

    try:
        serve(settings, port, ready)
    except KeyboardInterrupt:
        stderr.print("stopped")
