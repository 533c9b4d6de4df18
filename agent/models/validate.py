"""Checks that a model's files are what they claim before a backend loads them, so a random, truncated or
foreign file is one clear ModelError instead of a crash deep inside a loader."""

import json
import math
import struct
from pathlib import Path
from typing import BinaryIO

from agent.errors import ModelError
from agent.models.catalog import ModelSource

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_COUNT = 1 << 24  # more keys, tensors or array items than any real model: a garbled header


def check_source(source: ModelSource, architectures: tuple[str, ...] | None = None) -> None:
    """ModelError unless `source` holds a whole GGUF file (of one of `architectures`, when given) or an HF
    directory whose config.json names a model type."""
    if source.gguf_file:
        architecture = check_gguf(source.directory / source.gguf_file)
        if architectures is not None and architecture not in architectures:
            raise ModelError(f"{source.gguf_file} is a {architecture!r} model, which this backend cannot load "
                             f"(it loads {', '.join(sorted(architectures))})")
    else:
        check_config(source.directory / "config.json")


def check_config(path: Path) -> None:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not readable JSON ({exc}); point --model at a complete model directory") from None
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise ModelError(f"{path} names no model_type, so it is not a model's config; point --model at a "
                         "complete Hugging Face model directory")


def check_gguf(path: Path) -> str:
    """The model's architecture; ModelError when the file is not a GGUF file or is cut short."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            architecture, tensors_end = _read_header(handle, size)
    except (OSError, ValueError, struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise ModelError(f"{path} is not a readable GGUF model ({exc}); download it again or pick another "
                         "file") from None
    if tensors_end > size:
        raise ModelError(f"{path} is truncated: its tensors need {tensors_end:,} bytes, the file has {size:,}; "
                         "download it again")
    return architecture


def _read_header(handle: BinaryIO, size: int) -> tuple[str, int]:
    if _take(handle, 4) != b"GGUF":
        raise ValueError("no GGUF magic number at its start")
    version, n_tensors, n_keys = struct.unpack("<IQQ", _take(handle, 20))
    if version not in (2, 3) or n_tensors > _MAX_COUNT or n_keys > _MAX_COUNT:
        raise ValueError(f"unsupported header (version {version}, {n_tensors} tensors, {n_keys} keys)")
    fields: dict[str, object] = {}
    for _ in range(n_keys):
        key = _string(handle)
        fields[key] = _value(handle, struct.unpack("<I", _take(handle, 4))[0])
    from gguf import GGML_QUANT_SIZES

    end = 0
    for _ in range(n_tensors):
        _string(handle)
        (dims,) = struct.unpack("<I", _take(handle, 4))
        shape = struct.unpack(f"<{dims}Q", _take(handle, 8 * dims)) if dims <= 8 else ()
        kind, offset = struct.unpack("<IQ", _take(handle, 12))
        if dims > 8 or kind not in GGML_QUANT_SIZES:
            raise ValueError(f"a tensor of {dims} dimensions and unknown type {kind}")
        block, type_size = GGML_QUANT_SIZES[kind]
        end = max(end, offset + math.prod(shape) * type_size // block)
    alignment = fields.get("general.alignment", 32)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
    data_start = -(-handle.tell() // alignment) * alignment
    architecture = fields.get("general.architecture")
    if not isinstance(architecture, str):
        raise ValueError("no general.architecture")
    return architecture, data_start + end


def _take(handle: BinaryIO, n: int) -> bytes:
    data = handle.read(n)
    if len(data) != n:
        raise ValueError("the header ends early: the file is truncated")
    return data


def _string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _take(handle, 8))
    if length > _MAX_COUNT:
        raise ValueError(f"a string of {length} bytes in the header")
    return _take(handle, length).decode("utf-8")


def _value(handle: BinaryIO, kind: int) -> object:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, _take(handle, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        item, count = struct.unpack("<IQ", _take(handle, 12))
        if count > _MAX_COUNT:
            raise ValueError(f"an array of {count} items in the header")
        if item in _SCALARS:  # skipped whole: only its extent matters here
            _take(handle, count * struct.calcsize(_SCALARS[item]))
            return None
        for _ in range(count):
            _value(handle, item)
        return None
    raise ValueError(f"unknown value type {kind} in the header")
