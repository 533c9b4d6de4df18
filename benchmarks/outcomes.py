"""Objectives achieved, per kind: this agent, the same model answering directly, and smolagents, in one run.

    python benchmarks/outcomes.py [--suite examples/suites/dev.jsonl] [--model SPEC] [--limit N] [--kinds K,K]
        [--ids ID,ID] [--skip-peer] [--skip-alone] [--no-experience] [--runs DIR] [--ner-head DIR]
        [--sentiment-head DIR] [--max-steps 4] [--device auto] [--items] [--json]
        [--all-tools] [--with TOOL,TOOL] [--splits S,S] [--checks-off NAME,NAME] [--warm-up S,S]

The broad suite (examples/suites/broad/broad.jsonl) is measured as a user meets it, with every tool offered:
    python benchmarks/outcomes.py --suite examples/suites/broad/broad.jsonl --all-tools --skip-peer \
        --no-experience --splits heldout_template,heldout_kind --log FILE
and the tables then put tune, held-out-template and held-out-kind figures side by side, per kind and per runner.
--checks-off switches answer checks off by name (agent/answering/checks.py) to measure what each is worth.
--warm-up tune first runs the suite's `tune` items with experience memory on (their checked successes become
experiences, logged as the runner "warm-up"), then measures the chosen items on that store, frozen: a measured
item never learns from another. Against the same items with --no-experience, that is what experience is worth
on wordings it never saw:
    python benchmarks/outcomes.py --suite examples/suites/broad/broad.jsonl --all-tools --skip-peer --skip-alone \
        --warm-up tune --splits heldout_template --log FILE

(a) this agent (agent.Agent through the evaluation harness, each item with its own tools and shared memories);
(b) the same loaded model with no agent: the objective as one user message, one reply, the same check;
(c) smolagents' ToolCallingAgent with the same tools (needs `pip install 'agent[peer]'`), by default on the very
    model (a) and (b) use, through a smolagents Model over it (the same weights, engine and greedy decoding);
    `--peer-backend transformers` gives it smolagents' own TransformersModel instead (fp32 on a CPU: several times
    slower; --model must then be a preset, a GGUF file or a transformers directory).
--log FILE appends every item's result as a JSON line the moment it is known, so a long run cut short keeps them;
--from-log FILE prints the tables from such a file without running anything. Experience memory is on, as in
`agent run`, in a scratch store per benchmark run: later items see earlier passing ones as worked examples, so a
subset is not comparable item for item with a whole run (--no-experience turns it off). --runs DIR keeps each
of our runs (its trace.jsonl) for reading afterwards.
Prints success per kind for each, totals, median model calls and median seconds over the single-step kinds,
parse failures (rejected structured replies) and parse-failure answers (a final answer that is leaked JSON,
markup or a validation error). Heads: --ner-head / --sentiment-head, or small ones trained once into
<cache dir>/outcome-heads/ (NER on a CoNLL subset, sentiment on Pang & Lee, a few minutes on a CPU) and reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent.cli.eval import _tool_pool, select_items
from agent.config import Settings, load_settings
from agent.evaluation.agents import item_tools
from agent.evaluation.suite import EvalItem, ItemResult, SharedMemories, SuiteReport, load_suite, passes, run_suite
from agent.models.base import ChatModel
from agent.run.agent import Agent, load_configured_model
from agent.tools.registry import available_tools

sys.path.insert(0, str(Path(__file__).parent))
from peer_smolagents import engine_model, require_smolagents, run_smolagents, transformers_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SINGLE_STEP_KINDS = ("arithmetic", "products", "legs", "calendar", "entities", "sentiment")
BARE_MAX_NEW_TOKENS = 200  # as a free-text call of the agent
HEAD_TRAINING = {"ner": {"epochs": 2, "lr": 1e-4, "max_train_examples": 4000, "max_eval_examples": 500},
                 "sentiment": {"epochs": 2}}


def ensure_head(kind: str, given: Path | None, settings: Settings) -> Path:
    """The head directory to use: the one given, else one trained once into the cache dir and reused."""
    if given is not None:
        return given
    out = settings.cache_dir / "outcome-heads" / kind
    if (out / "head.json").is_file():
        return out
    from agent.heads import fetch_datasets, train_head

    data = settings.cache_dir / "outcome-heads" / "data"
    fetch_datasets(data)
    print(f"training a small {kind} head into {out} (once) ...", file=sys.stderr)
    train_head(kind, data, out, device=None if settings.device == "auto" else settings.device,  # type: ignore[arg-type]
               **HEAD_TRAINING[kind])
    return out


def logger(path: Path | None, runner: str) -> Callable[[ItemResult], None]:
    """Appends each item's result, with the runner's name, to `path` as one JSON line (nothing without a path)."""
    def log(result: ItemResult) -> None:
        if path is not None:
            with path.open("a") as out:
                out.write(json.dumps({"runner": runner, **result.model_dump(mode="json")}) + "\n")

    return log


def run_bare(items: list[EvalItem], model: ChatModel,
             on_item: Callable[[ItemResult], None] = lambda result: None) -> SuiteReport:
    """The model alone: the objective as one user message, one reply, checked like the agent's answer."""
    results = []
    for item in items:
        start = time.perf_counter()
        reply = model.generate([{"role": "user", "content": item.objective}], max_new_tokens=BARE_MAX_NEW_TOKENS)
        results.append(ItemResult(id=item.id, kind=item.kind, split=item.split, template=item.template,
                                  success=passes(item.check, reply.text),
                                  status="done", llm_calls=1, tokens=reply.prompt_tokens + reply.completion_tokens,
                                  seconds=round(time.perf_counter() - start, 3), parse_failures=0,
                                  answer=reply.text[:300]))
        on_item(results[-1])
    return SuiteReport.of(results)


def single_step(report: SuiteReport) -> tuple[float, float]:
    """Median model calls and median seconds over the items of the single-step kinds."""
    single = SuiteReport.of([r for r in report.items if r.kind in SINGLE_STEP_KINDS])
    return single.median_llm_calls, single.median_seconds


def per_kind_table(reports: dict[str, SuiteReport], model_name: str) -> Table:
    table = Table(title=f"objectives achieved per kind · {model_name} · greedy", show_edge=False)
    table.add_column("kind")
    for name in reports:
        table.add_column(name, justify="right")
    kinds = list(dict.fromkeys(k.kind for r in reports.values() for k in r.kinds))
    for kind in kinds:
        row = [kind]
        for report in reports.values():
            found = next((k for k in report.kinds if k.kind == kind), None)
            row.append(f"{found.passed}/{found.items}" if found else "-")
        table.add_row(*row)
    table.add_section()
    table.add_row("total", *(f"{r.passed}/{len(r.items)} ({r.success_rate:.0%})" for r in reports.values()))
    medians = {name: single_step(r) for name, r in reports.items()}
    table.add_row("median calls, single-step", *(f"{medians[n][0]:g}" for n in reports))
    table.add_row("median s, single-step", *(f"{medians[n][1]:.1f}" for n in reports))
    table.add_row("median s, all", *(f"{r.median_seconds:.1f}" for r in reports.values()))
    table.add_row("parse failures", *(str(r.parse_failures) for r in reports.values()))
    table.add_row("parse-failure answers", *(str(r.parse_failure_answers) for r in reports.values()))
    table.add_row("errors", *(str(r.errors) for r in reports.values()))
    return table


SPLITS = ("tune", "heldout_template", "heldout_kind")


def per_split_table(reports: dict[str, SuiteReport], model_name: str) -> Table:
    """Success per kind with tune, held-out-template and held-out-kind items side by side, for each runner."""
    present = [s for s in SPLITS if any(r.split == s for report in reports.values() for r in report.items)]
    table = Table(title=f"per split · {model_name} · greedy", show_edge=False)
    table.add_column("kind")
    for name in reports:
        for split in present:
            table.add_column(f"{name}\n{split}", justify="right")

    def cell(results: list[ItemResult]) -> str:
        return f"{sum(r.success for r in results)}/{len(results)}" if results else "-"

    kinds = list(dict.fromkeys(r.kind or "-" for report in reports.values() for r in report.items))
    for kind in kinds:
        table.add_row(kind, *(cell([r for r in report.items if (r.kind or "-") == kind and r.split == split])
                              for report in reports.values() for split in present))
    table.add_section()
    totals = []
    for report in reports.values():
        for split in present:
            results = [r for r in report.items if r.split == split]
            share = sum(r.success for r in results) / max(1, len(results))
            totals.append(f"{cell(results)} ({share:.0%})")
    table.add_row("total", *totals)
    return table


