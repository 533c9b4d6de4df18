"""Every model call goes through the meter: it fits the prompt into the model's context, counts usage, enforces
the token and time budgets, and reports each call as an event."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agent.errors import BudgetExhausted
from agent.events import Event, ModelCalled
from agent.models.base import ChatModel, Generation, Interjector, Message
from agent.prompting.fitting import fit
from agent.records import Usage


class Meter:
    def __init__(self, model: ChatModel, *, max_tokens: int, max_seconds: float,
                 emit: Callable[[Event], None], usage: Usage | None = None) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.max_seconds = max_seconds
        self.emit = emit
        self.usage = usage.model_copy() if usage else Usage()  # a resumed run starts from what it spent
        self._earlier_seconds = self.usage.seconds
        self._started = time.monotonic()
        self._bounded = True

    def elapsed(self) -> float:
        """Wall seconds of the run, earlier sessions included."""
        return self._earlier_seconds + time.monotonic() - self._started

    def sync(self) -> Usage:
        """Usage with `seconds` brought up to now."""
        self.usage.seconds = round(self.elapsed(), 3)
        return self.usage

    def check(self) -> None:
        """Raise BudgetExhausted when the run has spent its tokens or its time."""
        if not self._bounded:
            return
        if self.usage.total_tokens >= self.max_tokens:
            raise BudgetExhausted("max_tokens", f"token budget of {self.max_tokens} spent")
        if self.elapsed() >= self.max_seconds:
            raise BudgetExhausted("max_seconds", f"time budget of {self.max_seconds:g} s spent")

    def deadline(self) -> float | None:
        """The time.monotonic() instant the time budget runs out, passed to the backend so that it bounds the
        generation itself; None while unbounded (the closing answer)."""
        if not self._bounded:
            return None
        return time.monotonic() + self.max_seconds - self.elapsed()

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """For the closing answer: it is written from what exists even after a budget is spent."""
        self._bounded = False
        try:
            yield
        finally:
            self._bounded = True

    def generate_batch(self, conversations: Sequence[Sequence[Message]], *, purpose: str,
                       task_ids: Sequence[int | None] = (), max_new_tokens: int = 256) -> list[Generation]:
        """Independent prompts in one batched call when the backend declares one, else one by one; `task_ids`
        names the task each prompt serves."""
        ids = list(task_ids) or [None] * len(conversations)
        if len(conversations) < 2 or not self.model.supports_batch:
            return [self.generate(c, purpose=purpose, task_id=i, max_new_tokens=max_new_tokens)
                    for c, i in zip(conversations, ids, strict=True)]
        self.check()
        fitted = [self._fit(c, max_new_tokens) for c in conversations]
        read = self._read()
        generations = self.model.generate_batch([messages for messages, _ in fitted], max_new_tokens=max_new_tokens,
                                                deadline=self.deadline())
        read = self._read(read)  # the batch's reading, put on its first call
        for n, (generation, task_id, (_, left_out)) in enumerate(zip(generations, ids, fitted, strict=True)):
            self._count(purpose, generation, task_id, left_out, read if n == 0 or read is None else 0)
        return generations

    def generate(self, messages: Sequence[Message], *, purpose: str, schema: dict[str, Any] | None = None,
                 task_id: int | None = None, max_new_tokens: int = 256) -> Generation:
        self.check()
        messages, left_out = self._fit(messages, max_new_tokens)
        read = self._read()
        generation = self.model.generate(messages, schema=schema, max_new_tokens=max_new_tokens,
                                         deadline=self.deadline())
        self._count(purpose, generation, task_id, left_out, self._read(read))
        return generation

    def generate_interjected(self, messages: Sequence[Message], interject: Interjector, *, purpose: str,
                             task_id: int | None = None, max_new_tokens: int = 256) -> Generation:
        """Free text with `interject`'s text taken in as it decodes (only when the backend supports it)."""
        self.check()
        messages, left_out = self._fit(messages, max_new_tokens)
        read = self._read()
        generation = self.model.generate_interjected(messages, interject, max_new_tokens=max_new_tokens,
                                                     deadline=self.deadline())
        self._count(purpose, generation, task_id, left_out, self._read(read))
        return generation

    def _fit(self, messages: Sequence[Message], max_new_tokens: int) -> tuple[Sequence[Message], str]:
        """The messages cut down to leave room for the reply in the model's context (at least half of it for the
        prompt), and what was left out."""
        context = self.model.context
        if context is None:
            return messages, ""
        fitted = fit(messages, context - min(max_new_tokens, context // 2), self.model.count_tokens)
        return fitted.messages, fitted.note

    def _read(self, before: int | None = None) -> int | None:
        """The backend's count of prompt tokens it has read (`prefilled_tokens`, where it keeps one); with
        `before`, those read since. None where the backend does not count."""
        count = getattr(self.model, "prefilled_tokens", None)
        if not isinstance(count, int):
            return None
        return count if before is None else count - before

    def _count(self, purpose: str, generation: Generation, task_id: int | None = None, left_out: str = "",
               read: int | None = None) -> None:
        self.usage.llm_calls += 1
        self.usage.prompt_tokens += generation.prompt_tokens
        self.usage.completion_tokens += generation.completion_tokens
        self.emit(ModelCalled(
            purpose=purpose, task_id=task_id, prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens, seconds=round(generation.seconds, 4),
            tokens_per_second=round(generation.tokens_per_second, 2), left_out=left_out, read_tokens=read,
        ))
