"""The CPU engines' part of `benchmarks/generation.py --only decode`: onnxruntime-genai (and llama.cpp where it
is installed) on the same model and prompts as transformers, plus the engine's warm start, constrained vs free
decoding, prefix reuse and prefill of the pulled presets. Figures land in the caller's dict."""

import json
import os
import subprocess
import sys
import time

import numpy as np
from pydantic import BaseModel, Field

from agent.errors import AgentError
from agent.models.catalog import resolve
from agent.models.ortgenai import OrtGenAIModel
from agent.prompting.templates import conversation

OBJECTIVE = "List three uses of a paperclip"
PRESETS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
PLAN_PROMPT = "Break the objective into at most three tasks. Reply in JSON."


class Step(BaseModel):
    description: str = Field(max_length=160)
    depends_on: list[int] = Field(default_factory=list)


class Plan(BaseModel):
    """The shape of a planner reply, fixed here so that figures stay comparable while the prompts change."""

    tasks: list[Step] = Field(max_length=3)


def long_prompt() -> str:
    """About 400 tokens of ordinary text (the shape of an agent prompt full of recalled results)."""
    recalls = " ".join(f"Result {i}: a paperclip can hold papers, pick a lock, reset a router, mark a page, "
                       f"clean a small gap, or act as a zipper pull." for i in range(12))
    return f"Objective: {OBJECTIVE}\nWhat was found so far: {recalls}\nSay which use is the most common."


def ort_decode(model: OrtGenAIModel, tokens: int, repeats: int = 2) -> float:
    ids = model.prompt_ids(conversation(OBJECTIVE, "Describe each use in detail."))

    def run(n: int) -> float:
        generator = model._generator(structured=False)  # free text: the engine decodes, as in a run
        generator.append_tokens(np.asarray(ids, dtype=np.int32))
        start = time.perf_counter()
        for _ in range(n):
            generator.generate_next_token()
        return time.perf_counter() - start

    run(4)
    return tokens / min(run(tokens) for _ in range(repeats))


def ort_prefill(model: OrtGenAIModel, prompt_tokens: int = 400, repeats: int = 3) -> tuple[float, int]:
    ids = [int(t) for t in model.tokenizer.encode(long_prompt())][:prompt_tokens]
    best = float("inf")
    for _ in range(repeats):
        generator = model._generator(structured=False)
        start = time.perf_counter()
        generator.append_tokens(np.asarray(ids, dtype=np.int32))
        best = min(best, time.perf_counter() - start)
    return len(ids) / best, len(ids)


def constrained_vs_free(model: OrtGenAIModel, tokens: int, repeats: int = 3) -> dict:
    messages = conversation(OBJECTIVE, PLAN_PROMPT)
    rates: dict[str, list[float]] = {"free": [], "constrained": []}
    for _ in range(repeats):
        for name, schema in (("free", None), ("constrained", Plan.model_json_schema())):
            g = model.generate(messages, schema=schema, max_new_tokens=tokens)
            rates[name].append(g.completion_tokens / g.seconds)
    free, constrained = max(rates["free"]), max(rates["constrained"])
    return {"free_tok_s": round(free, 1), "constrained_tok_s": round(constrained, 1),
            "overhead_per_token": round(1 - constrained / free, 3)}


def prefix_reuse(model: OrtGenAIModel, calls: int = 6) -> dict:
    convs = [conversation(OBJECTIVE * 3, long_prompt()[:900] + f" Task {i}: describe use {i}.")
             for i in range(calls)]
    out = {}
    for reuse in (False, True):
        model.reuse_prefix, before = reuse, model.prefilled_tokens
        times = [model.generate(c, max_new_tokens=1).seconds for c in convs]
        key = "with_reuse" if reuse else "without_reuse"
        out[f"{key}_ttft_ms"] = round(sum(times[1:]) / len(times[1:]) * 1000, 1)
        out[f"{key}_prefilled_tokens"] = model.prefilled_tokens - before
    out["ttft_ratio"] = round(out["without_reuse_ttft_ms"] / out["with_reuse_ttft_ms"], 2)
    return out


def warm_start(args) -> float:
    """New process -> first token of the default model, its engine model already built."""
    code = ("import time; t = time.perf_counter(); from pathlib import Path; from agent.models import load_model; "
            f"m = load_model({args.model!r}, device='cpu', cache_dir=Path({str(args.cache_dir)!r})); "
            "m.generate([{'role': 'user', 'content': 'Hi'}], max_new_tokens=1); print(time.perf_counter() - t)")
    if args.repeats > 1:  # a first start, not counted: builds if needed, and reads the files into the page cache
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return float(done.stdout.strip().splitlines()[-1])


def engine_figures(out: dict, args) -> None:
    model = OrtGenAIModel(resolve(args.model), cache_dir=args.cache_dir)
    decode_repeats = max(1, args.repeats - 1)  # best of 2 by default, after a warm-up run
    out["decode"]["onnxruntime-genai"] = {"tok_s": round(ort_decode(model, args.tokens, decode_repeats), 1)}
    rate, n = ort_prefill(model, args.prompt_tokens, args.repeats)
    out["prefill"]["onnxruntime-genai"] = {"tok_s": round(rate, 1), "prompt_tokens": n}
    out["constrained"] = constrained_vs_free(model, args.tokens, args.repeats)
    out["prefix"] = prefix_reuse(model, args.calls)
    out["warm_start_s"] = round(warm_start(args), 2)
    llama = llama_cpp_figures(args)
    if llama:
        out["decode"]["llama.cpp"], out["prefill"]["llama.cpp"] = llama
    for name in args.presets:
        try:
            preset = OrtGenAIModel(resolve(name, cache_dir=args.presets_cache), cache_dir=args.presets_cache)
        except AgentError as exc:  # a preset not pulled is reported, not fatal
            out.setdefault("presets", {})[name] = {"skipped": str(exc)}
            continue
        rate, n = ort_prefill(preset, args.prompt_tokens, args.repeats)
        out.setdefault("presets", {})[name] = {"prefill_tok_s": round(rate, 1), "prompt_tokens": n,
                                               "decode_tok_s": round(ort_decode(preset, 32, decode_repeats), 1)}
    print(json.dumps({"engines": "done"}), file=sys.stderr)


def llama_cpp_figures(args) -> tuple[dict, dict] | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    source = resolve(args.model)
    if not source.gguf_file:
        return None
    llm = Llama(str(source.directory / source.gguf_file), n_threads=os.cpu_count(), n_ctx=1024, verbose=False)
    ids = llm.tokenize(long_prompt().encode())[:args.prompt_tokens]
    start = time.perf_counter()
    llm.eval(ids)
    prefill = len(ids) / (time.perf_counter() - start)
    llm.reset()
    start = time.perf_counter()
    reply = llm(OBJECTIVE, max_tokens=args.tokens, temperature=0, logit_bias={llm.token_eos(): float("-inf")})
    decode = reply["usage"]["completion_tokens"] / (time.perf_counter() - start)
    return {"tok_s": round(decode, 1)}, {"tok_s": round(prefill, 1), "prompt_tokens": len(ids)}
