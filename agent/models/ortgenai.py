"""The CPU backend: onnxruntime-genai over int4 weights, from PyPI wheels alone (no compiler, no torch at run
time). It decodes several times faster than transformers reads fp32 weights and keeps the KV cache of the previous
prompt to rewind to the shared prefix (system prompt + objective) instead of reading it again.

Structured calls are constrained by llguidance (the grammar library the engine itself embeds) masking the logits
step by step, rather than by the engine's guidance option: that option is fixed when a generator is made, so
every distinct schema needed its own generator and its own KV cache, and the successive calls of a run (whose
schemas differ: `finish` is offered once a step has settled) each read their whole prompt again. With the
masking outside, every structured call shares one generator and rewinds to the prefix it holds."""

import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llguidance as llg
import numpy as np

from agent.errors import ModelError, UsageError
from agent.models.base import (
    INTERJECTION_TRIGGERS,
    REPETITION_PENALTY,
    TOP_P,
    ChatModel,
    Generation,
    Interjector,
    Message,
)
from agent.models.catalog import ModelSource
from agent.models.engine_build import discard, engine_dir
from agent.models.prefix import MIN_PREFIX_TOKENS, common_prefix

log = logging.getLogger(__name__)

# prompt tokens appended at a time under a deadline: on two cores the 135M reads 256 in well under a second
PREFILL_CHUNK = 256
# a generator holds the KV cache of its whole context from the start (fp32 keys and values of every layer), and
# a model keeps two: the context is what the model was trained for, within this cache per generator but never
# under 4,096 tokens (the 135M and the 1.5B read 4,096, the 0.5B 8,192)
KV_BUDGET_BYTES = 192 * 2**20
MIN_CONTEXT = 4096
INSTALL_HINT = "pip install onnxruntime-genai onnx onnx-ir"


def strict_schema(schema: dict[str, Any]) -> str:
    """The guidance grammar's schema: no properties beyond those declared (the engine follows JSON Schema,
    which allows extras by default) and compact JSON (no room for the model to wander in whitespace)."""

    def close(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: close(v) for k, v in node.items()}
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
        elif isinstance(node, list):
            node = [close(v) for v in node]
        return node

    # the separators the models write by themselves (", " and ": "): compact JSON tokenizes differently and
    # pushed small models off their own choices (e.g. to "solve" where free decoding picks the calculator)
    options = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
    return json.dumps({**close(schema), "x-guidance": options})  # key order kept: it is the order of the fields


