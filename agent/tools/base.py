"""Tools: a typed function under @tool, or a Tool subclass for stateful ones with a lazy setup()."""

import inspect
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from agent.errors import ToolError


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tool(ABC):
    """Subclass with `name`, `description`, an `Arguments` model and `run()`. `setup()` runs once, lazily,
    before the first call (load weights there, not in __init__). `risky` tools need the user's approval."""

    name: ClassVar[str]
    description: ClassVar[str]
    Arguments: ClassVar[type[BaseModel]] = Arguments
    risky: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self) -> None:
        self._ready = False

    def setup(self) -> None:
        """Acquire heavy resources; called once before the first run."""

    def cancel(self) -> None:
        """Called from another thread when a run is past `timeout_seconds`: release what `run` blocks on
        (close a socket, set a flag it polls). The run is abandoned either way; its result is never used."""

    @abstractmethod
    def run(self, args: BaseModel) -> Any:
        """Do the work; the return value is turned into text for memory and the model."""

    def parse(self, raw: dict[str, Any]) -> BaseModel:
        try:
            return self.Arguments.model_validate(raw)
        except ValidationError as exc:
            raise ToolError(f"bad arguments for {self.name}: {_first_error(exc)}") from exc

    def __call__(self, **raw: Any) -> Any:
        args = raw if isinstance(raw, BaseModel) else self.parse(raw)
        if not self._ready:
            self.setup()
            self._ready = True
        return self.run(args)

    def spec(self) -> dict[str, Any]:
        """Name, description and the JSON schema of the arguments, as listed by `agent tools list`."""
        return {
            "name": self.name,
            "description": self.description,
            "risky": self.risky,
            "parameters": self.Arguments.model_json_schema(),
        }


class FunctionTool(Tool):
    """A plain typed function turned into a Tool by @tool."""

    def __init__(self, function: Callable[..., Any], name: str, description: str,
                 arguments: type[BaseModel], risky: bool) -> None:
        super().__init__()
        self.function = function
        self.name = name  # type: ignore[misc]
        self.description = description  # type: ignore[misc]
        self.Arguments = arguments  # type: ignore[misc]
        self.risky = risky  # type: ignore[misc]
        self.__doc__ = function.__doc__

    def run(self, args: BaseModel) -> Any:
        return self.function(**args.model_dump())


def tool(function: Callable[..., Any] | None = None, *, name: str | None = None, risky: bool = False):
    """Make a typed, documented function a Tool: the docstring describes it, the type hints validate it."""

    def wrap(fn: Callable[..., Any]) -> FunctionTool:
        doc = inspect.getdoc(fn)
        if not doc:
            raise TypeError(f"@tool {fn.__name__}: add a docstring; it is the description the model reads")
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.annotation is inspect.Parameter.empty:
                raise TypeError(f"@tool {fn.__name__}: parameter {param.name!r} needs a type hint")
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"@tool {fn.__name__}: *args/**kwargs cannot be described to a model")
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (param.annotation, default)
        tool_name = name or fn.__name__
        arguments = create_model(f"{tool_name}_arguments", __base__=Arguments, **fields)
        return FunctionTool(fn, tool_name, doc.split("\n\n")[0].strip(), arguments, risky)

    return wrap(function) if function is not None else wrap


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "arguments"
    return f"{where}: {error['msg']}"
