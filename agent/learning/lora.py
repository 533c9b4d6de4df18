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
    max_length: int = 2048
    top_layers: float = 1 / 3  # adapt only the top third of the layers: backward stops there, ~2x faster
    max_examples: int = 320  # a random subset beyond this keeps CPU training time bounded
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
    """Left-padded batches, so every reply ends at the last position and only the reply's logits are needed."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), size):
        chunk = [examples[i] for i in order[start:start + size]]
        width = max(len(e.input_ids) for e in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, example in enumerate(chunk):
            n = len(example.input_ids)
            ids[row, width - n:], labels[row, width - n:], mask[row, width - n:] = (
                torch.tensor(example.input_ids), torch.tensor(example.labels), 1)
        keep = 1 + max(sum(label != IGNORE for label in e.labels) for e in chunk)
        yield ids, labels, mask, min(keep, width)


def reply_loss(model: Any, ids: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
    """Next-token loss on the reply tokens, computing the vocabulary projection for the last `keep` positions
    only (the prompt's logits are never needed)."""
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
    targets = labels[:, -keep + 1:] if keep > 1 else labels[:, :0]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                                             targets.reshape(-1), ignore_index=IGNORE)


def attach_lora(model: Any, settings: LoraSettings) -> Any:
    """A fresh LoRA adapter on `model` (B = 0, so it starts as the identity); only its weights train."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in TARGET_MODULES if t in present] or "all-linear"
    layers = getattr(model.config, "num_hidden_layers", None)
    top = None if not layers or settings.top_layers >= 1 else list(
        range(layers - max(1, round(layers * settings.top_layers)), layers))
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=targets, layers_to_transform=top if targets != "all-linear" else None,
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def train_lora(model: Any, examples: list[Example], settings: LoraSettings, pad_id: int,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the adapter of a peft `model` in place (AdamW, linear decay, on the model's device).
    Returns figures: steps, first and last mean loss, seconds."""
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    if len(examples) > settings.max_examples:
        examples = rng.sample(examples, settings.max_examples)
    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    steps = settings.epochs * math.ceil(len(examples) / settings.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), max(1, steps))
    model.train()
    started, losses, epoch_losses = time.perf_counter(), [], []
    for epoch in range(settings.epochs):
        total = count = 0.0
        for ids, labels, mask, keep in _batches(examples, settings.batch_size, pad_id, rng):
            loss = reply_loss(model, ids.to(device), labels.to(device), mask.to(device), keep)
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
