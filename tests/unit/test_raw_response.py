"""``chat.completions.with_raw_response`` through the public API (respx: no sockets), sync and async."""

from __future__ import annotations

import asyncio
import random
import traceback
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from grok_azure import (
    AsyncGrokClient,
    AsyncStream,
    BadRequestError,
    ChatCompletion,
    ChatCompletionStream,
    ClientClosedError,
    Deployment,
    DeploymentPool,
    GrokClient,
    GrokError,
    RateLimitError,
    RawResponse,
    RequestValidationError,
    RetryPolicy,
    Stream,
    StreamClosedError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, completion_body, sse

MESSAGES = [{"role": "user", "content": "Hi"}]
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1))
EAST = "https://east.services.ai.azure.com"
WEST = "https://west.services.ai.azure.com"
SECRET_HEADER = "tenant-secret-0123456789"
OK_HEADERS = {
    "apim-request-id": "apim-200",
    "x-request-id": "xreq-200",
    "x-ratelimit-remaining-requests": "99",
    "x-which": "second",
}
STREAM_BODY = sse(chunk(role="assistant"), chunk("Hel"), chunk("lo", finish_reason="stop"), "[DONE]")


def ok(content: str = "served") -> httpx.Response:
    return httpx.Response(200, json=completion_body(content), headers=OK_HEADERS)


def streamed() -> httpx.Response:
    return httpx.Response(
        200, content=STREAM_BODY, headers={"content-type": "text/event-stream", "apim-request-id": "apim-s"}
    )


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": str(code), "message": "no"}}, headers=headers)


def sync_client(**kw: Any) -> GrokClient:
    return GrokClient(**({"endpoint": ENDPOINT, "api_key": KEY, "retry": FAST} | kw))


def async_client(**kw: Any) -> AsyncGrokClient:
    # httpx's transport, so respx sees the requests.
    options = {"endpoint": ENDPOINT, "api_key": KEY, "retry": FAST, "http_client": httpx.AsyncClient()}
    return AsyncGrokClient(**(options | kw))


def assert_answer_of(raw: RawResponse[ChatCompletion], sent: httpx.Request) -> None:
    assert raw.status_code == 200
    assert raw.headers["x-which"] == "second"
    assert raw.apim_request_id == "apim-200"
    assert raw.x_request_id == "xreq-200"
    assert raw.request_id == sent.headers["x-ms-client-request-id"]
    completion = raw.parse()
    assert isinstance(completion, ChatCompletion)
    assert completion.text == "served"
    assert raw.parse() is completion


# --- create ------------------------------------------------------------------------------------------------------


def test_create_returns_the_answer_then_the_completion(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    with sync_client() as client:
        raw = client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)

    assert_answer_of(raw, route.calls.last.request)
    assert raw.retries_taken == 0
    assert raw.served_by == raw.parse().served_by == "res.services.ai.azure.com"
    assert raw.http_response.status_code == 200
    assert raw.elapsed is not None  # the body was read


async def test_async_create_returns_the_answer_then_the_completion(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    async with async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)

    assert_answer_of(raw, route.calls.last.request)
    assert raw.retries_taken == 0


def test_create_records_usage_as_a_plain_call_does(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    with sync_client() as client:
        client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)
        # parse() never called: the call is counted anyway (the body was decoded when it answered).
        assert client.usage.totals().total_tokens == 8


def test_a_429_then_200_gives_the_200s_headers_and_counts_the_retry(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[status(429, **{"retry-after-ms": "1", "x-which": "first"}), ok()]
    )
    with sync_client() as client:
        raw = client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)

    assert route.call_count == 2
    assert_answer_of(raw, route.calls.last.request)
    assert raw.retries_taken == 1
    # One request id for the call, on both attempts.
    assert {c.request.headers["x-ms-client-request-id"] for c in route.calls} == {raw.request_id}


async def test_async_a_429_then_200_gives_the_200s_headers(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[status(429, **{"retry-after-ms": "1", "x-which": "first"}), status(503), ok()]
    )
    async with async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)

    assert_answer_of(raw, route.calls.last.request)
    assert raw.retries_taken == 2


