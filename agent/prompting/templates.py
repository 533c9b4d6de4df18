"""The conversation of one model call: system prompt, worked examples as earlier turns, the objective and the
prompt."""

from collections.abc import Sequence

from agent.models.base import Message
from agent.prompt_files import render


def conversation(objective: str, prompt: str, system: str | None = None,
                 examples: Sequence[tuple[str, str]] = ()) -> list[Message]:
    """The messages of one call: the run's system prompt, worked examples as earlier turns, then the objective
    line and the prompt. Every call of a run opens with the same system prompt, so calls share a prefix."""
    opening = system if system is not None else render("system", tools=[], decide=False)
    messages: list[Message] = [{"role": "system", "content": opening}]
    for asked, replied in examples:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": replied}]
    messages.append({"role": "user", "content": f"Objective: {objective}\n{prompt}"})
    return messages
