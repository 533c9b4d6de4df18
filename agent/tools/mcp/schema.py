"""An MCP tool's JSON input schema as the typed arguments every tool here has (a pydantic model on `Arguments`),
so the decoding grammar constrains an MCP tool's arguments as it does a built-in tool's.

What is kept: string, integer, number, boolean and null; string enums (as choices); arrays of a kind; objects
with properties (a nested model) or without (any JSON object); required fields and defaults; descriptions;
lengths and bounds; unions (`anyOf`, `oneOf`, a list of types) and local `$ref`s. Anything else (numeric enums,
patterns, formats, `allOf` of several parts, recursion past a depth) is accepted as its base kind or any JSON
value, and left for the server to check. A property whose name is not a Python identifier keeps its name on the
wire as an alias."""

import functools
import keyword
import operator
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agent.tools.base import Arguments

MAX_DEPTH = 6
_SIMPLE = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
_BOUNDS = {"minLength": "min_length", "maxLength": "max_length", "minimum": "ge", "maximum": "le",
           "exclusiveMinimum": "gt", "exclusiveMaximum": "lt", "minItems": "min_length", "maxItems": "max_length"}


class McpArguments(Arguments):
    """Arguments of an MCP tool: unknown fields refused; a field is read by its wire name or its Python one."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True,
                              protected_namespaces=())


def arguments_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """The arguments model of the tool `name` from its `inputSchema`."""
    return _Converter(schema).model(_model_name(name), schema, McpArguments, depth=0)


def _model_name(name: str) -> str:
    return "mcp_" + re.sub(r"\W", "_", name) + "_arguments"


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.definitions = {**root.get("definitions", {}), **root.get("$defs", {})}

    def model(self, name: str, schema: dict[str, Any], base: type[BaseModel], depth: int) -> type[BaseModel]:
        required = set(schema.get("required") or ())
        fields: dict[str, Any] = {}
        for index, (wire, spec) in enumerate((schema.get("properties") or {}).items()):
            spec = spec if isinstance(spec, dict) else {}
            kind = self.kind(spec, f"{name}_{index}", depth + 1)
            python = wire if _plain(wire) else f"field_{index}"
            extra: dict[str, Any] = {"alias": wire} if python != wire else {}
            if spec.get("description"):
                extra["description"] = str(spec["description"])[:300]
            if wire in required:
                fields[python] = (kind, Field(..., **extra))
            elif spec.get("default") is not None:  # the default is the value the server would take
                fields[python] = (kind, Field(spec["default"], **extra))
            else:
                fields[python] = (kind | None, Field(spec.get("default"), **extra))
        return create_model(name, __base__=base, **fields)

    def kind(self, spec: dict[str, Any], name: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return Any
        if isinstance(spec.get("$ref"), str):
            target = self.definitions.get(spec["$ref"].rsplit("/", 1)[-1])
            return self.kind(target, name, depth + 1) if isinstance(target, dict) else Any
        choices = [c for c in spec.get("anyOf") or spec.get("oneOf") or () if isinstance(c, dict)]
        if choices:
            return _union([self.kind(c, f"{name}_{i}", depth + 1) for i, c in enumerate(choices)])
        parts = spec.get("allOf")
        if isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], dict):
            return self.kind(parts[0], name, depth + 1)
        enum = spec.get("enum")
        if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
            return Literal[tuple(enum)]
        if "const" in spec and isinstance(spec["const"], str):
            return Literal[spec["const"]]
        declared = spec.get("type")
        if isinstance(declared, list):
            return _union([self.kind({**spec, "type": t}, name, depth) for t in declared])
        if declared in _SIMPLE:
            return _bounded(_SIMPLE[declared], spec)
        if declared == "array":
            items = spec.get("items")
            item = self.kind(items, f"{name}_item", depth + 1) if isinstance(items, dict) else Any
            return _bounded(list[item], spec)  # type: ignore[valid-type]
        if declared == "object" or "properties" in spec:
            if spec.get("properties"):
                return self.model(name, spec, _Nested, depth)
            return dict[str, Any]
        return Any


class _Nested(BaseModel):
    model_config = McpArguments.model_config


def _plain(name: str) -> bool:
    """Whether a property can be a field under its own name."""
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith(("_", "model_"))
            and not hasattr(BaseModel, name))


def _bounded(kind: Any, spec: dict[str, Any]) -> Any:
    bounds = {field: spec[key] for key, field in _BOUNDS.items()
              if isinstance(spec.get(key), (int, float)) and not isinstance(spec.get(key), bool)}
    return Annotated[kind, Field(**bounds)] if bounds else kind


def _union(kinds: list[Any]) -> Any:
    return functools.reduce(operator.or_, kinds) if kinds else Any