def test_a_final_error_raises_the_typed_error_not_a_raw_response(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(429, **{"retry-after-ms": "1"}))
    with sync_client(max_retries=1) as client, pytest.raises(RateLimitError) as caught:
        client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)
    assert caught.value.status_code == 429


async def test_async_a_final_error_raises_the_typed_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(400))
    async with async_client() as client:
        with pytest.raises(BadRequestError):
            await client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)


@pytest.mark.parametrize(
    "bad", [{"temperature": "hot"}, {"response_format": BaseModel}, {"stream_deadline": 5}]
)
def test_bad_input_is_refused_before_anything_is_sent(
    bad: dict[str, Any], mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    with sync_client() as client, pytest.raises(RequestValidationError):
        client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES, **bad)
    assert route.call_count == 0


async def test_async_bad_input_is_refused_before_anything_is_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    async with async_client() as client:
        with pytest.raises(RequestValidationError):
            await client.chat.completions.with_raw_response.create(
                model="grok-4",
                messages=MESSAGES,
                max_tokens="many",  # type: ignore[call-overload]
            )
    assert route.call_count == 0


def test_headers_and_repr_hold_no_credential(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    with sync_client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="grok-4", messages=MESSAGES, extra_headers={"x-tenant-token": SECRET_HEADER}
        )

    shown = repr(raw) + str(raw) + repr(dict(raw.headers)) + repr(raw.headers)
    assert KEY not in shown
    assert SECRET_HEADER not in shown
    assert "api-key" not in raw.headers
    assert "x-tenant-token" not in raw.headers
    assert "200" in repr(raw)
    assert str(raw.request_id) in repr(raw)


def call_raw(client: GrokClient, method: str, temperature: Any) -> None:
    """A raw call with a secret header; the secret is no local of any frame of this module."""
    raws = client.chat.completions.with_raw_response
    if method == "create":
        raws.create(
            model="grok-4",
            messages=MESSAGES,
            temperature=temperature,
            extra_headers={"x-tenant-token": SECRET_HEADER},
        )
        return
    with raws.stream(
        model="grok-4",
        messages=MESSAGES,
        temperature=temperature,
        extra_headers={"x-tenant-token": SECRET_HEADER},
    ):
        pass


@pytest.mark.parametrize("method", ["create", "stream"])
@pytest.mark.parametrize(("temperature", "error"), [(0.5, BadRequestError), ("hot", RequestValidationError)])
def test_a_failure_rendered_with_locals_shows_no_credential(
    method: str, temperature: Any, error: type[GrokError], mock_api: respx.MockRouter
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(400))
    with sync_client() as client, pytest.raises(error) as caught:
        call_raw(client, method, temperature)

    rendered = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    assert "_raw_response.py" in rendered  # the SDK's frames, with their locals, were rendered
    assert SECRET_HEADER not in rendered
    assert KEY not in rendered


def test_failover_names_the_deployment_that_answered(mock_api: respx.MockRouter) -> None:
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(return_value=status(503))
    mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    pool = DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=1000),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001),
        ],
        rng=random.Random(3),
    )
    with GrokClient(deployments=pool, retry=FAST) as client:
        raw = client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)

    assert east.call_count == 1
    assert raw.served_by == "west"
    assert raw.parse().served_by == "west"
    assert raw.retries_taken == 1


def test_a_closed_client_refuses_and_a_copy_works_until_then(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    client = sync_client()
    copy = client.with_options(max_retries=0)
    assert (
        copy.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES).status_code == 200
    )
    client.close()
    for each in (client, copy):
        with pytest.raises(ClientClosedError):
            each.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES)
    assert route.call_count == 1


