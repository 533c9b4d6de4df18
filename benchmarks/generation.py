"""Generation benchmarks for the local backend, each figure a ratio measured in this one run.

    python benchmarks/generation.py [--model smollm2-135m] [--device cpu] [--tokens 128] [--only NAME ...]
        [--cache-dir DIR] [--quick]

Sections: bandwidth ceiling and decode tok/s (fp32, bf16), constrained vs free decoding, cold vs warm load,
batch-8 vs sequential, time-to-first-token with and without prefix reuse, and llama.cpp on the same GGUF when
llama-cpp-python is installed. Run it with nothing else busy on the machine.

--quick is a smoke run (the test suite's): every measurement once, on 32-token prompts, 2 conversations where a
section has 6 or 8, fp32 only and no pulled presets. Its figures mean nothing; it shows the script still runs."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from engines import PLAN_PROMPT, PRESETS, Plan  # beside this script

from agent.config import load_settings
from agent.models.catalog import resolve
from agent.models.local import LocalModel
from agent.prompt_files import render
from agent.prompting.templates import conversation

OBJECTIVE = "List three uses of a paperclip"


def bandwidth_gbs(device: torch.device, repeats: int = 5) -> float:
    """Copy bandwidth (read + write) over a buffer far larger than the caches, best of 5."""
    src = torch.empty(256 * 2**20, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        dst.copy_(src)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * src.numel() / best / 1e9


def weight_bytes(model: LocalModel) -> int:
    seen, total = set(), 0
    for p in model.model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel() * p.element_size()
    return total


def decode_rate(model: LocalModel, tokens: int) -> float:
    """Tokens/s of greedy decoding, `tokens` new tokens forced, prefill excluded."""
    ids = model._prompt_ids(conversation(OBJECTIVE, "Describe each use in detail."))
    inputs = torch.tensor([ids], device=model.device)

    def run(n: int) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            model.model.generate(input_ids=inputs, attention_mask=torch.ones_like(inputs), do_sample=False,
                                 max_new_tokens=n, min_new_tokens=n, pad_token_id=model.tokenizer.pad_token_id)
        return time.perf_counter() - start

    run(4)
    return (tokens - 1) / (run(tokens) - run(1))


def section_decode(model: LocalModel, args) -> dict:
    """Decode and prefill tok/s of every installed backend on the same model and prompts, the CPU engine's warm
    start, constrained vs free decoding, prefix reuse, and prefill of the pulled presets."""
    from engines import engine_figures  # beside this script

    gbs = bandwidth_gbs(model.device, 5 if args.repeats > 1 else 1)
    out = {"bandwidth_GBps": round(gbs, 1), "decode": {}, "prefill": {}}
    for dtype in args.dtypes:
        model.model.to(dtype)
        rate = decode_rate(model, args.tokens)
        ceiling = gbs * 1e9 / weight_bytes(model)
        name = f"transformers_{str(dtype).split('.')[1]}"
        out["decode"][name] = {"tok_s": round(rate, 1), "ceiling_tok_s": round(ceiling, 1),
                               "fraction_of_ceiling": round(rate / ceiling, 3)}
        out["prefill"][name] = {"tok_s": round(prefill_rate(model, args.prompt_tokens, args.repeats), 1)}
    model.model.to(model.dtype)
    engine_figures(out, args)
    for kind in ("decode", "prefill"):
        base = out[kind]["transformers_float32"]["tok_s"]
        for figure in out[kind].values():
            if "tok_s" in figure:
                figure["x_transformers_fp32"] = round(figure["tok_s"] / base, 2)
    return out


def prefill_rate(model: LocalModel, prompt_tokens: int = 400, repeats: int = 3) -> float:
    """Tokens/s of reading a ~400-token prompt (one forward pass, best of 3)."""
    from engines import long_prompt

    ids = model.tokenizer(long_prompt(), add_special_tokens=False)["input_ids"][:prompt_tokens]
    inputs = torch.tensor([ids], device=model.device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            model.model(inputs, use_cache=True)
        best = min(best, time.perf_counter() - start)
    return len(ids) / best


def section_constrained(model: LocalModel, args) -> dict:
    """Same prompt, same schema'd call shape; per-token time with and without the grammar."""
    messages = conversation(OBJECTIVE, PLAN_PROMPT)
    schema = Plan.model_json_schema()
    start = time.perf_counter()
    model.grammars.compiled(schema)
    compile_ms = (time.perf_counter() - start) * 1000
    model.reuse_prefix = False
    rates: dict[str, list[float]] = {"free": [], "constrained": []}
    for _ in range(args.repeats):
        for name, s in (("free", None), ("constrained", schema)):
            g = model.generate(messages, schema=s, max_new_tokens=args.tokens)
            rates[name].append(g.completion_tokens / g.seconds)
    model.reuse_prefix = True
    free, constrained = max(rates["free"]), max(rates["constrained"])
    return {"free_tok_s": round(free, 1), "constrained_tok_s": round(constrained, 1),
            "overhead": round(1 - constrained / free, 3), "grammar_compile_ms": round(compile_ms, 1)}


