"""``tool``: a typed function (or a pydantic model) as a tool the model can call, with its JSON schema.

The parameters' schema comes from the signature through pydantic (defaults, ``Optional``, ``Literal``, nested
models, ``Annotated[..., Field(description=...)]``), the description from the docstring's summary, and each
parameter's description from its ``Args:`` entry. The model's arguments are validated against the same pydantic
model before the function runs, so what the schema promises is what the function receives.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeAlias, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import ParamSpec

from .._structured._schema import strict_json_schema, strict_problems
from .._warnings import GrokAzureWarning
from ..types.chat_params import FunctionDefinitionParam, ToolParam
from ._docstring import parse_docstring
from ._errors import ToolDefinitionError
from ._signature import Signature, signature_of

__all__ = ["Tool", "ToolInput", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

# The rule the service applies to function names (and _convert checks on every request's tools).
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Tool(Generic[P, R]):
    """A function the model can call: its definition for the request, and the function itself.

    Calling a ``Tool`` calls the function, unchanged (``get_weather("Paris")`` still works after ``@tool``).
    Pass tools to ``chat.completions.run_tools(tools=[...])``, or their :meth:`to_param` to ``create(tools=...)``.

    Attributes:
        name: the name the model calls it by.
        description: what the model is told the tool does (None: nothing).
        strict: whether the definition asks for strict mode (``"strict": true`` and a strict-compatible schema).
        function: the wrapped function (for a pydantic model tool, the model class).
        is_async: whether calling it returns an awaitable (an ``async def``).
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str,
        description: str | None,
        strict: bool,
        signature: Signature,
        returns_arguments: bool,
    ) -> None:
        self.function = function
        self.name = name
        self.description = description
        self.strict = strict
        self.is_async = _is_async(function)
        self._signature = signature
        self._returns_arguments = returns_arguments
        self._parameters = _parameters_schema(signature.model)
        if strict:
            self._parameters, self.strict = _strict_schema(self._parameters, name)
        functools.update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the decorated function directly, as if it were not a tool (nothing is validated).

        Args:
            *args: the function's positional arguments.
            **kwargs: the function's keyword arguments.
        """
        return self.function(*args, **kwargs)

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, as sent (a copy)."""
        return _copy(self._parameters)

    def to_param(self) -> ToolParam:
        """The tool's definition as a :class:`~grok_azure.types.ToolParam` dict (for ``create(tools=[...])``).

        ``strict`` is sent only when it was asked for: whether Azure honours it for Grok is unconfirmed.
        """
        function: FunctionDefinitionParam = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def validate_arguments(self, arguments: str) -> BaseModel:
        """The model's JSON ``arguments`` validated against the signature.

        Args:
            arguments: the ``function.arguments`` string of the model's tool call: a JSON object of the
                parameters by name; an empty string counts as ``{}``.

        Returns:
            A pydantic model of the arguments, for :meth:`invoke`.

        Raises:
            pydantic.ValidationError: malformed JSON, a missing or extra argument, or a value of the wrong type.
        """
        return self._signature.model.model_validate_json(arguments or "{}")

    def invoke(self, values: BaseModel) -> Any:
        """Run the function with validated ``values`` (from :meth:`validate_arguments`); an awaitable if async.

        A pydantic model tool returns ``values`` itself: the model's arguments are its result.

        Args:
            values: the arguments, as :meth:`validate_arguments` returned them.

        Returns:
            What the function returns (an awaitable for an async function; not awaited here).
        """
        if self._returns_arguments:
            return values
        args, kwargs = self._signature.call_arguments(values)
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, strict={self.strict!r}, is_async={self.is_async!r})"


ToolInput: TypeAlias = "Tool[..., Any] | Callable[..., Any]"
"""One entry of ``run_tools(tools=[...])``: a :class:`Tool`, or a typed function or pydantic model (made a tool
with :func:`tool`'s defaults)."""


