"""Wall time of single-step objectives as a user sees it: `agent run OBJECTIVE` in a new process each time,
process start, model load and the answer included.

    python benchmarks/single_step.py [--suite examples/suites/dev.jsonl] [--per-kind 3] [--kinds K,K]
                                     [--model SPEC] [--head DIR ...] [--no-warm-up] [--resident] [--json]

Takes the first N items of each single-step kind (those whose tools need a head only when --head gives it),
runs each once with the default settings in a fresh run dir (so no earlier memory or experience helps), after
one warm-up run that is not counted (it builds the engine and embedder caches when they are missing; --no-warm-up
leaves it out where they are known to be built). Prints the median and every run's wall seconds, model calls and
whether the answer passed its check. --resident then starts `agent serve` with the same model and runs every
objective again, each `agent run` still a new process but the model kept warm there (one uncounted run first),
and prints both medians side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.evaluation.suite import load_suite, passes

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("arithmetic", "products", "legs", "calendar", "entities", "sentiment")
HEAD_TOOLS = {"extract_entities", "classify_sentiment"}


def agent_run(objective: str, run_dir: Path, extra: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "-m", "agent", "run", objective, "--json", "--run-dir", str(run_dir), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return seconds, {"error": done.stderr.strip().splitlines()[-1:] or ["exit " + str(done.returncode)]}
    return seconds, json.loads(done.stdout)


def run_items(items, scratch: Path, model: list[str], heads: list[str], label: str) -> list[dict]:
    rows = []
    for n, item in enumerate(items):
        tools = [arg for name in (item.tools or []) if name not in HEAD_TOOLS for arg in ("--tool", name)]
        needs_head = bool(HEAD_TOOLS & set(item.tools or []))
        seconds, result = agent_run(item.objective, scratch / f"{label}-{n}",
                                    [*model, *tools, *(heads if needs_head else [])])
        usage = result.get("usage", {})
        rows.append({"id": item.id, "kind": item.kind, "seconds": round(seconds, 2),
                     "llm_calls": usage.get("llm_calls"), "error": result.get("error"),
                     "passed": "error" not in result and passes(item.check, result.get("final_answer") or "")})
    return rows


def resident(model: list[str]) -> subprocess.Popen:
    """`agent serve` started and serving (its discovery file written)."""
    server = subprocess.Popen([sys.executable, "-m", "agent", "serve", *model], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    for line in server.stdout:
        if "serving" in line:
            return server
    sys.exit(f"error: agent serve stopped before it served (exit {server.wait()})")


def report(rows: list[dict], label: str) -> float:
    median = statistics.median(r["seconds"] for r in rows) if rows else 0.0
    for r in rows:
        print(f"{label:<9} {r['id']:<24} {r['seconds']:6.2f} s  calls {r['llm_calls']}  passed {r['passed']}"
              + (f"  error {r['error']}" if r["error"] else ""))
    calls = sorted(r["llm_calls"] or 0 for r in rows)
    print(f"{label}: median wall {median:.2f} s over {len(rows)} runs; median model calls "
          f"{statistics.median(calls) if calls else 0:g}; passed {sum(r['passed'] for r in rows)}/{len(rows)}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=ROOT / "examples" / "suites" / "dev.jsonl")
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--kinds", metavar="K,K", help=f"only these kinds (default: {','.join(KINDS)})")
    parser.add_argument("--model", metavar="SPEC")
    parser.add_argument("--head", action="append", type=Path, default=[], help="a trained head (entities, sentiment)")
    parser.add_argument("--no-warm-up", action="store_true", help="no uncounted first run (the caches are built)")
    parser.add_argument("--resident", action="store_true", help="also with a warm `agent serve`, side by side")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = [k for k in (args.kinds or ",".join(KINDS)).split(",") if k]
    if unknown := sorted(set(kinds) - set(KINDS)):
        sys.exit(f"error: {unknown[0]!r} is not a single-step kind: the kinds are {', '.join(KINDS)}")

    heads = [arg for head in args.head for arg in ("--head", str(head))]
    model = ["--model", args.model] if args.model else []
    items = []
    for kind in kinds:
        chosen = [i for i in load_suite(args.suite) if i.kind == kind
                  and (heads or not HEAD_TOOLS & set(i.tools or []))][:args.per_kind]
        items.extend(chosen)
    served: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="single-step-") as scratch:
        if not args.no_warm_up:
            agent_run("What is 2 + 2?", Path(scratch) / "warm-up", model)
        rows = run_items(items, Path(scratch), model, heads, "run")
        if args.resident:
            server = resident(model)
            try:
                agent_run("What is 2 + 2?", Path(scratch) / "warm-up-resident", model)
                served = run_items(items, Path(scratch), model, heads, "resident")
            finally:
                server.terminate()
                server.wait(timeout=60)
    median = statistics.median(r["seconds"] for r in rows) if rows else 0.0
    if args.json:
        print(json.dumps({"median_seconds": median, "runs": rows, **({"resident": {
            "median_seconds": statistics.median(r["seconds"] for r in served) if served else 0.0,
            "runs": served}} if args.resident else {})}, indent=2))
        return
    report(rows, "process")
    if args.resident:
        report(served, "resident")


if __name__ == "__main__":
    main()
