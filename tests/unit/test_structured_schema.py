"""strict_json_schema / model_json_schema: the strict-mode transform the tools and parse() share."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from grok_azure import RequestValidationError
from grok_azure._structured import model_json_schema, strict_json_schema, strict_problems


class Address(BaseModel):
    street: str = Field(min_length=2)


class Cat(BaseModel):
    kind: Literal["cat"]


class Dog(BaseModel):
    kind: Literal["dog"]


class Node(BaseModel):
    children: list[Node] = []


class Person(BaseModel):
    name: str = Field(description="full name", max_length=40)
    home: Address = Field(description="where they live")
    work: Address | None = None
    pet: Cat | Dog = Field(discriminator="kind")
    tree: Node


def test_every_object_is_closed_and_lists_every_property() -> None:
    original = model_json_schema(Person)
    strict = strict_json_schema(original)
    assert strict_problems(strict) == []
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["name", "home", "work", "pet", "tree"]
    assert strict["$defs"]["Address"]["additionalProperties"] is False
    assert strict["$defs"]["Node"]["required"] == ["children"]
    assert original != strict
    assert "additionalProperties" not in original


def test_refs_with_siblings_are_inlined_and_plain_refs_still_resolve() -> None:
    strict = strict_json_schema(model_json_schema(Person))
    home = strict["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "where they live"
    assert home["additionalProperties"] is False
    assert strict["properties"]["tree"] == {"$ref": "#/$defs/Node"}
    assert strict["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_one_of_becomes_any_of_and_null_defaults_go() -> None:
    strict = strict_json_schema(model_json_schema(Person))
    assert "oneOf" not in strict["properties"]["pet"]
    assert len(strict["properties"]["pet"]["anyOf"]) == 2
    assert "discriminator" not in strict["properties"]["pet"]
    assert "default" not in strict["properties"]["work"]


def test_rejected_value_constraints_move_into_the_description() -> None:
    strict = strict_json_schema(model_json_schema(Person))
    assert "maxLength" not in strict["properties"]["name"]
    assert strict["properties"]["name"]["description"] == "full name (maxLength=40)"
    assert strict["$defs"]["Address"]["properties"]["street"]["description"] == "Constraints: minLength=2"


def test_what_strict_mode_cannot_express_is_reported_not_hidden() -> None:
    class Counts(BaseModel):
        by_word: dict[str, int]

    strict = strict_json_schema(model_json_schema(Counts))
    assert strict["properties"]["by_word"]["additionalProperties"] == {"type": "integer"}  # kept: a real map
    assert strict_problems(strict) == [
        "#/properties/by_word: an object must have additionalProperties false (a map-like dict cannot)"
    ]
    assert strict_problems(strict_json_schema(model_json_schema(list[Address]))) == [
        "#: the root of a strict schema must be an object"
    ]
    assert (
        strict_problems(
            {
                "type": "object",
                "properties": {"not": {"type": "string"}},
                "required": ["not"],
                "additionalProperties": False,
            }
        )
        == []
    )  # a property named like a keyword is fine


def test_a_type_without_a_schema_is_a_request_validation_error() -> None:
    with pytest.raises(RequestValidationError, match="Cannot build a JSON schema"):
        model_json_schema(object())
    with pytest.raises(RequestValidationError, match="does not resolve"):
        strict_json_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing", "title": "A"}}})