@overload
def tool(function: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, strict: bool = False
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a typed function, or a pydantic model, a :class:`Tool`: ``@tool``, ``@tool(...)`` or ``tool(fn)``.

    Every parameter needs a type annotation; ``*args`` and ``**kwargs`` are refused (the model cannot be told
    what they take). An ``async def`` works with ``AsyncGrokClient``. A pydantic model class becomes a tool whose
    arguments are the model's fields and whose result is the validated instance.

    Args:
        function: the function or model class (when used as ``@tool`` or ``tool(fn)``).
        name: the name the model calls it by (default: the function's ``__name__``); 1-64 letters, digits,
            ``_`` or ``-``.
        description: what it does, for the model (default: the docstring's text before its sections).
        strict: ask for strict mode: ``"strict": true`` and a schema with every property required (a parameter
            with a default too; only an ``X | None`` one accepts null) and no extra properties. Off by default because whether Azure honours
            it for Grok is unconfirmed; the arguments are validated on the client either way. A schema strict
            mode cannot express is sent non-strict, with a :class:`~grok_azure.GrokAzureWarning`.

    Raises:
        ToolDefinitionError: an invalid name, a parameter without annotation, ``*args``/``**kwargs``, an
            annotation that does not resolve, or a type pydantic cannot describe.
    """
    if not isinstance(strict, bool):
        raise ToolDefinitionError(f"strict must be True or False, got {strict!r}", param="strict")
    if description is not None and not isinstance(description, str):
        raise ToolDefinitionError(f"description must be a string, got {description!r}", param="description")

    def make(fn: Callable[P, R]) -> Tool[P, R]:
        return _make_tool(fn, name=name, description=description, strict=strict)

    return make if function is None else make(function)


def _make_tool(
    function: Callable[P, R], *, name: str | None, description: str | None, strict: bool
) -> Tool[P, R]:
    if isinstance(function, Tool):
        raise ToolDefinitionError(f"{function!r} is already a tool")
    if not callable(function):
        raise ToolDefinitionError(
            f"a tool must be a function or a pydantic model, not {type(function).__name__}"
        )
    is_model = inspect.isclass(function) and issubclass(function, BaseModel)
    if inspect.isclass(function) and not is_model:
        raise ToolDefinitionError(
            f"class {function.__qualname__} is not a pydantic model: decorate a function or a BaseModel"
        )
    tool_name = name if name is not None else getattr(function, "__name__", None)
    if not isinstance(tool_name, str) or not _NAME.fullmatch(tool_name):
        raise ToolDefinitionError(
            f"tool name {tool_name!r} is not valid: 1-64 letters, digits, '_' or '-' (pass name=...)",
            param="name",
        )
    docs = parse_docstring(inspect.getdoc(function) if is_model else getattr(function, "__doc__", None))
    if is_model:
        signature = Signature(function, 0)  # type: ignore[arg-type]
        _check_schema(function, tool_name)  # type: ignore[arg-type]
    else:
        signature = signature_of(function, tool_name, docs.params)
    return Tool(
        function,
        name=tool_name,
        description=description if description is not None else (docs.summary or None),
        strict=strict,
        signature=signature,
        returns_arguments=is_model,
    )


def _check_schema(model: type[BaseModel], name: str) -> None:
    try:
        model.model_json_schema()
    except Exception as exc:  # pydantic's schema errors: a field type with no JSON schema
        raise ToolDefinitionError(f"tool {name!r}: {exc}") from None


def _parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The arguments' JSON schema, without the titles pydantic makes up from names (noise to the model)."""
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    schema.pop("description", None)  # a model tool's docstring: already the tool's description
    explicit = {info.alias or field: info.title for field, info in model.model_fields.items()}
    for key, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict) and not explicit.get(key):
            sub.pop("title", None)
    return schema


def _strict_schema(schema: dict[str, Any], name: str) -> tuple[dict[str, Any], bool]:
    """The strict form of ``schema`` and True; or, when strict mode cannot express it, ``schema`` and False
    with a warning (strict support is unconfirmed on Azure, so this is never an error)."""
    strict = strict_json_schema(schema)
    problems = strict_problems(strict)
    if not problems:
        return strict, True
    warnings.warn(
        f"tool {name!r}: the parameters do not fit strict mode ({'; '.join(problems[:3])}); the tool is sent "
        "with strict false, and its arguments are still validated on the client",
        GrokAzureWarning,
        stacklevel=5,
    )
    return schema, False


def _is_async(function: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    return not inspect.isclass(function) and call is not None and inspect.iscoroutinefunction(call)


def _copy(schema: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(schema)
