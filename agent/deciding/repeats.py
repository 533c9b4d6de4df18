"""Near-duplicate detection of task descriptions by embedding cosine similarity."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Embed = Callable[[list[str]], Sequence[Any]]  # texts -> one vector each (numpy arrays or lists)


class RepeatDetector:
    """Remembers every task description it is shown; a new one whose cosine similarity to any of them reaches
    `threshold` is a repeat."""

    def __init__(self, embed: Embed, threshold: float) -> None:
        self.embed = embed
        self.threshold = threshold
        self._vectors = np.zeros((0, 0), dtype=np.float32)

    def _unit(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.embed(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def remember(self, texts: Sequence[str]) -> None:
        if texts:
            vectors = self._unit(texts)
            self._vectors = vectors if self._vectors.size == 0 else np.vstack([self._vectors, vectors])

    def is_repeat(self, text: str) -> bool:
        """True when `text` is too close to a remembered description; otherwise it is remembered."""
        vector = self._unit([text])
        if self._vectors.size and float((self._vectors @ vector[0]).max()) >= self.threshold:
            return True
        self._vectors = vector if self._vectors.size == 0 else np.vstack([self._vectors, vector])
        return False
