"""Per-deployment request and token quotas, enforced the way Azure does (no I/O: the clock is injected).

Azure states quotas per minute but evaluates them over short windows: a deployment with ``rpm`` requests per
minute may take ``rpm * window / 60`` requests in each ``window``-second window (600 RPM over 1 s windows: 10
per second; rounded up, and at least one), and likewise for tokens, and no more than ``rpm`` in a minute (a
fixed one-minute window as well: without it, rounding would let 1 RPM through once a second). Tokens are
charged when a request *arrives*, from an estimate: the prompt's characters / 4 plus ``max_completion_tokens``
/ ``max_tokens`` (or :data:`DEFAULT_OUTPUT_ESTIMATE` when neither is given), so a large ``max_tokens`` uses
quota it may never spend.

Windows are fixed and aligned on the clock (``[k * window, (k + 1) * window)``); a new window starts empty. A
request is admitted only if every enforced dimension has room for it, and then charged to both. One exception
keeps a single oversized request from being refused for ever: a request whose token estimate exceeds the
whole window's allowance is admitted into a window that has not charged any tokens yet.

A dimension without a configured limit is advisory: it counts down from the documented Grok quota (1,000
requests and 400,000 tokens per minute, over a one-minute window) but never refuses, so the
``x-ratelimit-remaining-*`` headers move honestly even when quotas are off.

Azure does not always report its counters: it has answered with ``x-ratelimit-*`` values of ``-1`` or ``0`` and,
on a 429, no retry header. ``counters="unknown"`` (remaining -1 of limit 0) or ``"zero"`` (0 of 0) reports those
placeholders on every reply instead of the live counters, while the quotas are still enforced; a quota 429 then
carries no ``retry-after`` either.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._completions import message_text
from ._errors import Rejection
from ._faults import placeholder_counters, throttled
from ._validation import count_tokens

Clock = Callable[[], float]
Dimension = Literal["requests", "tokens"]
QuotaLimit = int | Mapping[str, int] | None
# How replies report the counters: "live" (they count down), or one of Azure's placeholder forms.
CounterReport = Literal["live", "unknown", "zero"]
COUNTER_REPORTS: tuple[CounterReport, ...] = ("live", "unknown", "zero")

QUOTA_WINDOWS = (1, 10)
DEFAULT_QUOTA_WINDOW = 1
# The output share of the estimate when a request sets no max_tokens. Azure does not document the figure it
# uses; 1,024 keeps a default request's charge in the same range as a typical answer.
DEFAULT_OUTPUT_ESTIMATE = 1024
ADVISORY_REQUESTS = 1000
ADVISORY_TOKENS = 400_000
_ADVISORY_WINDOW = 60.0


def default_clock() -> float:
    """The quotas' default clock (looked up when an emulator is built, so tests can replace it)."""
    return time.monotonic()


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """What a request is charged on arrival: prompt characters / 4 plus its output cap (or the default).

    ``body`` is the raw request body; the estimate never fails on malformed fields, because the gateway
    charges a request before the model validates it.
    """
    messages = body.get("messages")
    prompt = 0
    if isinstance(messages, list):
        prompt = sum(count_tokens(message_text(m)) for m in messages if isinstance(m, Mapping))
    for name in ("max_completion_tokens", "max_tokens"):
        cap = body.get(name)
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            return prompt + cap
    return prompt + DEFAULT_OUTPUT_ESTIMATE


def _per_deployment(name: str, limit: QuotaLimit, deployments: Iterable[str]) -> dict[str, int]:
    known = list(deployments)
    if limit is None:
        return {}
    limits = dict(limit) if isinstance(limit, Mapping) else dict.fromkeys(known, limit)
    for deployment, value in limits.items():
        if deployment not in known:
            raise ValueError(f"{name}: unknown deployment {deployment!r}; known: {sorted(known)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r} for {deployment!r}")
    return limits


@dataclass(frozen=True)
class Counter:
    """One dimension of one deployment after a decision: its window allowance, what is left, and when the
    window frees (seconds from now). ``enforced`` is False for an advisory counter."""

    limit: int
    remaining: int
    reset: float
    enforced: bool


@dataclass(frozen=True)
class Admission:
    """The quota decision for one request. ``refused`` names the exhausted dimension (None: admitted);
    ``retry_after`` is then the seconds until its window frees."""

    requests: Counter
    tokens: Counter
    refused: Dimension | None = None
    report: CounterReport = "live"

    @property
    def retry_after(self) -> float:
        return (self.tokens if self.refused == "tokens" else self.requests).reset

    def headers(self) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers Azure sends: limit and remaining per window, and for enforced
        dimensions ``x-ratelimit-reset-*`` in whole seconds (rounded up, as Azure sends ``"55"``). With a
        placeholder ``report``, Azure's placeholders instead (see :func:`~._faults.placeholder_counters`)."""
        if self.report != "live":
            return placeholder_counters(self.report)
        headers: dict[str, str] = {}
        for dimension, counter in (("requests", self.requests), ("tokens", self.tokens)):
            headers[f"x-ratelimit-limit-{dimension}"] = str(counter.limit)
            headers[f"x-ratelimit-remaining-{dimension}"] = str(counter.remaining)
            if counter.enforced:
                headers[f"x-ratelimit-reset-{dimension}"] = str(math.ceil(counter.reset))
        return headers


