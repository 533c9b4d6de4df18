"""Fetching an HF model id (ORG/NAME) from the Hugging Face hub when it is not in the local cache.

huggingface_hub reads its own environment (HF_HUB_OFFLINE, HF_HOME, HF_TOKEN) and draws tqdm progress bars on
stderr; every failure becomes one ModelNotFoundError line naming the id and what to do.
"""

from pathlib import Path

from agent.errors import ModelNotFoundError

# Enough to load a transformers model: configs and tokenizers (*.json, *.txt, *.model) and safetensors weights.
# Never *.bin, *.pt or *.gguf: repos often carry several copies or quantizations of the same weights.
ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "*.tiktoken", "tokenizer*"]


def looks_like_repo_id(spec: str) -> bool:
    """ORG/NAME with characters the hub allows; whether it exists is for the hub to say."""
    if spec.count("/") != 1 or spec.startswith(("/", ".", "~")):
        return False
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(spec)
    except HFValidationError:
        return False
    return True


def snapshot_download(repo_id: str) -> str:
    """The download itself; tests replace this function so that nothing reaches a hub."""
    from huggingface_hub import snapshot_download as hub_snapshot_download

    return hub_snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS)


def download(repo_id: str) -> Path:
    """Download `repo_id` into the HF cache (or find it complete there) and return its snapshot directory."""
    try:
        directory = Path(snapshot_download(repo_id))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # network errors surface as huggingface_hub, OSError and httpx types alike
        raise ModelNotFoundError(
            f"could not download {repo_id} from the Hugging Face hub ({_reason(exc)}): check the id and your "
            "connection, or pass a local directory"
        ) from exc
    if not (directory / "config.json").is_file():
        raise ModelNotFoundError(
            f"{repo_id} on the Hugging Face hub has no config.json: for a GGUF-only repo, download one .gguf file "
            "and pass its path"
        )
    return directory


def _reason(exc: Exception) -> str:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(exc, LocalEntryNotFoundError):
        return "the hub is unreachable or offline mode (HF_HUB_OFFLINE) is on, and it is not in the cache"
    if isinstance(exc, GatedRepoError):
        return "the repository is gated: accept its terms on huggingface.co and log in with `hf auth login`"
    if isinstance(exc, RepositoryNotFoundError):
        return "no such repository, or it is private (401/404)"
    if isinstance(exc, HFValidationError):
        return "not a valid repository id"
    if isinstance(exc, HfHubHTTPError):
        return f"HTTP {exc.response.status_code}"
    text = " ".join(str(exc).split())  # one line, however the library formatted it
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
