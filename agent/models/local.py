"""Local causal LM through transformers: GPU in bf16 when present, CPU in fp32 otherwise.

GGUF checkpoints are dequantized once and cached as safetensors (keyed by the file's hash), so only the
first run pays for the conversion. Structured calls decode under an xgrammar grammar built from the schema.
"""

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from agent.errors import ModelError, UsageError
from agent.models.base import (
    INTERJECTION_TRIGGERS,
    REPETITION_PENALTY,
    TOP_P,
    ChatModel,
    Generation,
    Interjector,
    Message,
)
from agent.models.catalog import ModelSource
from agent.models.grammar import GrammarCache
from agent.models.prefix import PrefixCache
from agent.models.validate import check_source

GREEDY: dict[str, Any] = {"do_sample": False, "top_p": None, "top_k": None, "temperature": None}


def pick_device(requested: str = "auto") -> torch.device:
    """auto -> cuda when available, else cpu; an unavailable explicit choice is a usage error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as exc:
        raise UsageError(f"unknown device {requested!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {requested!r} asked for, but torch sees no CUDA GPU (see README: GPU install)")
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {requested!r}: use auto, cpu, cuda or cuda:N")
    return device


class LocalModel(ChatModel):
    """A ChatModel over transformers. Greedy decoding: the same prompt gives the same reply."""

    supports_schema = True
    supports_batch = True
    supports_prefix_reuse = True
    supports_interjection = True
    supports_adapters = True
    supports_sampling = True

    def __init__(self, source: ModelSource, *, device: str = "auto", cache_dir: Path | None = None,
                 reuse_prefix: bool = True) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES
        from transformers.utils import logging as hf_logging

        started = time.perf_counter()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.device = pick_device(device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.name = source.label
        check_source(source, tuple(GGUF_SUPPORTED_ARCHITECTURES))
        try:
            directory = _materialize(source, cache_dir) if source.gguf_file else source.directory
            self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                directory, dtype=self.dtype, local_files_only=True, attn_implementation="sdpa"
            ).to(self.device)  # type: ignore[arg-type]  # transformers' stubs: to() takes a device
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:  # loaders' ways of saying "bad files"
            where = source.directory / (source.gguf_file or "")
            raise ModelError(f"cannot load the model at {where}: {exc}".splitlines()[0]) from exc
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.context = getattr(self.model.config, "max_position_embeddings", None)
        self.grammars = GrammarCache(self.tokenizer, self.model.config.vocab_size, self.eos_ids,
                                     directory=cache_dir / "grammars" if cache_dir else None,
                                     model_key=str(directory.resolve()))
        self.tokenizer.padding_side = "left"
        self.reuse_prefix = reuse_prefix
        self._decoding: dict[str, Any] = GREEDY
        self.prefixes = PrefixCache()
        self.load_seconds = time.perf_counter() - started  # reported: a run's budget starts after loading

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation:
        start = time.perf_counter()
        ids = self._prompt_ids(messages)
        prefix = self.prefixes.lookup(ids, self._prefill) if self.reuse_prefix else None
        output = self._generate(torch.tensor([ids], device=self.device), None, schema, max_new_tokens, prefix,
                                deadline)
        completion = _until_eos(output[0, len(ids):].tolist(), self.eos_ids)
        text = str(self.tokenizer.decode(completion, skip_special_tokens=True))  # one sequence in, one str out
        return Generation(text, len(ids), len(completion), time.perf_counter() - start)

    def generate_interjected(self, messages: Sequence[Message], interject: Interjector, *,
                             max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        """Free text decoded in stretches: a stretch stops where `interject` has text to add, the text is
        appended as tokens, and the next stretch goes on from it (the prompt's prefix cache reused)."""
        start = time.perf_counter()
        ids = self._prompt_ids(messages)
        completion: list[int] = []
        while len(completion) < max_new_tokens:
            stop = _Interjection(self.tokenizer, len(ids), interject)
            prefix = self.prefixes.lookup(ids, self._prefill) if self.reuse_prefix else None
            output = self._generate(torch.tensor([ids + completion], device=self.device), None, None,
                                    max_new_tokens - len(completion), prefix, deadline, stop)
            stretch = output[0, len(ids) + len(completion):].tolist()
            completion += _until_eos(stretch, self.eos_ids)
            if stop.insert is None or (deadline is not None and time.monotonic() >= deadline):
                break  # ended (end of sequence, token budget, deadline) with nothing to add
            completion += self.tokenizer.encode(stop.insert, add_special_tokens=False)
        text = str(self.tokenizer.decode(completion, skip_special_tokens=True))
        return Generation(text, len(ids), len(completion), time.perf_counter() - start)

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], *, schema: dict[str, Any] | None = None,
        max_new_tokens: int = 256, deadline: float | None = None,
    ) -> list[Generation]:
        """Several independent prompts in one batched generate (left-padded): the weights are read once per
        step for all of them. Greedy replies equal those of `generate` one by one."""
        start = time.perf_counter()
        prompts = [self._prompt_ids(m) for m in conversations]
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        output = self._generate(input_ids, mask, schema, max_new_tokens, None, deadline)
        seconds = time.perf_counter() - start
        generations = []
        for row, prompt in zip(output[:, width:].tolist(), prompts):
            completion = _until_eos(row, self.eos_ids)
            text = str(self.tokenizer.decode(completion, skip_special_tokens=True))
            generations.append(Generation(text, len(prompt), len(completion), seconds))
        return generations

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_ids(messages))

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        encoded: Any = self.tokenizer.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in messages], add_generation_prompt=True,
            tokenize=True, return_dict=True)
        return list(encoded["input_ids"])  # a BatchEncoding with return_dict=True; the stub says str

    def _prefill(self, ids: list[int]) -> Any:
        with torch.inference_mode():
            return self.model(torch.tensor([ids], device=self.device), use_cache=True).past_key_values

    def _generate(self, input_ids: torch.Tensor, mask: torch.Tensor | None, schema: dict[str, Any] | None,
                  max_new_tokens: int, cache: Any, deadline: float | None = None,
                  stop: Any = None) -> torch.Tensor:
        options: dict[str, Any] = {**self._decoding, "max_new_tokens": max_new_tokens}
        if stop is not None:
            options["stopping_criteria"] = StoppingCriteriaList([stop])
        if deadline is not None:  # checked after every new token: a budget bounds the call itself
            options["max_time"] = max(deadline - time.monotonic(), 0.001)
        if schema is not None:  # one grammar for the whole batch; each row gets its own matcher
            options["logits_processor"] = [self.grammars.processor(schema)]
        else:
            options["repetition_penalty"] = REPETITION_PENALTY
        if mask is None:
            mask = torch.ones_like(input_ids)
        with torch.inference_mode():
            return self.model.generate(
                input_ids=input_ids, attention_mask=mask, past_key_values=cache, eos_token_id=self.eos_ids,
                pad_token_id=self.tokenizer.pad_token_id, **options,
            )

    @contextmanager
    def sampling(self, temperature: float, seed: int) -> Iterator[None]:
        torch.manual_seed(seed)
        self._decoding = {"do_sample": True, "temperature": temperature, "top_p": TOP_P, "top_k": None}
        try:
            yield
        finally:
            self._decoding = GREEDY

    # --- adapter hook (agent.learning): serve from other weights, e.g. the same model with a LoRA adapter ---
    def swap_weights(self, model: Any) -> None:
        """Generate with `model` from now on; prefixes cached from the previous weights are dropped."""
        self.model = model
        self.prefixes = PrefixCache()


