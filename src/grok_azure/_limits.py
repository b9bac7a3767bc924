"""How much a response may hold before the SDK stops reading it: memory stays bounded whatever a server sends."""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import RequestValidationError

__all__ = ["ResponseLimits"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """Upper bounds on what one response may make the SDK hold in memory.

    The defaults are far above anything a Grok deployment sends (a completion of 128k tokens is well under
    2 MiB of JSON). Going over one raises :class:`~grok_azure.ResponseTooLargeError` and closes the connection.

    Decoded, JSON takes more memory than its bytes: up to about 25 times for the densest (a long list of tiny
    values), as with any JSON parser, so a body at the limit may briefly take that much more. A body or event over
    64 KiB whose lists of models (choices, tool calls, prompt filter results) are denser than any answer is refused
    with :class:`~grok_azure.ResponseDecodeError` before they are built: filled in with their defaults, 3 bytes of
    ``{}`` would become a ``Choice`` of over 1 KB.

    Args:
        max_body_bytes: A non-streamed body (success or error), counted after decompression, so a gzip bomb is
            stopped when it has inflated this far (give or take 1 MiB: it is inflated a slice at a time).
            Default 64 MiB.
        max_event_bytes: One server-sent event (a single line or all the lines of one event) in a stream.
            Default 16 MiB.
        max_stream_bytes: A whole streamed body, after decompression (as for ``max_body_bytes``). Default
            256 MiB.
    """

    max_body_bytes: int = 64 * _MIB
    max_event_bytes: int = 16 * _MIB
    max_stream_bytes: int = 256 * _MIB

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_event_bytes", "max_stream_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise RequestValidationError(
                    f"ResponseLimits.{name} must be a positive number of bytes; got {value!r}", param=name
                )


DEFAULT_RESPONSE_LIMITS = ResponseLimits()
