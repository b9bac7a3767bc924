"""Stream objects: the sync and async shells around :class:`ChunkDecoder` and :class:`EventBuilder`.

They only move bytes from httpx into the decoder and chunks out to the caller; every decision (limits, stalls,
what a failure means, whether the stream completed) lives in ``_events``.

How a connection is freed, however a stream ends: one generator per stream reads the body, and it is started
("primed") to its first ``yield`` as soon as the stream object exists, so its ``finally`` clause always runs: when
the body ends, when it fails, when the stream is closed, and when the stream is dropped unfinished. CPython
finalises an abandoned generator as soon as its last reference goes (no cyclic garbage collection needed); for
an async generator, asyncio schedules its ``aclose()`` on the loop. Nothing else closes the response: there is no
``__del__``, so iterating a stream that nobody else references (``for chunk in client...create(stream=True)``)
is safe, because the loop itself holds the stream (``__iter__`` returns the stream).

Once the reader has ended without completing (it failed, was closed, or its task was cancelled), the decoder is
``broken`` and every later read raises :class:`~grok_azure.StreamClosedError` saying why, instead of ending as if
the stream were complete. ``close()`` called while another thread or task is inside the reader (a "stop" button)
cannot close the running generator; it closes the response under it instead (see :func:`_shutdown`), and the
reader ends with ``StreamClosedError``.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

import httpx
from typing_extensions import Self

from .._cutoff import arm, arm_on_loop, cut_read
from .._deadline import Deadline
from .._error_mapping import error_in_success_body
from .._errors import APIConnectionError, GrokError, StreamInterruptedError
from .._inflate import aiter_decoded, iter_decoded
from .._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from .._wire import READ_TIMEOUT, SERVED_BY, STREAM_ANSWERED
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk
from ..types.completion_usage import CompletionUsage
from ._events import ChunkDecoder, ContentDeltaEvent, EventBuilder, ReasoningDeltaEvent, StreamEvent

_T = TypeVar("_T")


# What a stream does when it failed before any chunk reached its caller: hand the failure back to the call loop,
# which resends the request (returning the new response) or raises the call's final error.
Resend = Callable[[GrokError], httpx.Response]
AsyncResend = Callable[[GrokError], Awaitable[httpx.Response]]


class Meter(Protocol):
    """The usage bookkeeping of the call a stream answers (``_call_models.Meter``)."""

    def settle(self, usage: CompletionUsage | None, response: httpx.Response) -> Any:
        """Record the completed stream's usage; its cost."""

    # The call's hooks (None: none): only for them does a completed stream build its completion here.
    observer: Any
    # The SDK asked for the usage (for a budget): the usage-only chunk is not yielded.
    hides_usage_chunk: bool

    def release(self, error: BaseException | None = None) -> None:
        """Give back the call's hold on the budget (nothing once settled); ``error``: why the call ended."""

    def succeeded(self, completion: ChatCompletion) -> None:
        """Tell the call's hooks it completed."""


class Reads(Protocol):
    """Where a client keeps the responses being read, which its ``close()`` cuts (the client's ``_Lifecycle``)."""

    closed: bool  # close() was called

    def read(self, response: httpx.Response) -> None: ...

    def done(self, response: httpx.Response) -> None: ...


class _Current:
    """The response a stream is reading: a resent stream reads a new one (shared by the stream and its reader).

    Also the call's :class:`Meter` (None: not metered) and, once the stream completed, the cost it returned; the
    call's ``deadline``, which bounds the wait for the first chunk (None: unbounded); and ``stop``, which ends the
    call's retry of a stream closed while it was being resent.
    """

    __slots__ = ("cost", "first_deadline", "meter", "reads", "response", "stop")

    def __init__(
        self,
        response: httpx.Response,
        meter: Meter | None = None,
        first_deadline: Deadline | None = None,
        stop: Callable[[GrokError], None] | None = None,
        reads: Reads | None = None,
    ) -> None:
        self.response = response
        self.meter = meter
        self.cost: Any = None
        self.first_deadline = (
            first_deadline if first_deadline is not None and first_deadline.bounded else None
        )
        self.stop = stop
        self.reads = reads
        if reads is not None:
            reads.read(response)

    def replace(self, response: httpx.Response) -> None:
        """Read ``response`` (a resent stream's) from now on; the old one is closed already."""
        self.response = response
        if self.reads is not None:
            self.reads.read(response)

    def done(self) -> None:
        """The response is no longer read (before it is closed: its connection may serve another request next)."""
        if self.reads is not None:
            self.reads.done(self.response)