def usable_cpus() -> int:
    """The CPUs this process may run on (a batch worker pinned to one core gets one thread)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def supported_context(config: dict[str, Any]) -> int:
    """The context the model was trained for, within KV_BUDGET_BYTES of cache (whole blocks of 512 tokens) or
    MIN_CONTEXT."""
    decoder = config["decoder"]
    per_token = 2 * 4 * decoder["num_hidden_layers"] * decoder["num_key_value_heads"] * decoder["head_size"]
    fits = max(MIN_CONTEXT, KV_BUDGET_BYTES // per_token // 512 * 512)
    return min(int(config.get("context_length") or MIN_CONTEXT), fits)


class _Slot:
    """One live generator and the tokens its KV cache holds: one for free text (the engine decodes, with its
    repetition penalty), one for every structured call (decoded here, under a grammar's mask)."""

    def __init__(self, structured: bool) -> None:
        self.structured = structured
        self.generator: Any = None
        self.tokens: list[int] = []


class OrtGenAIModel(ChatModel):
    """A ChatModel over onnxruntime-genai. Greedy decoding: the same prompt gives the same reply."""

    supports_schema = True
    supports_batch = True
    supports_prefix_reuse = True
    supports_sampling = True
    supports_interjection = True

    context: int

    def __init__(self, source: ModelSource, *, cache_dir: Path | None = None, context: int | None = None,
                 reuse_prefix: bool = True, show_progress: bool = True, threads: int | None = None) -> None:
        try:
            import onnxruntime_genai as og
        except ImportError as exc:
            raise UsageError(f"the onnxruntime-genai backend is not installed: {INSTALL_HINT}") from exc
        self._og = og
        self.threads = threads or usable_cpus()
        self.name = source.label
        self.directory = engine_dir(source, cache_dir, show_progress=show_progress)
        try:
            self.model, self.tokenizer, config = self._open(self.directory)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            # a cache damaged in a way its manifest cannot see (a same-size garbled file): build it once more
            log.warning("the engine model at %s is damaged (%s): building it again", self.directory,
                        str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
            discard(self.directory)
            self.directory = engine_dir(source, cache_dir, show_progress=show_progress)
            try:
                self.model, self.tokenizer, config = self._open(self.directory)
            except (RuntimeError, OSError, ValueError, KeyError) as again:
                raise ModelError(f"the engine model built from {source.label} does not load ({again}): check "
                                 f"the model files, or remove {self.directory} and try again") from None
        eos = config.get("eos_token_id", [])
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.context = context or supported_context(config)
        self.reuse_prefix = reuse_prefix
        self._slots = {False: _Slot(False), True: _Slot(True)}
        self._grammar_tokenizer: Any = None  # made on the first structured call (a quarter of a second)
        self._matchers: OrderedDict[str, Any] = OrderedDict()  # compiled grammars, by schema
        self.prefilled_tokens = 0  # prompt tokens actually read; what prefix reuse saves shows here
        self._sample: tuple[float, np.random.Generator, int] | None = None  # temperature, its generator, seed

    def _open(self, directory: Path) -> tuple[Any, Any, dict[str, Any]]:
        options = self._og.Config(str(directory))
        # the engine's own default ran one thread on a 2-CPU machine: half the prefill and decode speed
        options.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": self.threads}}}}))
        model = self._og.Model(options)
        tokenizer = self._og.Tokenizer(model)
        config = json.loads((directory / "genai_config.json").read_text())["model"]
        return model, tokenizer, config

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_ids(messages))

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        text = self.tokenizer.apply_chat_template(json.dumps(list(messages)), add_generation_prompt=True)
        return [int(t) for t in self.tokenizer.encode(text)]

    def generate(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        return self._generate(messages, schema, max_new_tokens, deadline, None)

    def generate_interjected(self, messages: Sequence[Message], interject: Interjector, *,
                             max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        return self._generate(messages, None, max_new_tokens, deadline, interject)

    def _generate(self, messages: Sequence[Message], schema: dict[str, Any] | None, max_new_tokens: int,
                  deadline: float | None, interject: Interjector | None) -> Generation:
        start = time.perf_counter()
        ids = self.prompt_ids(messages)
        budget = self._budget(len(ids), max_new_tokens)
        slot = self._slots[schema is not None]
        if not self._feed(slot, ids, deadline):  # the deadline came during the prefill: nothing is generated
            return Generation("", len(ids), 0, time.perf_counter() - start)
        if schema is None:
            completion = self._decode(slot.generator, 1, budget, deadline, interject, len(ids))[0]
            slot.tokens = ids + completion[:-1]  # the last token's KV entry is only written by the next step
        else:
            completion = self._decode_guided(slot.generator, self._matcher(schema), budget, deadline)
            slot.tokens = ids + completion  # every chosen token was appended, so the cache holds them all
        return Generation(self._text(completion), len(ids), len(completion), time.perf_counter() - start)

    def generate_batch(self, conversations: Sequence[Sequence[Message]], *, schema: dict[str, Any] | None = None,
                       max_new_tokens: int = 256, deadline: float | None = None) -> list[Generation]:
        """Independent prompts in one batched generator: the weights are read once per step for all of them.
        Structured batches run one by one (with prefix reuse): the engine's guidance fails on a batch whose rows
        finish their JSON at different steps."""
        if schema is not None:
            return [self.generate(m, schema=schema, max_new_tokens=max_new_tokens, deadline=deadline)
                    for m in conversations]
        start = time.perf_counter()
        prompts = [self.prompt_ids(m) for m in conversations]
        budget = self._budget(max(len(p) for p in prompts), max_new_tokens)
        generator = self._generator(structured=False, batch_size=len(prompts))
        texts = [self.tokenizer.apply_chat_template(json.dumps(list(m)), add_generation_prompt=True)
                 for m in conversations]
        generator.append_tokens(self.tokenizer.encode_batch(texts))
        self.prefilled_tokens += sum(len(p) for p in prompts)
        completions = self._decode(generator, len(prompts), budget, deadline)
        seconds = time.perf_counter() - start
        return [Generation(self._text(c), len(p), len(c), seconds) for c, p in zip(completions, prompts)]

    @contextmanager
    def sampling(self, temperature: float, seed: int) -> Iterator[None]:
        """Structured replies are drawn here from the grammar's allowed tokens; free text by the engine, whose
        generator takes its search options when made: the free-text slot starts afresh on entry and on exit."""
        self._sample = (temperature, np.random.default_rng(seed), seed)
        self._slots[False] = _Slot(False)
        try:
            yield
        finally:
            self._sample = None
            self._slots[False] = _Slot(False)

    def _budget(self, prompt_tokens: int, max_new_tokens: int) -> int:
        room = self.context - prompt_tokens
        if room < 1:
            raise ModelError(f"the prompt has {prompt_tokens} tokens, more than the context of {self.context}")
        return min(max_new_tokens, room)

    def _generator(self, *, structured: bool, batch_size: int = 1) -> Any:
        params = self._og.GeneratorParams(self.model)
        options: dict[str, Any] = {"max_length": self.context, "do_sample": False, "batch_size": batch_size}
        if not structured:
            options["repetition_penalty"] = REPETITION_PENALTY
            if self._sample is not None:
                temperature, _, seed = self._sample
                options.update(do_sample=True, temperature=temperature, top_p=TOP_P, random_seed=seed)
        params.set_search_options(**options)
        return self._og.Generator(self.model, params)

    def _matcher(self, schema: dict[str, Any]) -> Any:
        """A grammar matcher for `schema`, at its start (compiled once per schema; the most recent 32 kept)."""
        key = json.dumps(schema, sort_keys=True)
        matcher = self._matchers.pop(key, None)
        if matcher is None:
            if self._grammar_tokenizer is None:
                self._grammar_tokenizer = llg.LLTokenizer(str(self.directory / "tokenizer.json"),
                                                          eos_token=sorted(self.eos_ids))
            matcher = llg.LLMatcher(self._grammar_tokenizer, llg.LLMatcher.grammar_from_json_schema(
                strict_schema(schema)), log_level=0)
            if matcher.is_error():
                raise ModelError(f"the reply schema cannot be turned into a grammar: {matcher.get_error()}")
        matcher.reset()
        self._matchers[key] = matcher
        while len(self._matchers) > 32:
            self._matchers.popitem(last=False)
        return matcher

    def _decode_guided(self, generator: Any, matcher: Any, budget: int, deadline: float | None) -> list[int]:
        """Greedy steps under the grammar: the best token it allows, until it ends, `budget` tokens, or the
        deadline; the end-of-sequence token is not returned (nor appended)."""
        tokens: list[int] = []
        mask: np.ndarray | None = None
        for _ in range(budget):
            if matcher.is_stopped() or (deadline is not None and time.monotonic() >= deadline):
                break
            logits = generator.get_logits().reshape(-1)
            if mask is None:
                mask = np.zeros((logits.size + 31) // 32, dtype=np.int32)
            matcher.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
            allowed = np.unpackbits(mask.view(np.uint8), bitorder="little")[:logits.size].view(bool)
            token = self._choose(np.where(allowed, logits, -np.inf))
            if token in self.eos_ids or not matcher.consume_token(token):
                break
            tokens.append(token)
            generator.append_tokens(np.asarray([token], dtype=np.int32))
        return tokens

    def _choose(self, scores: np.ndarray) -> int:
        """The best allowed token, or under `sampling` one drawn from the smallest set of the likeliest allowed
        tokens holding TOP_P of the probability at the temperature (looked for among the top 256 first)."""
        if self._sample is None:
            return int(np.argmax(scores))
        temperature, rng, _ = self._sample
        scaled = scores.astype(np.float64) / temperature
        probs = np.exp(scaled - scaled.max())  # -inf (disallowed) becomes 0
        probs /= probs.sum()
        top = np.argpartition(probs, -256)[-256:] if probs.size > 256 else np.arange(probs.size)
        if probs[top].sum() < TOP_P:
            top = np.arange(probs.size)
        order = top[np.argsort(probs[top])[::-1]]
        keep = int(np.searchsorted(np.cumsum(probs[order]), TOP_P)) + 1
        return int(rng.choice(order[:keep], p=probs[order[:keep]] / probs[order[:keep]].sum()))

    def _feed(self, slot: _Slot, ids: list[int], deadline: float | None) -> bool:
        """Append the prompt, rewinding to the prefix the cache already holds when that saves enough. Under a
        deadline the prompt goes in PREFILL_CHUNK tokens at a time, the deadline checked before each: False when
        it came first (a long prefill is the one step of a call that cannot otherwise be cut short)."""
        shared = min(common_prefix(slot.tokens, ids), len(ids) - 1) if self.reuse_prefix else 0
        if shared >= MIN_PREFIX_TOKENS:
            slot.generator.rewind_to(shared)
        else:
            shared = 0
            slot.generator = self._generator(structured=slot.structured)
        slot.tokens = []  # until this call ends, what the cache holds is unknown (a failure may cut it short)
        step = len(ids) if deadline is None else PREFILL_CHUNK
        for at in range(shared, len(ids), step):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            chunk = ids[at:at + step]
            slot.generator.append_tokens(np.asarray(chunk, dtype=np.int32))
            self.prefilled_tokens += len(chunk)
        return True

    def _decode(self, generator: Any, batch: int, budget: int, deadline: float | None,
                interject: Interjector | None = None, prompt_tokens: int = 0) -> list[list[int]]:
        """Greedy steps until every row ends, `budget` tokens, or the deadline; each row's tokens, eos cut.
        With `interject` (one row, after a prompt of `prompt_tokens`), the text it returns for the reply so far
        is appended as if decoded."""
        rows: list[list[int]] = [[] for _ in range(batch)]
        for _ in range(budget):
            if generator.is_done() or (deadline is not None and time.monotonic() >= deadline):
                break
            generator.generate_next_token()
            for row, token in zip(rows, generator.get_next_tokens().tolist()):
                if not row or row[-1] not in self.eos_ids:
                    row.append(int(token))
            if interject is not None and (insert := self._interjection(rows[0], interject)) is not None:
                tokens = [int(t) for t in self.tokenizer.encode(insert)]
                # the token just chosen is not in the KV cache until the next step reads it: rewind to before
                # it and append it with the interjection, so the model reads "= 12", not "12"
                generator.rewind_to(prompt_tokens + len(rows[0]) - 1)
                generator.append_tokens(np.asarray(rows[0][-1:] + tokens, dtype=np.int32))
                rows[0].extend(tokens)
        return [row[:-1] if row and row[-1] in self.eos_ids else row for row in rows]

    def _interjection(self, row: list[int], interject: Interjector) -> str | None:
        """What `interject` appends after the row's latest token, asked only where that token writes a trigger."""
        if row[-1] in self.eos_ids or not INTERJECTION_TRIGGERS & set(self._text(row[-1:])):
            return None
        return interject(self._text(row))

    def _text(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(np.asarray(tokens, dtype=np.int32)) if tokens else ""
