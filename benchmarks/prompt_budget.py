"""Where a run's prompt tokens go: per call kind (decide, execute, choose_tool, answer, repair …), the calls, the
median and largest prompt, and the share of all prompt tokens, over every run in a directory of runs (each
run's trace.jsonl), plus the prompt tokens per run.

    python benchmarks/prompt_budget.py RUNS_DIR [--json]

RUNS_DIR is what `agent run --run-dir`, `agent eval` or `benchmarks/outcomes.py --runs DIR` wrote. A call's
prompt tokens are those the model was sent (a prompt cut to fit the context counts as sent); what the engine
read again from a reused prefix is not subtracted: this is the prompt budget. Where the engine counts what it
read (the CPU engine does), the prefill work is shown beside it: the prompt tokens actually read, a reused
prefix left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def calls_of(run_dir: Path) -> list[tuple[str, int, int | None]]:
    """(purpose, prompt tokens, tokens read or None) of every model call in one run's trace."""
    calls = []
    for line in (run_dir / "trace.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("kind") == "model_called":
            read = event.get("read_tokens")
            calls.append((str(event.get("purpose")), int(event.get("prompt_tokens") or 0),
                          None if read is None else int(read)))
    return calls


def budget(runs: list[Path]) -> dict:
    by_purpose: dict[str, list[int]] = defaultdict(list)
    read_by_purpose: dict[str, list[int]] = defaultdict(list)
    per_run, read_per_run = [], []
    for run in runs:
        calls = calls_of(run)
        per_run.append(sum(tokens for _, tokens, _ in calls))
        if calls and all(read is not None for _, _, read in calls):
            read_per_run.append(sum(read or 0 for _, _, read in calls))
        for purpose, tokens, read in calls:
            by_purpose[purpose].append(tokens)
            if read is not None:
                read_by_purpose[purpose].append(read)
    total = sum(per_run) or 1
    purposes = {p: {"calls": len(t), "median_prompt": statistics.median(t), "max_prompt": max(t),
                    "share": round(sum(t) / total, 3),
                    "median_read": statistics.median(read_by_purpose[p]) if read_by_purpose[p] else None}
                for p, t in sorted(by_purpose.items(), key=lambda x: -sum(x[1]))}
    return {"runs": len(runs), "median_prompt_tokens_per_run": statistics.median(per_run) if per_run else 0,
            "median_read_tokens_per_run": statistics.median(read_per_run) if read_per_run else None,
            "purposes": purposes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = sorted(p.parent for p in args.runs_dir.rglob("trace.jsonl"))
    if not runs:
        sys.exit(f"error: no runs (trace.jsonl) under {args.runs_dir}")
    figures = budget(runs)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    read = figures["median_read_tokens_per_run"]
    print(f"{figures['runs']} runs; median prompt tokens per run {figures['median_prompt_tokens_per_run']:g}"
          + ("" if read is None else f"; median tokens read per run (reused prefixes left out) {read:g}"))
    print(f"{'call kind':<14} {'calls':>6} {'median prompt':>14} {'largest':>8} {'share':>6} {'median read':>12}")
    for purpose, row in figures["purposes"].items():
        shown = "-" if row["median_read"] is None else f"{row['median_read']:g}"
        print(f"{purpose:<14} {row['calls']:>6} {row['median_prompt']:>14g} {row['max_prompt']:>8} "
              f"{row['share']:>6.0%} {shown:>12}")


if __name__ == "__main__":
    main()
