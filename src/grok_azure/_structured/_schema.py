"""JSON schemas for structured outputs and tools: from a pydantic model or type, and made strict-mode compatible.

Strict mode (``"strict": true`` in a ``json_schema`` response format or a function tool) accepts a subset of JSON
Schema. The transform here follows the rules OpenAI documents for it, the de-facto standard Grok's API copies:
every object closes (``additionalProperties: false``) and lists all its properties in ``required`` (an optional
field stays optional by being nullable, which pydantic already writes as ``anyOf [..., null]``); a ``$ref`` may not
carry sibling keywords; ``oneOf`` and single-entry ``allOf`` are not accepted. Whether Azure enforces strict mode
for Grok is UNCONFIRMED, so nothing here raises on a schema strict mode would reject: :func:`strict_problems`
lists what is left, and callers send such a schema with ``strict: false``.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Mapping
from typing import Any

import pydantic

from .._errors import RequestValidationError

# Constraints strict mode rejects on a value (OpenAI's list), but which a model can still follow when told in
# words; pydantic enforces them on the reply anyway, so moving them into the description loses nothing.
_DESCRIBED_KEYWORDS = (
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "minContains",
    "maxContains",
)

# Keywords strict mode rejects that carry a schema: they cannot be put in words, so they stay and make the schema
# non-strict (see strict_problems).
_UNSUPPORTED_KEYWORDS = (
    "not",
    "if",
    "then",
    "else",
    "allOf",
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "contains",
)


def model_json_schema(model: type[pydantic.BaseModel] | Any) -> dict[str, Any]:
    """Return the JSON schema pydantic builds for ``model`` (validation mode, ``$defs`` kept, refs ``#/$defs/...``).

    Args:
        model: a pydantic ``BaseModel`` subclass, a ``pydantic.TypeAdapter``, or any type pydantic can build a
            ``TypeAdapter`` for (``list[Item]``, a ``TypedDict``, a dataclass...).

    Raises:
        RequestValidationError: ``model`` is not something pydantic can describe with a JSON schema (an instance
            instead of a class, an arbitrary class, a callable...).
    """
    if inspect.isclass(model) and issubclass(model, pydantic.BaseModel):
        return model.model_json_schema()
    try:
        adapter = model if isinstance(model, pydantic.TypeAdapter) else pydantic.TypeAdapter(model)
        return adapter.json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
        raise RequestValidationError(
            f"Cannot build a JSON schema from {_describe(model)}: pass a pydantic BaseModel subclass or a type "
            "pydantic can validate (e.g. list[Item], a TypedDict or a dataclass).",
            param="response_format",
        ) from exc


def strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``schema`` rewritten for strict mode; the input is not modified.

    Every object schema with ``properties`` (or no ``additionalProperties`` at all) gets
    ``additionalProperties: false`` and all its properties in ``required``. A map-like object (one whose
    ``additionalProperties`` is a schema, e.g. ``dict[str, int]``) keeps it: closing it would leave the model able
    to send only ``{}``; :func:`strict_problems` reports it instead. ``$ref`` with sibling keywords is inlined
    (siblings win); ``$defs`` stay so every remaining ``$ref`` resolves. ``oneOf`` becomes ``anyOf`` (pydantic's
    discriminated unions are exclusive already) and the OpenAPI ``discriminator`` keyword goes; a single-entry
    ``allOf`` is merged in; ``default: null`` goes (a nullable field is required anyway). Value constraints strict
    mode rejects (``minLength``, ``maxLength``, ``uniqueItems``...) are moved into the ``description`` text.

    Args:
        schema: a JSON schema whose ``$ref``s point inside it (``#/$defs/...`` or ``#/definitions/...``).
    """
    root = copy.deepcopy(dict(schema))
    return _strict(root, root, depth=0)


def strict_problems(schema: Mapping[str, Any]) -> list[str]:
    """List why ``schema`` (already passed through :func:`strict_json_schema`) would be rejected in strict mode.

    An empty list means it fits the strict subset. Each entry names the JSON pointer and the reason.

    Args:
        schema: the schema to check.
    """
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("#: the root of a strict schema must be an object")
    _collect_problems(schema, "#", problems)
    return problems


def _strict(node: dict[str, Any], root: dict[str, Any], *, depth: int) -> dict[str, Any]:
    if depth > 64:  # pydantic never nests this deep; a hand-written cycle through sibling $refs would
        raise RequestValidationError("The JSON schema nests deeper than 64 levels.", param="response_format")
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            node[key] = {name: _strict_any(sub, root, depth) for name, sub in defs.items()}

    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        resolved = _resolve(root, ref)
        return _strict({**copy.deepcopy(resolved), **siblings}, root, depth=depth + 1)

    if "oneOf" in node and "anyOf" not in node:
        node["anyOf"] = node.pop("oneOf")
    node.pop("discriminator", None)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        del node["allOf"]
        merged = {**all_of[0], **node}
        return _strict(merged, root, depth=depth + 1)
    if "default" in node and node["default"] is None:
        del node["default"]

    properties = node.get("properties")
    if isinstance(properties, dict):
        node["properties"] = {name: _strict_any(sub, root, depth) for name, sub in properties.items()}
        node["required"] = list(properties)
    if node.get("type") == "object" or isinstance(properties, dict):
        extra = node.get("additionalProperties")
        if extra is None or extra is True or (isinstance(properties, dict) and extra == {}):
            node["additionalProperties"] = False
        elif isinstance(extra, dict):
            node["additionalProperties"] = _strict_any(extra, root, depth)

    for key in ("items", "additionalItems"):
        if isinstance(node.get(key), dict):
            node[key] = _strict_any(node[key], root, depth)
    for key in ("anyOf", "prefixItems", "allOf"):
        if isinstance(node.get(key), list):
            node[key] = [_strict_any(sub, root, depth) for sub in node[key]]

    _describe_constraints(node)
    return node


def _strict_any(node: object, root: dict[str, Any], depth: int) -> Any:
    return _strict(node, root, depth=depth + 1) if isinstance(node, dict) else node


def _describe_constraints(node: dict[str, Any]) -> None:
    moved = {key: node.pop(key) for key in _DESCRIBED_KEYWORDS if key in node}
    if not moved:
        return
    words = ", ".join(f"{key}={json.dumps(value)}" for key, value in moved.items())
    description = node.get("description")
    node["description"] = (
        f"{description} ({words})" if isinstance(description, str) else f"Constraints: {words}"
    )


def _resolve(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise RequestValidationError(
            f"The JSON schema has a $ref outside itself ({ref!r}); only local references (#/...) can be sent.",
            param="response_format",
        )
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise RequestValidationError(
                f"The JSON schema's $ref {ref!r} does not resolve.", param="response_format"
            )
        target = target[part]
    if not isinstance(target, Mapping):
        raise RequestValidationError(
            f"The JSON schema's $ref {ref!r} is not a schema.", param="response_format"
        )
    return dict(target)


def _collect_problems(node: object, pointer: str, problems: list[str]) -> None:
    if not isinstance(node, Mapping):
        return
    for key in _UNSUPPORTED_KEYWORDS:
        if key in node:
            problems.append(f"{pointer}: strict mode does not accept {key!r}")
    if "oneOf" in node:
        problems.append(f"{pointer}: strict mode does not accept 'oneOf'")
    if isinstance(node.get("$ref"), str) and len(node) > 1:
        problems.append(f"{pointer}: strict mode does not accept keywords beside '$ref'")
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        problems.append(f"{pointer}: an object must have additionalProperties false (a map-like dict cannot)")
    properties = node.get("properties")
    if isinstance(properties, Mapping) and set(node.get("required", ())) != set(properties):
        problems.append(f"{pointer}: every property must be required")
    # Only places that hold schemas are walked: a property named "not" or an enum value is not a keyword.
    for key in ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas"):
        named = node.get(key)
        if isinstance(named, Mapping):
            for name, sub in named.items():
                _collect_problems(sub, f"{pointer}/{key}/{name}", problems)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        listed = node.get(key)
        if isinstance(listed, list):
            for index, sub in enumerate(listed):
                _collect_problems(sub, f"{pointer}/{key}/{index}", problems)
    for key in ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains"):
        _collect_problems(node.get(key), f"{pointer}/{key}", problems)


def _describe(model: object) -> str:
    if inspect.isclass(model):
        return f"the class {model.__qualname__}"
    return f"a value of type {type(model).__qualname__}"