def _settle(current: _Current, decoder: ChunkDecoder) -> None:
    """The stream completed: record its usage (from its usage event, if any) once."""
    meter = current.meter
    if meter is not None:
        current.cost = meter.settle(decoder.accumulator.usage, current.response)
        if meter.observer is not None:  # built only for hooks: a stream's consumer may never ask for it
            meter.succeeded(_final(decoder, current))


def _unmeter(current: _Current) -> None:
    """However the stream ended: a hold not recorded above is given back (and hooks told why it ended)."""
    if current.meter is not None:
        # Called from the generators' finally clauses: the exception on its way out (if any) is why the stream
        # ended; a GeneratorExit (closed early) is no error.
        current.meter.release(sys.exc_info()[1])


# The generators are module functions, not methods: one holding the stream object would keep a dropped stream
# (and its connection) alive in a reference cycle until the cyclic garbage collector runs.
def _iter_chunks(
    current: _Current, decoder: ChunkDecoder, deadline: Deadline | None, resend: Resend | None
) -> Generator[Any, None, None]:
    failure: GrokError | None = None
    disarm = first = None
    answered = False
    try:
        yield None  # primed by Stream.__init__: from here on, the finally clause runs however the stream ends
        decoder.start_clock()
        disarm = _arm(deadline, current)
        first = _arm(current.first_deadline, current)  # until the first chunk: the call's deadline
        while True:
            response = current.response
            reader = iter_decoded(response)
            while decoder.reading:
                try:
                    data = next(reader)
                except StopIteration:
                    failure = decoder.body_ended()
                    break
                except Exception as exc:  # httpx's errors, and anything else a transport raises
                    failure = decoder.read_failed(exc)
                    break
                if deadline is not None and deadline.expired():
                    failure = _out_of_time(decoder, deadline, response)
                    break
                try:
                    yield from decoder.feed(data)
                except GrokError as exc:  # a stall, an error event, a malformed event: maybe before any chunk
                    failure = exc
                    break
                if first is not None and decoder.delivered:
                    # The first chunk is out: from here on, the stall rule (and stream_deadline) apply.
                    first = first()
                if not answered and decoder.delivered:
                    answered = _answered(response)
            # The last piece read may hold what the service echoed: no local of the raise or the resend below.
            data = b""
            failure = _final_failure(decoder, deadline, current, failure)
            # Raised here, not in an except block, so that the original (which holds the request and its
            # credentials) is not chained as __context__.
            if failure is None:
                break
            if resend is None or not decoder.resendable():
                raise failure
            current.done()
            _close_quietly(response)
            # The caller has seen nothing yet: the call loop decides, as for any failed attempt (it raises when
            # the rules give up), and the same decoder reads the new response.
            current.replace(_relaxed(resend(failure)))
            decoder.resend(current.response.request)
            failure = None
        decoder.end()
        if not answered:
            _answered(current.response)  # an empty stream that ended cleanly answered too
        _settle(current, decoder)
    finally:
        if disarm is not None:
            disarm()
        if first is not None:
            first()
        decoder.stopped()
        _unmeter(current)
        current.done()
        _close_quietly(current.response)


