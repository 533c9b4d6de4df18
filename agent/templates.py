"""Prompt templates: files under prompts/, rendered with strict undefined variables."""

from functools import lru_cache
import re
from importlib import resources

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    root = resources.files("agent.prompts")
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: root.joinpath(name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, never a blank
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["quote"] = quote
    return environment


def quote(text: object) -> str:
    """Make text safe to place between <data> tags: it cannot close the block and speak as the prompt.
    Any case and spacing of the tag is broken (`</DATA>`, `< /data>`), since a model reads them alike."""
    return _DATA_TAG.sub(lambda m: f"<{m[1]} {m[2]}", str(text))


_DATA_TAG = re.compile(r"<\s*(/?)\s*(data)", re.IGNORECASE)


def render(name: str, **variables: object) -> str:
    """Render `prompts/<name>.j2` with exactly the given variables."""
    return _environment().get_template(f"{name}.j2").render(**variables).strip()


def conversation(objective: str, prompt: str) -> list[dict]:
    """The messages of one call. Every call opens with the same system prompt and objective line, so
    calls share a prompt prefix."""
    return [{"role": "system", "content": render("system")},
            {"role": "user", "content": f"Objective: {objective}\n{prompt}"}]
