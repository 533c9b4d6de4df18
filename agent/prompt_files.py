"""Prompt files under prompts/ (installed as `agent.prompts`), rendered with strict undefined variables."""

import re
from functools import lru_cache
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
    environment.filters["signature"] = signature
    return environment


def quote(text: object) -> str:
    """Make text safe to place between <data> tags: it cannot close the block and speak as the prompt.
    Any case and spacing of the tag is broken (`</DATA>`, `< /data>`), since a model reads them alike."""
    return _DATA_TAG.sub(lambda m: f"<{m[1]} {m[2]}", str(text))


_DATA_TAG = re.compile(r"<\s*(/?)\s*(data)", re.IGNORECASE)


def render(name: str, **variables: object) -> str:
    """Render `prompts/<name>.j2` with exactly the given variables."""
    return _environment().get_template(f"{name}.j2").render(**variables).strip()


def signature(tool: object) -> str:
    """`name(param: type, ...)` from a tool's argument schema, with each parameter's choices and description."""
    schema = tool.Arguments.model_json_schema()  # type: ignore[attr-defined]
    parts = []
    for name, spec in schema.get("properties", {}).items():
        options = [o for o in spec.get("anyOf", [spec]) if o.get("type") != "null"]
        described_choices = all(str(c) in spec.get("description", "") for o in options for c in o.get("enum", []))
        kinds = ["|".join(o["enum"]) if "enum" in o and not described_choices else "one of" if "enum" in o
                 else o.get("type", "value")
                 for o in options]  # choices the description names all of are not listed twice
        optional = " optional" if name not in schema.get("required", []) else ""
        described = f" ({spec['description']})" if spec.get("description") else ""
        parts.append(f"{name}:{optional} {' or '.join(kinds) or 'value'}{described}")
    return f"{tool.name}({', '.join(parts)})"  # type: ignore[attr-defined]
