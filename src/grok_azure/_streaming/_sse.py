"""Sans-I/O decoder for ``text/event-stream`` bodies.

Implements the WHATWG HTML "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
Lines are split and fields matched on raw bytes; UTF-8 is decoded only once a line is complete, so a
multi-byte character split across network chunks is never mangled, and invalid UTF-8 becomes U+FFFD instead
of raising.

End of stream: the spec discards an event whose terminating blank line never arrived, and so does this
decoder. :meth:`SSEDecoder.close` therefore dispatches nothing new; callers that need to tell a clean end
from a truncated one check :attr:`SSEDecoder.has_pending` after the last chunk.

Bounded memory: with ``max_event_bytes``, what the decoder holds between two ``feed`` calls (an unterminated line
plus the data lines of an undispatched event) never exceeds that many bytes; past it, :class:`EventTooLargeError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, NamedTuple

__all__ = ["EventTooLargeError", "SSEDecoder", "ServerSentEvent", "aiter_sse", "iter_sse"]

_BOM = b"\xef\xbb\xbf"
_LINE_END_BYTES = (b"\n", b"\r")
# The longest `retry:` value used (ten digits: up to ~115 days in milliseconds); a longer one is ignored.
_MAX_RETRY_DIGITS = 10


# A NamedTuple, not a frozen dataclass: immutable all the same, and built in less than half the time (a frozen
# dataclass sets each field through object.__setattr__, which made it the costliest step of parsing an event).
class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable)."""

    data: str
    """The event's ``data`` lines joined with ``"\\n"``."""
    event: str = "message"
    """The ``event`` field, or ``"message"`` when absent or empty."""
    id: str | None = None
    """The last event ID at dispatch; it persists across events until the server sends a new one."""
    retry: int | None = None
    """Reconnection time in milliseconds, if this event's block carried a valid ``retry`` field."""

    def json(self) -> Any:
        """Parse :attr:`data` as JSON (raises :class:`json.JSONDecodeError` when it is not JSON)."""
        return json.loads(self.data)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class EventTooLargeError(ValueError):
    """An unterminated line or an undispatched event grew past the decoder's ``max_event_bytes``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a server-sent event reached {size} bytes, over the limit of {limit}")
        self.size = size
        self.limit = limit


class SSEDecoder:
    """Incremental, I/O-free decoder: feed bytes as they arrive, get complete events."""

    __slots__ = (
        "_bom_checked",
        "_data",
        "_data_counted",
        "_data_size",
        "_event",
        "_fields_seen",
        "_id_buffer",
        "_last_event_id",
        "_max_event_bytes",
        "_partial",
        "_partial_size",
        "_reconnection_time",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, max_event_bytes: int | None = None) -> None:
        """``max_event_bytes``: the most an unterminated line plus an undispatched event may hold (None: no limit)."""
        self._max_event_bytes = max_event_bytes
        # Pieces of an unterminated line, joined only once its line end arrives (avoids quadratic copying
        # when a long line trickles in as many small chunks).
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._bom_checked = False
        # The previous chunk ended in CR, so an LF opening the next chunk completes that CRLF.
        self._skip_lf = False
        # Raw data line values; decoded once per event, which equals per-line decoding because LF is ASCII.
        self._data: list[bytes] = []
        # Bytes in ``_data`` and how many of its entries they cover: counted once per feed, not per line, so
        # the hot path (one whole event per feed) pays nothing and a long event costs O(n) overall.
        self._data_size = 0
        self._data_counted = 0
        self._event = ""
        self._retry: int | None = None
        self._fields_seen = False  # a non-data field arrived since the last blank line
        self._id_buffer: str | None = None
        self._last_event_id: str | None = None
        self._reconnection_time: int | None = None

    @property
    def has_pending(self) -> bool:
        """True while an unterminated line or an undispatched event block is buffered.

        Checked after the final chunk, True means the stream was cut off mid-event.
        """
        return bool(self._partial or self._data or self._fields_seen)

    @property
    def last_event_id(self) -> str | None:
        """The spec's "last event ID string": the ID in force at the latest blank line (for reconnecting)."""
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        """The most recent valid ``retry`` value in milliseconds, including from blocks that had no data."""
        return self._reconnection_time

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume ``chunk`` and return the events it completed, in order.

        Raises :class:`EventTooLargeError` when ``max_event_bytes`` is set and what is held back for the next
        call (an unterminated line and the data of an unfinished event) would exceed it.
        """
        if not self._bom_checked:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        partial = self._partial
        if chunk[-1:] not in _LINE_END_BYTES:
            if b"\n" not in chunk and b"\r" not in chunk:
                partial.append(chunk)
                self._partial_size += len(chunk)
                if self._max_event_bytes is not None:
                    self._check_size()
                return []
            lines = chunk.splitlines()
            tail = lines.pop()
        else:
            lines = chunk.splitlines()
            tail = b""
            self._skip_lf = chunk[-1:] == b"\r"
        if partial:
            partial.append(lines[0])
            lines[0] = b"".join(partial)
            partial.clear()
        self._partial_size = len(tail)
        if tail:
            partial.append(tail)
        events = self._process(lines)
        if self._data:
            self._count_data(restarted=bool(events))
        elif self._data_size:
            self._data_size = self._data_counted = 0
        if self._max_event_bytes is not None and (tail or self._data):
            self._check_size()
        return events

    def _count_data(self, *, restarted: bool) -> None:
        # ``restarted``: an event was dispatched during this feed, so every line now in ``_data`` is new.
        data = self._data
        if restarted:
            self._data_size = sum(map(len, data))
        else:
            self._data_size += sum(map(len, data[self._data_counted :]))
        self._data_counted = len(data)

    def _check_size(self) -> None:
        assert self._max_event_bytes is not None
        size = self._partial_size + self._data_size
        if size > self._max_event_bytes:
            raise EventTooLargeError(size, self._max_event_bytes)

    def close(self) -> list[ServerSentEvent]:
        """Signal end of stream and return the events it completes.

        Always empty: every complete event was already returned by :meth:`feed`, and the spec discards an
        unterminated one. Check :attr:`has_pending` to detect that truncation; the state is kept for that.
        """
        return []

    def _strip_bom(self, chunk: bytes) -> bytes:
        # The BOM may itself be split across chunks, so hold bytes back until it can be ruled in or out.
        held = b"".join(self._partial) + chunk
        if len(held) < len(_BOM) and _BOM.startswith(held):
            self._partial = [held] if held else []
            return b""
        self._partial = []
        self._bom_checked = True
        return held[len(_BOM) :] if held.startswith(_BOM) else held

    def _process(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            # The hot path: nearly every line of a chat stream is `data: {...}` or the blank line after it.
            if line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif not line:
                if data:
                    text = _decode(data[0]) if len(data) == 1 else _decode(b"\n".join(data))
                    data.clear()
                    events.append(
                        ServerSentEvent(text, self._event or "message", self._id_buffer, self._retry)
                    )
                self._last_event_id = self._id_buffer
                self._event = ""
                self._retry = None
                self._fields_seen = False
            elif line[:1] != b":":
                self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        self._fields_seen = True
        if name == b"data":  # only reached as the colon-less `data` line: an empty data line
            self._data.append(value)
        elif name == b"event":
            self._event = _decode(value)
        elif name == b"id":
            if b"\x00" not in value:
                self._id_buffer = _decode(value)
        # bytes.isdigit() is true for one or more ASCII digits only, which is the spec's rule. More digits than
        # _MAX_RETRY_DIGITS (over 115 days) is no real reconnection time, and int() refuses over 4,300 digits:
        # such a field is ignored, as the spec ignores any retry value that is not a number.
        elif name == b"retry" and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
            self._retry = self._reconnection_time = int(value)


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Yield the events of a byte stream; an unterminated final event is dropped, as the spec requires."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Async counterpart of :func:`iter_sse`."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
