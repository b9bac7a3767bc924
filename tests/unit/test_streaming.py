"""Streaming over respx with raw SSE transcripts: chunks, events, accumulation, errors, cleanup (sync and async)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from grok_azure import (
    APITimeoutError,
    AsyncGrokClient,
    AsyncStream,
    ChatCompletionChunk,
    ContentDeltaEvent,
    DoneEvent,
    GrokClient,
    RateLimitError,
    ReasoningDeltaEvent,
    ResponseDecodeError,
    Stream,
    StreamError,
    StreamInterruptedError,
    ToolCallArgumentsDeltaEvent,
    ToolCallArgumentsDoneEvent,
    UsageEvent,
)
from grok_azure._streaming._events import ChunkDecoder

from .conftest import CHAT_URL, ENDPOINT, FIXTURES, KEY

STREAMS = FIXTURES / "streams"
MESSAGES = [{"role": "user", "content": "Hi"}]
SSE_HEADERS = {"content-type": "text/event-stream"}


def transcript(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


def serve(mock_api: respx.MockRouter, body: bytes) -> respx.Route:
    return mock_api.post(CHAT_URL).respond(200, content=body, headers=SSE_HEADERS)


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body delivered in given pieces, optionally failing after them (a dropped or stalled connection)."""

    def __init__(self, pieces: list[bytes], fail_with: BaseException | None = None) -> None:
        self.pieces = pieces
        self.fail_with = fail_with
        self.closed = False
        self.consumed = 0  # pieces handed to the client so far

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.consumed += 1
            yield piece
        if self.fail_with is not None:
            raise self.fail_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.consumed += 1
            yield piece
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as c:
        yield c


def test_create_stream_yields_typed_chunks_including_azure_first_and_usage_events(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    route = serve(mock_api, transcript("reasoning_and_content.sse"))
    stream = client.chat.completions.create(model="grok-4.7", messages=MESSAGES, stream=True)
    assert isinstance(stream, Stream)
    chunks = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len(chunks) == 8
    assert chunks[0].choices == []
    assert chunks[0].prompt_filter_results is not None
    assert chunks[0].prompt_filter_results[0].content_filter_results is not None
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 26
    body = json.loads(route.calls.last.request.content)
    assert body["stream"] is True
    assert "stream_options" not in body
    assert route.calls.last.request.headers["accept"] == "text/event-stream"


def test_final_completion_accumulates_content_reasoning_usage_and_filters(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.create(model="grok-4.7", messages=MESSAGES, stream=True) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Hello there, friend! 你好 👋"
    assert message.reasoning_content == "The user greets me."
    assert message.role == "assistant"
    assert final.choices[0].finish_reason == "stop"
    assert final.id == "9f0c_sidecar"
    assert final.model == "grok-4.7"
    assert final.object == "chat.completion"
    assert final.usage is not None
    assert final.usage.completion_tokens_details is not None
    assert final.usage.completion_tokens_details.reasoning_tokens == 6
    assert final.prompt_filter_results is not None
    assert final.choices[0].content_filter_results is not None


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
def test_other_line_endings_give_the_same_completion(
    mock_api: respx.MockRouter, client: GrokClient, line_end: str
) -> None:
    body = transcript("reasoning_and_content.sse").replace(b"\n", line_end.encode())
    serve(mock_api, body)
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == "Hello there, friend! 你好 👋"


def test_utf8_split_across_network_reads(mock_api: respx.MockRouter, client: GrokClient) -> None:
    body = transcript("reasoning_and_content.sse")
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    mock_api.post(CHAT_URL).respond(200, stream=Pieces(pieces), headers=SSE_HEADERS)
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text.endswith("你好 👋")


def test_parallel_tool_calls_are_stitched_by_index(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("parallel_tool_calls.sse"))
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_1", "get_weather", {"city": "Paris"}),
        ("call_2", "get_time", {"tz": "CET"}),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.content is None


def test_stream_manager_emits_typed_events_in_order(mock_api: respx.MockRouter, client: GrokClient) -> None:
    route = serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="grok-4.7", messages=MESSAGES) as stream:
        events = list(stream)
    kinds = [e.type for e in events]
    assert kinds.index("reasoning.delta") < kinds.index("content.delta")
    assert [e.delta for e in events if isinstance(e, ContentDeltaEvent)] == [
        "Hello",
        " there",
        ", friend! 你好 👋",
    ]
    assert [e.delta for e in events if isinstance(e, ReasoningDeltaEvent)] == ["The user", " greets me."]
    assert isinstance(events[-2], UsageEvent)
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].completion.text == "Hello there, friend! 你好 👋"
    assert json.loads(route.calls.last.request.content)["stream_options"] == {"include_usage": True}


