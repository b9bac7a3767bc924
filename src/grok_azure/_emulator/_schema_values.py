"""A small, deterministic instance that is valid against a JSON schema.

Covers what tool parameter and structured-output schemas use: object/array/string/number/integer/boolean/
null, enum, const, required, nested objects, local ``$ref`` (``$defs``/``definitions``), anyOf/oneOf/allOf,
type lists and the common numeric and length bounds. Objects get every required property; arrays get
``minItems`` items (at least one when allowed), so the result is small but never empty where it can be full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 24
_ONE_ITEM_DEPTH = 8  # below it, an array that may be empty is
_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}


def example_value(schema: Any) -> Any:
    """An instance valid against ``schema`` (a JSON schema as decoded JSON)."""
    return _value(schema, schema, 0)


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, got {ref!r}")
    node = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _value(schema: Any, root: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("schema nests too deeply (recursive $ref with required fields?)")
    if schema is True or schema is None or schema == {}:
        return "example"
    if not isinstance(schema, Mapping):
        raise ValueError(f"not a schema: {schema!r}")
    if "$ref" in schema:
        return _value(_resolve(schema["$ref"], root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            # Prefer a non-null branch: null is valid but tells a client nothing.
            chosen = next((o for o in options if not _is_null(o, root)), options[0])
            return _value(chosen, root, depth + 1)
    if "allOf" in schema:
        return _all_of(schema, root, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    return _typed(kind, schema, root, depth)


def _is_null(schema: Any, root: Any) -> bool:
    if isinstance(schema, Mapping) and "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _all_of(schema: Mapping[str, Any], root: Any, depth: int) -> Any:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if isinstance(part, Mapping) and "$ref" in part:
            part = _resolve(part["$ref"], root)
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return _value(merged, root, depth + 1)


def _typed(kind: str, schema: Mapping[str, Any], root: Any, depth: int) -> Any:
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = list(dict.fromkeys(schema.get("required", [])))
        result = {}
        for name in required:
            result[name] = _value(properties.get(name, {}), root, depth + 1)
        return result
    if kind == "array":
        count = int(schema.get("minItems", 0))
        # One item shows the shape, while shallow: deeper down an empty array ends a recursive model (a tree's
        # required ``children``), whose every level would otherwise hold one more.
        if count == 0 and schema.get("maxItems", 1) >= 1 and "items" in schema and depth < _ONE_ITEM_DEPTH:
            count = 1
        prefix = schema.get("prefixItems", [])
        items = [_value(p, root, depth + 1) for p in prefix[:count]]
        while len(items) < count:
            items.append(_value(schema.get("items", {}), root, depth + 1))
        return items
    if kind == "string":
        return _string(schema)
    if kind in ("number", "integer"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    raise ValueError(f"unsupported schema type {kind!r}")


def _string(schema: Mapping[str, Any]) -> str:
    text = _FORMATS.get(schema.get("format", ""), "example")
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(text) < low:
        text += "x" * (low - len(text))
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    step = schema.get("multipleOf")
    low: float | None = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
        low = exclusive + (step or (1 if integer else 0.5))
    high: float | None = schema.get("maximum")
    exclusive_high = schema.get("exclusiveMaximum")
    if isinstance(exclusive_high, (int, float)) and not isinstance(exclusive_high, bool):
        high = exclusive_high - (step or (1 if integer else 0.5))
    value: float = 0 if low is None else low
    if high is not None and value > high:
        value = high
    if step:
        value = math.ceil(value / step) * step
    if not integer:
        return value
    whole = math.ceil(value)
    return math.floor(high) if high is not None and whole > high else whole