async def _aiter_chunks(
    current: _Current, decoder: ChunkDecoder, deadline: Deadline | None, resend: AsyncResend | None
) -> AsyncGenerator[Any, None]:
    failure: GrokError | None = None
    reader: AsyncGenerator[bytes, None] | None = None
    disarm = first = None
    answered = False
    try:
        yield None  # primed by AsyncStream.__init__ (see _start)
        decoder.start_clock()
        disarm = _aarm(deadline, current)
        first = _aarm(current.first_deadline, current)  # until the first chunk: the call's deadline
        while True:
            response = current.response
            # An async generator; closed explicitly, so asyncio need not finalise it.
            reader = cast("AsyncGenerator[bytes, None]", aiter_decoded(response))
            while decoder.reading:
                try:
                    data = await reader.__anext__()
                except StopAsyncIteration:
                    failure = decoder.body_ended()
                    break
                except Exception as exc:  # httpx's errors, and anything else a transport (aiohttp) raises
                    failure = decoder.read_failed(exc)
                    break
                if deadline is not None and deadline.expired():
                    failure = _out_of_time(decoder, deadline, response)
                    break
                try:
                    for chunk in decoder.feed(data):
                        yield chunk
                except GrokError as exc:  # see _iter_chunks
                    failure = exc
                    break
                if first is not None and decoder.delivered:
                    first = first()
                if not answered and decoder.delivered:
                    answered = _answered(response)
            # The last piece read may hold what the service echoed: no local of the raise or the resend below.
            data = b""
            failure = _final_failure(decoder, deadline, current, failure)
            if failure is None:
                break
            if resend is None or not decoder.resendable():
                raise failure
            current.done()
            await _aclose_quietly(reader, response)
            current.replace(_relaxed(await resend(failure)))
            decoder.resend(current.response.request)
            failure = None
        decoder.end()
        if not answered:
            _answered(current.response)  # an empty stream that ended cleanly answered too
        _settle(current, decoder)
    finally:
        if disarm is not None:
            disarm()
        if first is not None:
            first()
        decoder.stopped()
        _unmeter(current)
        current.done()
        await _aclose_quietly(reader, current.response)


def _answered(response: httpx.Response) -> bool:
    """Tell the deployment's health that ``response`` is an answer (see ``_call_flow``); True."""
    report = response.extensions.pop(STREAM_ANSWERED, None)
    if report is not None:
        report()
    return True


def _arm(deadline: Deadline | None, current: _Current) -> Callable[[], None] | None:
    """Start a timer that cuts the body when ``stream_deadline`` runs out; its cancel function, or None.

    The deadline is also checked as data arrives, but a silent server sends none: without the timer a stall
    would end only at the read timeout, past the deadline.
    """
    if deadline is None or not deadline.bounded:
        return None
    return arm(
        deadline.remaining(), functools.partial(_cut, current)
    )  # returns None: `first = first()` disarms


def _cut(current: _Current) -> None:
    # As Stream.close() from another thread: the blocked read fails, and the reader reports the deadline.
    cut_read(current.response)
    _close_quietly(current.response)


def _aarm(deadline: Deadline | None, current: _Current) -> Callable[[], None] | None:
    """:func:`_arm` on the running event loop."""
    if deadline is None or not deadline.bounded:
        return None
    return arm_on_loop(deadline.remaining(), functools.partial(_acut, current))


_CUTTING: set[Any] = set()  # the tasks closing a body whose stream_deadline ran out (asyncio keeps weak refs)


def _acut(current: _Current) -> None:
    import asyncio

    cut_read(current.response)
    task = asyncio.ensure_future(_aclose_quietly(None, current.response))
    _CUTTING.add(task)
    task.add_done_callback(_CUTTING.discard)


def _final_failure(
    decoder: ChunkDecoder, deadline: Deadline | None, current: _Current, failure: GrokError | None
) -> GrokError | None:
    """What ended the read of one response: ``failure``, unless a budget ran out (its timer cut the body, so the
    read failed or ended early): ``stream_deadline``, or the call's deadline before the first chunk.

    The frames ``failure`` passed through (the decoder's) lose their locals, which hold the event's text: a
    traceback rendered with ``capture_locals`` would show a credential the service echoed in it.
    """
    if failure is not None:
        traceback.clear_frames(failure.__traceback__)
    if (
        isinstance(failure, APIConnectionError)
        and not decoder.done
        and current.reads is not None
        and current.reads.closed
    ):
        return decoder.client_closed()  # the read failed (or ended early) because close() cut it
    response = current.response
    if deadline is not None and not decoder.done and deadline.expired():
        return _out_of_time(decoder, deadline, response)
    first = current.first_deadline
    if first is not None and not decoder.delivered and first.expired():
        return decoder.fail(first.error("before the stream's first chunk", response.request))
    if isinstance(failure, StreamInterruptedError):
        return _error_instead_of_events(decoder, response) or failure
    return failure


