"""``grok_azure.tool``: schemas from signatures and docstrings, strict mode, model tools, bad definitions."""

from __future__ import annotations

import json
import warnings
from typing import Annotated, Any, Literal, Optional

import httpx
import pytest
import respx
from pydantic import BaseModel, Field

from grok_azure import GrokAzureWarning, GrokClient, RequestValidationError, Tool, ToolDefinitionError, tool

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body


class Location(BaseModel):
    """A point on Earth."""

    lat: float
    lon: float


@tool
def get_weather(
    city: Annotated[str, Field(description="The city, from the annotation")],
    unit: Literal["c", "f"] = "c",
    near: Optional[Location] = None,  # noqa: UP045 - Optional is what users write too
    days: int | None = None,
) -> str:
    """Get the current weather.

    Longer explanation for the model.

    Args:
        city: Not used: the annotation's description wins.
        unit: Celsius or
            Fahrenheit.
        near: A nearby point.

    Returns:
        The weather.
    """
    return f"{city}:{unit}:{near}:{days}"


def test_schema_comes_from_the_signature_and_the_docstring() -> None:
    param = get_weather.to_param()
    function = param["function"]
    assert param["type"] == "function"
    assert function["name"] == "get_weather"
    assert function.get("description") == "Get the current weather.\n\nLonger explanation for the model."
    assert "strict" not in function  # unconfirmed on Azure: sent only when asked for
    schema = function["parameters"]
    assert schema["type"] == "object"
    assert schema["required"] == ["city"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["city"] == {"description": "The city, from the annotation", "type": "string"}
    assert props["unit"] == {
        "default": "c",
        "description": "Celsius or Fahrenheit.",
        "enum": ["c", "f"],
        "type": "string",
    }
    assert props["near"]["anyOf"] == [{"$ref": "#/$defs/Location"}, {"type": "null"}]
    assert props["near"]["description"] == "A nearby point."
    assert schema["$defs"]["Location"]["required"] == ["lat", "lon"]
    assert "title" not in schema
    assert all("title" not in p for p in props.values())


def test_decorated_function_stays_callable_and_typed_as_before() -> None:
    assert get_weather("Oslo") == "Oslo:c:None:None"
    assert get_weather("Oslo", unit="f", days=2) == "Oslo:f:None:2"
    assert get_weather.__name__ == "get_weather"
    assert get_weather.__doc__ is not None
    assert "current weather" in get_weather.__doc__
    assert isinstance(get_weather, Tool)
    assert repr(get_weather) == "Tool(name='get_weather', strict=False, is_async=False)"


def test_every_decorator_form_gives_a_tool() -> None:
    def lookup(key: str) -> str:
        """Look a key up."""
        return key.upper()

    plain = tool(lookup)
    named = tool(name="find", description="Find it.")(lookup)

    @tool(strict=True)
    def other(key: str) -> str:
        return key

    assert plain.name == "lookup"
    assert plain.description == "Look a key up."
    assert plain("a") == "A"
    assert named.name == "find"
    assert named.description == "Find it."
    assert named("b") == "B"
    assert other.strict is True
    assert other.description is None


async def test_an_async_function_stays_awaitable() -> None:
    @tool
    async def fetch(url: str) -> int:
        return len(url)

    assert fetch.is_async
    assert await fetch("abc") == 3


def test_strict_mode_requires_every_property_and_makes_optional_ones_nullable() -> None:
    strict = tool(strict=True)(get_weather.function)
    function = strict.to_param()["function"]
    schema = function["parameters"]
    assert function.get("strict") is True
    assert schema["required"] == ["city", "unit", "near", "days"]
    assert schema["additionalProperties"] is False
    assert {"type": "null"} in schema["properties"]["days"]["anyOf"]
    assert schema["$defs"]["Location"]["additionalProperties"] is False
    # The arguments a strict model sends (nulls for the optional ones) validate and call the function.
    values = strict.validate_arguments('{"city": "Rome", "unit": "f", "near": null, "days": null}')
    assert strict.invoke(values) == "Rome:f:None:None"


def test_a_schema_strict_mode_cannot_express_is_sent_non_strict_with_a_warning() -> None:
    def count(words: dict[str, int]) -> int:
        return sum(words.values())

    with pytest.warns(GrokAzureWarning, match="strict false"):
        made = tool(strict=True)(count)
    assert made.strict is False
    assert "strict" not in made.to_param()["function"]


def test_a_pydantic_model_becomes_a_tool_whose_result_is_the_validated_instance() -> None:
    made = tool(Location)
    function = made.to_param()["function"]
    assert function["name"] == "Location"
    assert function.get("description") == "A point on Earth."
    assert function["parameters"]["required"] == ["lat", "lon"]
    assert "description" not in function["parameters"]  # said once, as the tool's description
    result = made.invoke(made.validate_arguments('{"lat": 1, "lon": 2.5}'))
    assert result == Location(lat=1, lon=2.5)


def test_parameters_pass_by_position_keyword_and_reserved_names() -> None:
    @tool
    def combine(a: int, /, b: int, *, model_config: str = "x", schema: int = 0) -> str:
        return f"{a}-{b}-{model_config}-{schema}"

    props = combine.to_param()["function"]["parameters"]["properties"]
    assert list(props) == ["a", "b", "model_config", "schema"]
    values = combine.validate_arguments('{"a": 1, "b": 2, "model_config": "y", "schema": 3}')
    assert combine.invoke(values) == "1-2-y-3"


def test_arguments_are_validated_against_the_types() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError):
        get_weather.validate_arguments('{"city": "Oslo", "unit": "kelvin"}')
    with pytest.raises(pydantic.ValidationError):
        get_weather.validate_arguments('{"city": "Oslo", "extra": 1}')  # nothing is silently dropped
    with pytest.raises(pydantic.ValidationError):
        get_weather.validate_arguments('{"city": "Oslo"')  # malformed JSON
    values = get_weather.validate_arguments('{"city": "Oslo", "near": {"lat": 1, "lon": 2}}')
    assert get_weather.invoke(values) == "Oslo:c:lat=1.0 lon=2.0:None"  # a model instance, not a dict


