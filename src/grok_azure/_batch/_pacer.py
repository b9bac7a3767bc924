"""Quota-aware pacing for batches: when to send the next request, and how many may be in flight (no I/O).

A deployment's quota is a number of requests and of tokens per minute, which Azure evaluates over short fixed
windows of 1 or 10 seconds, charging each request's tokens on arrival from an estimate (prompt + ``max_tokens``).
A burst that is fine over the minute is refused within its window, so the :class:`Pacer` spreads requests evenly:
each dimension is a leaky bucket in its "virtual scheduling" form (GCRA, no burst allowance): a request may go
once the previous ones have drained at ``utilization`` x the limit, and then pushes the next slot one request
(or its tokens) further. Sending evenly just under the rate keeps every window under its allowance whatever
their length or alignment.

Limits come from the caller (``rpm`` / ``tpm``, totals) or are learned from the ``x-ratelimit-limit-*`` headers
(see :meth:`Pacer.on_response`), per source: a client over several deployments has each one's quota, and the
pacer spends their sum (the client's deployment pool spreads the calls by what each has left). A 429 halves the allowed concurrency and trims the rate a little; successes win both
back additively (AIMD, as TCP does). The pacer is shared by threads (sync runner), tasks (async runner) or one
coordinating Ray actor: every method takes a lock and returns at once; the caller does the sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._cost import estimate_prompt_tokens
from .._errors import RequestValidationError
from .._ratelimit import counter, header_seconds, lower
from .._retry import server_wait

__all__ = ["DEFAULT_OUTPUT_TOKENS", "Pacer", "estimate_tokens"]

# The output share of an estimate when the request sets no max_tokens. Azure does not document what it charges
# then; 1,024 is the emulator's figure, and too high an estimate only costs a little speed, never a 429.
DEFAULT_OUTPUT_TOKENS = 1024
_KINDS = ("requests", "tokens")
# Azure evaluates quotas over 1 or 10 second windows (its quota docs); a limit with no reset hint is taken to
# be per minute, the slowest reading, so a misread header can only make the batch slower.
_WINDOWS = (1.0, 10.0, 60.0)
_EARLY = 0.001  # a sleeper woken this close to its slot takes it (timers may fire a little early)
# How late a sender may wake and still keep its slot's place: at most this much catching up in a burst.
_LATE = 0.02
_DECREASE = 0.5  # concurrency after a 429: halved
_RATE_DECREASE = 0.9  # rate share after a 429: trimmed (pacing already keeps close to the limit)
_RATE_RECOVERY = 0.01  # rate share won back per success
_MIN_SHARE = 0.25
_DEFAULT_HOLD = 1.0  # pause after repeated 429s that name no wait


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """What a request will count against the tokens-per-minute quota, before it is sent.

    The local prompt estimate (:func:`grok_azure._cost.estimate_prompt_tokens`) plus the output cap: the larger
    of ``max_completion_tokens`` and ``max_tokens`` when given, else :data:`DEFAULT_OUTPUT_TOKENS`. Azure charges
    the cap on arrival whatever the answer's length, so the cap is the right figure, not a guess at the answer.

    Args:
        body: a chat completion request body (a batch line's ``body``).
    """
    caps = [
        value
        for value in (body.get("max_completion_tokens"), body.get("max_tokens"))
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
    ]
    return estimate_prompt_tokens(body) + (max(caps) if caps else DEFAULT_OUTPUT_TOKENS)


def positive(name: str, value: object, unit: str) -> float:
    """``value`` as a float when it is a positive, finite number; else RequestValidationError naming ``name``."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not 0 < number < math.inf:  # NaN fails too
        raise RequestValidationError(f"{name} must be a positive number of {unit}, got {value!r}", param=name)
    return float(number)


def check_concurrency(value: object) -> int:
    """``value`` when it is a positive int (how many calls may be in flight); else RequestValidationError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestValidationError(
            f"concurrency must be a positive integer, got {value!r}", param="concurrency"
        )
    return value


class _Lane:
    """One quota dimension: its limit per minute (None: unknown) and its next free slot."""

    __slots__ = ("given", "limits", "longest_reset", "per_minute", "slot")

    def __init__(self, per_minute: float | None) -> None:
        self.given = per_minute is not None
        self.per_minute = per_minute
        self.slot = -math.inf  # the earliest time the next request may go (GCRA's theoretical arrival time)
        self.longest_reset = 0.0
        self.limits: dict[str | None, float] = {}  # each source's last learned allowance per window

    def push(self, amount: float, start: float, share: float) -> None:
        """Charge ``amount`` (one request, or its tokens) to a send at ``start``."""
        if self.per_minute is not None:
            # A sender woken a little late keeps its place on the grid (lateness would otherwise add up); after
            # a longer gap the pacer was idle, and saves nothing up.
            base = self.slot if start - _LATE <= self.slot else start
            self.slot = base + amount * 60.0 / (self.per_minute * share)

    def learn(self, lowered: Mapping[str, str], kind: str, source: str | None) -> None:
        """Read ``source``'s limit of this dimension from the headers, unless the caller gave one; the limit in
        force is the sum over the sources seen (each is a quota of its own)."""
        if self.given:
            return
        limit = counter(lowered, f"x-ratelimit-limit-{kind}")
        if not limit:  # missing, -1 or 0: Azure's placeholders for "unknown"
            return
        reset = header_seconds(lowered, f"x-ratelimit-reset-{kind}")
        if reset is not None and reset > 0:
            self.longest_reset = max(self.longest_reset, reset)
        self.limits[source] = limit
        # Read as the allowance of one window, as the emulator sends it (how Azure's own headers count is not
        # confirmed); the longest reset seen bounds the window from below (a reset counts down).
        window = 60.0
        if self.longest_reset > 0:
            window = next((w for w in _WINDOWS if self.longest_reset <= w), self.longest_reset)
        self.per_minute = sum(self.limits.values()) * 60.0 / window


class Pacer:
    """Paces a batch's requests under a deployment's quota; thread-safe, no I/O (the clock is injected).

    How to drive it, for each request::

        estimate = estimate_tokens(body)
        while (wait := pacer.reserve(estimate)) > 0:
            sleep(wait)                       # or await asyncio.sleep(wait); then ask again
        ...send, with at most pacer.allowed_concurrency requests in flight...
        pacer.on_response(status, headers, source=deployment)  # every attempt's answer, 429s included
        pacer.settle(estimate, usage.prompt_tokens + usage.completion_tokens)

    and :meth:`charge` for a request that went without asking (a retry the client made by itself).

    Args:
        rpm: the requests per minute to spend, in total; None: learned from ``x-ratelimit-limit-requests``, per
            source (deployment), and summed.
        tpm: the tokens per minute, in total; None: learned from ``x-ratelimit-limit-tokens`` likewise.
        concurrency: the most requests in flight (AIMD moves :attr:`allowed_concurrency` between 1 and this).
        clock: monotonic seconds (tests pass a fake one).
        utilization: the share of each limit to aim at (0 < utilization <= 1); the rest absorbs timing jitter at
            the server's window edges.
        refund_unused: whether :meth:`settle` gives back tokens a request was estimated at but did not use. Off
            by default: Azure charges the estimate (``max_tokens`` included) on arrival, so a refund would overrun
            the quota. Turn it on for a gateway that counts the tokens actually used.

    Raises:
        RequestValidationError: a limit, ``concurrency`` or ``utilization`` out of range (also a ``ValueError``).
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
        *,
        utilization: float = 0.95,
        refund_unused: bool = False,
    ) -> None:
        check_concurrency(concurrency)
        if positive("utilization", utilization, "share of the quota") > 1:
            raise RequestValidationError(
                f"utilization must be at most 1, got {utilization!r}", param="utilization"
            )
        self._requests = _Lane(None if rpm is None else positive("rpm", rpm, "requests per minute"))
        self._tokens = _Lane(None if tpm is None else positive("tpm", tpm, "tokens per minute"))
        self._max = concurrency
        self._clock = clock
        self._utilization = float(utilization)
        self._refund = refund_unused
        self._lock = threading.Lock()
        self._share = 1.0  # AIMD's trim of the rate, on top of utilization
        # Nothing known yet: one request probes the headers before the others go.
        self._allowed = concurrency if self._paced() else 1
        self._successes = 0  # since the last step up of _allowed
        self._answered = False
        self._calm_until = -math.inf  # 429s before this belong to the same overload: one decrease only
        self._hold_until = -math.inf

    def _paced(self) -> bool:
        return self._requests.per_minute is not None or self._tokens.per_minute is not None

    @property
    def allowed_concurrency(self) -> int:
        """How many requests may be in flight now (1 to ``concurrency``)."""
        with self._lock:
            return self._allowed

    @property
    def rpm(self) -> float | None:
        """The requests-per-minute limit in force (given or learned), or None while unknown."""
        with self._lock:
            return self._requests.per_minute

    @property
    def tpm(self) -> float | None:
        """The tokens-per-minute limit in force (given or learned), or None while unknown."""
        with self._lock:
            return self._tokens.per_minute

    def reserve(self, estimated_tokens: int) -> float:
        """Take the next slot for a request, or say how long to wait for it.

        Returns 0 when the request may go now (its request and tokens are then charged); otherwise the seconds
        to wait, with nothing charged: sleep, then call again (another caller may have taken the slot meanwhile).

        Args:
            estimated_tokens: the request's :func:`estimate_tokens`.
        """
        with self._lock:
            now = self._clock()
            start = max(now, self._hold_until, self._requests.slot, self._tokens.slot)
            if start - now > _EARLY:
                return start - now
            self._push(estimated_tokens, now)
            return 0.0

    def charge(self, estimated_tokens: int) -> None:
        """Count a request that was sent without :meth:`reserve` (a retry the client made on its own): the
        quota spent it all the same, so later requests wait for it.

        Args:
            estimated_tokens: the request's :func:`estimate_tokens`.
        """
        with self._lock:
            self._push(estimated_tokens, self._clock())

    def _push(self, estimated_tokens: int, now: float) -> None:
        share = self._utilization * self._share
        self._requests.push(1, now, share)
        self._tokens.push(max(0, estimated_tokens), now, share)

    def settle(self, estimated: int, actual_tokens: int) -> None:
        """Correct the tokens charged for a finished request from what it really used.

        Tokens used beyond the estimate are charged now (later requests wait for them). Tokens estimated but not
        used are given back only with ``refund_unused`` (see the class docstring).

        Args:
            estimated: what :meth:`reserve` charged (the request's :func:`estimate_tokens`).
            actual_tokens: the tokens it used (prompt + completion from its usage; 0 if it got no answer).
        """
        extra = actual_tokens - estimated
        if extra == 0 or (extra < 0 and not self._refund):
            return
        with self._lock:
            lane = self._tokens
            if lane.per_minute is None:
                return
            step = extra * 60.0 / (lane.per_minute * self._utilization * self._share)
            # A refund never moves the slot into the past: an idle pacer has nothing to give back.
            lane.slot = lane.slot + step if extra > 0 else max(lane.slot + step, self._clock())

    def on_response(self, status: int, headers: Mapping[str, str], source: str | None = None) -> None:
        """Learn from one answer: limits from ``x-ratelimit-limit-*`` (when not given), AIMD from the status.

        Learned limits are kept per ``source`` and the pacer paces to their sum: a batch over two deployments
        spends both quotas. A source's later answers replace its earlier limit.

        A header's limit is read as the allowance of a window whose length is the longest
        ``x-ratelimit-reset-*`` seen, rounded up to 1 s, 10 s or a minute (a minute when no reset is sent).
        A 429 halves the allowed concurrency and trims the rate by 10 %, once per window however many 429s
        arrive together; a further 429 in that window also pauses sending for the wait it names. Each round of
        ``allowed`` 2xx answers adds one to the concurrency; each 2xx gives 1 % of the rate back.

        Args:
            status: the HTTP status of the answer.
            headers: its headers (names case-insensitive).
            source: whose quota answered: the deployment's label (``CallInfo.deployment``); None for a single
                quota.
        """
        lowered = lower(headers)
        with self._lock:
            now = self._clock()
            self._requests.learn(lowered, "requests", source)
            self._tokens.learn(lowered, "tokens", source)
            if not self._answered:
                self._answered = True
                self._allowed = self._max  # the probe answered: what can be learned is known
            if status == 429:
                self._throttled(now, headers)
            elif 200 <= status < 300:
                self._successes += 1
                if self._successes >= self._allowed:  # one more per round of answers
                    self._allowed, self._successes = min(self._max, self._allowed + 1), 0
                self._share = min(1.0, self._share + _RATE_RECOVERY)

    def _throttled(self, now: float, headers: Mapping[str, str]) -> None:
        if now >= self._calm_until:
            self._allowed = max(1, math.floor(self._allowed * _DECREASE))
            self._successes = 0
            self._share = max(_MIN_SHARE, self._share * _RATE_DECREASE)
            self._calm_until = now + self._window()
            return
        # A second 429 in one window: the pacing is off (a misread limit, or someone else on the quota).
        wait = server_wait(429, headers) or _DEFAULT_HOLD
        self._hold_until = max(self._hold_until, now + wait)

    def _window(self) -> float:
        resets = [lane.longest_reset for lane in (self._requests, self._tokens) if lane.longest_reset > 0]
        return min(60.0, max(resets)) if resets else 1.0