async def test_async_tasks_each_get_their_own_answer(mock_api: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        said = httpx.Response(200, content=request.content).json()["messages"][0]["content"]
        return httpx.Response(200, json=completion_body(said), headers={"apim-request-id": f"apim-{said}"})

    mock_api.post(CHAT_URL).mock(side_effect=answer)
    async with async_client() as client:
        raws = await asyncio.gather(
            *(
                client.chat.completions.with_raw_response.create(
                    model="grok-4", messages=[{"role": "user", "content": f"m{i}"}]
                )
                for i in range(8)
            )
        )

    assert [raw.parse().text for raw in raws] == [f"m{i}" for i in range(8)]
    assert [raw.apim_request_id for raw in raws] == [f"apim-m{i}" for i in range(8)]
    assert len({raw.request_id for raw in raws}) == 8


# --- create(stream=True) ------------------------------------------------------------------------------------------


def test_streamed_create_parses_to_the_stream_which_frees_its_response(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    with sync_client() as client:
        raw = client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES, stream=True)
        assert raw.apim_request_id == "apim-s"
        assert raw.elapsed is None  # the body is still open
        stream = raw.parse()
        assert isinstance(stream, Stream)
        assert raw.parse() is stream
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
        assert raw.http_response.is_closed
        assert raw.elapsed is not None


def test_streamed_create_closed_early_frees_its_response(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    with sync_client() as client:
        raw = client.chat.completions.with_raw_response.create(model="grok-4", messages=MESSAGES, stream=True)
        with raw.parse() as stream:
            next(stream)
        assert raw.http_response.is_closed
        with pytest.raises(StreamClosedError):
            stream.get_final_completion()


async def test_async_streamed_create_parses_to_the_async_stream(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    async with async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="grok-4", messages=MESSAGES, stream=True
        )
        stream = raw.parse()
        assert isinstance(stream, AsyncStream)
        assert (await stream.get_final_completion()).text == "Hello"
        assert raw.http_response.is_closed


async def test_async_streamed_create_closed_early_frees_its_response(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    async with async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="grok-4", messages=MESSAGES, stream=True
        )
        async with raw.parse() as stream:
            await stream.__anext__()
        assert raw.http_response.is_closed


# --- stream() ------------------------------------------------------------------------------------------------------


def test_stream_manager_gives_the_answer_then_the_event_stream(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=streamed())
    with sync_client() as client:
        manager = client.chat.completions.with_raw_response.stream(model="grok-4", messages=MESSAGES)
        assert route.call_count == 0  # sent on entering, as stream() does
        with manager as raw:
            assert raw.status_code == 200
            assert raw.apim_request_id == "apim-s"
            assert raw.request_id == route.calls.last.request.headers["x-ms-client-request-id"]
            events = raw.parse()
            assert isinstance(events, ChatCompletionStream)
            assert "".join(events.text_stream) == "Hello"
        assert raw.http_response.is_closed
    # stream() asks for usage, with_raw_response.stream() too: the same call.
    assert route.calls.last.request.content.count(b'"include_usage":true') == 1


def test_stream_manager_left_early_closes_the_stream(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    with sync_client() as client:
        with client.chat.completions.with_raw_response.stream(model="grok-4", messages=MESSAGES) as raw:
            next(iter(raw.parse()))
        assert raw.http_response.is_closed
        with pytest.raises(StreamClosedError):
            raw.parse().get_final_completion()


def test_stream_manager_failure_raises_the_typed_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(400))
    with (
        sync_client() as client,
        pytest.raises(BadRequestError),
        client.chat.completions.with_raw_response.stream(model="grok-4", messages=MESSAGES),
    ):
        pytest.fail("entered")


async def test_async_stream_manager_gives_the_answer_then_the_event_stream(
    mock_api: respx.MockRouter,
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[status(503), streamed()])
    async with async_client() as client:
        async with client.chat.completions.with_raw_response.stream(model="grok-4", messages=MESSAGES) as raw:
            assert raw.retries_taken == 1
            assert (await raw.parse().get_final_completion()).text == "Hello"
        assert raw.http_response.is_closed


def test_structured_stream_manager_parses_into_the_model(mock_api: respx.MockRouter) -> None:
    class City(BaseModel):
        name: str

    body = sse(chunk('{"name": ', role="assistant"), chunk('"Oslo"}', finish_reason="stop"), "[DONE]")
    mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    )
    with (
        sync_client() as client,
        client.chat.completions.with_raw_response.stream(
            model="grok-4", messages=MESSAGES, response_format=City
        ) as raw,
    ):
        assert raw.status_code == 200
        assert raw.parse().get_final_completion().parsed == City(name="Oslo")


def test_stream_refuses_bad_input_before_sending(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=streamed())
    with sync_client() as client, pytest.raises(RequestValidationError):
        client.chat.completions.with_raw_response.stream(model="grok-4", messages=MESSAGES, top_p="x")  # type: ignore[call-overload]
    assert route.call_count == 0
