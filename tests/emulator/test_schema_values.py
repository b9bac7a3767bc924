"""example_value: a small instance valid against the JSON schemas tools and structured outputs use."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from grok_azure._emulator._schema_values import example_value

SCHEMAS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "string", "minLength": 12},
    {"type": "string", "maxLength": 3},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email"},
    {"type": "integer", "minimum": 5},
    {"type": "integer", "exclusiveMinimum": 5},
    {"type": "integer", "maximum": -3},
    {"type": "integer", "minimum": 1, "maximum": 1.5},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "number", "minimum": 0.25, "multipleOf": 0.5},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["null", "integer"]},
    {"enum": ["red", "green"]},
    {"const": {"fixed": [1, 2]}},
    {"type": "array", "items": {"type": "integer"}},
    {"type": "array", "items": {"type": "string"}, "minItems": 3},
    {"type": "array", "items": {"type": "string"}, "maxItems": 0},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2},
    {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
    {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}},
        "required": ["a"],
    },
    {
        "anyOf": [
            {"type": "null"},
            {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
        ]
    },
    {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
        ]
    },
    {
        "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}}, "required": ["v"]}},
        "type": "object",
        "properties": {
            "root": {"$ref": "#/$defs/node"},
            "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
        },
        "required": ["root", "kids"],
    },
    {
        "definitions": {"Color": {"enum": ["c1"]}},
        "type": "object",
        "properties": {"color": {"$ref": "#/definitions/Color"}},
        "required": ["color"],
    },
    {"properties": {"implicit": {"type": "string"}}, "required": ["implicit"]},
    {},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_example_value_is_valid_against_the_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema).validate(example_value(schema))


def test_objects_get_only_required_properties() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["b"],
    }
    assert example_value(schema) == {"b": "example"}


def test_arrays_get_one_item_when_allowed() -> None:
    assert example_value({"type": "array", "items": {"type": "integer", "minimum": 4}}) == [4]


def test_nullable_union_prefers_the_non_null_branch() -> None:
    assert example_value({"anyOf": [{"type": "null"}, {"type": "integer"}]}) == 0
    assert example_value({"type": ["null", "string"]}) == "example"


def test_values_are_deterministic() -> None:
    schema = SCHEMAS[25]
    assert example_value(schema) == example_value(schema)


def test_remote_refs_are_rejected() -> None:
    with pytest.raises(ValueError, match="local"):
        example_value({"$ref": "https://example.com/schema.json"})


def test_required_recursion_is_reported_instead_of_looping() -> None:
    schema = {
        "$defs": {
            "loop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/loop"}}, "required": ["next"]}
        },
        "$ref": "#/$defs/loop",
    }
    with pytest.raises(ValueError, match="too deeply"):
        example_value(schema)


def test_optional_recursion_terminates() -> None:
    schema = {
        "$defs": {"tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/tree"}}}},
        "$ref": "#/$defs/tree",
    }
    assert example_value(schema) == {}


@pytest.mark.parametrize("schema", [{"type": "tuple"}, 5])
def test_unknown_types_are_rejected(schema: Any) -> None:
    with pytest.raises(ValueError, match="schema"):
        example_value(schema)
