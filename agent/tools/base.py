"""Tools: a typed function under @tool, or a Tool subclass for stateful ones with a lazy setup()."""

import functools
import inspect
import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agent.errors import ToolError, describe


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


A = TypeVar("A", bound=BaseModel)


class Tool(ABC, Generic[A]):
    """Subclass `Tool[MyArguments]` with `name`, `description`, `Arguments = MyArguments` and `run(args)`,
    which then receives a validated MyArguments. `setup()` runs once, lazily, before the first call (load
    weights there, not in __init__). `risky` tools need the user's approval. An `isolated` tool runs in a child
    process that is killed at `timeout_seconds` (for code that may never return to Python and cannot be told to
    stop); its value or error must pickle, and what it changes in its own objects stays in the child."""

    name: str
    description: str
    # the no-argument default; mypy cannot check a class default against a type variable
    Arguments: type[A] = Arguments  # type: ignore[assignment]
    risky: bool = False
    timeout_seconds: float = 60.0
    isolated: bool = False
    reads_text: bool = False  # reads text handed over (a head): never the objective's question itself
    # for decoding only: the type of one call's arguments where it is narrower than Arguments, e.g. a union
    # discriminated by an operation of one model per operation (see `shape`), each requiring the fields that
    # operation reads, so the grammar cannot leave one out. What it accepts must validate as Arguments too.
    call_arguments: Any = None

    def __init__(self) -> None:
        self._ready = False

    def setup(self) -> None:
        """Acquire heavy resources; called once before the first run."""

    def cancel(self) -> None:
        """Called from another thread when a run is past `timeout_seconds`: release what `run` blocks on
        (close a socket, set a flag it polls). The run is abandoned either way; its result is never used."""

    @abstractmethod
    def run(self, args: A) -> Any:
        """Do the work; the return value is turned into text for memory and the model."""

    examples: Sequence[tuple[str, dict[str, Any]]] = ()  # (an objective, the arguments this tool gets for it)

    def applies(self, objective: str) -> bool:
        """Whether the objective gives this tool anything to work on (the calculator needs a number, the dates
        tool a date); a tool that does not apply is not offered to the run at all. By default, every tool applies."""
        return True

    def for_objective(self, objective: str) -> "Tool[Any]":
        """The tool as a run of this objective is offered it: itself, or one whose arguments are narrowed to
        what the objective names (the grammar then offers nothing else). Called once a tool applies."""
        return self

    def beside(self, tools: Sequence["Tool[Any]"]) -> "Tool[Any]":
        """The tool as offered beside the run's other `tools`: itself, or one that uses some of them (a program
        may call them by name)."""
        return self

    def plain(self, result: str, objective: str = "") -> str | None:
        """The result as an answer to `objective` would state it in words, where the tool knows one (a head's
        names or labels, not its JSON); None otherwise. Used when the model's own answer says nothing of it."""
        return None

    def ungrounded(self, args: A, given: str) -> str | None:
        """Why `args` state something that must come from `given` (the objective and the results so far) but
        is not there, or None. A tool whose arguments are facts of the objective (a date, a year) says so here:
        a small model copies them from a worked example or makes them up, and the loop refuses such a call once,
        showing this reason."""
        return None

    def parse(self, raw: dict[str, Any]) -> A:
        try:
            return self.Arguments.model_validate(raw)
        except ValidationError as exc:
            raise ToolError(f"bad arguments for {self.name}: {describe(exc, limit=1, subject='arguments')}") from exc

    def prepare(self, raw: dict[str, Any]) -> A:
        """The validated arguments, with setup() done once before the first call."""
        args = self.parse(raw)
        if not self._ready:
            self.setup()
            self._ready = True
        return args

    def __call__(self, **raw: Any) -> Any:
        return self.run(self.prepare(raw))

    def spec(self) -> dict[str, Any]:
        """Name, description and the JSON schema of the arguments, as listed by `agent tools list`."""
        return {
            "name": self.name,
            "description": self.description,
            "risky": self.risky,
            "parameters": self.Arguments.model_json_schema(),
        }


def shape(arguments: type[BaseModel], name: str, fixed: dict[str, str], required: Sequence[str],
          base: type[BaseModel] = Arguments) -> type[BaseModel]:
    """A model of some of `arguments`' fields, and no others, on `base` (which may hold their validators): each
    of `fixed` holds only its one value, each of `required` must be given (None is no longer allowed), with
    its constraints and description."""
    fields: dict[str, Any] = {key: (Literal[value], ...) for key, value in fixed.items()}
    for key in required:
        info = arguments.model_fields[key]
        kinds = [k for k in get_args(info.annotation) if k is not type(None)] or [info.annotation]
        kind = kinds[0] if len(kinds) == 1 else functools.reduce(operator.or_, kinds)
        fields[key] = (Annotated[kind, *info.metadata] if info.metadata else kind,
                       Field(..., description=info.description))
    return create_model(name, __base__=base, **fields)


