"""The ChatModel protocol: the only thing the rest of the agent knows about a language model."""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, runtime_checkable

from agent.errors import UsageError


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


Interjector = Callable[[str], str | None]  # the reply so far -> text to append to it as if decoded, or None
INTERJECTION_TRIGGERS = frozenset("=\n")  # an interjector is asked after a token that writes one of these

# every backend's greedy free text: the small default model loops on it without a light repetition penalty
REPETITION_PENALTY = 1.1
TOP_P = 0.95  # sampled replies (agent learn) draw from the likeliest tokens that hold this much probability


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
    backends that can constrain decoding to it do, the others must state it in the request. `deadline`, when
    given, is a time.monotonic() instant: the backend stops generating there and returns what it has (a server
    call times out there), so a time budget bounds the call itself.

    A backend declares what else it can do; subclass ChatModel to inherit these defaults (all off):
    `supports_schema`: decoding is constrained to the schema, so replies have its shape by construction.
    `supports_batch`: `generate_batch(conversations, **same keywords)` runs independent prompts in one pass.
    `supports_prefix_reuse`: the KV cache of a prompt prefix shared with an earlier call is not read again.
    `supports_adapters`: `swap_weights(model)` serves other weights (a LoRA adapter) from then on.
    `supports_sampling`: `with sampling(temperature, seed):` samples replies instead of decoding greedily.
    `supports_interjection`: `generate_interjected(messages, interject)` writes free text and asks `interject`,
    after each token that writes "=" or a line break, with the reply so far; the text it returns is appended to
    the reply as if decoded, and decoding goes on from it (the calculator's value after "6 * 2 =",
    agent/executing/worked_arithmetic.py)."""

    name: str
    supports_schema: bool = False
    supports_batch: bool = False
    supports_prefix_reuse: bool = False
    supports_adapters: bool = False
    supports_sampling: bool = False
    supports_interjection: bool = False
    # tokens the model reads in one call, prompt and reply together; None where it is not known here (a server's
    # model): a known context makes every call fit its prompt into it (agent/prompting/fitting.py)
    context: int | None = None

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """The prompt tokens of `messages`; called only when `context` is set. This default guesses four
        characters a token; a backend with its tokenizer at hand counts exactly."""
        return sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)

    def generate(
        self, messages: Sequence[Message], *, schema: dict[str, Any] | None = None, max_new_tokens: int = 256,
        deadline: float | None = None,
    ) -> Generation: ...

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], *, schema: dict[str, Any] | None = None,
        max_new_tokens: int = 256, deadline: float | None = None,
    ) -> list[Generation]:
        """Called only when `supports_batch`; this default asks one by one."""
        return [self.generate(c, schema=schema, max_new_tokens=max_new_tokens, deadline=deadline)
                for c in conversations]

    def generate_interjected(self, messages: Sequence[Message], interject: Interjector, *,
                             max_new_tokens: int = 256, deadline: float | None = None) -> Generation:
        """Called only when `supports_interjection`."""
        raise UsageError(f"the {self.name} backend cannot take text into a reply as it decodes")

    def swap_weights(self, model: Any) -> None:
        """Called only when `supports_adapters`."""
        raise UsageError(f"the {self.name} backend cannot serve other weights (a LoRA adapter): "
                         "use a local model with --backend transformers")

    def sampling(self, temperature: float, seed: int) -> AbstractContextManager[None]:
        """Called only when `supports_sampling`: within the block every reply (structured ones still under
        their grammar) is sampled at `temperature` from a generator seeded with `seed`; greedy after it."""
        raise UsageError(f"the {self.name} backend decodes greedily only")


def length_over_pattern(schema: Any) -> Any:
    """`schema` for a grammar compiler that ignores a string's maxLength beside a pattern (xgrammar, llama.cpp):
    where the pattern itself is unbounded (`*` or `+`), the pattern goes and the length cap stays, so no string
    can run to the token limit. Bounded patterns (a date) keep their shape. The reply is still validated
    against the full schema's model afterwards."""
    if isinstance(schema, list):
        return [length_over_pattern(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: length_over_pattern(value) for key, value in schema.items()}
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and "maxLength" in schema and ("*" in pattern or "+" in pattern):
        del schema["pattern"]
    return schema
