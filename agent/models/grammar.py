"""Grammar-constrained decoding: a JSON schema becomes an xgrammar grammar, compiled once and cached."""

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

from agent.models.base import length_over_pattern

_XGRAMMAR_VERSION = importlib.metadata.version("xgrammar")  # a cached grammar is only valid for its version


class GrammarCache:
    """Compiles each distinct schema once per tokenizer. With a `directory`, compiled grammars are also kept
    on disk (loading one takes a fraction of compiling it), keyed by `model_key`, schema and xgrammar version."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: list[int], *, directory: Path | None = None,
                 model_key: str = "") -> None:
        self._info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_ids)
        self._compiler = xgr.GrammarCompiler(self._info)
        self._compiled: dict[str, xgr.CompiledGrammar] = {}
        self.vocab_size = vocab_size
        self.directory = directory
        self.model_key = model_key

    def compiled(self, schema: dict[str, Any]) -> xgr.CompiledGrammar:
        key = json.dumps(length_over_pattern(schema), sort_keys=True)
        if key not in self._compiled:
            self._compiled[key] = self._load(key) or self._compile(key)
        return self._compiled[key]

    def _path(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.blake2b(f"{_XGRAMMAR_VERSION}|{self.model_key}|{key}".encode(), digest_size=10).hexdigest()
        return self.directory / f"{digest}.json"

    def _load(self, key: str) -> xgr.CompiledGrammar | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            return xgr.CompiledGrammar.deserialize_json(path.read_text(encoding="utf-8"), self._info)
        except (OSError, RuntimeError, ValueError):  # a damaged cache entry is compiled again
            return None

    def _compile(self, key: str) -> xgr.CompiledGrammar:
        # compact JSON: fewer tokens, and no room for the model to wander in whitespace
        grammar = self._compiler.compile_json_schema(key, any_whitespace=False)
        path = self._path(key)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                staged = path.with_suffix(f".{os.getpid()}.tmp")
                staged.write_text(grammar.serialize_json(), encoding="utf-8")
                os.replace(staged, path)
            except OSError:
                pass  # the cache is an optimisation; a read-only cache dir must not fail the call
        return grammar

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
        assert self.bitmask is not None, "allocated with the matchers"
        for row, matcher in enumerate(self.matchers):
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self.bitmask, row)
        xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores
