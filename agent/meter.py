"""Every model call goes through the meter: it counts usage, enforces the token and time budgets, and
reports each call as an event."""

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from agent.errors import BudgetExhausted
from agent.events import Event, ModelCalled
from agent.models.base import ChatModel, Generation, Message
from agent.records import Usage


class Meter:
    def __init__(self, model: ChatModel, *, max_tokens: int, max_seconds: float,
                 emit: Callable[[Event], None]) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.max_seconds = max_seconds
        self.emit = emit
        self.usage = Usage()
        self.started = time.monotonic()
        self._bounded = True

    def check(self) -> None:
        """Raise BudgetExhausted when the run has spent its tokens or its time."""
        if not self._bounded:
            return
        if self.usage.total_tokens >= self.max_tokens:
            raise BudgetExhausted("max_tokens", f"token budget of {self.max_tokens} spent")
        if time.monotonic() - self.started >= self.max_seconds:
            raise BudgetExhausted("max_seconds", f"time budget of {self.max_seconds:g} s spent")

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """For the closing answer: it is written from what exists even after a budget is spent."""
        self._bounded = False
        try:
            yield
        finally:
            self._bounded = True

    def generate(self, messages: Sequence[Message], *, purpose: str, schema: dict[str, Any] | None = None,
                 max_new_tokens: int = 256) -> Generation:
        self.check()
        generation = self.model.generate(messages, schema=schema, max_new_tokens=max_new_tokens)
        self.usage.llm_calls += 1
        self.usage.prompt_tokens += generation.prompt_tokens
        self.usage.completion_tokens += generation.completion_tokens
        self.usage.seconds += generation.seconds
        self.emit(ModelCalled(
            purpose=purpose, prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens, seconds=round(generation.seconds, 4),
            tokens_per_second=round(generation.tokens_per_second, 2),
        ))
        return generation
