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


def test_embeddings_match_the_sentence_transformers_pipeline(tmp_path):
    """The ONNX export (built once in the cache dir) gives the vectors sentence-transformers gives."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from agent.memory.embedder import embed, encoder_file, packaged_encoder_dir

    texts = ["What is 614 * 624?", "A long sentence about paperclips " * 60, "", "Café, naïve, 東京"]
    ours = embed(texts, tmp_path)
    assert encoder_file(tmp_path).is_file() and not list((tmp_path / "embedder").glob("*.tmp"))
    reference = SentenceTransformer(str(packaged_encoder_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (4, 384)
    assert np.abs(ours - reference).max() < 1e-4


def test_a_warm_process_embeds_without_torch(tmp_path):
    """After the one-time export, embedding needs neither torch nor sentence-transformers (seconds at start)."""
    import subprocess
    import sys

    from agent.memory.embedder import encoder_file

    encoder_file(tmp_path)
    code = ("import sys; from pathlib import Path; from agent.memory.embedder import embed; "
            f"v = embed(['hello'], Path({str(tmp_path)!r})); "
            "assert v.shape == (1, 384); "
            "print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_damaged_export_is_made_again(tmp_path):
    from agent.memory.embedder import _encoder, embed, encoder_file

    first = embed(["hello"], tmp_path)
    encoder_file(tmp_path).write_bytes(b"not an onnx model")
    _encoder.cache_clear()  # as a new process: the damaged file is what it finds
    assert (embed(["hello"], tmp_path) == first).all()
    assert encoder_file(tmp_path).stat().st_size > 1_000_000
