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
from agent.evaluation.suite import EvalItem, ItemResult, SuiteReport, load_suite, passes, run_suite
from agent.models.base import ChatModel
from agent.models.catalog import resolve
from agent.models.local import LocalModel, _materialize, pick_device
from agent.tools.base import Tool as AgentTool
from agent.tools.builtin import calculator

ROOT = Path(__file__).resolve().parent.parent
MAX_NEW_TOKENS = 200  # as this agent's default per free-text call
PEER_INSTALL = "pip install 'agent[peer]'"  # smolagents, pinned in pyproject.toml


def require_smolagents(alternative: str = "") -> None:
    """Stop with one line, before anything is loaded, where smolagents is not installed."""
    try:
        import smolagents  # noqa: F401
    except ImportError:
        sys.exit(f"error: smolagents is not installed: {PEER_INSTALL}{alternative}")


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


def transformers_model(model_dir: Path, device: str):
    """smolagents' own TransformersModel on the weights in `model_dir` (fp32 on a CPU, bf16 on a GPU)."""
    import torch
    from smolagents import TransformersModel

    torch_device = pick_device(device)
    return TransformersModel(model_id=str(model_dir), device_map=str(torch_device), max_new_tokens=MAX_NEW_TOKENS,
                             model_kwargs={"dtype": torch.bfloat16 if torch_device.type == "cuda" else torch.float32},
                             do_sample=False)


def engine_model(model: ChatModel):
    """A smolagents Model over one of this agent's ChatModels (the CPU engine, say): the same weights and the same
    greedy decoding as this agent gets, several times faster on a CPU than TransformersModel. smolagents'
    messages are flattened to text, its tool roles mapped to user/assistant as for any chat model, and its stop
    sequences cut the reply as TransformersModel cuts it. The tools reach the model through smolagents' own
    system prompt, which lists them; they are not also rendered by the chat template."""
    from smolagents import ChatMessage, MessageRole, Model, TokenUsage
    from smolagents.models import remove_content_after_stop_sequences

    class OnEngine(Model):
        def __init__(self) -> None:
            super().__init__(flatten_messages_as_text=True, model_id=model.name)

        def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
            prepared = self._prepare_completion_kwargs(messages=messages, stop_sequences=stop_sequences,
                                                       tools_to_call_from=tools_to_call_from, tool_choice=None)
            chat = [{"role": str(getattr(m["role"], "value", m["role"])), "content": m["content"]}
                    for m in prepared["messages"]]
            reply = model.generate(chat, max_new_tokens=MAX_NEW_TOKENS)
            text = remove_content_after_stop_sequences(reply.text, stop_sequences) if stop_sequences else reply.text
            return ChatMessage(role=MessageRole.ASSISTANT, content=text,
                               token_usage=TokenUsage(input_tokens=reply.prompt_tokens,
                                                      output_tokens=reply.completion_tokens))

    return OnEngine()


def run_smolagents(items: list[EvalItem], peer_model, max_steps: int,
                   tools_for: Callable[[EvalItem], list[AgentTool]] = lambda item: [calculator],
                   on_item: Callable[[ItemResult], None] = lambda result: None) -> SuiteReport:
    """Each item through smolagents' ToolCallingAgent on `peer_model` (transformers_model or engine_model) with
    the item's tools, wrapped; parse failures are the steps smolagents records as AgentParsingError. Each
    item's result goes to `on_item` as soon as it is known."""
    from smolagents import ToolCallingAgent

    calls = 0
    generate = peer_model.generate

    def counted(*args, **kwargs):
        nonlocal calls
        calls += 1
        return generate(*args, **kwargs)

    peer_model.generate = counted
    results = []
    for item in items:
        agent = ToolCallingAgent(tools=[as_smolagents_tool(t) for t in tools_for(item)], model=peer_model,
                                 max_steps=max_steps, verbosity_level=-1)
        before, start = calls, time.perf_counter()
        try:
            run = agent.run(item.objective, return_full_result=True)
        except Exception as exc:  # a peer's failure on one item is a data point, not the end of the benchmark
            result = ItemResult(id=item.id, kind=item.kind, split=item.split, template=item.template,
                                success=False, status=None, llm_calls=calls - before,
                                tokens=0, seconds=round(time.perf_counter() - start, 3), parse_failures=0,
                                answer="", error=f"{type(exc).__name__}: {exc}"[:300])
        else:
            answer = "" if run.output is None else str(run.output)
            # smolagents records an unparsable tool call as a step's AgentParsingError: our parse failures' peer
            errors = sum(1 for step in run.steps if (step.get("error") or {}).get("type") == "AgentParsingError")
            result = ItemResult(
                id=item.id, kind=item.kind, split=item.split, template=item.template,
                success=passes(item.check, answer), status=run.state,
                llm_calls=calls - before, tokens=run.token_usage.total_tokens if run.token_usage else 0,
                seconds=round(time.perf_counter() - start, 3), parse_failures=errors, answer=answer[:300])
        results.append(result)
        on_item(result)
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
    require_smolagents()
    items = load_suite(args.suite)[: args.limit]
    model_dir = args.model_dir or default_model_dir()
    print(f"{len(items)} items from {args.suite.name}; model {model_dir}", file=sys.stderr)
    reports = {"agent (ours)": run_ours(items, model_dir, args.device, args.max_cycles),
               "smolagents": run_smolagents(items, transformers_model(model_dir, args.device), args.max_steps)}
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
