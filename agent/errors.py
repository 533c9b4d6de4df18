"""One error tree for the whole package; every message says what to do about it."""

from pydantic import ValidationError


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class UsageError(AgentError):
    """Bad input from the user (objective, flags, paths). The CLI exits with status 2."""


class ModelNotFoundError(UsageError):
    """The requested model is neither a preset, a local path, nor an HF id in the cache or downloadable."""


class ModelError(UsageError):
    """A model's files are damaged, truncated, or of a kind no backend here can load."""


class StorageError(AgentError):
    """The run's files could not be written (e.g. the disk is full); what was committed before is kept."""


class PullError(AgentError):
    """A model could not be downloaded, or what arrived does not match its pinned hash (it was deleted)."""


class ModelOutputError(AgentError):
    """The model kept producing output that does not validate, past the retry bound."""


class ToolError(AgentError):
    """A tool failed; the message goes back to the model as data."""


class BackendError(AgentError):
    """A model or memory server could not be reached or kept failing, past the retry bound."""


class BudgetExhausted(AgentError):
    """A run budget (cycles, tokens, seconds) is spent; `kind` names it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or f"budget exhausted: {kind}")
        self.kind = kind


def describe(error: ValidationError, limit: int = 3, subject: str = "") -> str:
    """A short, model- and user-readable account of what is wrong: `field: message` for the first `limit`
    errors (pydantic's "Value error, " prefix dropped); `subject` names what an error without a field is about."""
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or subject
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
