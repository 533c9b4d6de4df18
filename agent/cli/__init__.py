"""The `agent` command. With config.py, the only place that reads the environment."""

import errno
import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from agent.cli.mcp import mcp as mcp_group
from agent.cli.mcp_tools import MCP_HELP, allowed_tools
from agent.config import build_settings, load_settings
from agent.errors import AgentError, UsageError
from agent.tools.registry import MEMORY_SEARCH


class _Engines(click.Choice):
    """--backend choices: auto and every registered engine, read when the option is parsed (plugins included)."""

    def __init__(self) -> None:
        super().__init__(["auto"])

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        from agent.models.registry import engines

        self.choices = ("auto", *engines())
        return super().convert(value, param, ctx)


class _App(click.Group):
    """Subcommands whose modules import torch load only when they are the one asked for."""

    lazy = {"heads": ("agent.cli.heads", "heads"), "eval": ("agent.cli.eval", "eval_command"),
            "memory": ("agent.cli.memory", "memory"), "experience": ("agent.cli.learning", "experience"),
            "learn": ("agent.cli.learning", "learn"), "feedback": ("agent.cli.learning", "feedback"),
            "models": ("agent.cli.models", "models"), "batch": ("agent.cli.batch", "batch"),
            "serve": ("agent.cli.serve", "serve_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name]
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_App, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="agent", message="agent %(version)s")
def app() -> None:
    """A local, autonomous task agent: give it an objective, it plans tasks, runs them with a local
    language model and tools, remembers every result, and stops with an answer."""


@app.group("tools")
def tools_group() -> None:
    """Inspect the tools a run can use."""


app.add_command(mcp_group)


stderr = Console(stderr=True)


class _Dir(click.Path):
    """A path option that refuses "" (which pathlib would silently turn into the current directory)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; name a directory (use . for the current one)", param, ctx)
        return super().convert(value, param, ctx)


@app.command()
@click.argument("objective")
@click.option("--model", metavar="SPEC",
              help="Preset name (smollm2-135m), local model directory, .gguf file, or HF id already cached.")
@click.option("--max-cycles", type=int, metavar="N", help="Stop after N cycles (N >= 1).")
@click.option("--max-tokens", type=int, metavar="N", help="Stop after N model tokens (prompt + completion).")
@click.option("--max-seconds", type=float, metavar="S", help="Stop after S seconds.")
@click.option("--run-dir", type=_Dir(path_type=Path), metavar="DIR",
              help="Directory holding runs; this run writes into DIR/<run id>/.")
@click.option("--device", metavar="DEVICE", help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--backend", type=_Engines(), metavar="ENGINE",
              help="auto (default): onnxruntime-genai (int4) on a CPU, transformers on a GPU; or any registered "
              "engine (transformers, onnxruntime-genai, llama.cpp, plugins).")
@click.option("--base-url", metavar="URL",
              help="OpenAI-compatible server for --model openai:NAME, e.g. http://127.0.0.1:8000/v1 "
              "(key, if any, from AGENT_API_KEY).")
@click.option("--memory-url", metavar="URL",
              help="Chroma server holding memory shared across runs, e.g. http://127.0.0.1:8000.")
@click.option("--memory", "memory_name", metavar="NAME",
              help="Persistent memory recalled across runs (default: 'default'); see `agent memory`.")
@click.option("--no-memory", is_flag=True, help="Recall only this run's own results, not earlier runs'.")
@click.option("--no-experience", is_flag=True, help="Show no past successful runs to the model as examples.")
@click.option("--adapter", metavar="DIR|NAME",
              help="A LoRA adapter from `agent learn` for the model: its directory, its name under "
              "<run dir>/.adapters, or latest.")
@click.option("--no-adapter", is_flag=True,
              help="Serve the model's own weights, not the adapter its preset ships with.")
@click.option("--tool", "tools", multiple=True, metavar="NAME",
              help="Allow this tool (repeatable); default: calculator, dates and convert. See `agent tools list`; "
              "search_memory searches the run's memory.")
@click.option("--head", "heads", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Allow a trained task head (from `agent heads train`) as a tool (repeatable).")
@click.option("--workspace", type=_Dir(path_type=Path), metavar="DIR",
              help="Allow read_file/list_files/write_file confined to DIR (writing asks first unless --yes).")
@click.option("--parallel", type=click.IntRange(1, 16), metavar="N",
              help="Execute up to N ready tasks per cycle as one batched generation (default 1).")
@click.option("--no-tools", is_flag=True, help="Answer every task with the model alone.")
@click.option("--mcp", "mcp_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE", help=MCP_HELP)
@click.option("--yes", is_flag=True, help="Approve risky tools without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of progress and answer.")
@click.option("--otel", is_flag=True, help="Send OpenTelemetry spans per cycle and model call (OTLP; needs "
              "pip install 'agent[otel]'; endpoint from OTEL_EXPORTER_OTLP_ENDPOINT).")
def run(objective: str, model: str | None, max_cycles: int | None, max_tokens: int | None,
        max_seconds: float | None, run_dir: Path | None, device: str | None, backend: str | None, base_url: str | None,
        memory_url: str | None, tools: tuple[str, ...], heads: tuple[Path, ...], workspace: Path | None,
        parallel: int | None, otel: bool,
        no_tools: bool, yes: bool, as_json: bool, memory_name: str | None = None, no_memory: bool = False,
        no_experience: bool = False, adapter: str | None = None, no_adapter: bool = False,
        mcp_file: Path | None = None) -> None:
    """Run OBJECTIVE to completion and print the final answer."""
    from agent.models import check_model
    from agent.run.agent import Agent, check_objective, check_workspace, check_writable

    for name, value in (("--max-cycles", max_cycles), ("--max-tokens", max_tokens), ("--max-seconds", max_seconds)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive, got {value:g}")
    settings = load_settings(model=model, max_cycles=max_cycles, max_tokens=max_tokens, max_seconds=max_seconds,
                         run_dir=run_dir, device=device, backend=backend, base_url=base_url, memory_url=memory_url,
                         parallel_tasks=parallel, tools=[] if no_tools else (list(tools) or None),
                         heads=list(heads) or None, workspace=workspace, memory_name=memory_name,
                         shared_memory=False if no_memory else None, experience=False if no_experience else None,
                         default_adapter=False if no_adapter else None, mcp=mcp_file)
    if adapter is not None:
        from agent.models.adapted import find_adapter

        settings = settings.model_copy(update={"adapter": find_adapter(adapter, settings.run_dir)})
    check_objective(objective, settings.max_objective_chars)  # every input is checked before anything loads
    check_writable(settings.run_dir)
    if settings.workspace is not None:
        check_workspace(settings.workspace)
    check_model(settings.model, device=settings.device, base_url=settings.base_url, cache_dir=settings.cache_dir)
    memory = None
    if settings.memory_url:
        from agent.memory.remote import remote_memory

        memory = remote_memory(settings.memory_url)
    if (not otel and settings.mcp is None and settings.memory_url is None
            and (document := _on_resident(objective, settings, yes, as_json))):
        _report(document, as_json)
        return
    allowed = allowed_tools(settings, settings.tools)
    listener = _telemetry() if otel else None
    with _Progress(enabled=not as_json) as show:
        show.note(f"loading {settings.model}")
        agent = Agent(tools=allowed, memory=memory, settings=settings, approve=_approver(yes),
                      memory_search=MEMORY_SEARCH in settings.tools)

        def on_event(event) -> None:
            show(event)
            if listener is not None:
                listener(event)

        try:
            _report(agent.run(objective, on_event=on_event).to_json_document(), as_json)
        finally:
            if listener is not None:
                listener.close()


def _telemetry():
    from agent.observing.telemetry import telemetry_listener

    listener = telemetry_listener()
    if listener is None:
        raise UsageError("--otel needs OpenTelemetry: pip install 'agent[otel]'")
    return listener


def _on_resident(objective: str, settings, yes: bool, as_json: bool) -> dict | None:
    """The run's document when a resident engine (`agent serve`) serves this model and the run needs no
    question asked along the way (a risky tool without --yes); None: run in this process."""
    from agent.serve.endpoint import find

    endpoint = find(settings)
    if endpoint is None:
        return None
    from agent.serve.client import run_resident
    from agent.tools.registry import tools_for

    risky = any(t.risky for t in tools_for(settings.tools, settings.heads, settings.workspace, settings.device))
    if risky and not yes:
        return None
    with _Progress(enabled=not as_json) as show:
        show.note(f"on the resident engine at {endpoint.url}")
        if not as_json:
            stderr.print(f"[dim]running on the resident engine at {endpoint.url} (agent serve)[/dim]")
        return run_resident(endpoint, objective, settings, approve_risky=yes, on_event=show)


def _report(document: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    usage = document["usage"]
    stderr.print(f"[dim]run {document['run_id']}: {document['status']}, {len(document['tasks'])} tasks, "
                 f"{usage['llm_calls']} model calls, {usage['prompt_tokens'] + usage['completion_tokens']} tokens, "
                 f"{usage['seconds']:.1f} s[/dim]")
    click.echo(document["final_answer"])


@app.command()
@click.argument("run_id")
@click.option("--run-dir", type=_Dir(path_type=Path), metavar="DIR", help="Directory holding runs.")
@click.option("--max-cycles", type=click.IntRange(min=1), metavar="N", help="Raise the run's cycle budget.")
@click.option("--mcp", "mcp_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The MCP servers file for the run's SERVER.TOOL tools (default: the one it was started with).")
@click.option("--yes", is_flag=True, help="Approve risky tools without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of progress and answer.")
def resume(run_id: str, run_dir: Path | None, max_cycles: int | None, yes: bool, as_json: bool,
           mcp_file: Path | None = None) -> None:
    """Continue the interrupted run RUN_ID where it stopped."""
    from agent.run.agent import Agent, check_run_id
    from agent.store import STATE_FILE, RunStore

    settings = load_settings(run_dir=run_dir)
    run_path = settings.run_dir / check_run_id(run_id)  # checked before anything in it is touched
    if not (run_path / STATE_FILE).is_file():
        raise UsageError(f"no run {run_id!r} under {settings.run_dir} (see `agent runs`)")
    with RunStore(run_path) as store:  # read the run's own settings; the lock is taken again to drive it
        record, _ = store.load()
    stored = build_settings({**record.settings, "run_dir": settings.run_dir,  # a stored None stays None
                             **({"mcp": mcp_file} if mcp_file else {})})
    limits = {"max_cycles": max_cycles} if max_cycles else {}
    with _Progress(enabled=not as_json) as show:
        show.note(f"loading {stored.model}")
        agent = Agent(tools=allowed_tools(stored, stored.tools, started_with=record.tools), settings=stored,
                      approve=_approver(yes), memory_search=MEMORY_SEARCH in stored.tools)
        _report(agent.resume(run_id, on_event=show, **limits).to_json_document(), as_json)


@app.command()
@click.option("--run-dir", type=_Dir(path_type=Path), metavar="DIR", help="Directory holding runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs(run_dir: Path | None, as_json: bool) -> None:
    """List runs, newest first: id, status, cycles, objective."""
    from agent.store import list_runs

    records = list_runs(load_settings(run_dir=run_dir).run_dir)
    if as_json:
        click.echo(json.dumps([{"run_id": r.run_id, "status": r.status, "cycles": r.state.cycle - 1,
                                "objective": r.objective} for r in records], indent=2))
        return
    for r in records:
        click.echo(f"{r.run_id}  {r.status:<11} {r.state.cycle - 1:>3} cycles  {r.objective[:70]}")


@app.command()
@click.argument("run_id")
@click.option("--run-dir", type=_Dir(path_type=Path, file_okay=False), metavar="DIR",
              help="Directory holding runs.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Where to write the page (default: the run's report.html).")
def report(run_id: str, run_dir: Path | None, out: Path | None) -> None:
    """Write RUN_ID's self-contained HTML report: task graph, timeline, tokens and time, results, answer.
    Works on interrupted runs too; the page loads nothing from the network."""
    from agent.observing.report import write_report
    from agent.run.agent import check_run_id

    click.echo(str(write_report(load_settings(run_dir=run_dir).run_dir / check_run_id(run_id), out)))


@tools_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--mcp", "mcp_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE", help=MCP_HELP)
def tools_list(as_json: bool, mcp_file: Path | None = None) -> None:
    """Every tool a run can allow, with its argument schema."""
    from agent.cli.mcp_tools import mcp_toolset
    from agent.tools.registry import available_tools

    served = mcp_toolset(load_settings(mcp=mcp_file).mcp)
    specs = [t.spec() for t in [*available_tools().values(), *(served.tools() if served else [])]]
    if as_json:
        click.echo(json.dumps(specs, indent=2))
        return
    for spec in specs:
        params = spec["parameters"].get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in params.items())
        click.echo(f"{spec['name']}({args}){' [risky]' if spec['risky'] else ''}\n    {spec['description']}")


def _approver(yes: bool):
    def approve(tool, arguments) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            return False
        return click.confirm(f"allow {tool.name}({json.dumps(arguments)})?", default=False, err=True)

    return approve


class _Progress:
    """Live one-line progress on stderr: cycle, queue, task in hand, tokens/s."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.status = stderr.status("starting") if enabled else None
        self.cycle = self.pending = self.done = 0
        self.task = ""
        self.rate = 0.0

    def __enter__(self) -> "_Progress":
        if self.status:
            self.status.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.status:
            self.status.__exit__(*exc)

    def note(self, text: str) -> None:
        if self.status:
            self.status.update(text)

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        kind = event.kind
        if kind == "cycle_started":
            self.cycle, self.pending, self.done = event.cycle, event.pending, event.completed
        elif kind == "tasks_added":
            self.pending += len(event.tasks)
        elif kind == "task_started":
            self.task = event.task.description
        elif kind == "task_finished":
            self.pending, self.done = self.pending - 1, self.done + 1
            stderr.print(f"[green]✓[/green] [{event.task.id}] {event.task.description}", highlight=False)
        elif kind == "model_called":
            self.rate = event.tokens_per_second
        self.note(f"cycle {self.cycle} · pending {self.pending} · done {self.done} · "
                  f"{self.rate:.1f} tok/s · {self.task[:60]}")


def os_error_line(exc: OSError) -> str:
    """An OSError as one line naming the path, with what to do where there is something to do."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on{where or ' the disk'}: free some space and try again"
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = {errno.ENOTDIR: "a directory setting points at or under a file",
            errno.EEXIST: "a directory setting points at a file",
            errno.EACCES: "check its permissions, or choose another directory",
            errno.EROFS: "choose a writable directory",
            errno.ENOENT: "check the directory settings (AGENT_*_DIR) and paths given"}.get(exc.errno or 0)
    return f"{reason}:{where}" + (f" ({hint})" if hint else "")


def _warning_lines() -> None:
    logger = logging.getLogger("agent")
    if not any(getattr(h, "agent_lines", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("agent: warning: %(message)s"))
        handler.agent_lines = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def main() -> None:
    """Entry point: every error is one line on stderr; usage errors exit with status 2. The project's own
    warnings (a damaged store moved aside, a cache rebuilt) are lines on stderr too."""
    _warning_lines()
    try:
        app.main(standalone_mode=False, prog_name="agent")
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        print(f"agent: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except click.exceptions.Abort:
        print("agent: aborted", file=sys.stderr)
        sys.exit(130)
    except UsageError as exc:
        print(f"agent: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except AgentError as exc:
        print(f"agent: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("agent: interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:  # a path from the settings that is a file, missing, unwritable or on a full disk
        print(f"agent: error: {os_error_line(exc)}", file=sys.stderr)
        sys.exit(1)