class FunctionTool(Tool[BaseModel]):
    """A plain typed function turned into a Tool by @tool."""

    def __init__(self, function: Callable[..., Any], name: str, description: str,
                 arguments: type[BaseModel], risky: bool, applies: Callable[[str], bool] | None = None,
                 examples: Sequence[tuple[str, dict[str, Any]]] = (), isolated: bool = True) -> None:
        super().__init__()
        self.function = function
        self.name = name
        self.description = description
        self.Arguments = arguments
        self.risky = risky
        self.applies_to = applies
        self.examples = list(examples)
        self.isolated = isolated
        self.__doc__ = function.__doc__

    def run(self, args: BaseModel) -> Any:
        return self.function(**args.model_dump())

    def applies(self, objective: str) -> bool:
        return self.applies_to is None or self.applies_to(objective)


Examples = Sequence[tuple[str, dict[str, Any]]]


@overload
def tool(function: Callable[..., Any], *, name: str | None = None, risky: bool = False,
         applies: Callable[[str], bool] | None = None, examples: Examples = (),
         isolated: bool = True) -> FunctionTool: ...
@overload
def tool(function: None = None, *, name: str | None = None, risky: bool = False,
         applies: Callable[[str], bool] | None = None, examples: Examples = (),
         isolated: bool = True) -> Callable[[Callable[..., Any]], FunctionTool]: ...
def tool(function: Callable[..., Any] | None = None, *, name: str | None = None, risky: bool = False,
         applies: Callable[[str], bool] | None = None, examples: Examples = (),
         isolated: bool = True) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a typed, documented function a Tool: the docstring's first paragraph describes it, the type hints
    validate it, and each parameter's line in an "Args:" section (or a ":param name:" line) describes that
    parameter in the schema the model reads. `applies(objective)`, when given, tells whether an objective gives
    the tool anything to work on; the tool is offered only then. `examples` are (objective, arguments) pairs
    of the tool's own use, shown to the model as worked examples (`{a}` in an argument inserts the objective's
    first passage, e.g. a quoted text); each argument set is validated here. The function runs in a child process
    killed at its timeout (it cannot be told to stop otherwise); `isolated=False` runs it in this process, for
    a function that must change objects of its caller (an open connection, a list it fills)."""

    def wrap(fn: Callable[..., Any]) -> FunctionTool:
        doc = inspect.getdoc(fn)
        if not doc:
            raise TypeError(f"@tool {fn.__name__}: add a docstring; it is the description the model reads")
        described = parameter_descriptions(doc)
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.annotation is inspect.Parameter.empty:
                raise TypeError(f"@tool {fn.__name__}: parameter {param.name!r} needs a type hint")
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"@tool {fn.__name__}: *args/**kwargs cannot be described to a model")
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (param.annotation, Field(default, description=described.get(param.name)))
        tool_name = name or fn.__name__
        arguments = create_model(f"{tool_name}_arguments", __base__=Arguments, **fields)
        for _, given in examples:
            arguments.model_validate(given)  # a wrong example fails at definition, not in a run
        return FunctionTool(fn, tool_name, _summary(doc), arguments, risky, applies, examples, isolated)

    return wrap(function) if function is not None else wrap


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):$")
_PARAM_LINE = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")
_ARG_LINE = re.compile(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parameter_descriptions(doc: str) -> dict[str, str]:
    """{parameter: description} from a Google-style "Args:" section and ":param name:" lines; a description
    runs on over the lines indented deeper than its first."""
    found: dict[str, str] = {}
    current: str | None = None
    current_indent = 0
    in_args = False
    for line in doc.splitlines():
        stripped, indent = line.strip(), len(line) - len(line.lstrip())
        if current and stripped and indent > current_indent:
            found[current] = f"{found[current]} {stripped}"
            continue
        current = None
        section = _SECTION.match(stripped)
        if section:
            in_args = section[1] in ("Args", "Arguments", "Parameters")
            continue
        match = _PARAM_LINE.match(stripped) or (_ARG_LINE.match(stripped) if in_args and indent else None)
        if match:
            current, current_indent = match[1], indent
            found[current] = match[2]
        elif stripped and not indent:
            in_args = False  # unindented prose ends the section
    return {name: text.strip() for name, text in found.items() if text.strip()}


def _summary(doc: str) -> str:
    """The description the model reads: the docstring before its first section or ":param" line."""
    kept = []
    for line in doc.split("\n\n")[0].splitlines():
        if _SECTION.match(line.strip()) or line.strip().startswith(":param"):
            break
        kept.append(line)
    return "\n".join(kept).strip()



