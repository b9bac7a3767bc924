"""A function's parameters as a pydantic model: the tool's JSON schema, and the validator of its arguments.

Each parameter becomes field ``p<i>`` with the parameter's name as its alias: the schema and the model's
arguments use the real names, while names pydantic reserves (``model_config``, ``schema``...) or refuses (a
leading underscore) still work as parameters. Validating the arguments gives the values to call the function
with, nested models as model instances (not dicts), positional-only parameters passed by position.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PydanticSchemaGenerationError, create_model
from pydantic.fields import FieldInfo

from ._errors import ToolDefinitionError

__all__ = ["Signature", "signature_of"]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True, slots=True)
class Signature:
    """The arguments model of a function, and how to call the function with a validated instance.

    Attributes:
        model: the pydantic model of the arguments; extra arguments are refused (``extra="forbid"``).
        positional: how many leading fields are positional-only parameters.
        names: the function's parameter names, in the fields' order: what the function is called with, whatever
            alias a ``Field`` gave the model for the argument.
    """

    model: type[BaseModel]
    positional: int
    names: tuple[str, ...] = ()

    def call_arguments(self, values: BaseModel) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` for the function, from a validated instance of :attr:`model`."""
        fields = list(type(values).model_fields)
        args = tuple(getattr(values, field) for field in fields[: self.positional])
        kwargs = {
            name: getattr(values, field)
            for name, field in zip(self.names[self.positional :], fields[self.positional :], strict=True)
        }
        return args, kwargs


def signature_of(fn: Callable[..., Any], tool_name: str, descriptions: dict[str, str]) -> Signature:
    """The arguments model of ``fn``.

    Args:
        fn: the function (a bound method's ``self`` is already bound, so it is not a parameter).
        tool_name: the tool's name, for the model's title and for error messages.
        descriptions: parameter name -> description from the docstring; used where the annotation gives none.

    Raises:
        ToolDefinitionError: a ``*args`` / ``**kwargs`` parameter, a parameter without a type annotation, an
            annotation that cannot be resolved, or a type pydantic cannot describe.
    """
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot read the signature ({exc})") from None
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (
        Exception
    ) as exc:  # NameError for a forward reference nothing defines, and what else an annotation raises
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot resolve the annotations ({type(exc).__name__}: {exc})"
        ) from None
    fields: dict[str, Any] = {}
    positional = 0
    for index, parameter in enumerate(parameters.values()):
        name = parameter.name
        if parameter.kind in _VARIADIC:
            stars = "*" if parameter.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise ToolDefinitionError(
                f"tool {tool_name!r}: {stars}{name} cannot be described to the model; name each parameter",
                param=name,
            )
        if name not in hints:
            hint = (
                " (decorate a function or a bound method, not a method in a class body)"
                if name == "self"
                else ""
            )
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {name!r} has no type annotation{hint}", param=name
            )
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional += 1
        fields[f"p{index}"] = (hints[name], _field(parameter, hints[name], descriptions.get(name)))
    try:
        model = create_model(tool_name, __config__=ConfigDict(extra="forbid"), **fields)
        model.model_json_schema(by_alias=True)  # fails now, at decoration, for a type with no JSON schema
    except (PydanticSchemaGenerationError, TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"tool {tool_name!r}: {_first_line(exc)}") from None
    return Signature(model, positional, tuple(parameters))


def _field(parameter: inspect.Parameter, hint: Any, description: str | None) -> FieldInfo:
    """The field of one parameter: its name as alias, its default, and the docstring's description unless the
    annotation's own ``Field`` has one (or an alias, which then names the argument)."""
    annotated = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, FieldInfo)]
    kwargs: dict[str, Any] = {}
    if not any(info.alias for info in annotated):
        kwargs["alias"] = parameter.name
    if description and not any(info.description for info in annotated):
        kwargs["description"] = description
    if parameter.default is not inspect.Parameter.empty:
        kwargs["default"] = parameter.default
    field: FieldInfo = Field(**kwargs)
    return field


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