def section_load(args) -> dict:
    """Cold (an empty cache: the GGUF dequantized, and on the CPU engine its engine model built) vs warm (all
    cached), each in a fresh process, on the backend `agent run` picks for the device."""
    code = ("import time; t=time.perf_counter(); from pathlib import Path; from agent.models import load_model; "
            f"load_model({args.model!r}, device={args.device!r}, cache_dir=Path({{cache!r}})); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        times = []
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", code.format(cache=cache)], capture_output=True,
                                  text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=True)
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return {"cold_s": round(times[0], 2), "warm_s": round(times[1], 2), "speedup": round(times[0] / times[1], 1)}


def section_batch(model: LocalModel, args) -> dict:
    tasks = [f"Describe use number {i} of a paperclip" for i in range(1, args.batch + 1)]
    convs = [conversation(OBJECTIVE, render("execute", recalls=[], tasks=[], step=d, compute=True))
             for i, d in enumerate(tasks, 1)]
    model.reuse_prefix = False
    if args.repeats > 1:  # a warm-up batch, not counted
        model.generate_batch(convs[:2], max_new_tokens=4)
    start = time.perf_counter()
    sequential = [model.generate(c, max_new_tokens=args.batch_tokens) for c in convs]
    seq_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = model.generate_batch(convs, max_new_tokens=args.batch_tokens)
    batch_s = time.perf_counter() - start
    model.reuse_prefix = True
    seq_tokens = sum(g.completion_tokens for g in sequential)
    batch_tokens = sum(g.completion_tokens for g in batched)
    return {"sequential_tok_s": round(seq_tokens / seq_s, 1),
            f"batch{len(convs)}_tok_s": round(batch_tokens / batch_s, 1),
            "speedup": round((batch_tokens / batch_s) / (seq_tokens / seq_s), 2),
            "greedy_equal": [g.text for g in sequential] == [g.text for g in batched]}


def section_prefix(model: LocalModel, args) -> dict:
    """Time to first token of the executor's calls in one run, with and without the shared prefix cached."""
    recalls = [type("R", (), {"text": f"Earlier result {i}: a paperclip can hold papers, pick locks, "
                              "reset routers, act as a bookmark and clean small gaps." * 2})()
               for i in range(args.recalls)]
    convs = [conversation(OBJECTIVE * 3, render("execute", recalls=recalls, tasks=[], step=f"use {i}", compute=True))
             for i in range(args.calls)]
    out = {}
    for reuse in (False, True):
        model.reuse_prefix = reuse
        model.prefixes = type(model.prefixes)()
        times = []
        for c in convs:
            times.append(model.generate(c, max_new_tokens=1).seconds)
        out["with_reuse" if reuse else "without_reuse"] = round(sum(times[1:]) / len(times[1:]) * 1000, 1)
    out["prompt_tokens"] = len(model._prompt_ids(convs[0]))
    out["ttft_ratio"] = round(out["without_reuse"] / out["with_reuse"], 2)
    return out


def section_llama_cpp(model: LocalModel, args) -> dict:
    try:
        from llama_cpp import Llama
    except ImportError:
        return {"skipped": "llama-cpp-python is not installed (pip install llama-cpp-python)"}
    source = resolve(args.model)
    if not source.gguf_file:
        return {"skipped": "the model is not a GGUF file"}
    threads = torch.get_num_threads()
    llm = Llama(str(source.directory / source.gguf_file), n_threads=threads, n_ctx=1024, verbose=False)
    prompt = model.tokenizer.decode(model._prompt_ids(conversation(OBJECTIVE, "Describe each use in detail.")))
    llm(prompt, max_tokens=4, temperature=0)

    def timed(n: int) -> float:
        start = time.perf_counter()
        # a -inf bias on the end-of-text token forces exactly n new tokens, as min_new_tokens does for ours
        reply = llm(prompt, max_tokens=n, temperature=0, logit_bias={llm.token_eos(): float("-inf")})
        assert reply["usage"]["completion_tokens"] == n
        return time.perf_counter() - start

    llama_rate = (args.tokens - 1) / (timed(args.tokens) - timed(1))
    ours = decode_rate(model, args.tokens)
    return {"threads": threads, "llama_cpp_tok_s": round(llama_rate, 1), "ours_tok_s": round(ours, 1),
            "ratio": round(ours / llama_rate, 2)}


SECTIONS = ["decode", "constrained", "load", "batch", "prefix", "llama_cpp"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--batch-tokens", type=int, default=48)
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "agent-bench-cache")
    parser.add_argument("--presets-cache", type=Path, default=load_settings().cache_dir,
                        help="where `agent models pull` put the presets (and their engine models)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: every measurement once, at the smallest sizes (the figures mean nothing)")
    args = parser.parse_args()
    # repetitions (best of), prefill prompt length, calls of the prefix sections, batch size, recalls per prompt
    args.repeats, args.prompt_tokens, args.calls, args.batch, args.recalls = (1, 32, 2, 2, 1) if args.quick \
        else (3, 400, 6, 8, 3)
    args.dtypes = (torch.float32,) if args.quick else (torch.float32, torch.bfloat16)
    args.presets = () if args.quick else PRESETS
    results: dict = {"model": args.model, "torch_threads": torch.get_num_threads()}
    if "load" in args.only:
        results["load"] = section_load(args)
        print(json.dumps({"load": results["load"]}), flush=True)
    model = LocalModel(resolve(args.model), device=args.device, cache_dir=args.cache_dir)
    results["device"] = str(model.device)
    for name in args.only:
        if name != "load":
            results[name] = globals()[f"section_{name}"](model, args)
            print(json.dumps({name: results[name]}), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
