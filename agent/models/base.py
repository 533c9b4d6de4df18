"""The ChatModel protocol: the only thing the rest of the agent knows about a language model."""

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, TypedDict, runtime_checkable


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


@runtime_checkable
class ChatModel(Protocol):
    """A backend implements one method. `schema`, when given, is a JSON schema the reply must satisfy;
    backends that can constrain decoding to it do, the others just receive it. `deadline`, when given, is a
    time.monotonic() instant: the backend stops generating there and returns what it has (a server call times
    out there), so a time budget bounds the call itself. A backend with a batched `generate_batch` takes the
    same keywords."""

    name: str

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation: ...
