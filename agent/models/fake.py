"""A scripted model for tests (yours and ours): replies come from a queue, every call is recorded."""

import json
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agent.models.base import ChatModel, Generation, Interjector, Message

Reply = str | dict | BaseModel | Callable[[Sequence[Message], dict[str, Any] | None], str]


@dataclass
class Call:
    messages: list[Message]
    schema: dict[str, Any] | None
    max_new_tokens: int
    deadline: float | None = None


@dataclass
class ScriptedModel(ChatModel):
    """`enqueue()` replies in order; a dict or pydantic object is sent as JSON, a callable is asked with
    (messages, schema). An empty queue answers `default` (or raises if there is none). `seconds` makes each
    call take that long, as a slow backend would; a `deadline` cuts it short with an empty reply.
    `supports_batch=True` makes it a batching backend: `batches` records the size of each batch.
    `supports_interjection=True` lets `generate_interjected` write interjected text after each "=" of a reply,
    in place of the number the reply itself wrote there."""

    replies: list[Reply] = field(default_factory=list)
    default: Reply | None = None
    name: str = "scripted"
    seconds: float = 0.0
    calls: list[Call] = field(default_factory=list)
    supports_batch: bool = False
    batches: list[int] = field(default_factory=list)
    supports_interjection: bool = False
    context: int | None = None  # set to make every call fit its prompt (one token a word here)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return _words(messages)

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque(self.replies)

    def enqueue(self, *replies: Reply) -> "ScriptedModel":
        self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation:
        self.calls.append(Call(list(messages), schema, max_new_tokens, deadline))
        if self._queue:
            reply = self._queue.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"ScriptedModel has no reply left for call {len(self.calls)}")
        text = _as_text(reply, messages, schema)
        prompt_tokens = _words(messages)
        started = time.monotonic()
        if self.seconds:
            cut = deadline is not None and started + self.seconds > deadline
            time.sleep(max(0.0, deadline - started) if deadline is not None and cut else self.seconds)
            if cut:  # stopped at the deadline, as a real backend stops generating there
                return Generation("", prompt_tokens, 0, seconds=time.monotonic() - started)
        return Generation(text, prompt_tokens, max(1, len(text.split())), seconds=max(0.001, self.seconds))

    def generate_interjected(self, messages: Sequence[Message], interject: Interjector, *,
                             max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        generation = self.generate(messages, max_new_tokens=max_new_tokens, deadline=deadline)
        text = _interjected(generation.text, interject)
        return Generation(text, generation.prompt_tokens, max(1, len(text.split())), generation.seconds)

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], *, schema: dict[str, Any] | None = None,
        max_new_tokens: int = 256, deadline: float | None = None,
    ) -> list[Generation]:
        self.batches.append(len(conversations))
        return [self.generate(c, schema=schema, max_new_tokens=max_new_tokens, deadline=deadline)
                for c in conversations]


def _words(messages: Sequence[Message]) -> int:
    return sum(len(m["content"].split()) for m in messages)


_OWN_NUMBER = re.compile(r" ?-?\d[\d,]*(?:\.\d+)?")
_OWN_OUTPUT = re.compile(r"[^`]*```\n?")


def _interjected(text: str, interject: Interjector) -> str:
    """`text` as a backend decoding it would return it: after each "=" or line break, what `interject` gives for
    the text so far, in place of what the scripted reply wrote there (the number after "=", the rest of an
    output block), as the model would have gone on from the interjected text."""
    out, i = "", 0
    while i < len(text):
        out, i = out + text[i], i + 1
        if out.endswith(("=", "\n")) and (insert := interject(out)) is not None:
            out += insert
            own = (_OWN_NUMBER if text[i - 1] == "=" else _OWN_OUTPUT).match(text, i)
            i = own.end() if own else i
    return out


def _as_text(reply: Reply, messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    if callable(reply) and not isinstance(reply, BaseModel):
        return reply(messages, schema)
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, dict):
        return json.dumps(reply)
    return reply
