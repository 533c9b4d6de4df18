"""An MCP tool result as the value a tool returns here: data for the run, never inlined binaries.

Structured content comes back as it is (a JSON object the answer can quote fields of, `{1.total}`), unwrapped
where the SDK wrapped a plain value as `{"result": ...}`. Otherwise the text blocks, in order; an image, an audio
clip or a resource is named in brackets, never inlined. Text past `MAX_CHARS` is cut, and the cut is said."""

import json
from typing import Any

from agent.errors import ToolError

MAX_CHARS = 4000


def result_value(tool: str, result: Any) -> Any:
    """The value of a `CallToolResult`; a result marked as an error raises ToolError with its text."""
    if getattr(result, "is_error", False):
        raise ToolError(f"{tool} failed: {capped(_text(result.content)) or 'the server gave no reason'}")
    blocks = list(getattr(result, "content", None) or [])
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict) and all(getattr(b, "type", "") == "text" for b in blocks):
        value = structured["result"] if list(structured) == ["result"] else structured
        if len(json.dumps(value, ensure_ascii=False, default=str)) <= MAX_CHARS:
            return value
    return capped(_text(blocks))


def capped(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    return f"{text[:MAX_CHARS]}… [cut: {len(text) - MAX_CHARS} more characters]"


def _text(blocks: list[Any]) -> str:
    return "\n".join(_block(block) for block in blocks).strip()


def _block(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(getattr(block, "data", "") or "") * 3 // 4  # base64
        return f"[{kind} {getattr(block, 'mime_type', '') or ''}, {size} bytes, not shown]"
    if kind == "resource_link":
        return f"[resource {getattr(block, 'name', '')} at {getattr(block, 'uri', '')}, not shown]"
    if kind == "resource":
        inner = getattr(block, "resource", None)
        return f"[resource {getattr(inner, 'uri', '')} ({getattr(inner, 'mime_type', None) or 'no type'}), not shown]"
    return f"[{kind or 'unknown'} content, not shown]"
