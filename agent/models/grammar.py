"""Grammar-constrained decoding: a JSON schema becomes an xgrammar grammar, compiled once and cached."""

import json
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor


class GrammarCache:
    """Compiles each distinct schema once per tokenizer."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: list[int]) -> None:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_ids)
        self._compiler = xgr.GrammarCompiler(info)
        self._compiled: dict[str, xgr.CompiledGrammar] = {}
        self.vocab_size = vocab_size

    def compiled(self, schema: dict[str, Any]) -> xgr.CompiledGrammar:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._compiled:
            # compact JSON: fewer tokens, and no room for the model to wander in whitespace
            self._compiled[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
        return self._compiled[key]

    def processor(self, schema: dict[str, Any]) -> "GrammarProcessor":
        return GrammarProcessor(self.compiled(schema), self.vocab_size)


class GrammarProcessor(LogitsProcessor):
    """Masks every token the grammar does not allow next; one instance per generate() call."""

    def __init__(self, grammar: xgr.CompiledGrammar, vocab_size: int) -> None:
        self.grammar = grammar
        self.vocab_size = vocab_size
        self.matchers: list[xgr.GrammarMatcher] = []
        self.bitmask: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not self.matchers:
            self.matchers = [xgr.GrammarMatcher(self.grammar) for _ in range(input_ids.shape[0])]
            self.bitmask = xgr.allocate_token_bitmask(input_ids.shape[0], self.vocab_size)
        else:
            last = input_ids[:, -1].tolist()
            for matcher, token in zip(self.matchers, last):
                if not matcher.is_terminated():
                    matcher.accept_token(token)
        for row, matcher in enumerate(self.matchers):
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self.bitmask, row)
        xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores
