"""Typed stream events, and the I/O-free decoder that turns SSE bytes into chunks and events."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
import pydantic

from .._dense_json import DIRECT_DECODE_BYTES, validate_large
from .._error_mapping import error_from_event, error_in_success_body
from .._errors import (
    APIConnectionError,
    APITimeoutError,
    GrokError,
    ResponseDecodeError,
    ResponseTooLargeError,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from .._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from .._secrets import sanitized_cause
from .._wire import is_timeout
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk
from ..types.completion_usage import CompletionUsage
from ._accumulate import ChunkAccumulator
from ._sse import EventTooLargeError, SSEDecoder

_E = TypeVar("_E", bound=GrokError)

# After [DONE], the rest of the body (normally just the chunked-encoding terminator) is read so that the
# connection can go back to the pool; a server that keeps sending past this many bytes, or for longer than
# DRAIN_SECONDS (checked between reads: heartbeats after [DONE]), is just disconnected. [DONE] already ended
# the stream, so neither is an error.
DRAIN_LIMIT = 64 * 1024
DRAIN_SECONDS = 1.0
# What an error event's plain-text data may put in StreamError's message (its data may be megabytes).
_MESSAGE_CHARS = 500
# The same for the message of a JSON error, which a service writes for people: room for any it sends.
_JSON_MESSAGE_CHARS = 8192
# "[DONE]" with spaces around it (openai's client accepts it); anything longer than this is not that.
_PADDED_DONE_CHARS = 16
# The first bytes of a body kept until its first event, to tell a JSON error sent as an "event stream" from a cut.
_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class ChunkEvent:
    """Every chunk, as it arrived."""

    chunk: ChatCompletionChunk
    type: Literal["chunk"] = "chunk"


@dataclass(frozen=True, slots=True)
class ContentDeltaEvent:
    delta: str
    choice_index: int = 0
    type: Literal["content.delta"] = "content.delta"


@dataclass(frozen=True, slots=True)
class ReasoningDeltaEvent:
    delta: str
    choice_index: int = 0
    type: Literal["reasoning.delta"] = "reasoning.delta"


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDeltaEvent:
    index: int
    name: str
    arguments_delta: str
    choice_index: int = 0
    type: Literal["tool_calls.function.arguments.delta"] = "tool_calls.function.arguments.delta"


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDoneEvent:
    index: int
    id: str
    name: str
    arguments: str
    choice_index: int = 0
    type: Literal["tool_calls.function.arguments.done"] = "tool_calls.function.arguments.done"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: CompletionUsage
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The stream ended normally; ``completion`` is what ``get_final_completion()`` returns."""

    completion: ChatCompletion
    type: Literal["done"] = "done"


StreamEvent = (
    ChunkEvent
    | ContentDeltaEvent
    | ReasoningDeltaEvent
    | ToolCallArgumentsDeltaEvent
    | ToolCallArgumentsDoneEvent
    | UsageEvent
    | DoneEvent
)