_ENCODED_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _error_instead_of_events(decoder: ChunkDecoder, response: httpx.Response) -> GrokError | None:
    """The mapped API error when a stream that brought no event was a JSON error body (see
    :meth:`ChunkDecoder.body_without_events`), by the rules ``create()`` applies to a 200 with an error body."""
    head = decoder.body_without_events()
    if head is None or not head.lstrip().startswith(b"{"):
        return None
    # The head was inflated already: without its Content-Encoding (and the length of the encoded body), so that
    # httpx does not try to inflate it again.
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _ENCODED_BODY_HEADERS]
    body = httpx.Response(response.status_code, headers=headers, content=head, request=response.request)
    error = error_in_success_body(body)
    return None if error is None else decoder.fail(error)


def _relaxed(response: httpx.Response) -> httpx.Response:
    """``response`` with its read timeout back at the configured value for its body.

    The call loop shortens every timeout of an attempt to what is left of the call's deadline, which bounds the
    wait for the headers; the deadline covers a stream only up to its first chunk (a timer bounds that wait), so
    the body gets the configured read timeout: the stall rule. httpcore reads the timeout when the body is first
    read, and the SDK's aiohttp transport takes it through ``relax_read_timeout``.
    """
    if READ_TIMEOUT not in response.extensions:  # not from the call loop (a test's response): leave it
        return response
    read = response.extensions[READ_TIMEOUT]
    timeout = response.request.extensions.get("timeout")
    if isinstance(timeout, dict) and "read" in timeout:
        timeout["read"] = read
    relax = getattr(response.stream, "relax_read_timeout", None)
    if relax is not None:
        relax(read)
    return response


def _close_quietly(response: httpx.Response) -> None:
    # The outcome is already decided; a connection that fails to close is just not reused.
    with contextlib.suppress(Exception):
        response.close()


async def _aclose_quietly(reader: AsyncGenerator[bytes, None] | None, response: httpx.Response) -> None:
    if reader is not None:
        with contextlib.suppress(Exception):
            await reader.aclose()
    with contextlib.suppress(Exception):
        await response.aclose()


def _out_of_time(decoder: ChunkDecoder, deadline: Deadline, response: httpx.Response) -> GrokError:
    """``stream_deadline`` ran out: the stream ends as failed, its chunks so far in the decoder's snapshot."""
    return decoder.fail(deadline.error("before the stream ended", response.request))


def _start(generator: AsyncGenerator[Any, None]) -> None:
    """Run an async generator to its first ``yield`` without awaiting: it awaits nothing before that point.

    Once started, the generator is known to asyncio (which will ``aclose()`` it if it is dropped, or when the loop
    shuts down), exactly as if the caller had begun iterating it.
    """
    step = generator.asend(None)
    try:
        step.send(None)
    except StopIteration:
        return
    step.close()
    raise RuntimeError("a stream generator awaited before its first yield")


def _stop_resend(current: _Current, decoder: ChunkDecoder) -> None:
    """The stream was closed while its reader may be resending it: the call sends nothing more."""
    if current.stop is not None:
        current.stop(decoder.closed_error())


def _served_by(response: httpx.Response) -> str | None:
    name = response.extensions.get(SERVED_BY)
    return name if isinstance(name, str) else None


def _final(decoder: ChunkDecoder, current: _Current) -> ChatCompletion:
    completion = decoder.final_completion()
    completion._set_served_by(_served_by(current.response))
    completion._set_cost(current.cost)
    return completion


