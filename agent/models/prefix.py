"""Reuse of the KV cache of a prompt prefix shared by successive calls (system prompt + objective).

The shared prefix is learnt, not declared: the longest common token prefix of two successive prompts. Its
cache is computed once and copied into each later call that starts with it, so only the rest of the prompt
is read again."""

import copy
from collections.abc import Callable
from typing import Any

MIN_PREFIX_TOKENS = 16


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixCache:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cache: Any = None
        self._previous: list[int] = []

    def lookup(self, ids: list[int], prefill: Callable[[list[int]], Any]) -> Any:
        """A private copy of the cache for the prefix `ids` starts with, or None."""
        if not (self.ids and len(ids) > len(self.ids) and ids[: len(self.ids)] == self.ids):
            shared = min(common_prefix(ids, self._previous), len(ids) - 1)
            self._previous = ids
            if shared < MIN_PREFIX_TOKENS:
                return None
            self.ids, self.cache = ids[:shared], prefill(ids[:shared])
        return copy.deepcopy(self.cache)  # generate() appends to the cache it is given