def smolagents_model_dir(spec: str, settings: Settings) -> Path:
    """A transformers directory smolagents can load for `spec` (a GGUF preset or file is converted once)."""
    from agent.models.catalog import resolve
    from agent.models.local import _materialize

    source = resolve(spec, cache_dir=settings.cache_dir)
    return _materialize(source, settings.cache_dir) if source.gguf_file else source.directory


def first_per_kind(items: list[EvalItem], limit: int | None) -> list[EvalItem]:
    """The first `limit` items of each kind, in suite order (all of them without a limit)."""
    if not limit:
        return items
    chosen: dict[str | None, list[EvalItem]] = {}
    for item in items:
        chosen.setdefault(item.kind, []).append(item)
    keep = {i.id for group in chosen.values() for i in group[:limit]}
    return [i for i in items if i.id in keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=ROOT / "examples" / "suites" / "dev.jsonl")
    parser.add_argument("--model", metavar="SPEC", help="preset, local directory, .gguf file (default: the preset)")
    parser.add_argument("--limit", type=int, metavar="N", help="the first N items of each kind")
    parser.add_argument("--kinds", metavar="K,K", help="only these kinds (comma-separated)")
    parser.add_argument("--ids", metavar="ID,ID", help="only these items (comma-separated ids)")
    parser.add_argument("--skip-peer", action="store_true", help="leave smolagents out")
    parser.add_argument("--skip-alone", action="store_true", help="leave the model-alone baseline out")
    parser.add_argument("--no-experience", action="store_true",
                        help="no experience memory: no item sees earlier passing items as worked examples")
    parser.add_argument("--runs", type=Path, metavar="DIR",
                        help="keep our runs (state and trace.jsonl of each) in DIR instead of a scratch folder")
    parser.add_argument("--ner-head", type=Path, metavar="DIR", help="a trained NER head (else one is trained)")
    parser.add_argument("--sentiment-head", type=Path, metavar="DIR", help="a trained sentiment head (likewise)")
    parser.add_argument("--max-steps", type=int, default=4, help="smolagents' step budget per item")
    parser.add_argument("--peer-backend", choices=("engine", "transformers"), default="engine",
                        help="smolagents on the same loaded model as ours (default) or on its own TransformersModel")
    parser.add_argument("--log", type=Path, metavar="FILE",
                        help="append each item's result to FILE (JSON lines) as soon as it is known")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--all-tools", action="store_true",
                        help="items without `tools` get every tool: built-ins, both heads, search_memory")
    parser.add_argument("--with", dest="also", metavar="TOOL,TOOL", default="",
                        help="built-in tools added to the pool (e.g. python, which a user allows by name)")
    parser.add_argument("--splits", metavar="S,S", help="only items of these splits (tune, heldout_template, "
                        "heldout_kind)")
    parser.add_argument("--checks-off", metavar="NAME,NAME", default="",
                        help="answer checks switched off (agent/answering/checks.py)")
    parser.add_argument("--warm-up", metavar="S,S", default="",
                        help="first run the items of these splits to fill experience memory, then measure on it")
    parser.add_argument("--items", action="store_true", help="also print every item's answer")
    parser.add_argument("--json", action="store_true", help="print the three reports as JSON")
    parser.add_argument("--from-log", type=Path, metavar="FILE",
                        help="run nothing: print the tables of the items a --log FILE holds (a run cut short)")
    args = parser.parse_args()
    if args.from_log is not None:
        return show(read_log(args.from_log), str(args.from_log), args.items, args.json)
    if not args.skip_peer:
        require_smolagents(", or leave the peer out with --skip-peer")

    # as `agent eval`: no memory server and no cross-run store; items sharing a memory key share one store
    settings = load_settings(model=args.model, device=args.device).model_copy(
        update={"memory_url": None, "shared_memory": False, "experience": not args.no_experience,
                "answer_checks_off": [c for c in args.checks_off.split(",") if c]})
    items = load_suite(args.suite)
    warm_splits = [s for s in args.warm_up.split(",") if s]
    if warm_splits and args.no_experience:
        sys.exit("error: --warm-up fills experience memory: leave out --no-experience")
    kinds = [k for k in (args.kinds or "").split(",") if k]
    items = select_items(items, kinds, None)
    warm_up = first_per_kind([item for item in items if item.split in warm_splits], args.limit)
    if args.ids:
        wanted = [i for i in args.ids.split(",") if i]
        if unknown := sorted(set(wanted) - {item.id for item in items}):
            sys.exit(f"error: no item {', '.join(unknown)} in {args.suite.name}")
        items = [item for item in items if item.id in wanted]
    if args.splits:
        splits = [s for s in args.splits.split(",") if s]
        items = [item for item in items if item.split in splits]
    items = first_per_kind(items, args.limit)
    used = {name for item in items for name in item.tools or []}
    heads = [ensure_head(kind, given, settings) for kind, given, tool in
             (("ner", args.ner_head, "extract_entities"), ("sentiment", args.sentiment_head, "classify_sentiment"))
             if tool in used or args.all_tools]
    tools = _tool_pool([*items, *warm_up], heads, settings.device, args.all_tools)
    for name in (n for n in args.also.split(",") if n):
        if name not in (registry := available_tools()):
            sys.exit(f"error: --with {name}: no such tool ({', '.join(registry)})")
        tools[name] = registry[name]
    print(f"{len(items)} items from {args.suite.name}; model {settings.model}", file=sys.stderr)

    model = load_configured_model(settings)
    reports: dict[str, SuiteReport] = {}
    with tempfile.TemporaryDirectory(prefix="outcomes-", ignore_cleanup_errors=True) as scratch:
        memories = SharedMemories(Path(scratch) / "memory")
        run_dir = args.runs or Path(scratch) / "runs"

        def make_agent(item: EvalItem) -> Agent:
            return Agent(model=model, tools=item_tools(item, tools, args.all_tools, Path(scratch) / "workspaces"),
                         memory=memories(item.memory), memory_search=args.all_tools and item.tools is None,
                         settings=settings.model_copy(update={"run_dir": run_dir,
                                                              "experience_dir": Path(scratch) / "experience"}))

        if warm_up:
            print(f"warm-up: {len(warm_up)} items of {', '.join(warm_splits)}", file=sys.stderr)
            run_suite(warm_up, make_agent, on_item=logger(args.log, "warm-up"))
        reports["agent (ours)"] = run_suite(items, make_agent, on_item=logger(args.log, "agent (ours)"),
                                            keep_successes=not warm_up)
    if not args.skip_alone:
        reports["model alone"] = run_bare(items, model, logger(args.log, "model alone"))
    if not args.skip_peer:
        peer = engine_model(model) if args.peer_backend == "engine" else \
            transformers_model(smolagents_model_dir(settings.model, settings), settings.device)
        reports["smolagents"] = run_smolagents(items, peer, args.max_steps, lambda item: item_tools(item, tools),
                                               logger(args.log, "smolagents"))

    show(reports, settings.model, args.items, args.json)


def read_log(path: Path) -> dict[str, SuiteReport]:
    """The reports a --log file holds, one per runner, in the order the runners first appear."""
    rows: dict[str, list[ItemResult]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.setdefault(row.pop("runner"), []).append(ItemResult.model_validate(row))
    return {runner: SuiteReport.of(items) for runner, items in rows.items()}


def show(reports: dict[str, SuiteReport], model_name: str, every_item: bool, as_json: bool) -> None:
    if as_json:
        print(json.dumps({name: r.model_dump(mode="json") for name, r in reports.items()}, indent=2))
        return
    console = Console(width=140)
    console.print(per_kind_table(reports, model_name))
    if any(r.split for report in reports.values() for r in report.items):
        console.print(per_split_table(reports, model_name))
    for name, report in reports.items():
        shown = report.items if every_item else [r for r in report.items if not r.success]
        console.print(f"[bold]{name}[/bold]: {'every item' if every_item else 'failed items'}")
        for r in shown:
            console.print(f"  {r.id}: {(r.error or ' '.join(r.answer.split()))[:110]}", highlight=False)


if __name__ == "__main__":
    main()