class _Interjection(StoppingCriteria):
    """Stops a stretch of decoding after a token holding a trigger, when the interjector has text to add."""

    def __init__(self, tokenizer: Any, prompt_tokens: int, interject: Interjector) -> None:
        self.tokenizer, self.prompt_tokens, self.interject = tokenizer, prompt_tokens, interject
        self.insert: str | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        row = input_ids[0].tolist()
        if INTERJECTION_TRIGGERS & set(self.tokenizer.decode(row[-1:], skip_special_tokens=True)):
            reply = self.tokenizer.decode(row[self.prompt_tokens:], skip_special_tokens=True)
            self.insert = self.interject(reply)
        return torch.full((input_ids.shape[0],), self.insert is not None, dtype=torch.bool,
                          device=input_ids.device)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    ids = [i for i in ids if i is not None]
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.append(end_of_turn)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))


def _until_eos(tokens: list[int], eos_ids: list[int]) -> list[int]:
    for index, token in enumerate(tokens):
        if token in eos_ids:
            return tokens[:index]
    return tokens


def _file_key(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=8)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _materialize(source: ModelSource, cache_dir: Path | None) -> Path:
    """Dequantize a GGUF file once into a safetensors directory under the cache; reuse it afterwards."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_path = source.directory / str(source.gguf_file)
    if cache_dir is None:
        cache_dir = Path(tempfile.gettempdir()) / "agent-cache"
    target = cache_dir / "models" / f"{gguf_path.stem}-{_file_key(gguf_path)}"
    if (target / "config.json").is_file():
        return target
    tokenizer = AutoTokenizer.from_pretrained(source.directory, gguf_file=source.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        source.directory, gguf_file=source.gguf_file, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "source.json").write_text(json.dumps({"gguf": str(gguf_path)}))
        staging.rename(target)  # atomic: a half-written cache is never picked up
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").is_file():
            raise
    return target
