"""Scripted replies in the shapes the loop asks for: the decision moves, and the closing answer."""

SOLVE = {"next": "solve"}


def plan(*steps: str) -> dict:
    return {"next": "plan", "steps": list(steps)}


def call(tool: str, **arguments) -> dict:
    return {"next": tool, "arguments": arguments}


def finish(answer: str) -> dict:
    return {"next": "finish", "answer": answer}


def final(answer: str) -> dict:
    """The closing answer written after a budget stopped the run."""
    return {"answer": answer}


def is_final(schema: dict | None) -> bool:
    return bool(schema) and "answer" in schema.get("properties", {})
