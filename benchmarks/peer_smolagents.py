"""The same suite through this agent and through smolagents' ToolCallingAgent, on the same local model.

    python benchmarks/peer_smolagents.py [--suite examples/suites/arithmetic.jsonl] [--limit N]
        [--model-dir DIR] [--device auto|cpu|cuda] [--max-steps 4] [--max-cycles 5] [--json]

Both agents get the calculator, greedy decoding and the same weights (the safetensors directory this agent
converts from the smollm2-135m preset, unless --model-dir names another). Needs `pip install smolagents`.
Prints one row per agent (smolagents = ToolCallingAgent on TransformersModel): success, model calls, tokens,
seconds (sums and means over the items), then each item's answer.
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

from agent import Agent
from agent.config import load_settings
from agent.evaluation import EvalItem, ItemResult, SuiteReport, load_suite, passes, run_suite
from agent.models.catalog import resolve
from agent.models.local import LocalModel, _materialize, pick_device
from agent.tools.base import Tool as AgentTool
from agent.tools.builtin import calculator

ROOT = Path(__file__).resolve().parent.parent
MAX_NEW_TOKENS = 200  # as this agent's default per free-text call


def default_model_dir() -> Path:
    """The safetensors directory this agent dequantizes the default GGUF preset into (made on first use)."""
    return _materialize(resolve("smollm2-135m"), load_settings().cache_dir)


def run_ours(items: list[EvalItem], model_dir: Path, device: str, max_cycles: int) -> SuiteReport:
    model = LocalModel(resolve(str(model_dir)), device=device)
    with tempfile.TemporaryDirectory(prefix="peer-ours-") as runs:
        def make_agent(item: EvalItem) -> Agent:
            return Agent(model=model, tools=[calculator], run_dir=Path(runs), max_cycles=max_cycles)

        return run_suite(items, make_agent, progress=False)


def _input_spec(name: str, schema: dict) -> dict:
    """One smolagents input from one property of a pydantic JSON schema."""
    options = schema.get("anyOf", [schema])
    typed = [o for o in options if o.get("type") != "null"] or [{"type": "string"}]
    spec = {"type": typed[0].get("type", "string"), "description": schema.get("description", name)}
    if "enum" in typed[0]:
        spec["description"] += f" (one of: {', '.join(map(str, typed[0]['enum']))})"
    if len(typed) < len(options) or "default" in schema:
        spec["nullable"] = True
    return spec


def as_smolagents_tool(ours: AgentTool):
    """One of this agent's tools as a smolagents Tool: same name, description and arguments; our ToolError
    reaches smolagents' model as its tool error."""
    from smolagents import Tool

    schema = ours.Arguments.model_json_schema()
    properties = schema.get("properties", {})

    class Wrapped(Tool):
        name = ours.name
        description = ours.description
        inputs = {key: _input_spec(key, value) for key, value in properties.items()}
        output_type = "string"
        skip_forward_signature_validation = True  # the arguments are ours, validated by our pydantic model

        def forward(self, **arguments):
            return str(ours(**{k: v for k, v in arguments.items() if v is not None}))

    return Wrapped()


def run_smolagents(items: list[EvalItem], model_dir: Path, device: str, max_steps: int,
                   tools_for: Callable[[EvalItem], list[AgentTool]] = lambda item: [calculator]) -> SuiteReport:
    """Each item through smolagents' ToolCallingAgent with the item's tools, wrapped; parse failures are the
    steps smolagents records as AgentParsingError."""
    import torch
    from smolagents import ToolCallingAgent, TransformersModel

    class CountingModel(TransformersModel):
        calls = 0

        def generate(self, *args, **kwargs):
            CountingModel.calls += 1
            return super().generate(*args, **kwargs)

    torch_device = pick_device(device)
    model = CountingModel(model_id=str(model_dir), device_map=str(torch_device), max_new_tokens=MAX_NEW_TOKENS,
                          model_kwargs={"dtype": torch.bfloat16 if torch_device.type == "cuda" else torch.float32},
                          do_sample=False)
    results = []
    for item in items:
        agent = ToolCallingAgent(tools=[as_smolagents_tool(t) for t in tools_for(item)], model=model,
                                 max_steps=max_steps, verbosity_level=-1)
        before, start = CountingModel.calls, time.perf_counter()
        try:
            run = agent.run(item.objective, return_full_result=True)
        except Exception as exc:  # a peer's failure on one item is a data point, not the end of the benchmark
            results.append(ItemResult(id=item.id, kind=item.kind, success=False, status=None,
                                      llm_calls=CountingModel.calls - before, tokens=0,
                                      seconds=round(time.perf_counter() - start, 3), parse_failures=0,
                                      answer="", error=f"{type(exc).__name__}: {exc}"[:300]))
            continue
        answer = "" if run.output is None else str(run.output)
        # smolagents records an unparsable tool call as a step's AgentParsingError: our parse failures' peer
        errors = sum(1 for step in run.steps if (step.get("error") or {}).get("type") == "AgentParsingError")
        results.append(ItemResult(
            id=item.id, kind=item.kind, success=passes(item.check, answer), status=run.state,
            llm_calls=CountingModel.calls - before, tokens=run.token_usage.total_tokens if run.token_usage else 0,
            seconds=round(time.perf_counter() - start, 3), parse_failures=errors, answer=answer[:300]))
    return SuiteReport.of(results)


def side_by_side(reports: dict[str, SuiteReport]) -> Table:
    table = Table(title="same suite, same model, greedy decoding", show_edge=False)
    for name in ("agent", "success", "calls (mean)", "tokens (mean)", "seconds (mean)", "parse fails", "errors"):
        table.add_column(name, justify="left" if name == "agent" else "right")
    for name, r in reports.items():
        table.add_row(name, f"{r.passed}/{len(r.items)} ({r.success_rate:.0%})",
                      f"{r.llm_calls} ({r.mean_llm_calls:.1f})",
                      f"{r.tokens} ({r.mean_tokens:.0f})", f"{r.seconds:.1f} ({r.mean_seconds:.1f})",
                      str(r.parse_failures), str(r.errors))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=ROOT / "examples" / "suites" / "arithmetic.jsonl")
    parser.add_argument("--limit", type=int, help="first N items only")
    parser.add_argument("--model-dir", type=Path, help="a transformers model directory (default: the converted preset)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-steps", type=int, default=4, help="smolagents' step budget per item")
    parser.add_argument("--max-cycles", type=int, default=5, help="this agent's cycle budget per item")
    parser.add_argument("--json", action="store_true", help="print both reports as JSON")
    args = parser.parse_args()
    items = load_suite(args.suite)[: args.limit]
    model_dir = args.model_dir or default_model_dir()
    print(f"{len(items)} items from {args.suite.name}; model {model_dir}", file=sys.stderr)
    reports = {"agent (ours)": run_ours(items, model_dir, args.device, args.max_cycles),
               "smolagents": run_smolagents(items, model_dir, args.device, args.max_steps)}
    if args.json:
        print(json.dumps({name: r.model_dump(mode="json") for name, r in reports.items()}, indent=2))
        return
    console = Console(width=120)
    console.print(side_by_side(reports))
    for name, report in reports.items():
        marks = " ".join(f"{r.id}={'✓' if r.success else '✗'}" for r in report.items)
        console.print(f"[bold]{name}[/bold]: {marks}")
        for r in report.items:
            console.print(f"  {r.id}: {(r.error or ' '.join(r.answer.split()))[:100]}", highlight=False)


if __name__ == "__main__":
    main()
