"""Stream defects a hostile review found, each through the public API, sync and async.

[DONE] followed by endless heartbeats still ends the loop; a streamed 200 with a JSON body is reported as
``create()`` would report it; a stream with no choice is no completion; a hostile ``retry:`` field is ignored;
``close()`` from another thread or task stops the reader; a failed stream does not later iterate as empty; an
error event's plain-text message is capped; a mid-stream ``429`` error is a ``StreamError`` carrying its code.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    BadRequestError,
    GrokClient,
    RateLimitError,
    ResponseDecodeError,
    ResponseLimits,
    ResponseTooLargeError,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from grok_azure._streaming._sse import SSEDecoder

from ._loopback import LoopbackServer, SeenRequest
from .conftest import CHAT_URL, ENDPOINT, FIRST_EVENT, KEY, chunk, sse
from .test_streaming import MESSAGES, serve

# Bounds a test that would hang on the old code; never an assertion about speed.
BOUND = 15.0


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncGrokClient]:
    async with AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient(), max_retries=0
    ) as c:
        yield c


# --- loopback helpers (real sockets: heartbeats, a reader blocked in recv) ------------------------------------------


def _piece(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
ANSWER = [sse(chunk("Hel", role="assistant")), sse(chunk("lo")), sse(chunk(finish_reason="stop"))]


def heartbeats_after_done(stop: threading.Event) -> Any:
    """A server that sends the answer and [DONE], then a keep-alive comment every 50 ms and never ends the body
    (until the client hangs up, or ``stop``)."""

    def respond(request: SeenRequest) -> Iterable[bytes]:
        yield HEAD
        for event in ANSWER:
            yield _piece(event)
        yield _piece(b"data: [DONE]\n\n")
        while not stop.wait(0.05):
            yield _piece(b": ping\n\n")
        yield b"0\r\n\r\n"

    return respond


def thinking_server(release: threading.Event) -> Any:
    """A server that sends one chunk, then waits (the model "thinks") until ``release`` before the rest."""

    def respond(request: SeenRequest) -> Iterable[bytes]:
        yield HEAD
        yield _piece(ANSWER[0])
        release.wait(BOUND)
        yield _piece(ANSWER[2])
        yield _piece(b"data: [DONE]\n\n")
        yield b"0\r\n\r\n"

    return respond


def _endpoint(server: LoopbackServer) -> str:
    return server.url + "/openai/v1"


# --- 1. [DONE] ends the loop even when the server keeps the body open -----------------------------------------------


def test_done_ends_the_loop_although_the_server_keeps_sending_heartbeats() -> None:
    stop = threading.Event()
    with LoopbackServer(heartbeats_after_done(stop)) as server:
        try:
            client = GrokClient(endpoint=_endpoint(server), api_key=KEY, timeout=BOUND)
            ended = threading.Event()
            texts: list[str] = []

            def consume() -> None:
                stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
                for piece in stream:
                    texts.append(piece.choices[0].delta.content or "")
                texts.append(stream.get_final_completion().text)
                ended.set()

            thread = threading.Thread(target=consume, daemon=True)
            thread.start()
            assert ended.wait(BOUND), "the for loop did not end after [DONE]"
            # The loop ended because the client stopped draining (and hung up), not because the body ended.
            assert not stop.is_set()
            assert texts == ["Hel", "lo", "", "Hello"]
            client.close()
        finally:
            stop.set()


async def test_async_done_ends_the_loop_although_the_server_keeps_sending_heartbeats() -> None:
    stop = threading.Event()
    with LoopbackServer(heartbeats_after_done(stop)) as server:
        try:
            async with AsyncGrokClient(endpoint=_endpoint(server), api_key=KEY, timeout=BOUND) as client:

                async def consume() -> str:
                    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
                        texts = [text async for text in stream.text_stream]
                        final = await stream.get_final_completion()
                    return "".join(texts) + "|" + final.text

                assert await asyncio.wait_for(consume(), BOUND) == "Hello|Hello"
                assert not stop.is_set()
        finally:
            stop.set()


# --- 2. a streamed 200 with a JSON body is reported as create() would -----------------------------------------------

RATE_LIMITED = {"error": {"code": "429", "message": "Rate limit reached, retry after 5 seconds"}}


def json_200(mock_api: respx.MockRouter, payload: Any) -> respx.Route:
    return mock_api.post(CHAT_URL).respond(
        200, content=json.dumps(payload).encode(), headers={"content-type": "application/json; charset=utf-8"}
    )


def test_streamed_200_with_a_json_error_body_raises_the_mapped_error_from_create(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    json_200(mock_api, RATE_LIMITED)
    with pytest.raises(RateLimitError) as caught:  # noqa: PT012 - the inline loop is what users write
        for _ in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pytest.fail("no chunk may come out of a JSON body")
    assert "Rate limit reached" in str(caught.value)
    # The same body to a non-streamed call: the same class.
    with pytest.raises(RateLimitError):
        client.chat.completions.create(model="m", messages=MESSAGES)


def test_stream_manager_raises_the_json_error_when_its_block_starts(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    json_200(mock_api, {"error": {"code": "content_filter", "message": "filtered", "status": 400}})
    entered = False
    with (
        pytest.raises(BadRequestError, match="filtered"),
        client.chat.completions.stream(model="m", messages=MESSAGES),
    ):
        entered = True
    assert not entered


async def test_async_streamed_200_with_a_json_error_body_raises_the_mapped_error(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    json_200(mock_api, RATE_LIMITED)
    with pytest.raises(RateLimitError) as caught:  # noqa: PT012 - the inline loop is what users write
        async for _ in await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pytest.fail("no chunk may come out of a JSON body")
    assert "Rate limit reached" in str(caught.value)
    with pytest.raises(RateLimitError):
        async with aclient.chat.completions.stream(model="m", messages=MESSAGES):
            pass


def test_streamed_200_with_json_that_is_no_error_is_a_decode_error(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    json_200(mock_api, {"id": "x", "object": "chat.completion", "choices": []})
    with pytest.raises(ResponseDecodeError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert "not an event stream" in str(caught.value)
    assert '"chat.completion"' in caught.value.body_excerpt


async def test_async_streamed_json_body_is_read_within_max_body_bytes(mock_api: respx.MockRouter) -> None:
    json_200(mock_api, {"error": {"code": "429", "message": "x" * 5000}})
    async with AsyncGrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        http_client=httpx.AsyncClient(),
        response_limits=ResponseLimits(max_body_bytes=1024),
    ) as client:
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert caught.value.limit_name == "max_body_bytes"


# --- 3. a stream with no choice is no completion ---------------------------------------------------------------------

USAGE_ONLY = {
    "id": "s1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "grok-4",
    "choices": [],
    "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5},
}
NO_CHOICE_BODIES = {
    "only-done": sse("[DONE]"),
    "filter-and-usage-only": sse(FIRST_EVENT, USAGE_ONLY, "[DONE]"),
    "empty-objects": sse({}, {}, "[DONE]"),
    "done-before-content": sse("[DONE]", chunk("late", role="assistant"), chunk(finish_reason="stop")),
}


@pytest.mark.parametrize("body", NO_CHOICE_BODIES.values(), ids=NO_CHOICE_BODIES.keys())
def test_stream_without_any_choice_is_a_decode_error(
    mock_api: respx.MockRouter, client: GrokClient, body: bytes
) -> None:
    serve(mock_api, body)
    with pytest.raises(ResponseDecodeError) as caught:
        for _ in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pass
    assert "without any choice" in str(caught.value)


@pytest.mark.parametrize("body", NO_CHOICE_BODIES.values(), ids=NO_CHOICE_BODIES.keys())
async def test_async_stream_manager_without_any_choice_is_a_decode_error(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient, body: bytes
) -> None:
    serve(mock_api, body)
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(ResponseDecodeError):
            await stream.get_final_completion()
        # Asked again, the failure is not forgotten (and no empty completion appears).
        with pytest.raises(StreamClosedError, match="ResponseDecodeError"):
            await stream.get_final_completion()


def test_azure_filter_and_usage_events_around_real_choices_still_complete(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(
        mock_api,
        sse(FIRST_EVENT, chunk("Hi", role="assistant"), chunk(finish_reason="stop"), USAGE_ONLY, "[DONE]"),
    )
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.text == "Hi"
    assert final.usage is not None
    assert final.usage.total_tokens == 5


# --- 4. a hostile retry: field is ignored, never raised ---------------------------------------------------------------

HUGE_RETRY = b"retry: " + b"9" * 5000 + b"\n\n"


def test_huge_retry_field_mid_stream_is_ignored(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(
        mock_api,
        sse(chunk("a", role="assistant")) + HUGE_RETRY + sse(chunk("b", finish_reason="stop"), "[DONE]"),
    )
    texts = [
        c.choices[0].delta.content
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    ]
    assert texts == ["a", "b"]


async def test_async_huge_retry_field_mid_stream_is_ignored(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(
        mock_api,
        sse(chunk("a", role="assistant")) + HUGE_RETRY + sse(chunk("b", finish_reason="stop"), "[DONE]"),
    )
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert [text async for text in stream.text_stream] == ["a", "b"]


def test_retry_values_beyond_ten_digits_are_ignored_by_the_parser() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 9999999999\n\n") == []
    assert decoder.reconnection_time == 9_999_999_999
    decoder.feed(b"retry: 12345678901\n\n" + b"retry: " + b"7" * 100_000 + b"\n\n")
    assert decoder.reconnection_time == 9_999_999_999


# --- 5. close() from another thread or task stops the reader ---------------------------------------------------------


def _close_from_another_thread(use_manager: bool) -> tuple[BaseException | None, list[str], bool]:
    """A consumer thread waits on a "thinking" server; the test thread presses "stop" (``close()``)."""
    release = threading.Event()
    with LoopbackServer(thinking_server(release)) as server:
        try:
            client = GrokClient(endpoint=_endpoint(server), api_key=KEY, timeout=BOUND)
            got_first = threading.Event()
            outcome: list[BaseException | None] = []
            texts: list[str] = []
            manager = client.chat.completions.stream(model="m", messages=MESSAGES)
            target: Any = (
                manager.__enter__()
                if use_manager
                else client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            )

            def consume() -> None:
                try:
                    if use_manager:
                        for text in target.text_stream:
                            texts.append(text)
                            got_first.set()
                    else:
                        for piece in target:
                            texts.append(piece.choices[0].delta.content or "")
                            got_first.set()
                    outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=consume, daemon=True)
            thread.start()
            assert got_first.wait(BOUND)
            target.close()  # the "stop" button: must not raise
            thread.join(BOUND)
            assert not thread.is_alive(), "close() did not stop the reader"
            closed = target.response.is_closed
            # Iterating later says the stream was closed, instead of ending as if complete.
            with pytest.raises(StreamClosedError):
                target.get_final_completion()
            client.close()
            return outcome[0], texts, closed
        finally:
            release.set()


@pytest.mark.parametrize("use_manager", [False, True], ids=["create-stream", "stream-manager"])
def test_close_from_another_thread_stops_the_reader_with_stream_closed_error(use_manager: bool) -> None:
    error, texts, closed = _close_from_another_thread(use_manager)
    assert isinstance(error, StreamClosedError)
    assert "closed" in str(error)
    assert texts == ["Hel"]
    assert closed


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("use_manager", [False, True], ids=["create-stream", "stream-manager"])
async def test_close_from_another_task_stops_the_reader_with_stream_closed_error(
    use_manager: bool, transport: str
) -> None:
    release = threading.Event()
    with LoopbackServer(thinking_server(release)) as server:
        try:
            http_client = httpx.AsyncClient(timeout=BOUND) if transport == "httpx" else None
            async with AsyncGrokClient(
                endpoint=_endpoint(server), api_key=KEY, timeout=BOUND, http_client=http_client
            ) as client:
                got_first = asyncio.Event()
                texts: list[str] = []
                if use_manager:
                    manager = client.chat.completions.stream(model="m", messages=MESSAGES)
                    helper = await manager.__aenter__()
                    target: Any = helper
                else:
                    target = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)

                async def consume() -> None:
                    if use_manager:
                        async for text in target.text_stream:
                            texts.append(text)
                            got_first.set()
                    else:
                        async for piece in target:
                            texts.append(piece.choices[0].delta.content or "")
                            got_first.set()

                task = asyncio.create_task(consume())
                await asyncio.wait_for(got_first.wait(), BOUND)
                await asyncio.sleep(0.05)  # let the consumer block in its next read
                await target.close()  # the "stop" button, from another task: must not raise
                with pytest.raises(StreamClosedError, match="closed"):
                    await asyncio.wait_for(task, BOUND)
                assert texts == ["Hel"]
                assert target.response.is_closed
                with pytest.raises(StreamClosedError):
                    await target.get_final_completion()
        finally:
            release.set()


# --- 6. a failed stream does not later iterate as empty --------------------------------------------------------------

CUT = sse(chunk("Par", role="assistant"), chunk("tial"))  # no finish_reason, no [DONE]


def test_failed_stream_raises_stream_closed_error_when_iterated_again(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, CUT)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError):
        for _ in stream:
            pass
    with pytest.raises(StreamClosedError, match="failed earlier: StreamInterruptedError") as caught:
        for _ in stream:
            pass
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Partial"


def test_failed_helper_text_stream_raises_again_instead_of_ending(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, CUT)
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(StreamInterruptedError):
            list(stream.text_stream)
        with pytest.raises(StreamClosedError, match="failed earlier"):
            list(stream.text_stream)
        with pytest.raises(StreamClosedError, match="failed earlier"):
            list(stream)


async def test_async_failed_stream_raises_stream_closed_error_when_iterated_again(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, CUT)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError):
        async for _ in stream:
            pass
    with pytest.raises(StreamClosedError, match="failed earlier"):
        async for _ in stream:
            pass
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as helper:
        with pytest.raises(StreamInterruptedError):
            async for _ in helper.text_stream:
                pass
        with pytest.raises(StreamClosedError, match="failed earlier"):
            async for _ in helper.text_stream:
                pass


async def test_cancelled_reader_task_leaves_a_stream_that_says_so() -> None:
    release = threading.Event()
    with LoopbackServer(thinking_server(release)) as server:
        try:
            async with AsyncGrokClient(endpoint=_endpoint(server), api_key=KEY, timeout=BOUND) as client:
                stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
                await stream.__anext__()
                task = asyncio.create_task(stream.__anext__())  # type: ignore[arg-type]
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                with pytest.raises(StreamClosedError, match="closed"):
                    async for _ in stream:
                        pass
        finally:
            release.set()


# --- 7. an error event's plain-text message is capped ----------------------------------------------------------------


def test_plain_text_error_event_message_is_capped(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, sse(chunk("a", role="assistant")) + b"event: error\ndata: " + b"z" * 200_000 + b"\n\n")
    with pytest.raises(StreamError) as caught:
        for _ in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pass
    assert caught.value.message == "z" * 500 + "..."
    assert len(str(caught.value)) < 600


async def test_async_plain_text_error_event_message_is_capped(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, b"event: error\ndata: " + b"z" * 200_000 + b"\n\n")
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(StreamError) as caught:
            async for _ in stream:
                pass
    assert caught.value.message == "z" * 500 + "..."


# --- 8. a mid-stream 429 is a StreamError with the code ---------------------------------------------------------------

MID_STREAM_429 = sse(chunk("Par", role="assistant"), {"error": {"code": "429", "message": "quota"}})


def test_mid_stream_rate_limit_is_a_stream_error_with_its_code(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, MID_STREAM_429)
    with pytest.raises(StreamError) as caught:
        for _ in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pass
    assert caught.value.code == "429"
    assert caught.value.message == "quota"
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Par"


async def test_async_mid_stream_rate_limit_is_a_stream_error_with_its_code(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, MID_STREAM_429)
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(StreamError) as caught:
            await stream.get_final_completion()
    assert caught.value.code == "429"
    assert "429" in str(caught.value)