class ChunkDecoder:
    """Bytes in, chunks out: every decision about one streamed response, without I/O.

    SSE framing, ``[DONE]``, error events, accumulation, the size limits, the stall clock, what a read failure
    means, whether the stream completed (so that a closed one cannot pass for a completion), how long to drain
    after ``[DONE]``, and what a stream closed from another thread or task ends with. The sync and async shells
    in ``_stream`` only move bytes between httpx and this object.

    A completion needs a choice: a stream whose ``[DONE]`` arrives before any choice did (only ``[DONE]``, or
    only Azure's prompt-filter and usage chunks, whose ``choices`` are empty) is a :class:`ResponseDecodeError`,
    as ``create()`` reports a 200 ``{}``.

    Args:
        request: The request of the response; a redacted copy is attached to the errors raised here. Its
            ``timeout`` extension's ``read`` value is the longest time allowed without an event that has data.
        limits: ``max_event_bytes`` bounds one event (or unterminated line), ``max_stream_bytes`` the whole body.
        clock: A monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        request: httpx.Request | None = None,
        limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._validate = _chunk_validator()
        self.accumulator = ChunkAccumulator()
        self._clock = clock
        self._interrupted = False  # close() was called while another thread or task was reading
        self.broken = False  # the reader has ended without completing: iterating again must say so
        self.hides_usage_chunk = False  # see Stream: a usage-only chunk the SDK asked for is not yielded
        self._begin(request)

    def _begin(self, request: httpx.Request | None) -> None:
        """The state of reading one response (a resent stream starts it again; see :meth:`resend`)."""
        self._request = request
        self._sse = SSEDecoder(max_event_bytes=self._limits.max_event_bytes)
        self.delivered = False  # a chunk reached the caller: from then on the stream cannot be resent
        self.done = False  # [DONE] arrived
        self.complete = False  # the stream ended normally: the accumulator holds the final completion
        self.reading = True  # the shell should keep reading the body
        self._halted = False  # feed() no longer decodes: [DONE] arrived (draining), or close() cut the stream
        self._failed: str | None = None  # what ended the stream abnormally (for StreamClosedError's message)
        self._received = 0
        self._head: bytes | None = b""  # the body's first bytes, until an event arrives (then None)
        self._drained = 0
        self._done_at = 0.0
        self._stall_after = _read_timeout(request)
        self._last_event = self._clock()

    def resendable(self) -> bool:
        """Whether the stream, which just failed, may be sent again: no chunk reached the caller, and it was not
        closed by the caller. (Whether the failure is worth a retry is the call loop's decision.)"""
        return not self.delivered and not self._interrupted

    def body_without_events(self) -> bytes | None:
        """The body's first bytes (up to 16 KiB) when no event has arrived, else None: a gateway's JSON error sent
        with ``Content-Type: text/event-stream`` has no ``data:`` line, and would otherwise pass for a cut stream."""
        return self._head or None

    def resend(self, request: httpx.Request) -> None:
        """Start decoding the response to a resent request, after a failure :meth:`resendable` allowed.

        Raises :class:`StreamClosedError` if the stream was closed while the request was being resent.
        """
        if self._interrupted:
            raise self.closed_error()
        self._begin(request)

    def feed(self, data: bytes) -> Iterator[ChatCompletionChunk]:
        """Yield the chunks completed by ``data``; each is accumulated only as it is handed out."""
        if self._halted:  # one check on the hot path for both rare states
            if self.done:
                self._drain(data)
            return
        self._received += len(data)
        if self._received > self._limits.max_stream_bytes:
            raise self._fail(self._too_large("max_stream_bytes", "The streamed body"))
        head = self._head
        if head is not None and len(head) < _HEAD_BYTES:
            self._head = head + data[: _HEAD_BYTES - len(head)]
        try:
            events = self._sse.feed(data)
        except EventTooLargeError:
            events = None
        if events is None:  # raised here, outside the except block, so nothing is chained implicitly
            raise self._fail(self._too_large("max_event_bytes", "One server-sent event"))
        if not events:
            # Keep-alive comments and pieces of an event are not progress: only an event with data is.
            if self._stall_after is not None and self._clock() - self._last_event > self._stall_after:
                raise self._fail(
                    APITimeoutError(
                        f"No event for more than {self._stall_after:g} s (the read timeout): the stream stalled",
                        request=self._request,
                    )
                )
            return
        self._head = None
        for event in events:
            text = event.data
            if text == "[DONE]" or (len(text) <= _PADDED_DONE_CHARS and text.strip() == "[DONE]"):
                self._finish_at_done()
                return
            chunk = self._decode(text, event.event)
            if self.hides_usage_chunk and not chunk.choices and chunk.usage is not None:
                continue  # the usage the SDK asked for (for a budget), which the caller did not: recorded, not shown
            yield chunk
        # Taken when the consumer asks for more, so time it spends on a chunk is not counted as a stall.
        self._last_event = self._clock()

    def _finish_at_done(self) -> None:
        if not self.accumulator.choices:
            raise self._fail(
                ResponseDecodeError(
                    "The stream ended ([DONE]) without any choice: it carried no chat completion",
                    status_code=200,
                    request=self._request,
                )
            )
        self.done = self.complete = self._halted = True
        self._done_at = self._clock()

    def start_clock(self) -> None:
        """The consumer asked for the first chunk: the wait for events starts now."""
        self._last_event = self._clock()

    def _decode(self, data: str, event_type: str) -> ChatCompletionChunk:
        if event_type == "error":
            raise self._error_event(data)
        try:
            chunk: ChatCompletionChunk | None = (
                self._validate(data)
                if len(data) <= DIRECT_DECODE_BYTES
                else validate_large(ChatCompletionChunk, data)
            )
        except (pydantic.ValidationError, RecursionError):
            chunk = None
        if chunk is None:
            raise self._fail(
                ResponseDecodeError(
                    "A stream event is not a chat completion chunk",
                    status_code=200,
                    body=data,
                    request=self._request,
                )
            )
        extra = chunk.__pydantic_extra__  # what model_extra returns, without the property call
        if extra:
            error = extra.get("error")
            if error is not None:  # `"error": null` on a normal chunk is not an error
                raise self._stream_error(error_from_event(extra))
        self.accumulator.add(chunk)
        self.delivered = True
        return chunk

    def _error_event(self, data: str) -> StreamError:
        """An ``event: error``: its data may be JSON (an error object) or plain text."""
        try:
            payload: Any = json.loads(data)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            text = data.strip() if payload is None else payload
            if isinstance(text, str) and len(text) > _MESSAGE_CHARS:
                text = text[:_MESSAGE_CHARS] + "..."
            payload = {"message": text} if isinstance(text, str) and text else {}
        return self._stream_error(error_from_event(payload))

    def _stream_error(self, code_and_message: tuple[str | None, str]) -> StreamError:
        code, message = code_and_message
        if len(message) > _JSON_MESSAGE_CHARS:
            message = message[:_JSON_MESSAGE_CHARS] + "..."
        return self._fail(
            StreamError(message, code=code, partial=self.accumulator.snapshot(), request=self._request)
        )

    def _too_large(self, limit_name: str, what: str) -> ResponseTooLargeError:
        limit: int = getattr(self._limits, limit_name)
        return ResponseTooLargeError(
            f"{what} is larger than ResponseLimits.{limit_name} ({limit} bytes); the connection was closed",
            limit_name=limit_name,
            limit=limit,
            request=self._request,
        )

    def _drain(self, data: bytes) -> None:
        # Stopping early closes the connection instead of pooling it: the worst case, a server that goes silent
        # after [DONE] without ending the body, is one read timeout (the drain cannot interrupt a read).
        self._drained += len(data)
        if self._drained > DRAIN_LIMIT or self._clock() - self._done_at > DRAIN_SECONDS:
            self.reading = False

    def interrupt(self) -> None:
        """``close()`` was called while another thread or task is reading: the shell closes the response under
        that reader, which then ends with :class:`StreamClosedError` (whatever its read raised, or returned),
        unless ``[DONE]`` had already arrived (then the stream is complete, and only the drain is cut short)."""
        self.reading = False
        if not self.done:
            self._interrupted = self._halted = True

    def client_closed(self) -> StreamClosedError:
        """The client's ``close()`` cut this stream's read from another thread or task (the read then failed or
        ended early): the error the stream ends with, which is never resent."""
        self._interrupted = self._halted = True
        error = StreamClosedError(
            "The client was closed (close() was called, or its with block ended) while this stream was being "
            "read; `partial` holds what had arrived",
            partial=self.accumulator.snapshot(),
        )
        return self._fail(error)

    def body_ended(self) -> GrokError | None:
        """The body ended cleanly (no more bytes): None if the stream is complete, else the error it ends with,
        which the shell resends on when no chunk reached the caller yet (as for a connection that dropped)."""
        try:
            self.end()
        except GrokError as exc:
            return exc
        return None

    def end(self) -> None:
        """Call at end of body: a stream cut before ``[DONE]`` and before all it was asked for is an error."""
        self.reading = False
        if self.done or self.complete:
            return
        if self._interrupted:
            raise self.closed_error()
        self._sse.close()
        if not self._all_arrived(usage_too=False):
            raise self._fail(
                StreamInterruptedError(
                    "The stream ended before it was complete (no [DONE] and no finish_reason)",
                    partial=self.accumulator.snapshot(),
                    request=self._request,
                )
            )
        self.complete = True

    def _all_arrived(self, *, usage_too: bool) -> bool:
        """Whether a stream that ended without ``[DONE]`` still brought all it was asked for: every choice finished,
        as many as the request's ``n``, and (``usage_too``) the usage chunk if the request asked for it.

        A body that ends cleanly without ``[DONE]`` may come from a service that sends no usage however asked; one
        cut by a failed read has no such excuse.
        """
        accumulator = self.accumulator
        if not accumulator.finished:
            return False
        choices, usage = _asked_for(self._request)
        return len(accumulator.choices) >= choices and not (usage_too and usage and accumulator.usage is None)

    def read_failed(self, exc: BaseException) -> GrokError | None:
        """What an exception raised while reading the body means: the error to raise, or None for a normal end.

        After ``[DONE]`` nothing more was needed, and a connection lost once every choice had finished lost
        nothing; a timeout is reported as one otherwise. The error's ``__cause__`` is a credential-free stand-in
        for ``exc``: raise it outside the ``except`` block, so that ``__context__`` is not ``exc`` either.
        """
        self.reading = False
        if self.done:
            return None
        if self._interrupted:  # the read failed because close() cut the connection under it
            return self.closed_error()
        error: APIConnectionError
        if _is_timeout(exc):
            error = APITimeoutError(
                f"The stream stalled past the read timeout ({type(exc).__name__})", request=self._request
            )
        elif self._all_arrived(usage_too=True):
            self.complete = True
            return None
        else:
            error = StreamInterruptedError(
                f"The connection dropped mid-stream: {type(exc).__name__}: {exc}",
                partial=self.accumulator.snapshot(),
                request=self._request,
            )
        error.__cause__ = sanitized_cause(exc, self._request)
        return self._fail(error)

    def _fail(self, error: _E) -> _E:
        self.reading = False
        if isinstance(error, APITimeoutError) and self.delivered and error.partial is None:
            # A stall or a stream_deadline after chunks reached the caller: they keep what arrived, as for a drop.
            error.partial = self.accumulator.snapshot()
        self._failed = _summary(error)
        return error

    def fail(self, error: _E) -> _E:
        """Record ``error`` (found by a shell, such as the stream deadline) as what ended the stream; returns it."""
        return self._fail(error)

    def stopped(self) -> None:
        """Call when the reader has ended, however it ended (the shells' ``finally``)."""
        self.reading = False
        self.broken = not self.complete

    def final_completion(self) -> ChatCompletion:
        """The whole completion, or :class:`StreamClosedError` if the stream did not complete normally."""
        if not self.complete:
            raise self.closed_error()
        return self.accumulator.snapshot()

    def closed_error(self) -> StreamClosedError:
        """The error for using a stream that was closed (or failed) before it completed."""
        if self._failed is not None:
            message = f"The stream failed earlier: {self._failed}; it has no final completion or more chunks"
        else:
            message = (
                "The stream was closed (or its `with` block left) before it finished, so it has no final "
                "completion or more chunks; read it inside the `with` block"
            )
        return StreamClosedError(message, partial=self.accumulator.snapshot())


def page_instead_of_events(response: httpx.Response) -> bool:
    """Whether a streamed request's 2xx response is a JSON body or an HTML page rather than an event stream.

    Some gateways answer ``stream=True`` with ``200`` and a JSON error (``{"error": {"code": "429", ...}}``), and a
    wrong endpoint or a proxy's sign-in page with ``200`` and HTML. The call loop then reads that body (within
    ``max_body_bytes``) and raises :func:`page_stream_error`, before any stream exists, so it is reported as
    ``create()`` would report it rather than as a broken stream. Other types are read as a stream (a service that
    mislabels its events still streams).
    """
    kind = _media_type(response)
    return kind == "application/json" or kind.endswith("+json") or kind == "text/html"


def page_stream_error(response: httpx.Response) -> GrokError:
    """The error for a streamed request answered with a (read) JSON body or HTML page: the mapped API error when the
    body has a top-level ``error`` (the rules of ``decode_completion``), else :class:`ResponseDecodeError`."""
    error = error_in_success_body(response)
    if error is not None:
        return error
    page = "an HTML page" if _media_type(response) == "text/html" else "a JSON body"
    return ResponseDecodeError(
        f"A streamed request was answered with {page}, not "
        "an event stream (text/event-stream): check the endpoint, and any proxy or gateway in front of it",
        status_code=response.status_code,
        body=response.content,
        request=response.request,
    )


def _media_type(response: httpx.Response) -> str:
    """The response's ``Content-Type`` without its parameters, in lower case."""
    declared: str = response.headers.get("content-type", "")
    return declared.partition(";")[0].strip().lower()


def _summary(error: GrokError) -> str:
    """``Type: message`` of an error, short enough to quote in a later StreamClosedError."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."


def _asked_for(request: httpx.Request | None) -> tuple[int, bool]:
    """How many choices the streamed ``request`` asked for, and whether it asked for usage; ``(1, False)`` when its
    body cannot tell (read only when a stream ends without ``[DONE]``, which a healthy service always sends)."""
    try:
        body = json.loads(request.content) if request is not None else None
    except (httpx.RequestNotRead, ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return 1, False
    n = body.get("n")
    options = body.get("stream_options")
    usage = isinstance(options, dict) and options.get("include_usage") is True
    return (n if type(n) is int and n > 1 else 1), usage


@functools.cache
def _chunk_validator() -> Callable[[str], ChatCompletionChunk]:
    """``ChatCompletionChunk.model_validate_json`` without its wrapper, which costs a fifth of a small chunk's
    validation. The model builds its validator on first use (``defer_build``), so build it first."""
    ChatCompletionChunk.model_rebuild()
    validate: Callable[[str], ChatCompletionChunk] = ChatCompletionChunk.__pydantic_validator__.validate_json
    return validate


def _is_timeout(exc: BaseException) -> bool:
    """httpx's timeouts (see :func:`is_timeout`), and a bare one a transport let through."""
    if isinstance(exc, TimeoutError) or is_timeout(exc):
        return True
    # Before Python 3.11 asyncio.TimeoutError is its own class; it can only exist once asyncio was imported.
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.TimeoutError)


