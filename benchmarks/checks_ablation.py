"""What each answer check is worth: the items where it refused a move, run again with it switched off.

    python benchmarks/checks_ablation.py --log FILE [--suite examples/suites/broad/broad.jsonl]
        [--model SPEC] [--ner-head DIR] [--sentiment-head DIR] [--checks NAME,NAME] [--out FILE]

FILE is a `benchmarks/outcomes.py --log` of the agent on the suite (every item's result names the checks that
refused one of its moves). A check that refused nothing changes nothing: with greedy decoding the runs are the
same with it off, so only the items where it fired are run again, each with that one check switched off and
the same tools, memories and settings as outcomes.py --all-tools --no-experience. Prints, per check, the items
it fired on, how many passed with it and without it, and the difference: a check whose removal does not lose
items on held-out templates does not pay.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent.answering.checks import NAMES
from agent.cli.eval import _tool_pool
from agent.config import load_settings
from agent.evaluation.agents import item_tools
from agent.evaluation.suite import EvalItem, ItemResult, SharedMemories, load_suite, run_suite
from agent.run.agent import Agent, load_configured_model

sys.path.insert(0, str(Path(__file__).parent))
from outcomes import ensure_head  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def fired(log: Path) -> dict[str, list[ItemResult]]:
    """Check name -> the agent's results (from an outcomes.py log) of the items where it refused a move."""
    found: dict[str, list[ItemResult]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.pop("runner") != "agent (ours)":
                continue
            result = ItemResult.model_validate(row)
            for name in dict.fromkeys(result.refused_by):
                found.setdefault(name, []).append(result)
    return found


def with_memory_partners(chosen: list[EvalItem], suite: list[EvalItem]) -> list[EvalItem]:
    """The chosen items, each preceded by the items sharing its memory key that come before it (a recall item
    needs its store item run first)."""
    keys = {item.memory for item in chosen if item.memory}
    wanted = {item.id for item in chosen}
    last = {key: max(suite.index(c) for c in chosen if c.memory == key) for key in keys}
    return [item for n, item in enumerate(suite)
            if item.id in wanted or (item.memory in keys and n <= last[item.memory])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, required=True, help="an outcomes.py --log of the agent on the suite")
    parser.add_argument("--suite", type=Path, default=ROOT / "examples" / "suites" / "broad" / "broad.jsonl")
    parser.add_argument("--model", metavar="SPEC")
    parser.add_argument("--ner-head", type=Path, metavar="DIR")
    parser.add_argument("--sentiment-head", type=Path, metavar="DIR")
    parser.add_argument("--checks", metavar="NAME,NAME", help="only these checks (default: every one that fired)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="append each rerun's result as a JSON line")
    args = parser.parse_args()

    by_check = fired(args.log)
    wanted = [c for c in (args.checks or ",".join(NAMES)).split(",") if c]
    if unknown := sorted(set(wanted) - set(NAMES)):
        sys.exit(f"error: no answer check named {unknown[0]!r}: the checks are {', '.join(NAMES)}")
    suite = load_suite(args.suite)
    by_id = {item.id: item for item in suite}
    settings = load_settings(model=args.model).model_copy(
        update={"memory_url": None, "shared_memory": False, "experience": False})
    heads = [ensure_head("ner", args.ner_head, settings), ensure_head("sentiment", args.sentiment_head, settings)]
    tools = _tool_pool(suite, heads, settings.device, whole=True)
    model = load_configured_model(settings)

    table = Table(title=f"answer checks switched off one at a time · {settings.model} · greedy", show_edge=False)
    for column in ("check", "fired on", "passed with it", "passed without it", "difference", "items"):
        table.add_column(column, justify="left" if column in ("check", "items") else "right")
    for name in NAMES:
        results = by_check.get(name, [])
        if name not in wanted:
            continue
        if not results:
            table.add_row(name, "0", "-", "-", "0", "never fired")
            continue
        chosen = [by_id[r.id] for r in results if r.id in by_id]
        with tempfile.TemporaryDirectory(prefix="ablation-", ignore_cleanup_errors=True) as scratch:
            memories = SharedMemories(Path(scratch) / "memories")
            off = settings.model_copy(update={"answer_checks_off": [name], "run_dir": Path(scratch) / "runs"})

            def make_agent(item: EvalItem, off=off, scratch=scratch, memories=memories) -> Agent:
                return Agent(model=model, tools=item_tools(item, tools, True, Path(scratch) / "workspaces"),
                             memory=memories(item.memory), memory_search=item.tools is None, settings=off)

            rerun = run_suite(with_memory_partners(chosen, suite), make_agent, progress=False)
        again = {r.id: r for r in rerun.items}
        if args.out:
            with args.out.open("a") as out:
                for r in results:
                    out.write(json.dumps({"check_off": name, **again[r.id].model_dump(mode="json")}) + "\n")
        before = sum(r.success for r in results)
        after = sum(again[r.id].success for r in results)
        table.add_row(name, str(len(results)), str(before), str(after), f"{before - after:+d}",
                      ", ".join(f"{r.id}{'✓' if r.success else '✗'}→{'✓' if again[r.id].success else '✗'}"
                                for r in results)[:120])
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