def _untyped(city, unit: str) -> None:  # type: ignore[no-untyped-def]
    pass


def _star_args(*cities: str) -> None:
    pass


def _star_kwargs(**options: str) -> None:
    pass


def _unresolvable(city: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
    pass


class _Plain:
    pass


def _no_schema(value: _Plain) -> None:
    pass


class _Service:
    @staticmethod
    def method_body() -> Any:
        def method(self, city: str) -> str:  # type: ignore[no-untyped-def]
            return city

        return method


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        (_untyped, {}, "parameter 'city' has no type annotation"),
        (_star_args, {}, r"\*cities cannot be described"),
        (_star_kwargs, {}, r"\*\*options cannot be described"),
        (_unresolvable, {}, "cannot resolve the annotations"),
        (_no_schema, {}, "tool '_no_schema'"),
        (lambda city: city, {}, "tool name '<lambda>' is not valid"),
        (get_weather.function, {"name": "get weather"}, "tool name 'get weather' is not valid"),
        (get_weather.function, {"name": "x" * 65}, "is not valid"),
        (_Plain, {}, "is not a pydantic model"),
        (_Service.method_body(), {}, "'self' has no type annotation"),
        (get_weather, {}, "already a tool"),
        (get_weather.function, {"strict": "yes"}, "strict must be True or False"),
    ],
)
def test_bad_definitions_fail_when_decorated(target: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message) as caught:
        tool(**kwargs)(target) if kwargs else tool(target)
    assert isinstance(caught.value, RequestValidationError)
    assert isinstance(caught.value, TypeError)


def test_to_param_passes_to_create(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], tools=[get_weather.to_param()]
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"] == [get_weather.to_param()]
    assert isinstance(route.calls.last.response, httpx.Response)
