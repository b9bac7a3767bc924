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
    2 MiB of JSON) and far below what would hurt a process. Going over one raises
    :class:`~grok_azure.ResponseTooLargeError` and closes the connection.

    Args:
        max_body_bytes: A non-streamed body (success or error), counted after decompression, so a gzip bomb is
            stopped when it has inflated this far. Default 64 MiB.
        max_event_bytes: One server-sent event (a single line or all the lines of one event) in a stream.
            Default 16 MiB.
        max_stream_bytes: A whole streamed body, after decompression. Default 256 MiB.
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