def _read_timeout(request: httpx.Request | None) -> float | None:
    """The request's read timeout: the longest a stream may go without an event (None: no limit)."""
    if request is None:
        return None
    timeout = request.extensions.get("timeout")
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, (int, float)) and not isinstance(read, bool) else None


class EventBuilder:
    """Derives the typed events of one chunk, given what the accumulator already holds (shared by both clients)."""

    def __init__(self, accumulator: ChunkAccumulator) -> None:
        self._acc = accumulator
        # choice index -> tool indexes whose arguments may still grow. Pieces of parallel calls can interleave,
        # so a call is complete only when its choice finishes (or the stream ends), not when another call starts.
        self._open_tools: dict[int, list[int]] = {}

    def events(self, chunk: ChatCompletionChunk) -> Iterator[StreamEvent]:
        yield ChunkEvent(chunk)
        for choice in chunk.choices:
            delta = choice.delta
            if delta.reasoning_content:
                yield ReasoningDeltaEvent(delta.reasoning_content, choice.index)
            if delta.content:
                yield ContentDeltaEvent(delta.content, choice.index)
            for call in delta.tool_calls or ():
                open_tools = self._open_tools.setdefault(choice.index, [])
                if call.index not in open_tools:
                    open_tools.append(call.index)
                if call.function is not None and call.function.arguments:
                    name = self._acc.choices[choice.index].tool_calls[call.index].name
                    yield ToolCallArgumentsDeltaEvent(call.index, name, call.function.arguments, choice.index)
            if choice.finish_reason:
                yield from self._tools_done(choice.index)
        if chunk.usage is not None:
            yield UsageEvent(chunk.usage)

    def _tools_done(self, choice_index: int) -> Iterator[ToolCallArgumentsDoneEvent]:
        state = self._acc.choices[choice_index]
        for tool_index in self._open_tools.pop(choice_index, ()):
            tool = state.tool_calls[tool_index]
            yield ToolCallArgumentsDoneEvent(
                tool_index, tool.id or "", tool.name, "".join(tool.arguments), choice_index
            )

    def finish(self, completion: ChatCompletion) -> Iterator[StreamEvent]:
        """The events of a stream that ended normally: tool calls still open are done, then ``completion`` (the
        final one, with its cost and deployment, as ``get_final_completion()`` returns it)."""
        for choice_index in list(self._open_tools):
            yield from self._tools_done(choice_index)
        yield DoneEvent(completion)
