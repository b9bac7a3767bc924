"""Streams that go wrong end in a typed GrokError: error events, oversized events and bodies, stalls behind
keep-alive comments, transport failures of any type, and nothing credential-bearing chained (sync and async)."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from grok_azure import (
    APITimeoutError,
    AsyncGrokClient,
    ChatCompletionChunk,
    GrokClient,
    ResponseDecodeError,
    ResponseLimits,
    ResponseTooLargeError,
    StreamError,
    StreamInterruptedError,
)
from grok_azure._streaming._events import ChunkDecoder

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, sse
from .test_streaming import MESSAGES, SSE_HEADERS, Pieces, serve, transcript

SMALL = ResponseLimits(max_event_bytes=1024, max_stream_bytes=64 * 1024)


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, response_limits=SMALL) as c:
        yield c


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncGrokClient]:
    async with AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient(), response_limits=SMALL
    ) as c:
        yield c


class Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that repeats ``piece`` after ``head`` (up to a safety cap), counting what the client pulled."""

    def __init__(self, head: bytes, piece: bytes, cap: int = 64 * 1024 * 1024) -> None:
        self.head, self.piece, self.cap = head, piece, cap
        self.sent = 0
        self.closed = False

    def _pieces(self) -> Iterator[bytes]:
        yield self.head
        self.sent += len(self.head)
        while self.sent < self.cap:
            self.sent += len(self.piece)
            yield self.piece

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def endless_line() -> Endless:
    return Endless(sse(chunk("Hi", role="assistant")) + b"data: ", b"x" * 100)


def endless_events() -> Endless:
    return Endless(b"", sse(chunk("more ")))


# --- error events --------------------------------------------------------------------------------------------------


def test_error_event_with_plain_text_data_is_a_stream_error(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, sse(chunk("Partial", role="assistant")) + b"event: error\ndata: upstream overloaded\n\n")
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    first = next(stream)
    with pytest.raises(StreamError) as caught:
        next(stream)
    assert first.choices[0].delta.content == "Partial"
    assert caught.value.message == "upstream overloaded"
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Partial"
    assert stream.response.is_closed


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        (b'{"error": {"code": "overloaded", "message": "Try later."}}', "Try later.", "overloaded"),
        (b'{"message": "Try later."}', "Try later.", None),
        (b'"Try later."', "Try later.", None),
        (b"42", "The service reported an error during streaming.", None),
        # too deep for a JSON parser: still just text, cut to 500 characters
        (b"[" * 100_000, "[" * 500 + "...", None),
    ],
    ids=["error-object", "bare-object", "json-string", "json-number", "deeply-nested"],
)
def test_error_event_data_of_any_shape_is_a_stream_error(
    mock_api: respx.MockRouter, data: bytes, message: str, code: str | None
) -> None:
    serve(mock_api, b"event: error\ndata: " + data + b"\n\n")
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(StreamError) as caught:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert caught.value.message == message
    assert caught.value.code == code
    assert caught.value.partial is not None
    assert caught.value.__context__ is None


def test_a_chunk_carrying_error_null_is_not_an_error(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(
        mock_api,
        sse(
            {**chunk("All ", role="assistant"), "error": None},
            {**chunk("good", finish_reason="stop"), "error": None},
            "[DONE]",
        ),
    )
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == "All good"


def test_a_chunk_carrying_an_error_string_is_an_error(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, sse(chunk("Hi", role="assistant"), {"error": "The backend went away."}))
    with pytest.raises(StreamError, match="The backend went away"):
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))


async def test_async_error_event_with_plain_text_data_is_a_stream_error(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    serve(mock_api, sse(chunk("Partial", role="assistant")) + b"event: error\ndata: upstream overloaded\n\n")
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamError) as caught:
        async for _ in stream:
            pass
    assert caught.value.message == "upstream overloaded"
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Partial"


def test_a_malformed_event_raises_without_chaining_the_parser_error(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, b"data: {not json\n\n")
    with pytest.raises(ResponseDecodeError) as caught:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


