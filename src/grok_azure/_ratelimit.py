"""The ``x-ratelimit-*`` headers Azure sends: reset durations and quota readings (no I/O).

Azure (and gateways in front of it) send ``x-ratelimit-remaining-requests`` / ``-tokens`` against
``x-ratelimit-limit-*``, and ``x-ratelimit-reset-*`` as seconds or Go-style durations (``"6m0s"``). ``-1`` and
``0``-of-``0`` are placeholders meaning "unknown"; they never steer traffic and never mean "wait for ever".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["counter", "header_seconds", "lower", "quota_reading", "reset_after_seconds"]

_KINDS = ("requests", "tokens")

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _parse_duration(value: str) -> float | None:
    """Seconds from ``"1"``, ``"0.5"``, ``"20ms"``, ``"6m0s"`` or ``"1h2m3.5s"``; ``None`` if unparsable."""
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if match is None:
                return None
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
    return seconds if math.isfinite(seconds) else None


def header_seconds(lowered: Mapping[str, str], name: str) -> float | None:
    """A duration header (``x-ratelimit-reset-*``: ``"1s"``, ``"6m0s"``, ``"0.5"``) in seconds, or None."""
    raw = lowered.get(name)
    return None if raw is None else _parse_duration(raw)


def counter(lowered: Mapping[str, str], name: str) -> float | None:
    """A rate-limit counter, or ``None`` when missing, unparsable or negative (``-1`` is Azure's "unknown")."""
    raw = lowered.get(name)
    if raw is None:
        return None
    try:
        number = float(raw.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` as a dict with lower-cased names, for the lookups below (a plain mapping is case-sensitive)."""
    return {name.lower(): value for name, value in headers.items()}


def _exhausted(lowered: Mapping[str, str], kind: str) -> bool:
    """Whether the ``kind`` counter really is at zero (``0`` of a limit of ``0`` is a placeholder, not a quota)."""
    remaining = counter(lowered, f"x-ratelimit-remaining-{kind}")
    limit = counter(lowered, f"x-ratelimit-limit-{kind}")
    return remaining == 0 and limit != 0


def reset_after_seconds(headers: Mapping[str, str]) -> float | None:
    """When the exhausted quota refills, from ``x-ratelimit-reset-requests`` / ``-tokens``, in seconds.

    Values may be seconds (``"1"``, ``"0.5"``) or duration strings (``"6m0s"``, ``"1s"``, ``"20ms"``). When the
    remaining-headers say which counter ran out, only that counter's reset counts; otherwise the longest reset
    given (the one that surely frees the quota). Zero, negative (``-1``), unparsable or missing values give
    ``None``: such a header is no hint, and never means "wait forever".

    Args:
        headers: the response headers (names case-insensitive).
    """
    lowered = lower(headers)
    resets = {kind: header_seconds(lowered, f"x-ratelimit-reset-{kind}") for kind in _KINDS}
    usable = {kind: value for kind, value in resets.items() if value is not None and value > 0}
    exhausted = [usable[kind] for kind in _KINDS if kind in usable and _exhausted(lowered, kind)]
    chosen = exhausted or list(usable.values())
    return max(chosen) if chosen else None


def quota_reading(lowered: Mapping[str, str]) -> tuple[float, float | None, float | None] | None:
    """What the remaining-counters say, or ``None`` when they say nothing usable.

    Args:
        lowered: response headers with lower-cased names (see :func:`lower`).

    Returns:
        ``(share, rest, holds)``: the smaller share of the requests and tokens quota left (``1.0`` when no
        ``limit`` was given, ``0.0`` when one is at 0 whatever its limit), how long to rest when a counter is at 0
        with a reset time (else ``None``), and how long the reading stays true (the soonest reset, else ``None``:
        the caller's own time-to-live).
    """
    shares: list[float] = []
    rests: list[float] = []
    refills: list[float] = []
    for kind in _KINDS:
        remaining = counter(lowered, f"x-ratelimit-remaining-{kind}")
        limit = counter(lowered, f"x-ratelimit-limit-{kind}")
        reset = header_seconds(lowered, f"x-ratelimit-reset-{kind}")
        reset = reset if reset is not None and reset > 0 else None
        if remaining is None or limit == 0:
            continue  # -1 / missing / 0-of-0: unknown, not empty
        # Without a limit there is no fraction to compute, but none left is none left (until its reset, if told).
        if limit is not None or remaining == 0:
            shares.append(min(1.0, remaining / limit) if limit is not None else 0.0)
            if reset is not None:
                refills.append(reset)
        if remaining == 0 and reset is not None:
            rests.append(reset)
    if not shares and not rests:
        return None
    share = min(shares) if shares else 1.0
    return share, (max(rests) if rests else None), (min(refills) if refills else None)