class _Body:
    """What both stream classes hold: the response, its decoder, and the reading generator they start."""

    def __init__(
        self,
        response: httpx.Response,
        limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
        deadline: Deadline | None = None,
        resend: Any = None,
        *,
        meter: Meter | None = None,
        first_deadline: Deadline | None = None,
        stop: Callable[[GrokError], None] | None = None,
        reads: Reads | None = None,
    ) -> None:
        """Args:
        response: an open streamed response with a success status.
        limits: the client's :class:`ResponseLimits`.
        deadline: the call's ``stream_deadline``: checked as each piece of the body arrives, and a timer cuts
            a silent body when it runs out.
        resend: how to retry the call if the stream fails before any chunk reached the caller (the client's
            call loop; a :data:`Resend`, or an :data:`AsyncResend` for :class:`AsyncStream`); None: never.
        meter: the call's usage bookkeeping: settled when the stream completes, released however it ends.
        first_deadline: the call's ``deadline``: a timer cuts the body if no chunk arrived before it ran out.
        stop: stops the call's loop (``Call.stop``) when the stream is closed while it is being resent.
        reads: the client's registry of responses being read, whose ``close()`` cuts this stream's (each response
            is registered while it is read); None: nothing cuts it but its own ``close()``.
        """
        self._current = _Current(_relaxed(response), meter, first_deadline, stop, reads)
        self._decoder = ChunkDecoder(response.request, limits)
        self._decoder.hides_usage_chunk = meter is not None and meter.hides_usage_chunk
        self._start(deadline, resend)

    def _start(self, deadline: Deadline | None, resend: Any) -> None:
        raise NotImplementedError

    @property
    def response(self) -> httpx.Response:
        """The HTTP response being read (after a retry before the first chunk, the new one)."""
        return self._current.response

    @property
    def served_by(self) -> str | None:
        """The name of the deployment streaming this response (see ``ChatCompletion.served_by``)."""
        return _served_by(self.response)

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """Everything received so far, merged into a ChatCompletion."""
        return self._decoder.accumulator.snapshot()


class Stream(_Body, Generic[_T]):
    """An iterator of chunks over one HTTP response; also a context manager. Closing it frees the connection.

    Read it inside a ``with`` block, or to its end; a stream closed before it finished (or that failed) raises
    :class:`~grok_azure.StreamClosedError` when it is iterated again or asked for its final completion.

    The loop ends soon after ``[DONE]``: the rest of the body is drained so the connection can be reused, but for
    at most 64 KiB and about one second (checked between reads; a server still sending heartbeats is then
    disconnected). The worst case is a server that goes silent after ``[DONE]`` without ending the body: the loop
    ends after one read timeout, normally (the stream is complete).
    """

    def _start(self, deadline: Deadline | None, resend: Resend | None) -> None:
        self._iterator = _iter_chunks(self._current, self._decoder, deadline, resend)
        next(self._iterator)

    def __iter__(self) -> Self:
        # The stream itself, not the generator: a `for` loop over a stream nobody else holds keeps it alive.
        return self

    def __next__(self) -> _T:
        if self._decoder.broken:  # failed or closed earlier: an exhausted generator would just end
            raise self._decoder.closed_error()
        return next(self._iterator)  # type: ignore[no-any-return]

    def get_final_completion(self) -> ChatCompletion:
        """Read what is left and return the whole completion.

        Raises :class:`~grok_azure.StreamClosedError` (with ``partial``) if the stream was closed, or failed,
        before it finished.
        """
        for _ in self:
            pass
        return _final(self._decoder, self._current)

    def close(self) -> None:
        """Free the connection; an unfinished stream cannot be read any further after this.

        Safe from another thread while one is iterating: that reader then raises :class:`StreamClosedError`.
        """
        try:
            self._iterator.close()
        except ValueError:  # "generator already executing": another thread is reading; cut the body under it
            self._decoder.interrupt()
            _stop_resend(self._current, self._decoder)
            cut_read(self.response)
            with contextlib.suppress(Exception):
                self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStream(_Body, Generic[_T]):
    """The async iterator twin of :class:`Stream`; cancelling the consuming task closes the connection."""

    def _start(self, deadline: Deadline | None, resend: AsyncResend | None) -> None:
        iterator = _aiter_chunks(self._current, self._decoder, deadline, resend)
        _start(iterator)
        self._iterator = iterator

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Awaitable[_T]:
        if self._decoder.broken:  # failed or closed earlier: an exhausted generator would just end
            raise self._decoder.closed_error()
        # Hands out the generator's own awaitable: no coroutine per chunk.
        return self._iterator.__anext__()

    async def get_final_completion(self) -> ChatCompletion:
        """Read what is left and return the whole completion (see :meth:`Stream.get_final_completion`)."""
        async for _ in self:
            pass
        return _final(self._decoder, self._current)

    async def close(self) -> None:
        """Free the connection; an unfinished stream cannot be read any further after this.

        Safe from another task while one is iterating: that reader then raises :class:`StreamClosedError`.
        """
        try:
            await self._iterator.aclose()
        except RuntimeError:  # "asynchronous generator is already running": another task is reading it
            self._decoder.interrupt()
            _stop_resend(self._current, self._decoder)
            cut_read(self.response)
            with contextlib.suppress(Exception):
                await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _iter_events(
    stream: Stream[ChatCompletionChunk], builder: EventBuilder
) -> Generator[StreamEvent, None, None]:
    for chunk in stream:
        yield from builder.events(chunk)
    yield from builder.finish(_final(stream._decoder, stream._current))


