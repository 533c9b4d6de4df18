"""Fitting a call's messages into what the model can read: a prompt never outgrows the context.

What goes first is what the call can best do without: worked examples (earlier turns), oldest first, then the
longest pieces of material (recalls, step results, a file's text: whatever sits between <data> and </data>),
each cut at its end with a note of how much was left out. The system prompt, the objective and the
instructions are kept whole; if they alone do not fit, the call cannot be made and says so."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.errors import ModelError
from agent.models.base import Message

_DATA = re.compile(r"<data>(.*?)</data>", re.DOTALL)
_NOTE = re.compile(r" … \[(\d+) characters left out\]$")
MIN_KEPT_CHARS = 200  # a piece of material is never cut below this: what is left must still say something


@dataclass(frozen=True)
class Fitted:
    messages: list[Message]
    examples_left_out: int = 0
    chars_left_out: int = 0

    @property
    def note(self) -> str:
        """What was left out, in words ('' when nothing was)."""
        parts = [f"{self.examples_left_out} worked example(s)"] if self.examples_left_out else []
        parts += [f"{self.chars_left_out} characters of material"] if self.chars_left_out else []
        return ", ".join(parts)


def fit(messages: Sequence[Message], limit: int, count: Callable[[Sequence[Message]], int]) -> Fitted:
    """`messages` cut down until `count` (the model's own prompt tokens) is at most `limit`."""
    kept = list(messages)
    tokens = count(kept)
    examples = 0
    # the turns between the system prompt and the final message are worked examples, the oldest first
    while tokens > limit and len(kept) >= 4 and kept[0]["role"] == "system":
        del kept[1:3]
        examples += 1
        tokens = count(kept)
    chars = 0
    while tokens > limit:
        last = kept[-1]["content"]
        longest = max(_DATA.finditer(last), key=lambda m: len(m.group(1)), default=None)
        if longest is None or len(longest.group(1)) <= MIN_KEPT_CHARS:
            raise ModelError(f"the prompt needs {tokens} tokens even with its worked examples and long material "
                             f"left out, more than the {limit} this model can read beside its reply: shorten the "
                             "objective")
        inner = longest.group(1)
        earlier = _NOTE.search(inner)  # cut before: cut the material again, not its note
        cut_before = int(earlier.group(1)) if earlier else 0
        material = inner[:earlier.start()] if earlier else inner
        per_token = len(last) / max(1, count([kept[-1]]))  # characters per token of this text
        excess = int((tokens - limit) * per_token * 1.1) + 64
        keep = max(MIN_KEPT_CHARS, len(material) - excess)
        if keep >= len(material):
            raise ModelError(f"the prompt needs {tokens} tokens even with its worked examples and long material "
                             f"left out, more than the {limit} this model can read beside its reply: shorten the "
                             "objective")
        cut = len(material) - keep
        chars += cut
        shortened = f"{material[:keep]} … [{cut_before + cut} characters left out]"
        kept[-1] = {**kept[-1], "content": last[:longest.start(1)] + shortened + last[longest.end(1):]}
        tokens = count(kept)
    return Fitted(kept, examples, chars)
