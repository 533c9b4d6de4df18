"""Memory against a real chroma store in a temp dir, with the real packaged embedder."""

import chromadb

from agent.memory import ChromaMemory, PackagedEmbedder


def test_results_come_back_by_meaning_and_persist(tmp_path):
    memory = ChromaMemory.persistent(tmp_path / "memory")
    memory.add("r1", "Paris is the capital of France.", {"kind": "result", "task": 1})
    memory.add("r2", "Bananas are rich in potassium.", {"kind": "result", "task": 2})
    memory.add("n1", "The French capital hosts the Louvre.", {"kind": "note"})
    hits = memory.search("Which city is France's seat of government?", k=1, where={"kind": "result"})
    assert [h.id for h in hits] == ["r1"] and hits[0].metadata["task"] == 1
    assert 0.0 <= hits[0].distance < 1.0

    reopened = ChromaMemory.persistent(tmp_path / "memory")
    assert reopened.count() == 3
    assert reopened.search("fruit nutrition", k=1)[0].id == "r2"


def test_upsert_never_duplicates(tmp_path):
    memory = ChromaMemory.persistent(tmp_path / "memory")
    memory.add("same", "first version")
    memory.add("same", "second version")
    assert memory.count() == 1
    assert memory.search("version", k=5)[0].text == "second version"


def test_empty_memory_and_zero_k(tmp_path):
    memory = ChromaMemory.persistent(tmp_path / "memory")
    assert memory.search("anything") == []
    memory.add("a", "text")
    assert memory.search("text", k=0) == []


def test_embedder_is_the_packaged_minilm_not_chromas_default(tmp_path):
    embed = PackagedEmbedder()
    vectors = embed(["a sentence", "another sentence"])
    assert len(vectors) == 2 and len(vectors[0]) == 384  # all-MiniLM-L6-v2's width
    memory = ChromaMemory(chromadb.PersistentClient(path=str(tmp_path / "c")), collection="check")
    assert isinstance(memory._collection._embedding_function, PackagedEmbedder)
