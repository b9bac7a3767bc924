"""How a stream lives and ends, written the way users write it: inline loops, ``with`` blocks, leaving early,
closing, dropping a stream, and reading the rest of the body after ``[DONE]`` (sync and async, over respx)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from grok_azure import (
    AsyncChatCompletionStream,
    AsyncGrokClient,
    ChatCompletionChunk,
    ChatCompletionStream,
    GrokClient,
    StreamClosedError,
    StreamInterruptedError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, sse
from .test_streaming import MESSAGES, SSE_HEADERS, Pieces, serve, transcript

FULL_TEXT = "Hello there, friend! 你好 👋"


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.delta.content or "" for ch in chunks for c in ch.choices)


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as c:
        yield c


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncGrokClient]:
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as c:
        yield c


# --- the inline loop: nothing but the loop holds the stream ------------------------------------------------------


def test_inline_for_loop_over_create_reads_every_chunk(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    chunks = []
    for part in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        chunks.append(part)
    assert len(chunks) == 8
    assert text_of(chunks) == FULL_TEXT


def test_inline_loop_survives_a_garbage_collection_mid_stream(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    chunks = []
    for part in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        gc.collect()
        chunks.append(part)
    assert text_of(chunks) == FULL_TEXT


async def test_async_inline_loop_over_create_reads_every_chunk(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    events = [event + b"\n\n" for event in transcript("reasoning_and_content.sse").split(b"\n\n") if event]
    mock_api.post(CHAT_URL).respond(200, stream=Pieces(events), headers=SSE_HEADERS)
    chunks = []
    async for part in await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        gc.collect()
        await asyncio.sleep(0)  # let anything scheduled against the stream run
        chunks.append(part)
    assert text_of(chunks) == FULL_TEXT


# --- a dropped stream frees its connection by reference counting alone --------------------------------------------


@pytest.mark.parametrize("read_first", [True, False], ids=["half-read", "never-read"])
def test_garbage_collected_stream_closes_its_response(
    mock_api: respx.MockRouter, client: GrokClient, read_first: bool
) -> None:
    body = Pieces([transcript("reasoning_and_content.sse")])
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    if read_first:
        next(stream)
    response = stream.response
    # Reference counting alone must free it: no cycle may keep a dropped stream (and its connection) alive.
    gc.disable()
    try:
        del stream
        assert response.is_closed
        assert body.closed
    finally:
        gc.enable()


@pytest.mark.parametrize("read_first", [True, False], ids=["half-read", "never-read"])
async def test_async_garbage_collected_stream_closes_its_response(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient, read_first: bool
) -> None:
    body = Pieces([transcript("reasoning_and_content.sse")])
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    if read_first:
        await stream.__anext__()
    response = stream.response
    gc.disable()
    try:
        del stream
        # asyncio closes a dropped async generator on the loop: give it a few turns (bounded, not timed).
        for _ in range(50):
            if response.is_closed:
                break
            await asyncio.sleep(0)
        assert response.is_closed
        assert body.closed
    finally:
        gc.enable()


# --- a stream closed before it finished is not a completion ------------------------------------------------------


def test_final_completion_after_leaving_the_with_block_early_raises(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        for part in stream:
            if part.choices and part.choices[0].delta.content:
                break
    with pytest.raises(StreamClosedError) as caught:
        stream.get_final_completion()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hello"
    assert caught.value.partial.finish_reason is None


def test_iterating_after_leaving_the_with_block_early_raises(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        next(stream)
    with pytest.raises(StreamClosedError):
        for _ in stream:
            pass
    with pytest.raises(StreamClosedError):
        next(stream)


def test_close_inside_the_loop_makes_the_next_step_raise(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    seen: list[ChatCompletionChunk] = []

    def read_and_close_after_the_first() -> None:
        for part in stream:
            seen.append(part)
            stream.close()

    with pytest.raises(StreamClosedError):
        read_and_close_after_the_first()
    assert len(seen) == 1
    assert stream.response.is_closed


def use(stream: ChatCompletionStream, helper: str) -> object:
    """What a user does with a managed stream: a text helper, the final completion, or the events."""
    if helper == "get_final_completion":
        return stream.get_final_completion()
    if helper == "iterate":
        return list(stream)
    return "".join(getattr(stream, helper))


async def ause(stream: AsyncChatCompletionStream, helper: str) -> object:
    if helper == "get_final_completion":
        return await stream.get_final_completion()
    if helper == "iterate":
        return [event async for event in stream]
    return "".join([text async for text in getattr(stream, helper)])


HELPERS = ["text_stream", "reasoning_stream", "get_final_completion", "iterate"]


@pytest.mark.parametrize("helper", HELPERS)
def test_stream_manager_used_after_leaving_early_raises(
    mock_api: respx.MockRouter, client: GrokClient, helper: str
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        next(stream)
    with pytest.raises(StreamClosedError) as caught:
        use(stream, helper)
    assert caught.value.partial is not None


def test_text_stream_taken_inside_and_read_after_the_block_raises(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        texts = stream.text_stream
    with pytest.raises(StreamClosedError):
        list(texts)


def test_a_finished_stream_still_has_its_completion_after_close(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        chunks = list(stream)
    assert stream.get_final_completion().text == FULL_TEXT == text_of(chunks)
    assert list(stream) == []  # read to its end: nothing more, and no error
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as managed:
        assert "".join(managed.text_stream) == FULL_TEXT
    assert managed.get_final_completion().reasoning == "The user greets me."


def test_a_failed_stream_has_no_final_completion(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("truncated_before_finish.sse"))
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError):
        for _ in stream:
            pass
    with pytest.raises(StreamClosedError) as caught:
        stream.get_final_completion()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Cut off"


async def test_async_final_completion_after_leaving_early_raises(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    async with await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        async for _ in stream:
            break
    with pytest.raises(StreamClosedError):
        await stream.get_final_completion()
    with pytest.raises(StreamClosedError):
        async for _ in stream:
            pass


@pytest.mark.parametrize("helper", HELPERS)
async def test_async_stream_manager_used_after_leaving_early_raises(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient, helper: str
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        await stream.__anext__()
    with pytest.raises(StreamClosedError) as caught:
        await ause(stream, helper)
    assert caught.value.partial is not None


async def test_async_finished_stream_still_has_its_completion_after_close(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert (await stream.get_final_completion()).text == text == FULL_TEXT


# --- after [DONE], the rest of the body is read so the connection can be reused ------------------------------------


def done_then(trailer: list[bytes]) -> Pieces:
    head = sse(chunk("Hi", role="assistant"), chunk(finish_reason="stop"), "[DONE]")
    return Pieces([head, *trailer])


def test_the_body_after_done_is_read_to_its_end(mock_api: respx.MockRouter, client: GrokClient) -> None:
    body = done_then([b": trailing comment\n\n", b"\r\n"])
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert text_of(chunks) == "Hi"
    assert body.consumed == 3  # every piece was read: the connection ends in a reusable state
    assert body.closed


async def test_async_the_body_after_done_is_read_to_its_end(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    body = done_then([b": trailing comment\n\n", b"\r\n"])
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    chunks = [
        c async for c in await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    ]
    assert text_of(chunks) == "Hi"
    assert body.consumed == 3
    assert body.closed


def test_a_long_body_after_done_is_cut_off(mock_api: respx.MockRouter, client: GrokClient) -> None:
    # A server that keeps talking after [DONE] is not read forever: past a small cap the connection is closed.
    body = done_then([b": " + b"x" * 8192 + b"\n"] * 1000)
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == "Hi"
    assert body.consumed < 100
    assert body.closed


@pytest.mark.parametrize(
    "failure", [httpx.RemoteProtocolError("peer closed"), httpx.ReadTimeout("held open"), RuntimeError("odd")]
)
def test_a_failure_after_done_does_not_spoil_the_stream(
    mock_api: respx.MockRouter, client: GrokClient, failure: Exception
) -> None:
    body = done_then([])
    body.fail_with = failure
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        assert text_of(list(stream)) == "Hi"
    assert stream.get_final_completion().text == "Hi"
