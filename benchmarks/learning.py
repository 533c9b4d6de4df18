"""Does the agent learn from its runs? One command, two measurements on the machine at hand:

(a) experience memory alone: a warm-up pass over one half of the dev suite stores the successful runs; the
    other half is then run with and without those experiences shown to the model;
(b) `agent learn` on the training suite: dev-suite success of the base model vs the kept adapter, per kind.

    python benchmarks/learning.py [--dev SUITE] [--train SUITE] [--limit N] [--train-limit N] [--samples N]
                                  [--teacher SPEC] [--skip experience|learn]

The base model is the configured one (the embedded default); it trains on transformers and is scored, like
the teacher runs, on the configured backend (the CPU engine here, the adapter as merged weights).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from agent.cli.eval import _tool_pool
from agent.config import load_settings
from agent.evaluation.suite import DEFAULT_TOOLS, SharedMemories, load_suite, passes
from agent.learning.dataset import TrajectoryLog
from agent.learning.learn import item_kind, kind_of, success_by_kind
from agent.memory.experience import ExperienceStore, experience_from_result
from agent.run.agent import Agent, load_configured_model

SUITES = Path(__file__).resolve().parent.parent / "examples" / "suites"


def default_suite(name: str) -> Path:
    path = SUITES / f"{name}.jsonl"
    return path if path.is_file() else SUITES / "arithmetic.jsonl"


def interleaved(items: list) -> list:
    """Round-robin over the kinds, each kind in its own order (a memory item's store run stays before its
    question), so any prefix of the list holds every kind."""
    by_kind: dict[str, list] = {}
    for item in items:
        by_kind.setdefault(item_kind(item), []).append(item)
    queues = list(by_kind.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def run_half(items, model, tools, settings, scratch: Path, store: ExperienceStore | None, learn_from: bool):
    memories = SharedMemories(scratch / "memories")
    passed = []
    for item in items:
        names = DEFAULT_TOOLS if item.tools is None else item.tools
        agent = Agent(model=model, tools=[tools[n] for n in names], memory=memories(item.memory), settings=settings)
        try:
            result = agent.run(item.objective, record=False)  # kept below only when it passes its check
            ok = passes(item.check, result.final_answer)
        except Exception as exc:  # a benchmark records the failure and goes on
            print(f"  {item.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
            ok, result = False, None
        answer = " ".join(result.final_answer.split())[:120] if result is not None else ""
        print(f"  {item.id}: {'pass' if ok else 'fail'} {answer}", file=sys.stderr)
        if ok and learn_from and store is not None:
            store.add(experience_from_result(result))
        passed.append(ok)
    return {**success_by_kind(items, passed), "passed_ids": [i.id for i, ok in zip(items, passed) if ok]}


def halves(items: list) -> tuple[list, list]:
    """Every other unit to each half, so both hold every kind; a unit is an item, or the items sharing a memory
    key (a fact stored and the question on it stay together, in order)."""
    units: dict[str, list] = {}
    for item in items:
        units.setdefault(item.memory or f"item:{item.id}", []).append(item)
    ordered = list(units.values())
    return ([i for unit in ordered[0::2] for i in unit], [i for unit in ordered[1::2] for i in unit])


def experience_benchmark(items, model, tools, settings) -> dict:
    halves_ = halves(items)
    with tempfile.TemporaryDirectory(prefix="bench-exp-") as scratch:
        root = Path(scratch)
        store = ExperienceStore(root / "experience")
        on = settings.model_copy(update={"experience": True, "experience_dir": root / "experience",
                                         "run_dir": root / "runs", "shared_memory": False})
        off = on.model_copy(update={"experience": False})
        t0 = time.perf_counter()
        warm = run_half(halves_[0], model, tools, on, root / "w", store, learn_from=True)
        without = run_half(halves_[1], model, tools, off, root / "a", None, learn_from=False)
        with_exp = run_half(halves_[1], model, tools, on, root / "b", store, learn_from=False)
        return {"warm_up": warm, "stored": store.count(), "without": without, "with": with_exp,
                "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=default_suite("dev"))
    parser.add_argument("--train", type=Path, default=default_suite("train"))
    parser.add_argument("--limit", type=int, help="dev items used")
    parser.add_argument("--train-limit", type=int, default=200, help="training objectives for agent learn")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-examples", type=int, default=400)
    parser.add_argument("--out", type=Path, help="keep the adapter here (default: a scratch directory)")
    parser.add_argument("--teacher", metavar="SPEC", help="collect with this model instead (distillation)")
    parser.add_argument("--max-cycles", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=45.0, help="wall-time budget of each run")
    parser.add_argument("--skip", choices=["experience", "learn"], action="append", default=[])
    parser.add_argument("--head", action="append", type=Path, default=[])
    parser.add_argument("--model", metavar="SPEC", help="the model measured (default: the configured one)")
    parser.add_argument("--trajectories", type=Path, metavar="FILE",
                        help="keep (b)'s collected runs here and reuse them; every passing run in it is trained on")
    parser.add_argument("--kinds", help="comma-separated kinds of training objectives collected (default: all)")
    parser.add_argument("--collect-only", action="store_true", help="(b) collects into --trajectories and stops")
    parser.add_argument("--shipped-adapter", action="store_true",
                        help="serve the adapter the preset ships with, as `agent run` does by default: in (a), "
                             "and to collect (b)'s runs when there is no teacher")
    args = parser.parse_args()

    dev = load_suite(args.dev)[:args.limit]
    settings = load_settings(model=args.model, max_cycles=args.max_cycles, max_seconds=args.max_seconds,
                             device="cpu", default_adapter=False)  # the base model, whatever adapter it ships with
    print(f"dev suite {args.dev} ({len(dev)} items), train suite {args.train}, model {settings.model}, "
          f"max_cycles {args.max_cycles}")
    figures: dict = {}
    if "experience" not in args.skip:
        tools = _tool_pool(dev, tuple(args.head), "cpu")
        model = load_configured_model(settings.model_copy(update={"default_adapter": args.shipped_adapter}))
        print(f"(a) experience memory with {model.name}")
        exp = figures["experience"] = experience_benchmark(dev, model, tools, settings)
        print(f"(a) experience memory: warm-up {exp['warm_up']['passed']}/{exp['warm_up']['n']} "
              f"({exp['stored']} stored); other half without {exp['without']['passed']}/{exp['without']['n']} "
              f"vs with {exp['with']['passed']}/{exp['with']['n']} "
              f"({100 * (exp['with']['success_rate'] - exp['without']['success_rate']):+.0f} points), "
              f"{exp['seconds']} s")
        for kind in exp["without"]["by_kind"]:
            print(f"    {kind}: {exp['without']['by_kind'][kind]} -> {exp['with']['by_kind'][kind]}")
        before, after = set(exp["without"]["passed_ids"]), set(exp["with"]["passed_ids"])
        print(f"    won with experience: {sorted(after - before)}; lost: {sorted(before - after)}")
    if "learn" not in args.skip:
        from agent.errors import UsageError
        from agent.learning.learn import engine_scorer, learn
        from agent.learning.lora import LoraSettings
        from agent.models.adapted import base_directory, weights_key

        train = load_suite(args.train)
        dev_ids = {kind_of(i.id) + i.objective for i in dev}
        kinds = set(args.kinds.split(",")) if args.kinds else None
        train = interleaved([i for i in train if kind_of(i.id) + i.objective not in dev_ids
                             and (kinds is None or item_kind(i) in kinds)])[:args.train_limit]
        tools = _tool_pool([*train, *dev], tuple(args.head), "cpu")
        log = TrajectoryLog(args.trajectories) if args.trajectories else None
        if args.collect_only and log is None:
            parser.error("--collect-only needs --trajectories FILE")
        source = load_configured_model(settings.model_copy(update={"default_adapter": args.shipped_adapter}),
                                       args.teacher)  # the teacher, or the model itself, on the CPU engine
        with tempfile.TemporaryDirectory(prefix="bench-learn-") as scratch:
            t0 = time.perf_counter()
            if args.collect_only and log is not None:
                from agent.learning.learn import SuiteRunner
                from agent.learning.trajectories import collect

                runs = collect(train, source, SuiteRunner(settings, tools, Path(scratch)), samples=args.samples,
                               temperature=0.8, log=log, progress=lambda line: print("   ", line, file=sys.stderr))
                figures["collected"] = {"model": source.name, "objectives": len(train), "runs": len(runs),
                                        "passed": sum(t.passed for t in runs), "in_file": len(log.runs),
                                        "seconds": round(time.perf_counter() - t0, 1)}
                print(json.dumps(figures))
                return
            base = load_configured_model(settings.model_copy(update={"backend": "transformers"}))  # trains
            try:
                report = learn(train, dev, base, settings, tools, args.out or Path(scratch) / "adapter",
                               base_key=weights_key(base_directory(settings.model, settings.cache_dir),
                                                    settings.cache_dir),
                               source=source, samples=args.samples, evaluate=engine_scorer(settings),
                               lora=LoraSettings(epochs=args.epochs, lr=args.lr, max_examples=args.max_examples),
                               data={"teacher": args.teacher}, log=log,
                               progress=lambda line: print("   ", line, file=sys.stderr))
            except UsageError as exc:
                print(f"(b) agent learn on {len(train)} objectives: {exc}")
                figures["learn"] = {"error": str(exc), "seconds": round(time.perf_counter() - t0, 1)}
            else:
                b, a = report.base, report.adapter
                figures["learn"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(report).items()}
                print(f"(b) agent learn on {len(train)} objectives: {report.kept_runs}/{report.trajectories} runs "
                      f"passed, {report.examples} examples {report.by_purpose}, trained in "
                      f"{report.training['seconds']} s; dev base {b['passed']}/{b['n']} vs adapter "
                      f"{a['passed']}/{a['n']} ({100 * (a['success_rate'] - b['success_rate']):+.0f} points), "
                      f"kept: {report.kept}; total {report.seconds} s")
                for kind in b["by_kind"]:
                    print(f"    {kind}: {b['by_kind'][kind]} -> {a['by_kind'][kind]}")
            if args.shipped_adapter:  # the bar a new adapter must clear to replace the shipped one
                from agent.learning.learn import SuiteRunner

                shipped = load_configured_model(settings.model_copy(update={"default_adapter": True}))
                s = figures["shipped"] = SuiteRunner(settings, tools, Path(scratch) / "shipped").score(dev, shipped)
                print(f"(b) the shipped adapter on the same dev suite: {s['passed']}/{s['n']}")
                for kind, score in s["by_kind"].items():
                    print(f"    {kind}: {score}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
