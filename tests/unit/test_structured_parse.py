"""chat.completions.parse(): the json_schema sent, the reply parsed, the finish-reason and validation errors,
repairs, the json_object fallback, and what is refused before sending (respx, sync and async)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, Field, TypeAdapter

from grok_azure import (
    AsyncGrokClient,
    ContentFilterFinishReasonError,
    GrokClient,
    LengthFinishReasonError,
    ModelSpec,
    OutputValidationError,
    ParsedChatCompletion,
    RequestValidationError,
    StructuredOutputError,
    UnsupportedParameterError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Paris has 2.1 million people."}]


class City(BaseModel):
    """A city."""

    name: str
    population: int = Field(description="people")
    country: str | None = None


CITY_JSON = '{"name": "Paris", "population": 2100000, "country": null}'


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[call].request.content)
    return body


def reply(content: str | None, finish_reason: str = "stop", **message: Any) -> dict[str, Any]:
    body = completion_body(content or "")
    body["choices"][0]["message"] = {"role": "assistant", "content": content, **message}
    body["choices"][0]["finish_reason"] = finish_reason
    return body


def test_parse_sends_a_strict_json_schema_and_returns_the_model(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City, temperature=0
        )
    assert isinstance(completion, ParsedChatCompletion)
    city = completion.choices[0].message.parsed
    assert city == City(name="Paris", population=2_100_000)
    assert completion.parsed is city
    assert completion.usage is not None
    assert completion.usage.total_tokens == 8
    assert completion.attempts == []
    body = sent(route)
    assert body["temperature"] == 0
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "City"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "population", "country"]  # optional fields are required + nullable


async def test_async_parse_returns_the_model(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        completion = await client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City
        )
    assert completion.parsed == City(name="Paris", population=2_100_000)
    assert sent(route)["response_format"]["json_schema"]["strict"] is True


def test_parse_accepts_a_type_pydantic_validates(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(f"[{CITY_JSON}]"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        listed = client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=list[City])
        adapted = client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=TypeAdapter(list[City])
        )
    assert listed.parsed == [City(name="Paris", population=2_100_000)]
    assert adapted.parsed == listed.parsed
    # A non-object root cannot be strict: sent as pydantic writes it, strict false (never refused on a guess).
    fmt = sent(route)["response_format"]["json_schema"]
    assert fmt["strict"] is False
    assert fmt["schema"]["type"] == "array"


def test_a_map_field_is_sent_not_strict(mock_api: respx.MockRouter) -> None:
    class Counts(BaseModel):
        by_word: dict[str, int]

    route = mock_api.post(CHAT_URL).respond(200, json=reply('{"by_word": {"a": 1}}'))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=Counts)
        with pytest.raises(RequestValidationError, match="strict mode") as caught:
            client.chat.completions.parse(
                model="grok-4", messages=MESSAGES, response_format=Counts, strict=True
            )
    assert completion.parsed == Counts(by_word={"a": 1})
    assert sent(route)["response_format"]["json_schema"]["strict"] is False
    assert caught.value.param == "response_format"
    assert route.call_count == 1


def test_strict_false_sends_the_schema_as_pydantic_writes_it(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply('{"name": "Paris", "population": 1}'))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City, strict=False
        )
    assert completion.parsed == City(name="Paris", population=1)
    fmt = sent(route)["response_format"]["json_schema"]
    assert fmt["strict"] is False
    assert fmt["schema"] == City.model_json_schema()


@pytest.mark.parametrize(
    ("finish_reason", "error"),
    [("length", LengthFinishReasonError), ("content_filter", ContentFilterFinishReasonError)],
)
def test_cut_replies_raise_with_the_raw_completion(
    mock_api: respx.MockRouter, finish_reason: str, error: type[StructuredOutputError]
) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply('{"name": "Pa', finish_reason))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(error) as caught:
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City, max_repairs=2)
    assert caught.value.completion.finish_reason == finish_reason
    assert caught.value.completion.text == '{"name": "Pa'
    assert caught.value.choice_index == 0
    assert len(mock_api.calls) == 1  # never repaired: asking again would be cut again


@pytest.mark.parametrize(
    ("finish_reason", "error"),
    [("length", LengthFinishReasonError), ("content_filter", ContentFilterFinishReasonError)],
)
async def test_async_cut_replies_raise(
    mock_api: respx.MockRouter, finish_reason: str, error: type[StructuredOutputError]
) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply("{", finish_reason))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(error):
            await client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)


def test_an_invalid_reply_raises_output_validation_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply('{"name": "Paris", "population": "many"}'))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(OutputValidationError) as caught:
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    error = caught.value
    assert [e["loc"] for e in error.errors] == [("population",)]
    assert error.content == '{"name": "Paris", "population": "many"}'
    assert error.completion.usage is not None
    assert error.attempts == []
    assert "population" in str(error)
    for text in (str(error), repr(error), repr(error.errors), repr(error.__cause__), repr(error.__context__)):
        assert KEY not in text


def test_reply_that_is_not_json_raises_output_validation_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply("Sure! Paris is big."))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(OutputValidationError) as caught:
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    assert caught.value.errors[0]["type"] == "json_invalid"


async def test_async_invalid_reply_raises(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply("{}"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(OutputValidationError) as caught:
            await client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    assert {e["loc"] for e in caught.value.errors} == {("name",), ("population",)}


def test_a_refusal_is_reported_not_validated(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=reply(None, refusal="I can't help with that."))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    assert completion.parsed is None
    assert completion.choices[0].message.refusal == "I can't help with that."


def _invalid_then_valid() -> list[httpx.Response]:
    return [
        httpx.Response(200, json=reply('{"name": "Paris"}')),
        httpx.Response(200, json=reply(CITY_JSON)),
    ]


def test_repairs_ask_again_with_the_errors(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=_invalid_then_valid())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City, max_repairs=1
        )
    assert completion.parsed == City(name="Paris", population=2_100_000)
    assert route.call_count == 2
    repair = sent(route, 1)["messages"]
    assert repair[0] == MESSAGES[0]
    assert repair[1] == {"role": "assistant", "content": '{"name": "Paris"}'}
    assert repair[2]["role"] == "user"
    assert "population: Field required" in repair[2]["content"]
    assert sent(route, 1)["response_format"] == sent(route, 0)["response_format"]
    # every call is visible: the rejected one in attempts, with its usage
    assert [a.completion.text for a in completion.attempts] == ['{"name": "Paris"}']
    assert completion.attempts[0].errors[0]["loc"] == ("population",)
    assert completion.total_tokens_all_attempts == 16


async def test_async_repairs_ask_again(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=_invalid_then_valid())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        completion = await client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City, max_repairs=3
        )
    assert completion.parsed is not None
    assert completion.parsed.population == 2_100_000
    assert route.call_count == 2
    assert len(completion.attempts) == 1


def test_repairs_run_out_with_every_attempt_on_the_error(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply('{"name": 1}'))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(OutputValidationError) as caught:
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City, max_repairs=2)
    assert route.call_count == 3
    assert len(caught.value.attempts) == 2
    assert len(sent(route, 2)["messages"]) == 5  # the question, then two (reply, errors) pairs


def test_no_repair_by_default(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply("{}"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(OutputValidationError):
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    assert route.call_count == 1


NO_SCHEMA = ModelSpec(id="grok-noschema", json_schema=False, json_object=True)


def test_a_model_known_without_json_schema_is_refused_before_sending(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models={"old": NO_SCHEMA})
    with client, pytest.raises(UnsupportedParameterError, match="fallback='json_object'") as caught:
        client.chat.completions.parse(model="old", messages=MESSAGES, response_format=City)
    assert caught.value.param == "response_format"
    assert caught.value.model == "grok-noschema"
    assert not route.called


def test_fallback_sends_json_object_with_the_schema_in_a_system_message(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(f"```json\n{CITY_JSON}\n```"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models={"old": NO_SCHEMA}) as client:
        completion = client.chat.completions.parse(
            model="old", messages=MESSAGES, response_format=City, fallback="json_object"
        )
    assert completion.parsed == City(name="Paris", population=2_100_000)  # a Markdown fence is tolerated
    body = sent(route)
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system"
    schema = json.loads(system["content"].split("\n", 1)[1])
    assert schema["properties"]["population"]["description"] == "people"
    assert body["messages"][1:] == MESSAGES


async def test_async_fallback(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    async with AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, deployment_models={"old": NO_SCHEMA}, http_client=httpx.AsyncClient()
    ) as client:
        with pytest.raises(UnsupportedParameterError):
            await client.chat.completions.parse(model="old", messages=MESSAGES, response_format=City)
        completion = await client.chat.completions.parse(
            model="old", messages=MESSAGES, response_format=City, fallback="json_object"
        )
    assert completion.parsed is not None
    assert route.call_count == 1
    assert sent(route)["response_format"] == {"type": "json_object"}


def test_unknown_support_sends_json_schema_even_with_a_fallback(mock_api: respx.MockRouter) -> None:
    unknown = ModelSpec(id="grok-new")  # json_schema None: unknown
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models={"new": unknown}) as client:
        client.chat.completions.parse(
            model="new", messages=MESSAGES, response_format=City, fallback="json_object"
        )
    assert sent(route)["response_format"]["type"] == "json_schema"


def test_validate_false_sends_json_schema_to_a_model_known_without_it(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    with GrokClient(
        endpoint=ENDPOINT, api_key=KEY, deployment_models={"old": NO_SCHEMA}, validate=False
    ) as client:
        client.chat.completions.parse(model="old", messages=MESSAGES, response_format=City)
    assert sent(route)["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"response_format": City(name="x", population=1)}, "response_format"),
        ({"response_format": City, "max_repairs": -1}, "max_repairs"),
        ({"response_format": City, "max_repairs": 1, "n": 2}, "max_repairs"),
        ({"response_format": City, "fallback": "text"}, "fallback"),
        ({"response_format": City, "strict": "yes"}, "strict"),
        ({"response_format": httpx.Client}, "response_format"),  # a class pydantic has no schema for
    ],
)
def test_bad_arguments_are_refused_before_sending(
    mock_api: respx.MockRouter, kwargs: dict[str, Any], param: str
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, **kwargs)
    assert caught.value.param == param
    assert not route.called


def test_create_with_a_model_class_points_to_parse(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES, response_format=City)  # type: ignore[call-overload]
    assert "parse(" in str(caught.value)
    assert caught.value.param == "response_format"
    assert not route.called


async def test_async_create_with_a_model_class_points_to_parse(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=reply(CITY_JSON))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(RequestValidationError, match=r"parse\("):
            await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, response_format=list[City]
            )  # type: ignore[call-overload]
    assert not route.called


def test_parse_with_stream_points_at_the_streaming_method(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.parse(  # type: ignore[call-arg]
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], response_format=City, stream=True
        )
    assert caught.value.param == "stream"
    assert "client.chat.completions.stream(" in str(caught.value)
    assert "extra_body" not in str(caught.value)  # which refuses stream too: no advice that leads in a circle
    assert not route.called
