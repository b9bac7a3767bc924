"""Streaming parse without I/O: partial JSON values as content arrives, and the parsed object at the end.

:class:`StructuredEvents` sits on the event stream of ``chat.completions.stream()`` (sync and async shells in
``_stream``): it passes every event through and adds :class:`ContentPartialEvent` (the JSON value so far, from
pydantic's partial JSON parsing) and, just before the final ``DoneEvent``, :class:`ContentParsedEvent` (the reply
validated into the requested type; the structured errors are raised there).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import pydantic_core

from .._errors import StructuredOutputError
from .._streaming._events import ChunkDecoder, ContentDeltaEvent, DoneEvent, StreamEvent
from ..types.parsed_chat_completion import ParsedChatCompletion
from ._parse import StructuredRequest

__all__ = ["ContentParsedEvent", "ContentPartialEvent", "StructuredEvents", "StructuredStreamEvent"]

ParsedT = TypeVar("ParsedT")

# Each partial parse reads the whole content so far. Below this size every delta is parsed; above it, only once
# the content grew by a sixteenth since the last parse, so the total work stays linear in the content's size.
_PARSE_EVERY_DELTA_BELOW = 16 * 1024
_GROWTH = 16


@dataclass(frozen=True, slots=True)
class ContentPartialEvent:
    """The reply's JSON so far, parsed leniently: an unfinished object or list is closed where it stops, and an
    unfinished string is kept as far as it arrived (with pydantic >= 2.10; earlier versions leave it out).

    ``partial`` is plain JSON data (dicts, lists, strings, numbers), NOT validated against the type: fields may be
    missing or incomplete. It is sent only when it changed.
    """

    partial: Any
    snapshot: str
    choice_index: int = 0
    type: Literal["content.partial"] = "content.partial"


@dataclass(frozen=True, slots=True)
class ContentParsedEvent(Generic[ParsedT]):
    """The whole reply, validated: ``parsed`` is the first choice's value (None if the model refused), and
    ``completion`` every choice's (its ``usage`` arrives with it; ``cost`` is set on ``get_final_completion()``)."""

    parsed: ParsedT | None
    completion: ParsedChatCompletion[ParsedT]
    type: Literal["content.parsed"] = "content.parsed"


StructuredStreamEvent = StreamEvent | ContentPartialEvent | ContentParsedEvent[ParsedT]


class _Partial:
    """One choice's content so far, and the last value it parsed to."""

    __slots__ = ("length", "parsed_at", "pieces", "value")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0
        self.parsed_at = 0
        self.value: Any = _NOTHING

    def add(self, delta: str) -> tuple[Any, str] | None:
        """Take ``delta``; the new partial value and the content so far, or None when there is nothing new."""
        self.pieces.append(delta)
        self.length += len(delta)
        if self.length >= _PARSE_EVERY_DELTA_BELOW and self.length - self.parsed_at < self.length // _GROWTH:
            return None
        self.parsed_at = self.length
        text = "".join(self.pieces)
        self.pieces = [text]
        try:
            value = _parse_partial(text)
        except ValueError:  # not JSON (yet): prose before it, a code fence...
            return None
        if value == self.value:
            return None
        self.value = value
        return value, text


_NOTHING = object()


class StructuredEvents(Generic[ParsedT]):
    """Adds the structured events to a stream's events (shared by the sync and async shells).

    Args:
        request: the call's :class:`StructuredRequest`.
    """

    def __init__(self, request: StructuredRequest[ParsedT]) -> None:
        self._request = request
        self._partials: dict[int, _Partial] = {}
        self._parsed: ParsedChatCompletion[ParsedT] | None = None
        self._error: StructuredOutputError | None = None

    def check(self, decoder: ChunkDecoder) -> None:
        """Before each step: a stream that failed, or was closed, says so again instead of just ending."""
        if self._error is not None:
            raise self._error
        if decoder.broken:
            raise decoder.closed_error()

    def result(self) -> ParsedChatCompletion[ParsedT]:
        """The parsed completion once the stream ended (its structured error if the parse failed)."""
        if self._error is not None:
            raise self._error
        if self._parsed is None:  # pragma: no cover - the events end with the parse, or raise
            raise AssertionError("the structured stream ended without its parse")
        return self._parsed

    def events(self, event: StreamEvent) -> Iterator[StructuredStreamEvent[ParsedT]]:
        """``event``, with the structured events it leads to.

        Raises:
            LengthFinishReasonError, ContentFilterFinishReasonError, OutputValidationError: at the end of the
                stream (instead of its ``DoneEvent``), as ``parse()`` would.
        """
        if isinstance(event, DoneEvent):
            try:
                self._parsed = parsed = self._request.parse(event.completion)
            except StructuredOutputError as exc:
                self._error = exc
                raise
            yield ContentParsedEvent(parsed.parsed, parsed)
            yield event
            return
        yield event
        if isinstance(event, ContentDeltaEvent):
            update = self._partials.setdefault(event.choice_index, _Partial()).add(event.delta)
            if update is not None:
                yield ContentPartialEvent(update[0], update[1], event.choice_index)


@functools.cache
def _partial_mode() -> Any:
    # "trailing-strings" (pydantic-core >= 2.24, pydantic 2.10) shows a string field as it grows.
    try:
        pydantic_core.from_json('"', allow_partial="trailing-strings")
    except (TypeError, ValueError):
        return True
    return "trailing-strings"


def _parse_partial(text: str) -> Any:
    return pydantic_core.from_json(text, allow_partial=_partial_mode())
