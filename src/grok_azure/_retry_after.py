"""How long the server asked us to wait, from response headers (no I/O)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds"]

# Millisecond headers are checked first: they are the more precise form of the same hint.
_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")


def _non_negative_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _http_date_delay(value: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 7231 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else datetime.now(timezone.utc)
    if current.tzinfo is None:
        current = current.replace(tzinfo=timezone.utc)
    # A date already past means "retry now", which is a valid hint rather than a malformed one.
    return max(0.0, (when - current).total_seconds())


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait the server asked for, in seconds, or ``None`` when it gave no usable hint.

    Reads ``retry-after-ms``, then ``x-ms-retry-after-ms`` (milliseconds), then ``retry-after`` (seconds,
    fractions allowed, or an HTTP-date relative to ``now``). Header names are case-insensitive; negative or
    unparsable values are skipped so the next header can still answer.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in _MS_HEADERS:
        millis = _non_negative_number(lowered.get(name))
        if millis is not None:
            return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _non_negative_number(raw)
    if seconds is not None:
        return seconds
    return _http_date_delay(raw, now)
