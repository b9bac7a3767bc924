"""stream(response_format=Model): partial values as JSON arrives in fragments, the parsed object at the end, and
the structured errors (respx, sync and async)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from grok_azure import (
    AsyncGrokClient,
    ContentFilterFinishReasonError,
    ContentParsedEvent,
    ContentPartialEvent,
    DoneEvent,
    GrokClient,
    LengthFinishReasonError,
    OutputValidationError,
    ParsedChatCompletion,
    RequestValidationError,
)

from .conftest import CHAT_URL, ENDPOINT, FIRST_EVENT, KEY, chunk, sse

MESSAGES = [{"role": "user", "content": "Paris has 2.1 million people."}]
CITY_JSON = '{"name": "Paris", "population": 2100000}'
USAGE = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}


class City(BaseModel):
    name: str
    population: int


def body(text: str, finish_reason: str = "stop", size: int = 3) -> bytes:
    """The reply cut into ``size``-character content deltas (JSON split anywhere, as gateways do)."""
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    events: list[Any] = [FIRST_EVENT, chunk(role="assistant", content="")]
    events += [chunk(piece) for piece in pieces]
    events += [chunk(finish_reason=finish_reason), {**chunk(), "choices": [], "usage": USAGE}, "[DONE]"]
    return sse(*events)


def stream_route(mock_api: respx.MockRouter, text: str, finish_reason: str = "stop") -> respx.Route:
    return mock_api.post(CHAT_URL).respond(
        200, content=body(text, finish_reason), headers={"content-type": "text/event-stream"}
    )


def test_partials_grow_and_the_final_completion_is_parsed(mock_api: respx.MockRouter) -> None:
    route = stream_route(mock_api, CITY_JSON)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES, response_format=City) as stream,
    ):
        events = list(stream)
        final = stream.get_final_completion()
    partials = [e.partial for e in events if isinstance(e, ContentPartialEvent)]
    assert partials[0] == {}
    assert {"name": "Paris"} in partials
    assert partials[-1] == {"name": "Paris", "population": 2100000}
    assert all(a != b for a, b in itertools.pairwise(partials))  # only changes are sent
    parsed_events = [e for e in events if isinstance(e, ContentParsedEvent)]
    assert [e.parsed for e in parsed_events] == [City(name="Paris", population=2_100_000)]
    assert isinstance(events[-1], DoneEvent)
    assert isinstance(final, ParsedChatCompletion)
    assert final.parsed == City(name="Paris", population=2_100_000)
    assert final.usage is not None
    assert final.usage.total_tokens == 14
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["response_format"]["json_schema"]["name"] == "City"


async def test_async_partials_and_final(mock_api: respx.MockRouter) -> None:
    stream_route(mock_api, CITY_JSON)
    client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient())
    async with (
        client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES, response_format=City) as stream,
    ):
        partials = [p async for p in stream.partial_stream]
        final = await stream.get_final_completion()
    assert partials[-1] == {"name": "Paris", "population": 2100000}
    assert final.parsed == City(name="Paris", population=2_100_000)


def test_text_stream_still_gives_the_json_text(mock_api: respx.MockRouter) -> None:
    stream_route(mock_api, CITY_JSON)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES, response_format=City) as stream,
    ):
        assert "".join(stream.text_stream) == CITY_JSON
        assert stream.get_final_completion().parsed == City(name="Paris", population=2_100_000)


@pytest.mark.parametrize(
    ("finish_reason", "error"),
    [("length", LengthFinishReasonError), ("content_filter", ContentFilterFinishReasonError)],
)
def test_a_cut_stream_raises_at_the_end(
    mock_api: respx.MockRouter, finish_reason: str, error: type[Exception]
) -> None:
    stream_route(mock_api, '{"name": "Par', finish_reason)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES, response_format=City) as stream,
    ):
        seen: list[Any] = []

        def read_all() -> None:
            for event in stream:
                seen.append(event)

        with pytest.raises(error):
            read_all()
        assert any(isinstance(e, ContentPartialEvent) for e in seen)
        with pytest.raises(error):  # asked again, the same error: not an empty end
            stream.get_final_completion()


async def test_async_invalid_stream_raises_output_validation_error(mock_api: respx.MockRouter) -> None:
    stream_route(mock_api, '{"name": "Paris"}')
    client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient())
    async with (
        client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES, response_format=City) as stream,
    ):
        with pytest.raises(OutputValidationError) as caught:
            await stream.get_final_completion()
    assert caught.value.errors[0]["loc"] == ("population",)
    assert caught.value.completion.text == '{"name": "Paris"}'


def test_a_dict_format_still_streams_plainly(mock_api: respx.MockRouter) -> None:
    stream_route(mock_api, CITY_JSON)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.stream(
            model="grok-4", messages=MESSAGES, response_format={"type": "json_object"}
        ) as stream,
    ):
        events = list(stream)
    assert not any(isinstance(e, ContentPartialEvent) for e in events)


def test_stream_refuses_bad_structured_arguments_before_sending(mock_api: respx.MockRouter) -> None:
    route = stream_route(mock_api, CITY_JSON)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.stream(
            model="grok-4",
            messages=MESSAGES,
            response_format=City,
            fallback="yaml",  # type: ignore[arg-type]
        )
    assert caught.value.param == "fallback"
    assert not route.called
