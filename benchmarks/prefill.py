"""The CPU engine's prefill (and decode) under each build configuration, beside transformers fp32, on the same
prompt, in one run: which prebuilt configuration reads a prompt fastest on this CPU.

    python benchmarks/prefill.py [--model smollm2-135m] [--prompt-tokens 400] [--repeats 3]
                                 [--variants no-prune,shipped,prune-acc1] [--threads 0,N] [--no-transformers]

Variants are builder options (each engine built once into the cache, keyed by its options):
  shipped      the options every run uses (agent/models/engine_build.py BUILD_ARGS)
  no-prune     prune_lm_head=false: the LM head computes the logits of every prompt token
  prune        prune_lm_head=true: the last token's logits only
  acc1         int4_accuracy_level=1: int4 weights dequantized to fp32 matmuls (instead of int8 activations)
  prune-acc1   prune_lm_head=true and int4_accuracy_level=1
  block128     + int4_block_size=128
`--threads` sets the session's intra_op_num_threads (0: the engine's own default; the agent sets the CPUs it may
run on) for every variant. Prefill is
tokens/s of one append of the whole prompt to a fresh generator (best of --repeats); decode is 32 greedy
tokens after it. Checks that every variant's next token after the prompt equals the shipped one's. Where
llama-cpp-python is importable (a benchmark-only install: it compiles llama.cpp), llama.cpp runs the same GGUF
and prompt beside them (`pip install --target DIR llama-cpp-python`, then PYTHONPATH=DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from agent.models.catalog import resolve
from agent.models.engine_build import BUILD_ARGS, _hf_directory, engine_dir
from agent.models.ortgenai import usable_cpus

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_OPTIONS = BUILD_ARGS[BUILD_ARGS.index("--extra_options") + 1:]
VARIANTS = {
    "shipped": (),
    "no-prune": ("prune_lm_head=false",),
    "prune": ("prune_lm_head=true",),
    "acc1": ("int4_accuracy_level=1",),
    "prune-acc1": ("prune_lm_head=true", "int4_accuracy_level=1"),
    "block128": ("int4_block_size=128",),
}


def build_args(extra: tuple[str, ...]) -> tuple[str, ...]:
    """BUILD_ARGS with `extra` builder options overriding the shipped ones of the same name."""
    options = dict(o.split("=", 1) for o in SHIPPED_OPTIONS)
    options.update(o.split("=", 1) for o in extra)
    head = BUILD_ARGS[:BUILD_ARGS.index("--extra_options") + 1]
    return (*head, *(f"{k}={v}" for k, v in options.items()))


def prompt_text(tokens: int) -> str:
    sentences = " ".join(f"Result {i}: a paperclip can hold papers, reset a router or mark a page." for i in
                         range(tokens // 10 + 2))
    return f"Objective: List three uses of a paperclip\nWhat was found so far: {sentences}"


def time_engine(directory: Path, threads: int, prompt: str, tokens: int, repeats: int) -> dict:
    import onnxruntime_genai as og

    config = og.Config(str(directory))
    if threads:
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
    model = og.Model(config)
    ids = og.Tokenizer(model).encode(prompt)[:tokens]
    prefill, decode, first = [], [], -1
    for _ in range(repeats + 1):  # the first is a warm-up, not counted
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + 64, do_sample=False)
        generator = og.Generator(model, params)
        start = time.perf_counter()
        generator.append_tokens(ids)
        prefill.append(len(ids) / (time.perf_counter() - start))
        logits = generator.get_logits()
        first = int(np.argmax(logits.reshape(-1, logits.shape[-1])[-1]))
        start = time.perf_counter()
        for _ in range(32):
            generator.generate_next_token()
        decode.append(32 / (time.perf_counter() - start))
    return {"prefill_tok_s": round(max(prefill[1:]), 1), "decode_tok_s": round(max(decode[1:]), 1),
            "next_token": first, "prompt_tokens": len(ids)}


def time_transformers(hf_dir: Path, prompt: str, tokens: int, repeats: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(os.cpu_count() or 1)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, local_files_only=True).eval()
    ids = torch.tensor([tokenizer(prompt)["input_ids"][:tokens]])
    rates = []
    with torch.inference_mode():
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model(ids, use_cache=True, logits_to_keep=1)
            rates.append(ids.shape[1] / (time.perf_counter() - start))
    return {"prefill_tok_s": round(max(rates[1:]), 1), "prompt_tokens": int(ids.shape[1])}


def time_llama_cpp(gguf: Path, prompt: str, tokens: int, repeats: int) -> dict | None:
    """llama.cpp (llama-cpp-python, installed only where this benchmark runs: it compiles at install) on the
    same GGUF and prompt: one eval of the whole prompt into a reset context, then 32 greedy tokens."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(str(gguf), n_threads=usable_cpus(), n_threads_batch=usable_cpus(), n_ctx=tokens + 128,
                n_batch=512, verbose=False)
    ids = llm.tokenize(prompt.encode())[:tokens]
    prefill, decode = [], []
    for _ in range(repeats + 1):  # the first is a warm-up, not counted
        llm.reset()
        start = time.perf_counter()
        llm.eval(ids)
        prefill.append(len(ids) / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(32):
            llm.eval([int(np.argmax(llm.scores[llm.n_tokens - 1]))])
        decode.append(32 / (time.perf_counter() - start))
    return {"prefill_tok_s": round(max(prefill[1:]), 1), "decode_tok_s": round(max(decode[1:]), 1),
            "prompt_tokens": len(ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--prompt-tokens", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default="no-prune,shipped,prune-acc1")
    parser.add_argument("--threads", default=f"0,{usable_cpus()}",
                        help="intra-op threads to try, comma-separated (0: the engine's default)")
    parser.add_argument("--no-transformers", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if unknown := sorted(set(variants) - set(VARIANTS)):
        sys.exit(f"error: unknown variant {unknown[0]!r}: one of {', '.join(VARIANTS)}")
    threads = [int(t) for t in args.threads.split(",")]
    cache = Path(os.environ.get("AGENT_CACHE_DIR") or Path.home() / ".cache" / "agent")
    source = resolve(args.model, cache_dir=cache)
    prompt = prompt_text(args.prompt_tokens)
    rows: dict[str, dict] = {}
    if not args.no_transformers:
        rows["transformers fp32"] = time_transformers(_hf_directory(source, cache), prompt, args.prompt_tokens,
                                                      args.repeats)
    if source.gguf_file and (llama := time_llama_cpp(source.directory / source.gguf_file, prompt,
                                                      args.prompt_tokens, args.repeats)):
        rows["llama.cpp"] = llama
    for name in variants:
        directory = engine_dir(source, cache, show_progress=False, build_args=build_args(VARIANTS[name]))
        for n in threads:
            rows[f"{name}, threads {n or 'default'}"] = time_engine(directory, n, prompt, args.prompt_tokens,
                                                                   args.repeats)
    base = rows.get("transformers fp32", {}).get("prefill_tok_s")
    shipped = next((r["next_token"] for k, r in rows.items() if k.startswith("shipped")), None)
    for row in rows.values():
        if base and "decode_tok_s" in row:
            row["prefill_vs_transformers"] = round(row["prefill_tok_s"] / base, 2)
        if shipped is not None and "next_token" in row:
            row["same_next_token"] = row["next_token"] == shipped
    if args.json:
        print(json.dumps({"model": args.model, "rows": rows}, indent=2))
        return
    print(f"{args.model}, {args.prompt_tokens}-token prompt, best of {args.repeats}")
    for name, row in rows.items():
        print(f"{name:<26} prefill {row['prefill_tok_s']:8.1f} tok/s"
              + (f"  ({row['prefill_vs_transformers']:.2f}x transformers)" if "prefill_vs_transformers" in row else "")
              + (f"  decode {row['decode_tok_s']:6.1f} tok/s" if "decode_tok_s" in row else "")
              + ("" if row.get("same_next_token", True) else "  NEXT TOKEN DIFFERS"))


if __name__ == "__main__":
    main()