async def _aiter_events(
    stream: AsyncStream[ChatCompletionChunk], builder: EventBuilder
) -> AsyncGenerator[StreamEvent, None]:
    async for chunk in stream:
        for event in builder.events(chunk):
            yield event
    for event in builder.finish(_final(stream._decoder, stream._current)):
        yield event


class _EventView:
    """What both event streams show of the chunk stream under them."""

    _stream: _Body

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """Everything received so far, merged into a ChatCompletion."""
        return self._stream.current_completion_snapshot

    @property
    def response(self) -> httpx.Response:
        """The HTTP response being read (see :attr:`Stream.response`)."""
        return self._stream.response

    @property
    def served_by(self) -> str | None:
        """The name of the deployment streaming this response."""
        return self._stream.served_by


class ChatCompletionStream(_EventView):
    """What ``chat.completions.stream()`` yields: typed events plus text helpers and the final completion."""

    _stream: Stream[ChatCompletionChunk]

    def __init__(self, stream: Stream[ChatCompletionChunk]) -> None:
        self._stream = stream
        self._decoder = stream._decoder
        self._events = _iter_events(stream, EventBuilder(stream._decoder.accumulator))

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamEvent:
        if self._decoder.broken:  # see Stream.__next__
            raise self._decoder.closed_error()
        return next(self._events)

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the content text, as it arrives."""
        return (e.delta for e in self if isinstance(e, ContentDeltaEvent))

    @property
    def reasoning_stream(self) -> Iterator[str]:
        """Only the reasoning text, as it arrives."""
        return (e.delta for e in self if isinstance(e, ReasoningDeltaEvent))

    def get_final_completion(self) -> ChatCompletion:
        """Read what is left and return the whole completion (see :meth:`Stream.get_final_completion`)."""
        for _ in self:
            pass
        return self._stream.get_final_completion()

    def close(self) -> None:
        """Free the connection; an unfinished stream cannot be read any further after this (safe from another
        thread while one is iterating: see :meth:`Stream.close`)."""
        with contextlib.suppress(ValueError):  # another thread runs the events: closing the stream stops them
            self._events.close()
        self._stream.close()


class AsyncChatCompletionStream(_EventView):
    """The async twin of :class:`ChatCompletionStream`."""

    _stream: AsyncStream[ChatCompletionChunk]

    def __init__(self, stream: AsyncStream[ChatCompletionChunk]) -> None:
        self._stream = stream
        self._decoder = stream._decoder
        self._events = _aiter_events(stream, EventBuilder(stream._decoder.accumulator))

    def __aiter__(self) -> Self:
        return self

    def __anext__(self) -> Awaitable[StreamEvent]:
        if self._decoder.broken:  # see Stream.__next__
            raise self._decoder.closed_error()
        return self._events.__anext__()

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the content text, as it arrives."""
        return self._deltas(ContentDeltaEvent)

    @property
    def reasoning_stream(self) -> AsyncIterator[str]:
        """Only the reasoning text, as it arrives."""
        return self._deltas(ReasoningDeltaEvent)

    async def _deltas(self, kind: type[ContentDeltaEvent | ReasoningDeltaEvent]) -> AsyncIterator[str]:
        async for event in self:
            if isinstance(event, kind):
                yield event.delta

    async def get_final_completion(self) -> ChatCompletion:
        """Read what is left and return the whole completion (see :meth:`Stream.get_final_completion`)."""
        async for _ in self:
            pass
        return await self._stream.get_final_completion()

    async def close(self) -> None:
        """Free the connection; an unfinished stream cannot be read any further after this (safe from another
        task while one is iterating: see :meth:`AsyncStream.close`)."""
        with contextlib.suppress(RuntimeError):  # another task runs the events: closing the stream stops them
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
