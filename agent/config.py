"""Settings: the only module besides the CLI that reads the environment (variables prefixed AGENT_)."""

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import UsageError, describe

APP_NAME = "agent"


class Settings(BaseSettings):
    """Defaults for a run; every field can be set as AGENT_<FIELD> in the environment or by a CLI flag."""

    model_config = SettingsConfigDict(env_prefix="AGENT_", extra="forbid")

    model: str = "smollm2-135m"
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N")
    backend: str = Field("auto", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                         description="a registered engine (agent/models/registry.py), or auto: onnxruntime-genai "
                                     "(int4) on a CPU, transformers on a GPU")
    base_url: str | None = Field(None, description="OpenAI-compatible server for model openai:NAME")
    api_key: SecretStr | None = Field(None, description="key for that server; environment only (AGENT_API_KEY)")
    memory_url: str | None = Field(None, description="chroma server for memory shared across runs")
    shared_memory: bool = Field(True, description="recall results of earlier runs (off: the run's own store only)")
    memory_name: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                             description="namespace of the persistent memory shared across runs")
    memory_dir: Path | None = Field(None, description="persistent memories; default: <run_dir>/.memory")
    experience: bool = Field(True, description="show similar past successes to the planner as worked examples")
    experience_dir: Path | None = Field(None, description="experience store; default: <run_dir>/.experience")
    # a small model judges many wrong answers done, and wrong worked examples then mislead it (measured: the
    # default model lost 15 points on the dev suite with a store of its self-judged runs, see README)
    answer_checks_off: list[str] = Field(default_factory=list,
                                         description="answer checks switched off by name (agent/answering/checks.py)")
    keep_judged: bool = Field(False, description="keep every run the model judges done as an experience (off: "
                              "only runs that pass a check in eval/learn, or marked good with agent feedback)")
    adapter: Path | None = Field(None, description="LoRA adapter directory (from `agent learn`) for the model")
    default_adapter: bool = Field(True, description="with no adapter given, serve the one a preset ships with")
    run_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)) / "runs")
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)))
    # every budget is finite and bounded: a huge value would be sent to a server or allocated as is
    max_cycles: int = Field(5, ge=1, le=10_000)
    max_tokens: int = Field(50_000, ge=1, le=1_000_000_000, description="prompt + completion tokens over the whole run")
    max_seconds: float = Field(900.0, gt=0, le=30 * 86_400, allow_inf_nan=False)
    max_new_tokens: int = Field(200, ge=8, le=32_768, description="per free-text model call")
    top_k: int = Field(3, ge=0, le=100, description="past results retrieved for each task")
    # all-MiniLM-L6-v2 cosine distance: a question and the fact that answers it ~0.1-0.4, unrelated runs ~0.7-0.9
    recall_distance: float = Field(0.55, ge=0, le=2, description="recall only memories at most this far (cosine)")
    parse_retries: int = Field(2, ge=0, le=10, description="re-asks after an output that does not validate")
    max_tasks_per_cycle: int = Field(3, ge=1, le=100)
    max_queue: int = Field(10, ge=1, le=10_000)
    similar_task_threshold: float | None = Field(
        0.9, gt=0, le=1, allow_inf_nan=False,
        description="a new task this close (embedding cosine) to an earlier one is dropped")
    tools: list[str] = Field(default_factory=lambda: ["calculator", "dates", "convert"],
                             description="tool names the CLI allows")
    heads: list[Path] = Field(default_factory=list, description="trained head directories allowed as tools")
    workspace: Path | None = Field(None, description="directory the file tools are confined to")
    mcp: Path | None = Field(None, description='MCP servers file ({"mcpServers": {...}}); their tools join the '
                             "allowed ones as SERVER.TOOL")
    parallel_tasks: int = Field(1, ge=1, le=16, description="ready tasks executed per cycle, as one batch")
    max_objective_chars: int = Field(2000, ge=1, le=100_000)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: object, info: ValidationInfo) -> object:
        # undecodable bytes from argv or the environment arrive as lone surrogates, which no file can hold
        if isinstance(value, (str, Path)):
            try:
                str(value).encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("holds bytes that are not UTF-8; retype it as plain text") from None
            if info.field_name in _PATHS and not str(value).strip():
                raise ValueError("is empty; name a directory (use . for the current one)")
        return value


_PATHS = {"run_dir", "cache_dir", "workspace"}


def explicit_device(device: str) -> str | None:
    """The device a setting names, or None for "auto" (each part then picks its own)."""
    return None if device == "auto" else device


def build_settings(values: dict) -> Settings:
    """Settings from explicit values over the environment; a bad value is a one-line UsageError."""
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise UsageError(f"bad setting: {describe(exc)}") from exc


def load_settings(**overrides: object) -> Settings:
    """Environment first, then the overrides that were given (None means "not given", as for CLI flags)."""
    return build_settings({k: v for k, v in overrides.items() if v is not None})
