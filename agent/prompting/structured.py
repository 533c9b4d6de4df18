"""Structured replies: the schema goes down to the backend, the reply is validated, and a reply that does
not validate is sent back with the error, a bounded number of times."""

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.errors import ModelOutputError, describe
from agent.events import Event, OutputRejected, StepFailed
from agent.models.base import Message
from agent.prompt_files import render
from agent.prompting.meter import Meter

T = TypeVar("T", bound=BaseModel)
MAX_FIELD_CHARS = 300  # the longest free string a structured reply may hold where its schema sets no bound

# A reply that is wholly one fenced block is unwrapped; anything else must be the JSON itself.
_FENCE = re.compile(r"\A```(?:json)?\s*\n(?P<body>.*)\n```\Z", re.DOTALL)


def parse_reply(text: str, output_type: type[T]) -> T:
    """Validate a model reply as `output_type`; raises pydantic's ValidationError."""
    text = text.strip()
    fenced = _FENCE.match(text)
    return output_type.model_validate_json(fenced.group("body") if fenced else text)


def bounded(schema: Any, max_chars: int = MAX_FIELD_CHARS) -> Any:
    """`schema` with a maxLength on every free string that has none (tool arguments included): under a grammar
    no reply can then loop inside a string until the token limit cuts the JSON short. A discriminated oneOf
    becomes an anyOf."""
    if isinstance(schema, list):
        return [bounded(item, max_chars) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: bounded(value, max_chars) for key, value in schema.items()}
    if "oneOf" in schema and "discriminator" in schema:  # its variants exclude each other by the discriminator's
        schema["anyOf"] = schema.pop("oneOf")  # value: anyOf means the same, and grammar compilers take it
        del schema["discriminator"]
    if schema.get("type") == "string" and not {"maxLength", "enum", "const", "pattern"} & schema.keys():
        schema["maxLength"] = max_chars
    return schema


def ask(meter: Meter, messages: Sequence[Message], output_type: type[T], *, purpose: str, retries: int,
        emit: Callable[[Event], None], task_id: int | None = None, max_new_tokens: int = 512,
        schema: dict[str, Any] | None = None) -> T:
    """Ask for an `output_type`; raise ModelOutputError after 1 + `retries` invalid replies. A reply cut off at
    the token limit is not asked again: a greedy model would only write the same again. `schema` narrows the
    decoding grammar beyond `output_type`'s own schema (which the reply is still validated against)."""
    schema = bounded(output_type.model_json_schema() if schema is None else schema)
    history = list(messages)
    error = ""
    for attempt in range(1, retries + 2):
        generation = meter.generate(history, purpose=purpose, schema=schema, task_id=task_id,
                                    max_new_tokens=max_new_tokens)
        reply = generation.text
        try:
            return parse_reply(reply, output_type)
        except ValidationError as exc:
            error = describe(exc)
            emit(OutputRejected(purpose=purpose, attempt=attempt, error=error, output=reply[:2000]))
            if generation.completion_tokens >= max_new_tokens:
                break
            history += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": render("repair", error=error)},
            ]
    raise ModelOutputError(f"{purpose}: no valid reply after {attempt} tries ({error})")


def ask_or_none(meter: Meter, messages: Sequence[Message], output_type: type[T], *, purpose: str, retries: int,
                emit: Callable[[Event], None], task_id: int | None = None, max_new_tokens: int = 512,
                schema: dict[str, Any] | None = None) -> T | None:
    """`ask`, but a step that gives up is recorded as StepFailed and returns None: the loop goes on."""
    try:
        return ask(meter, messages, output_type, purpose=purpose, retries=retries, emit=emit, task_id=task_id,
                   max_new_tokens=max_new_tokens, schema=schema)
    except ModelOutputError as exc:
        emit(StepFailed(purpose=purpose, error=str(exc)))
        return None
