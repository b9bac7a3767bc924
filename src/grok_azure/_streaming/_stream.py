"""Stream objects: the sync and async shells around :class:`ChunkDecoder` and :class:`EventBuilder`.

They only read bytes from httpx and map transport failures; every decision lives in ``_events``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
from typing_extensions import Self

from .._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from .._wire import connection_error, is_timeout
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk
from ._events import ChunkDecoder, ContentDeltaEvent, EventBuilder, ReasoningDeltaEvent, StreamEvent

_T = TypeVar("_T")


def _transport_failure(
    exc: httpx.TransportError, decoder: ChunkDecoder, request: httpx.Request
) -> Exception | None:
    """What a transport error mid-stream means; None when the stream had already finished."""
    if is_timeout(exc):
        # A stall longer than the read timeout.
        return connection_error(exc, request)
    return decoder.interrupted(exc)


# The generators below are module functions, not methods: a generator holding ``self`` would keep a dropped
# stream alive until the cyclic garbage collector runs, and with it a pooled connection.
def _iter_chunks(response: httpx.Response, decoder: ChunkDecoder) -> Generator[Any, None, None]:
    try:
        try:
            for data in response.iter_bytes():
                yield from decoder.feed(data)
                if decoder.done:
                    break
        except httpx.TransportError as exc:
            failure = _transport_failure(exc, decoder, response.request)
            if failure is not None:
                raise failure from exc
            return
        decoder.end()
    finally:
        response.close()


async def _aiter_chunks(response: httpx.Response, decoder: ChunkDecoder) -> AsyncGenerator[Any, None]:
    try:
        try:
            async for data in response.aiter_bytes():
                for chunk in decoder.feed(data):
                    yield chunk
                if decoder.done:
                    break
        except httpx.TransportError as exc:
            failure = _transport_failure(exc, decoder, response.request)
            if failure is not None:
                raise failure from exc
            return
        decoder.end()
    finally:
        await response.aclose()


def _iter_events(
    stream: Iterator[ChatCompletionChunk], builder: EventBuilder
) -> Generator[StreamEvent, None, None]:
    for chunk in stream:
        yield from builder.events(chunk)
    yield from builder.finish()


async def _aiter_events(
    stream: AsyncIterator[ChatCompletionChunk], builder: EventBuilder
) -> AsyncGenerator[StreamEvent, None]:
    async for chunk in stream:
        for event in builder.events(chunk):
            yield event
    for event in builder.finish():
        yield event


_pending_closes: set[Any] = set()


class Stream(Generic[_T]):
    """An iterator of chunks over one HTTP response; also a context manager. Closing it frees the connection."""

    def __init__(self, response: httpx.Response, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS) -> None:
        self.response = response
        self._limits = limits
        self._decoder = ChunkDecoder(response.request)
        self._iterator = _iter_chunks(response, self._decoder)

    def __iter__(self) -> Iterator[_T]:
        return self._iterator

    def __next__(self) -> _T:
        return next(self._iterator)  # type: ignore[no-any-return]

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """Everything received so far, merged into a ChatCompletion."""
        return self._decoder.accumulator.snapshot()

    def get_final_completion(self) -> ChatCompletion:
        """Drain what is left and return the whole completion."""
        for _ in self._iterator:
            pass
        return self._decoder.accumulator.snapshot()

    def close(self) -> None:
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A stream dropped without close() must still return its connection to the pool.
        response = getattr(self, "response", None)
        if response is not None and not response.is_closed:
            with contextlib.suppress(Exception):
                response.close()


class AsyncStream(Generic[_T]):
    """The async iterator twin of :class:`Stream`; cancelling the consuming task closes the connection."""

    def __init__(self, response: httpx.Response, limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS) -> None:
        self.response = response
        self._limits = limits
        self._decoder = ChunkDecoder(response.request)
        self._iterator = _aiter_chunks(response, self._decoder)

    def __aiter__(self) -> AsyncIterator[_T]:
        return self._iterator

    async def __anext__(self) -> _T:
        return await self._iterator.__anext__()  # type: ignore[no-any-return]

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        return self._decoder.accumulator.snapshot()

    async def get_final_completion(self) -> ChatCompletion:
        async for _ in self._iterator:
            pass
        return self._decoder.accumulator.snapshot()

    async def close(self) -> None:
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __del__(self) -> None:
        response = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        import asyncio

        with contextlib.suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(response.aclose())
            # Keep a reference until it has run: the event loop itself holds tasks only weakly.
            _pending_closes.add(task)
            task.add_done_callback(_pending_closes.discard)


class ChatCompletionStream:
    """What ``chat.completions.stream()`` yields: typed events plus text helpers and the final completion."""

    def __init__(self, stream: Stream[ChatCompletionChunk]) -> None:
        self._stream = stream
        self._events = _iter_events(stream, EventBuilder(stream._decoder.accumulator))

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._events

    def __next__(self) -> StreamEvent:
        return next(self._events)

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the content text, as it arrives."""
        return (e.delta for e in self._events if isinstance(e, ContentDeltaEvent))

    @property
    def reasoning_stream(self) -> Iterator[str]:
        """Only the reasoning text, as it arrives."""
        return (e.delta for e in self._events if isinstance(e, ReasoningDeltaEvent))

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        return self._stream.current_completion_snapshot

    @property
    def response(self) -> httpx.Response:
        return self._stream.response

    def get_final_completion(self) -> ChatCompletion:
        for _ in self._events:
            pass
        return self._stream.current_completion_snapshot

    def close(self) -> None:
        self._events.close()
        self._stream.close()


class AsyncChatCompletionStream:
    """The async twin of :class:`ChatCompletionStream`."""

    def __init__(self, stream: AsyncStream[ChatCompletionChunk]) -> None:
        self._stream = stream
        self._events = _aiter_events(stream, EventBuilder(stream._decoder.accumulator))

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events

    async def __anext__(self) -> StreamEvent:
        return await self._events.__anext__()

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the content text, as it arrives."""
        return self._deltas(ContentDeltaEvent)

    @property
    def reasoning_stream(self) -> AsyncIterator[str]:
        """Only the reasoning text, as it arrives."""
        return self._deltas(ReasoningDeltaEvent)

    async def _deltas(self, kind: type[ContentDeltaEvent | ReasoningDeltaEvent]) -> AsyncIterator[str]:
        async for event in self._events:
            if isinstance(event, kind):
                yield event.delta

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        return self._stream.current_completion_snapshot

    @property
    def response(self) -> httpx.Response:
        return self._stream.response

    async def get_final_completion(self) -> ChatCompletion:
        async for _ in self._events:
            pass
        return self._stream.current_completion_snapshot

    async def close(self) -> None:
        await self._events.aclose()
        await self._stream.close()


class ChatCompletionStreamManager:
    """``with client.chat.completions.stream(...) as stream``: sends on enter, closes on exit."""

    def __init__(self, open_stream: Callable[[], Stream[ChatCompletionChunk]]) -> None:
        self._open = open_stream
        self._stream: ChatCompletionStream | None = None

    def __enter__(self) -> ChatCompletionStream:
        self._stream = ChatCompletionStream(self._open())
        return self._stream

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            self._stream.close()


class AsyncChatCompletionStreamManager:
    """``async with client.chat.completions.stream(...) as stream``."""

    def __init__(self, open_stream: Callable[[], Awaitable[AsyncStream[ChatCompletionChunk]]]) -> None:
        self._open = open_stream
        self._stream: AsyncChatCompletionStream | None = None

    async def __aenter__(self) -> AsyncChatCompletionStream:
        self._stream = AsyncChatCompletionStream(await self._open())
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
