"""The CPU backend: onnxruntime-genai over int4 weights, from PyPI wheels alone (no compiler, no torch at run
time). It decodes several times faster than transformers reads fp32 weights, constrains structured calls with the
engine's own JSON-schema guidance, and keeps the KV cache of the previous prompt to rewind to the shared prefix
(system prompt + objective) instead of reading it again."""

import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.errors import ModelError, UsageError
from agent.models.base import ChatModel, Generation, Message
from agent.models.catalog import ModelSource
from agent.models.engine_build import discard, engine_dir
from agent.models.prefix import MIN_PREFIX_TOKENS, common_prefix

INSTALL_HINT = "pip install onnxruntime-genai onnx onnx-ir"
REPETITION_PENALTY = 1.1  # as the other backends: the small default model loops on greedy free text without it


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


class _Slot:
    """One live generator (one grammar or none) and the tokens its KV cache holds."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.schema = schema
        self.generator: Any = None
        self.tokens: list[int] = []


class OrtGenAIModel(ChatModel):
    """A ChatModel over onnxruntime-genai. Greedy decoding: the same prompt gives the same reply."""

    supports_schema = True
    supports_batch = True
    supports_prefix_reuse = True

    def __init__(self, source: ModelSource, *, cache_dir: Path | None = None, context: int = 4096,
                 reuse_prefix: bool = True, max_live: int = 3, show_progress: bool = True) -> None:
        try:
            import onnxruntime_genai as og
        except ImportError as exc:
            raise UsageError(f"the onnxruntime-genai backend is not installed: {INSTALL_HINT}") from exc
        self._og = og
        self.name = source.label
        self.directory = engine_dir(source, cache_dir, show_progress=show_progress)
        try:
            self.model = og.Model(str(self.directory))
        except RuntimeError:  # a cache damaged in a way its manifest cannot see: build it once more
            discard(self.directory)
            self.directory = engine_dir(source, cache_dir, show_progress=show_progress)
            self.model = og.Model(str(self.directory))
        self.tokenizer = og.Tokenizer(self.model)
        config = json.loads((self.directory / "genai_config.json").read_text())["model"]
        eos = config.get("eos_token_id", [])
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.context = min(context, int(config.get("context_length") or context))
        self.reuse_prefix = reuse_prefix
        self.max_live = max_live
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self.prefilled_tokens = 0  # prompt tokens actually read; what prefix reuse saves shows here

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        text = self.tokenizer.apply_chat_template(json.dumps(list(messages)), add_generation_prompt=True)
        return [int(t) for t in self.tokenizer.encode(text)]

    def generate(self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None,
                 max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        start = time.perf_counter()
        ids = self.prompt_ids(messages)
        budget = self._budget(len(ids), max_new_tokens)
        slot = self._slot(schema)
        self._feed(slot, ids)
        completion = self._decode(slot.generator, 1, budget, deadline)[0]
        slot.tokens = ids + completion[:-1]  # the last token's KV entry is only written by the next step
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
        generator = self._generator(schema, batch_size=len(prompts))
        texts = [self.tokenizer.apply_chat_template(json.dumps(list(m)), add_generation_prompt=True)
                 for m in conversations]
        generator.append_tokens(self.tokenizer.encode_batch(texts))
        self.prefilled_tokens += sum(len(p) for p in prompts)
        completions = self._decode(generator, len(prompts), budget, deadline)
        seconds = time.perf_counter() - start
        return [Generation(self._text(c), len(p), len(c), seconds) for c, p in zip(completions, prompts)]

    def _budget(self, prompt_tokens: int, max_new_tokens: int) -> int:
        room = self.context - prompt_tokens
        if room < 1:
            raise ModelError(f"the prompt has {prompt_tokens} tokens, more than the context of {self.context}")
        return min(max_new_tokens, room)

    def _generator(self, schema: dict[str, Any] | None, batch_size: int = 1) -> Any:
        params = self._og.GeneratorParams(self.model)
        options: dict[str, Any] = {"max_length": self.context, "do_sample": False, "batch_size": batch_size}
        if schema is None:
            options["repetition_penalty"] = REPETITION_PENALTY
        else:
            params.set_guidance("json_schema", strict_schema(schema))
        params.set_search_options(**options)
        return self._og.Generator(self.model, params)

    def _slot(self, schema: dict[str, Any] | None) -> _Slot:
        """The live generator for this grammar (one per distinct schema, the least recently used dropped)."""
        key = "" if schema is None else json.dumps(schema, sort_keys=True)
        if key in self._slots:
            self._slots.move_to_end(key)
        else:
            self._slots[key] = _Slot(schema)
            while len(self._slots) > self.max_live:
                self._slots.popitem(last=False)
        return self._slots[key]

    def _feed(self, slot: _Slot, ids: list[int]) -> None:
        """Append the prompt, rewinding to the prefix the cache already holds when that saves enough."""
        shared = min(common_prefix(slot.tokens, ids), len(ids) - 1) if self.reuse_prefix else 0
        if shared >= MIN_PREFIX_TOKENS:
            slot.generator.rewind_to(shared)
        else:
            shared = 0
            slot.generator = self._generator(slot.schema)
        slot.tokens = []  # until this call ends, what the cache holds is unknown (a failure may cut it short)
        slot.generator.append_tokens(np.asarray(ids[shared:], dtype=np.int32))
        self.prefilled_tokens += len(ids) - shared

    def _decode(self, generator: Any, batch: int, budget: int, deadline: float | None) -> list[list[int]]:
        """Greedy steps until every row ends, `budget` tokens, or the deadline; each row's tokens, eos cut."""
        rows: list[list[int]] = [[] for _ in range(batch)]
        for _ in range(budget):
            if generator.is_done() or (deadline is not None and time.monotonic() >= deadline):
                break
            generator.generate_next_token()
            for row, token in zip(rows, generator.get_next_tokens().tolist()):
                if not row or row[-1] not in self.eos_ids:
                    row.append(int(token))
        return [row[:-1] if row and row[-1] in self.eos_ids else row for row in rows]

    def _text(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(np.asarray(tokens, dtype=np.int32)) if tokens else ""