# --- bounded memory ------------------------------------------------------------------------------------------------


def test_an_endless_line_is_stopped_at_max_event_bytes(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    body = endless_line()
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    received: list[ChatCompletionChunk] = []

    def read_all() -> None:
        for part in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(part)

    with pytest.raises(ResponseTooLargeError) as caught:
        read_all()
    assert caught.value.limit_name == "max_event_bytes"
    assert caught.value.limit == 1024
    assert len(received) == 1  # what came before the oversized event was delivered
    assert body.sent < 2048 + len(body.head)  # read no further than the limit (plus one network piece)
    assert body.closed


def test_an_event_of_many_data_lines_is_stopped_at_max_event_bytes(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    body = Endless(b"", b"data: more\n")  # data lines that never reach the blank line ending the event
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    with pytest.raises(ResponseTooLargeError) as caught:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert caught.value.limit_name == "max_event_bytes"
    assert body.sent < 4 * 1024  # 1 KiB of data values, plus the `data: ` prefixes
    assert body.closed


def test_an_endless_stream_is_stopped_at_max_stream_bytes(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    body = endless_events()
    mock_api.post(CHAT_URL).respond(200, stream=body, headers=SSE_HEADERS)
    with pytest.raises(ResponseTooLargeError) as caught:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert caught.value.limit_name == "max_stream_bytes"
    assert caught.value.limit == 64 * 1024
    assert body.sent <= 64 * 1024 + len(body.piece)
    assert body.closed
    assert caught.value.request is not None
    assert caught.value.request.headers["api-key"] != KEY


def test_events_up_to_the_limit_are_fine(mock_api: respx.MockRouter, client: GrokClient) -> None:
    text = "y" * 700  # the event is just under 1 KiB of JSON
    serve(mock_api, sse(chunk(text, role="assistant", finish_reason="stop"), "[DONE]"))
    final = client.chat.completions.create(model="m", messages=MESSAGES, stream=True).get_final_completion()
    assert final.text == text


async def test_async_endless_line_and_stream_are_stopped(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient
) -> None:
    route = mock_api.post(CHAT_URL)
    for body, limit_name in [(endless_line(), "max_event_bytes"), (endless_events(), "max_stream_bytes")]:
        route.respond(200, stream=body, headers=SSE_HEADERS)
        with pytest.raises(ResponseTooLargeError) as caught:
            async for _ in await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                pass
        assert caught.value.limit_name == limit_name
        assert body.closed


# --- stalls behind keep-alive comments (the decision, with a fake clock) ---------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def decoder_with(clock: FakeClock, read: float | None = 0.3) -> ChunkDecoder:
    request = httpx.Request("POST", CHAT_URL, extensions={"timeout": {"read": read, "connect": 5.0}})
    decoder = ChunkDecoder(request, clock=clock)
    decoder.start_clock()
    return decoder


def test_comments_alone_are_not_progress() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    for _ in range(5):  # pings every 50 ms for 250 ms: within the read timeout
        clock.now += 0.05
        assert list(decoder.feed(b": ping\n\n")) == []
    clock.now += 0.1
    with pytest.raises(APITimeoutError, match="stalled"):
        list(decoder.feed(b": ping\n\n"))


def test_pieces_of_an_event_are_not_progress_but_a_whole_event_is() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    clock.now += 0.2
    assert len(list(decoder.feed(sse(chunk("a", role="assistant"))))) == 1
    clock.now += 0.2  # 0.2 s since that event: fine
    assert list(decoder.feed(b'data: {"choices"')) == []
    clock.now += 0.2  # 0.4 s without a complete event
    with pytest.raises(APITimeoutError):
        list(decoder.feed(b': "still coming"'))


def test_time_the_consumer_spends_on_a_chunk_is_not_a_stall() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    for part in decoder.feed(sse(chunk("a", role="assistant"))):
        assert part.choices
        clock.now += 5.0  # the caller is slow with this chunk; the server is not to blame
    clock.now += 0.1
    assert list(decoder.feed(b": ping\n\n")) == []


def test_a_stall_after_a_chunk_keeps_what_arrived_in_partial() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    assert len(list(decoder.feed(sse(chunk("Partial", role="assistant"))))) == 1
    clock.now += 0.5
    with pytest.raises(APITimeoutError) as caught:
        list(decoder.feed(b": ping\n\n"))
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Partial"


def test_a_read_timeout_after_a_chunk_keeps_what_arrived_in_partial() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    assert len(list(decoder.feed(sse(chunk("Partial", role="assistant"))))) == 1
    error = decoder.read_failed(httpx.ReadTimeout("timed out"))
    assert isinstance(error, APITimeoutError)
    assert error.partial is not None
    assert error.partial.text == "Partial"


def test_a_stall_before_any_chunk_has_no_partial() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock)
    clock.now += 0.5
    with pytest.raises(APITimeoutError) as caught:
        list(decoder.feed(b": ping\n\n"))
    assert caught.value.partial is None  # nothing reached the caller: the call loop resends it


def test_no_read_timeout_means_no_stall_limit() -> None:
    clock = FakeClock()
    decoder = decoder_with(clock, read=None)
    clock.now += 3600
    assert list(decoder.feed(b": ping\n\n")) == []


# --- transport failures of any kind, and what they chain --------------------------------------------------------


def failing_body(exc: BaseException) -> Pieces:
    return Pieces([transcript("reasoning_and_content.sse")[:600]], exc)


def with_secret_request(exc: httpx.RequestError) -> httpx.RequestError:
    # What httpx attaches to its errors: the request as sent, credentials included.
    exc.request = httpx.Request("POST", CHAT_URL, headers={"api-key": KEY})
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (with_secret_request(httpx.ReadError("connection reset")), StreamInterruptedError),
        (with_secret_request(httpx.ReadTimeout("timed out")), APITimeoutError),
        (RuntimeError("aiohttp: Connection closed"), StreamInterruptedError),
        (ConnectionResetError(104, "Connection reset by peer"), StreamInterruptedError),
        (TimeoutError("socket read timed out"), APITimeoutError),
    ],
    ids=["httpx-read-error", "httpx-read-timeout", "runtime-error", "os-error", "bare-timeout"],
)
def test_any_transport_failure_mid_stream_is_a_grok_error_without_the_original_chained(
    mock_api: respx.MockRouter, client: GrokClient, exc: Exception, expected: type[Exception]
) -> None:
    mock_api.post(CHAT_URL).respond(200, stream=failing_body(exc), headers=SSE_HEADERS)
    with pytest.raises(expected) as caught:
        for _ in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            pass
    error = caught.value
    assert error.__context__ is None
    cause = error.__cause__
    assert type(cause) is type(exc)
    assert cause is not exc
    assert cause.__traceback__ is None
    assert cause.__context__ is None
    assert getattr(cause, "_request", None) is None
    rendered = "".join(traceback.format_exception(error))
    assert KEY not in rendered
    assert KEY not in "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("aiohttp: Connection closed"),
        with_secret_request(httpx.ReadError("reset")),
        OSError("boom"),
    ],
    ids=["runtime-error", "httpx-read-error", "os-error"],
)
async def test_async_any_transport_failure_mid_stream_is_a_grok_error(
    mock_api: respx.MockRouter, aclient: AsyncGrokClient, exc: Exception
) -> None:
    mock_api.post(CHAT_URL).respond(200, stream=failing_body(exc), headers=SSE_HEADERS)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(StreamInterruptedError) as caught:
        async for _ in stream:
            pass
    assert caught.value.partial is not None
    assert caught.value.__context__ is None
    assert type(caught.value.__cause__) is type(exc)
    assert getattr(caught.value.__cause__, "_request", None) is None
    assert stream.response.is_closed