def test_stream_manager_keeps_caller_stream_options(mock_api: respx.MockRouter, client: GrokClient) -> None:
    route = serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(
        model="m", messages=MESSAGES, stream_options={"include_usage": False}
    ) as stream:
        stream.get_final_completion()
    assert json.loads(route.calls.last.request.content)["stream_options"] == {"include_usage": False}


def test_text_stream_and_reasoning_stream(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "Hello there, friend! 你好 👋"
        assert stream.get_final_completion().reasoning == "The user greets me."
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert "".join(stream.reasoning_stream) == "The user greets me."


def test_tool_call_events_report_deltas_and_done(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("parallel_tool_calls.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        events = list(stream)
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDeltaEvent)]
    done = [e for e in events if isinstance(e, ToolCallArgumentsDoneEvent)]
    assert [(d.index, d.name) for d in deltas] == [(0, "get_weather"), (0, "get_weather"), (1, "get_time")]
    assert [(d.index, d.id, d.name, json.loads(d.arguments)) for d in done] == [
        (0, "call_1", "get_weather", {"city": "Paris"}),
        (1, "call_2", "get_time", {"tz": "CET"}),
    ]
    # Done events come once per call, after every argument piece, when the choice finishes.
    assert events.index(done[0]) > events.index(deltas[-1])


def test_interleaved_parallel_tool_calls_get_one_complete_done_event_each(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("interleaved_tool_calls.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        done = [e for e in stream if isinstance(e, ToolCallArgumentsDoneEvent)]
        final = stream.get_final_completion()
    assert [(d.index, json.loads(d.arguments)) for d in done] == [(0, {"city": "Oslo"}), (1, {"tz": "CET"})]
    assert [c.function.arguments for c in final.tool_calls] == ['{"city": "Oslo"}', '{"tz": "CET"}']


def test_snapshot_shows_what_arrived_so_far(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        for event in stream:
            if isinstance(event, ContentDeltaEvent) and event.delta == " there":
                assert stream.current_completion_snapshot.text == "Hello there"
                assert stream.current_completion_snapshot.choices[0].finish_reason is None
                break


def test_content_filter_finish_is_data_not_an_exception(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("content_filter_finish.sse"))
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.content_filtered
    cfr = final.choices[0].content_filter_results
    assert cfr is not None
    assert cfr.filtered


def test_error_event_raises_stream_error_with_partial(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("error_event_mid_stream.sse"))
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received = [next(stream), next(stream), next(stream)]
    with pytest.raises(StreamError) as info:
        next(stream)
    assert received[2].choices[0].delta.content == " answer"
    assert info.value.code == "server_error"
    assert "invalid content" in info.value.message
    assert info.value.partial is not None
    assert info.value.partial.text == "Partial answer"
    assert stream.response.is_closed


def test_named_error_event_raises_stream_error(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, b'event: error\ndata: {"message": "overloaded"}\n\n')
    with pytest.raises(StreamError, match="overloaded"):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_stream_cut_before_finish_raises_interrupted_with_partial(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("truncated_before_finish.sse"))
    with pytest.raises(StreamInterruptedError) as info:
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert info.value.partial is not None
    assert info.value.partial.text == "Cut off"


def test_stream_finished_but_without_done_is_a_normal_end(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, transcript("finished_without_done.sse"))
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == "All here"


def test_empty_stream_is_interrupted(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, b"")
    with pytest.raises(StreamInterruptedError):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_final_event_without_blank_line_is_not_trusted(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    body = transcript("finished_without_done.sse").rstrip(b"\n")
    serve(mock_api, body)
    with pytest.raises(StreamInterruptedError):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_connection_dropped_mid_stream_is_wrapped(mock_api: respx.MockRouter, client: GrokClient) -> None:
    body = transcript("reasoning_and_content.sse")
    pieces = [body[:600]]
    mock_api.post(CHAT_URL).respond(
        200, stream=Pieces(pieces, httpx.RemoteProtocolError("peer closed")), headers=SSE_HEADERS
    )
    with pytest.raises(StreamInterruptedError) as info:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert info.value.__context__ is None
    assert info.value.partial is not None


def test_connection_lost_after_every_choice_finished_is_a_normal_end(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    body = transcript("finished_without_done.sse")
    mock_api.post(CHAT_URL).respond(
        200, stream=Pieces([body], httpx.RemoteProtocolError("peer closed")), headers=SSE_HEADERS
    )
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == "All here"


def test_stall_longer_than_read_timeout_is_a_timeout(mock_api: respx.MockRouter, client: GrokClient) -> None:
    body = transcript("reasoning_and_content.sse")
    mock_api.post(CHAT_URL).respond(
        200, stream=Pieces([body[:600]], httpx.ReadTimeout("stalled")), headers=SSE_HEADERS
    )
    with pytest.raises(APITimeoutError):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_malformed_event_is_a_decode_error(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, b"data: {not json\n\n")
    with pytest.raises(ResponseDecodeError):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_error_status_is_raised_before_a_stream_is_returned(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    mock_api.post(CHAT_URL).respond(
        429, json={"error": {"code": "429", "message": "slow down"}}, headers={"retry-after": "3"}
    )
    with pytest.raises(RateLimitError) as info:
        client.with_options(max_retries=0).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert info.value.retry_after == 3


def test_leaving_early_closes_the_connection(mock_api: respx.MockRouter, client: GrokClient) -> None:
    body_stream = Pieces([transcript("reasoning_and_content.sse")])
    mock_api.post(CHAT_URL).respond(200, stream=body_stream, headers=SSE_HEADERS)
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        next(iter(stream))
    assert stream.response.is_closed
    assert body_stream.closed


def test_recorded_azure_transcript_accumulates() -> None:
    fixture = Path(FIXTURES / "grok3mini_thinking_stream.sse").read_bytes()
    decoder = ChunkDecoder()
    assert len(list(decoder.feed(fixture))) == 4
    decoder.end()
    final = decoder.accumulator.snapshot()
    assert final.model == "grok-3-mini-high"
    assert final.usage is not None
    assert final.usage.reasoning_tokens == 330
    assert final.choices[0].finish_reason == "stop"


# --- async parity -----------------------------------------------------------------------------------------------


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncGrokClient]:
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as c:
        yield c


async def test_async_create_stream_yields_chunks(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert isinstance(stream, AsyncStream)
    chunks = [c async for c in stream]
    assert len(chunks) == 8
    assert stream.current_completion_snapshot.text == "Hello there, friend! 你好 👋"


async def test_async_stream_manager_helpers(mock_api: respx.MockRouter, aclient: AsyncGrokClient) -> None:
    serve(mock_api, transcript("parallel_tool_calls.sse"))
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        events = [e async for e in stream]
    assert [e.name for e in events if isinstance(e, ToolCallArgumentsDoneEvent)] == [
        "get_weather",
        "get_time",
    ]
    serve(mock_api, transcript("reasoning_and_content.sse"))
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_completion()
    assert text == final.text == "Hello there, friend! 你好 👋"


async def test_async_reasoning_stream(mock_api: respx.MockRouter, aclient: AsyncGrokClient) -> None:
    serve(mock_api, transcript("reasoning_and_content.sse"))
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert "".join([t async for t in stream.reasoning_stream]) == "The user greets me."


async def test_async_error_event_and_interruption(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, transcript("error_event_mid_stream.sse"))
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamError) as info:
        await stream.get_final_completion()
    assert info.value.partial is not None
    assert info.value.partial.text == "Partial answer"
    serve(mock_api, transcript("truncated_before_finish.sse"))
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError):
        await stream.get_final_completion()


async def test_async_drop_and_stall_are_wrapped(mock_api: respx.MockRouter, aclient: AsyncGrokClient) -> None:
    head = transcript("reasoning_and_content.sse")[:600]
    route = mock_api.post(CHAT_URL)
    route.respond(200, stream=Pieces([head], httpx.ReadError("reset")), headers=SSE_HEADERS)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError):
        await stream.get_final_completion()
    route.respond(200, stream=Pieces([head], httpx.ReadTimeout("stalled")), headers=SSE_HEADERS)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(APITimeoutError):
        await stream.get_final_completion()


async def test_async_early_exit_closes_the_connection(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    body_stream = Pieces([transcript("reasoning_and_content.sse")])
    mock_api.post(CHAT_URL).respond(200, stream=body_stream, headers=SSE_HEADERS)
    async with aclient.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        await stream.__anext__()
    assert stream.response.is_closed
    assert body_stream.closed


def test_stream_errors_carry_the_redacted_request(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, transcript("error_event_mid_stream.sse"))
    with pytest.raises(StreamError) as info:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert info.value.request is not None
    assert info.value.request.url == CHAT_URL
    assert info.value.request.headers["api-key"] != KEY
