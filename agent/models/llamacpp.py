"""GGUF models through llama.cpp (optional extra `agent[llamacpp]`): on a CPU it decodes the 4-bit weights
several times faster than transformers reads their dequantized copy. Structured calls decode under
llama.cpp's grammar built from the JSON schema."""

import json
import time
from collections.abc import Sequence
from typing import Any

from agent.errors import ModelError, UsageError
from agent.models.base import REPETITION_PENALTY, ChatModel, Generation, Message, length_over_pattern
from agent.models.catalog import ModelSource
from agent.models.validate import check_source

INSTALL_HINT = "pip install 'agent[llamacpp]' (builds llama.cpp; needs a C++ compiler)"


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppModel(ChatModel):
    """A ChatModel over llama-cpp-python. Greedy decoding; llama.cpp keeps the KV cache of the longest prompt
    prefix shared with the previous call, so the shared system prompt and objective are not read again."""

    supports_schema = True
    supports_prefix_reuse = True

    def __init__(self, source: ModelSource, *, threads: int | None = None, context: int = 4096) -> None:
        if not source.gguf_file:
            raise UsageError(f"the llama.cpp backend needs a .gguf model, got the directory {source.directory}")
        try:
            from llama_cpp import Llama, LlamaGrammar
        except ImportError as exc:
            raise UsageError(f"the llama.cpp backend is not installed: {INSTALL_HINT}") from exc
        started = time.perf_counter()
        check_source(source)
        self._grammar_from_schema = LlamaGrammar.from_json_schema
        self._grammars: dict[str, Any] = {}
        try:
            self.llm = Llama(str(source.directory / source.gguf_file), n_ctx=context, n_threads=threads,
                             verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:  # llama.cpp's "failed to load model"
            raise ModelError(f"llama.cpp cannot load {source.directory / source.gguf_file}: {exc}") from exc
        self.name = source.label
        self.load_seconds = time.perf_counter() - started

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation:
        start = time.perf_counter()
        options: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_new_tokens}
        if deadline is not None:
            options["logits_processor"] = [self._end_at(deadline)]
        if schema is not None:
            options["grammar"] = self._grammar(schema)
        else:
            options["repeat_penalty"] = REPETITION_PENALTY
        reply = self.llm.create_chat_completion(messages=list(messages), **options)
        usage = reply.get("usage") or {}
        text = reply["choices"][0]["message"].get("content") or ""
        return Generation(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                          time.perf_counter() - start)

    def _end_at(self, deadline: float) -> Any:
        """A logits processor that, once `deadline` has passed, leaves only end-of-sequence possible: the
        chat completion API takes no stopping criterion, so this is how the deadline ends the generation."""
        eos = self.llm.token_eos()

        def process(input_ids: Any, scores: Any) -> Any:
            if time.monotonic() >= deadline:
                scores[:] = -float("inf")
                scores[eos] = 0.0
            return scores

        return process

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(length_over_pattern(schema), sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = self._grammar_from_schema(key, verbose=False)
        return self._grammars[key]