class _Window:
    """A fixed window's usage for one dimension of one deployment."""

    def __init__(self, allowance: int, seconds: float, enforced: bool) -> None:
        self.allowance = allowance
        self.seconds = seconds
        self.enforced = enforced
        self.index = -math.inf
        self.used = 0

    def roll(self, now: float) -> float:
        """Start a new window if ``now`` left the current one; return the seconds until it ends."""
        index = math.floor(now / self.seconds)
        if index != self.index:
            self.index, self.used = index, 0
        return (index + 1) * self.seconds - now

    def refuses(self, amount: int) -> bool:
        # An oversized charge still fits an untouched window (see the module docstring).
        return self.enforced and self.used > 0 and self.used + amount > self.allowance

    def counter(self, reset: float) -> Counter:
        return Counter(self.allowance, self.room(), reset, self.enforced)

    def room(self) -> int:
        return max(0, self.allowance - self.used)


class _Limit:
    """One dimension of one deployment: its short window and, for an enforced quota, the minute it is stated for.

    The short windows' allowances are rounded (up, to at least one), which alone would let a small quota through
    many times over: 1 RPM over 1-second windows is 1 per second, 60 a minute. The minute keeps the total at the
    quota; the short window keeps bursts at Azure's.
    """

    def __init__(self, short: _Window, minute: _Window | None) -> None:
        self._windows = (short,) if minute is None else (short, minute)
        self._resets = (0.0,) * len(self._windows)

    def roll(self, now: float) -> None:
        self._resets = tuple(window.roll(now) for window in self._windows)

    def refuses(self, amount: int) -> bool:
        return any(window.refuses(amount) for window in self._windows)

    def charge(self, amount: int) -> None:
        for window in self._windows:
            window.used += amount

    def counter(self) -> Counter:
        """The short window's allowance, the room left in the fuller of the two, and when that one frees (the
        later, when both are full: waiting for the sooner would be refused again)."""
        room, reset = min(
            ((window.room(), -reset) for window, reset in zip(self._windows, self._resets, strict=True))
        )
        short = self._windows[0]
        return Counter(short.allowance, room, -reset, short.enforced)


class Quotas:
    """Request and token quotas for a set of deployments; thread-safe.

    ``rpm`` and ``tpm`` are a limit per minute for every deployment, a mapping of deployment name to limit
    (deployments left out are not limited), or None (not limited). ``window`` is 1 or 10 (seconds).
    ``clock`` returns seconds (monotonic); tests pass a fake one. ``counters`` is ``"live"`` (the headers count
    down), or ``"unknown"`` / ``"zero"`` to report Azure's placeholders instead (see the module docstring).
    """

    def __init__(
        self,
        deployments: Iterable[str],
        *,
        rpm: QuotaLimit = None,
        tpm: QuotaLimit = None,
        window: float = DEFAULT_QUOTA_WINDOW,
        clock: Clock | None = None,
        counters: CounterReport = "live",
    ) -> None:
        if window not in QUOTA_WINDOWS:
            raise ValueError(f"quota_window must be one of {QUOTA_WINDOWS} (seconds), got {window!r}")
        if counters not in COUNTER_REPORTS:
            raise ValueError(f"counters must be one of {COUNTER_REPORTS}, got {counters!r}")
        self._report: CounterReport = counters
        names = list(deployments)
        self._rpm = _per_deployment("rpm", rpm, names)
        self._tpm = _per_deployment("tpm", tpm, names)
        self._names = names
        self._window = float(window)
        self._clock = clock if clock is not None else default_clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[_Limit, _Limit]] = {}
        self.reset()

    @property
    def enforced(self) -> bool:
        """Whether any deployment has a limit."""
        return bool(self._rpm or self._tpm)

    def _make(self, limit: int | None, advisory: int) -> _Limit:
        if limit is None:
            return _Limit(_Window(advisory, _ADVISORY_WINDOW, enforced=False), None)
        # Rounded up (1.5 a second is 2 in one second, not 1), and at least one, so that a small quota over a short
        # window still admits something; the minute keeps the total at the quota.
        short = _Window(max(1, math.ceil(limit * self._window / 60)), self._window, enforced=True)
        return _Limit(short, _Window(limit, 60.0, enforced=True))

    def reset(self) -> None:
        """Empty every window."""
        with self._lock:
            self._windows = {
                name: (
                    self._make(self._rpm.get(name), ADVISORY_REQUESTS),
                    self._make(self._tpm.get(name), ADVISORY_TOKENS),
                )
                for name in self._names
            }

    def charge(self, deployment: str, tokens: int) -> Admission:
        """Admit one request of ``tokens`` estimated tokens to ``deployment`` and charge it, or refuse it
        (nothing charged). Checking and charging happen under one lock, so concurrent requests never
        overshoot a quota."""
        with self._lock:
            requests_limit, tokens_limit = self._windows[deployment]
            now = self._clock()
            requests_limit.roll(now)
            tokens_limit.roll(now)
            refused: Dimension | None = None
            if requests_limit.refuses(1):
                refused = "requests"
            elif tokens_limit.refuses(tokens):
                refused = "tokens"
            else:
                requests_limit.charge(1)
                tokens_limit.charge(tokens)
            return Admission(requests_limit.counter(), tokens_limit.counter(), refused, self._report)


def quota_rejection(admission: Admission, api_version: str) -> Rejection:
    """Azure's 429 for a refused ``admission``: its ``x-ratelimit-*`` headers plus ``retry-after`` (whole
    seconds, rounded up) and ``retry-after-ms``. With placeholder counters, no retry header (the 429 Azure has
    sent with ``-1``/``0`` counters had none); the body still names the wait, as Azure's does."""
    assert admission.refused is not None
    wait = admission.retry_after
    seconds = math.ceil(wait)
    headers = admission.headers()
    if admission.report == "live":
        headers["retry-after"] = str(seconds)
        headers["retry-after-ms"] = str(math.ceil(wait * 1000))
    return throttled(api_version, admission.refused, seconds, headers)
