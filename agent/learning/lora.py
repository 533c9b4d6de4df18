"""Supervised examples from recorded model calls, and a LoRA adapter trained on them with peft."""

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from agent.learning.trajectories import RecordedCall

IGNORE = -100  # label of prompt tokens: the loss is on the reply only
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    lr: float = 5e-4
    epochs: int = 2
    batch_size: int = 4
    max_length: int = 1024
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


def to_examples(calls: Sequence[RecordedCall], tokenizer: Any, max_length: int) -> list[Example]:
    """One example per distinct accepted call: the chat-templated prompt, then the reply and end of turn.
    Prompt tokens are masked out of the loss; too-long examples are dropped, not cut (a cut reply teaches
    the model to stop mid-JSON)."""
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    end_ids = [end] if isinstance(end, int) and end != tokenizer.unk_token_id else [tokenizer.eos_token_id]
    seen, examples = set(), []
    for call in calls:
        if call.rejected or not call.reply.strip():
            continue
        key = (repr(call.messages), call.reply)
        if key in seen:
            continue
        seen.add(key)
        prompt = tokenizer.apply_chat_template(call.messages, add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]
        reply = tokenizer(call.reply, add_special_tokens=False)["input_ids"] + end_ids
        if len(prompt) + len(reply) > max_length:
            continue
        examples.append(Example(prompt + reply, [IGNORE] * len(prompt) + reply))
    return examples


def _batches(examples: list[Example], size: int, pad: int, rng: random.Random):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), size):
        chunk = [examples[i] for i in order[start:start + size]]
        width = max(len(e.input_ids) for e in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, example in enumerate(chunk):  # right padding: training needs no generation alignment
            n = len(example.input_ids)
            ids[row, :n], labels[row, :n], mask[row, :n] = (torch.tensor(example.input_ids),
                                                            torch.tensor(example.labels), 1)
        yield ids, labels, mask


def attach_lora(model: Any, settings: LoraSettings) -> Any:
    """A fresh LoRA adapter on `model` (B = 0, so it starts as the identity); only its weights train."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in TARGET_MODULES if t in present] or "all-linear"
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def train_lora(model: Any, examples: list[Example], settings: LoraSettings, pad_id: int,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the adapter of a peft `model` in place (AdamW, linear decay, on the model's device).
    Returns figures: steps, first and last mean loss, seconds."""
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    steps = settings.epochs * math.ceil(len(examples) / settings.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), max(1, steps))
    model.train()
    started, losses, epoch_losses = time.perf_counter(), [], []
    for epoch in range(settings.epochs):
        total = count = 0.0
        for ids, labels, mask in _batches(examples, settings.batch_size, pad_id, rng):
            loss = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total, count = total + loss.item(), count + 1
            losses.append(loss.item())
        epoch_losses.append(total / max(1, count))
        if progress is not None:
            progress(f"epoch {epoch + 1}/{settings.epochs}: mean loss {epoch_losses[-1]:.4f}")
    model.eval()
    return {"steps": len(losses), "examples": len(examples), "epoch_losses": [round(x, 4) for x in epoch_losses],
            "seconds": round(time.perf_counter() - started, 1)}
