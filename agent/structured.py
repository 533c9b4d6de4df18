"""Structured replies: the schema goes down to the backend, the reply is validated, and a reply that does
not validate is sent back with the error, a bounded number of times."""

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agent.errors import ModelOutputError, describe
from agent.events import Event, OutputRejected, StepFailed
from agent.meter import Meter
from agent.models.base import Message
from agent.templates import render

T = TypeVar("T", bound=BaseModel)

# A reply that is wholly one fenced block is unwrapped; anything else must be the JSON itself.
_FENCE = re.compile(r"\A```(?:json)?\s*\n(?P<body>.*)\n```\Z", re.DOTALL)


def parse_reply(text: str, output_type: type[T]) -> T:
    """Validate a model reply as `output_type`; raises pydantic's ValidationError."""
    text = text.strip()
    fenced = _FENCE.match(text)
    return output_type.model_validate_json(fenced.group("body") if fenced else text)


def ask(meter: Meter, messages: Sequence[Message], output_type: type[T], *, purpose: str, retries: int,
        emit: Callable[[Event], None], task_id: int | None = None, max_new_tokens: int = 320) -> T:
    """Ask for an `output_type`; raise ModelOutputError after 1 + `retries` invalid replies."""
    schema = output_type.model_json_schema()
    history = list(messages)
    error = ""
    for attempt in range(1, retries + 2):
        reply = meter.generate(history, purpose=purpose, schema=schema, task_id=task_id,
                               max_new_tokens=max_new_tokens).text
        try:
            return parse_reply(reply, output_type)
        except ValidationError as exc:
            error = describe(exc)
            emit(OutputRejected(purpose=purpose, attempt=attempt, error=error, output=reply[:2000]))
            history += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": render("repair", error=error)},
            ]
    raise ModelOutputError(f"{purpose}: no valid reply after {retries + 1} tries ({error})")


def ask_or_none(meter: Meter, messages: Sequence[Message], output_type: type[T], *, purpose: str, retries: int,
                emit: Callable[[Event], None], task_id: int | None = None, max_new_tokens: int = 320) -> T | None:
    """`ask`, but a step that gives up is recorded as StepFailed and returns None: the loop goes on."""
    try:
        return ask(meter, messages, output_type, purpose=purpose, retries=retries, emit=emit, task_id=task_id,
                   max_new_tokens=max_new_tokens)
    except ModelOutputError as exc:
        emit(StepFailed(purpose=purpose, error=str(exc)))
        return None
