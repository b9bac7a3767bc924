"""Whether and when to try a failed attempt again: :class:`RetryPolicy` and :func:`retry_decision` (no I/O).

The decision is made with tenacity's strategies, built once per policy and shared by both clients: a ``retry``
predicate (which outcomes are worth another attempt), a ``wait`` (the server's requested wait when it gave one,
else exponential backoff with full jitter) and a ``stop`` (the attempt count, and the call's deadline). The
call loop in ``_call_flow`` feeds each failed attempt in and performs the verdict; nothing here sleeps or sends.

The rules (see docs/retries.md):

- Statuses 408, 409, 429, 500, 502, 503, 504 retry, and so do connection errors and timeouts before the first
  byte of a response. 400, 401, 403, 404 and 422 never do (a 401 gets the single token refresh instead).
- ``x-should-retry: true`` / ``false`` on a response overrides the status rule (never for the statuses above).
- The server's wait is read from ``retry-after-ms``, then ``x-ms-retry-after-ms``, then ``retry-after``
  (seconds or an HTTP date); a 429 with none of them uses ``x-ratelimit-reset-requests`` / ``-tokens``. Zero
  or ``-1`` reset counters are no hint. A server wait longer than ``max_server_wait``, or than the deadline
  leaves, ends the call at once with the error (a :class:`RateLimitError` carries the wait as ``retry_after``).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._deadline import MIN_ATTEMPT_SECONDS
from ._deployments import reset_after_seconds
from ._errors import APIConnectionError, APITimeoutError, ConfigurationError, GrokError, RateLimitError
from ._retry_after import retry_after_seconds

if TYPE_CHECKING:
    import tenacity

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "NEVER_RETRY_STATUSES",
    "RETRY_STATUSES",
    "Outcome",
    "RetryPolicy",
    "RetryVerdict",
    "retry_decision",
    "server_wait",
]

DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# Sending these again gets the same answer; a 401 has its own path (one token refresh, then the error).
NEVER_RETRY_STATUSES = frozenset({400, 401, 403, 404, 422})

OnRetry = Callable[[int, GrokError, float], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A failed attempt, as the retry rules see it.

    Args:
        error: the error the call would raise if it stopped here.
        status: the HTTP status, or None when no response arrived.
        headers: the response headers (empty without a response).
        before_first_byte: False once any of the response arrived: a timeout is then final (the service may
            still be working on this very request); a dropped connection still retries.
    """

    error: GrokError
    status: int | None = None
    # Not in repr: a traceback rendered with capture_locals shows this object, and a service may echo a key here.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    before_first_byte: bool = True


@dataclass(frozen=True, slots=True)
class RetryVerdict:
    """``retry`` after ``wait`` seconds, or give up and raise ``error``."""

    retry: bool
    wait: float
    error: GrokError


def server_wait(status: int | None, headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for, in seconds, or None (see the module docstring for the order)."""
    if not headers:
        return None
    wait = retry_after_seconds(headers)
    if wait is None and status == 429:
        wait = reset_after_seconds(headers)
    return wait


@functools.cache
def _tenacity() -> Any:
    """tenacity and the three strategies built on it, imported on the first failed attempt (import cost)."""
    import tenacity

    class _FullJitter(tenacity.wait_exponential):
        """tenacity's ``wait_random_exponential`` ("full jitter"), drawing from an injectable random source.

        Attempt ``n`` (1 = the first retry) waits a uniformly random time in ``[0, min(cap, base * 2**(n-1))]``.
        """

        def __init__(self, base: float, cap: float, rng: random.Random | None) -> None:
            super().__init__(multiplier=base, max=cap, exp_base=2, min=0)
            self._uniform = (rng or random.Random()).uniform

        def __call__(self, retry_state: tenacity.RetryCallState) -> float:
            return self._uniform(0.0, super().__call__(retry_state))

    class _ServerWaitOrJitter(tenacity.wait.wait_base):
        """The server's requested wait when the failed attempt carried one, otherwise full-jitter backoff."""

        def __init__(self, backoff: _FullJitter) -> None:
            self._backoff = backoff

        def __call__(self, retry_state: tenacity.RetryCallState) -> float:
            hint: float | None = retry_state.kwargs["server_wait"]
            return hint if hint is not None else self._backoff(retry_state)

    class _StopPastDeadline(tenacity.stop.stop_base):
        """Stop when the chosen wait plus the shortest useful attempt would overrun the call's deadline."""

        def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
            wait = retry_state.upcoming_sleep
            left: float = retry_state.kwargs["deadline_left"]
            return wait + MIN_ATTEMPT_SECONDS > left

    return tenacity, _FullJitter, _ServerWaitOrJitter, _StopPastDeadline


def _number(value: object, label: str, *, positive: bool = False) -> float:
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    if bad or value < 0 or (positive and value == 0):  # type: ignore[operator]
        kind = "positive" if positive else "non-negative"
        raise ConfigurationError(f"RetryPolicy {label} must be a {kind} finite number; got {value!r}")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RetryPolicy:
    """Which failed attempts are tried again, and how long to wait first. Immutable; share one freely.

    How many times is the client's ``max_retries`` (default 2, so at most 3 attempts), the one knob for it.

    Args:
        backoff_base: the first retry's backoff window in seconds; it doubles with every retry.
        backoff_cap: the largest backoff window in seconds.
        retry_statuses: HTTP statuses that retry (default 408, 409, 429, 500, 502, 503, 504). 400, 401, 403, 404
            and 422 are refused here: they never retry.
        retry_connection_errors: retry when the connection failed (refused, reset, dropped), also while a
            non-streamed body was arriving.
        retry_timeouts: retry a timeout that struck before the first byte of the response.
        max_server_wait: the longest ``retry-after`` (or rate-limit reset) honoured, in seconds; a longer one ends
            the call at once with the error, whose ``retry_after`` says how long the server asked for.
        on_retry: called as ``on_retry(attempt, error, wait)`` just before each wait: ``attempt`` is the number of
            the retry about to happen (1 for the first), ``error`` what the failed attempt would have raised,
            ``wait`` the seconds about to be slept (0 when failing over to another deployment). Called on the
            calling thread (or the event loop); keep it quick. What it raises ends the call.
        rng: the random source of the jitter (tests pass ``random.Random(seed)``).

    Backoff is "full jitter": retry ``n`` waits a uniformly random time between 0 and
    ``min(backoff_cap, backoff_base * 2**(n-1))`` seconds (so with the defaults, up to 0.5 s, then 1 s, 2 s...).
    A wait the server asked for replaces the backoff, unjittered.
    """

    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    retry_connection_errors: bool = True
    retry_timeouts: bool = True
    max_server_wait: float = 60.0
    on_retry: OnRetry | None = field(default=None, compare=False)
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        base = _number(self.backoff_base, "backoff_base")
        cap = _number(self.backoff_cap, "backoff_cap")
        object.__setattr__(self, "backoff_base", base)
        object.__setattr__(self, "backoff_cap", cap)
        _number(self.max_server_wait, "max_server_wait")
        statuses = frozenset(self.retry_statuses)
        if not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses):
            raise ConfigurationError("RetryPolicy retry_statuses must hold HTTP status codes (ints 100-599)")
        never = sorted(statuses & NEVER_RETRY_STATUSES)
        if never:
            raise ConfigurationError(
                f"RetryPolicy retry_statuses cannot include {never}: those answers do not change on a resend"
            )
        if self.on_retry is not None and not callable(self.on_retry):
            raise ConfigurationError(
                "RetryPolicy on_retry must be callable as on_retry(attempt, error, wait)"
            )
        object.__setattr__(self, "retry_statuses", statuses)
        object.__setattr__(self, "_strategies", None)
        object.__setattr__(self, "_stops", {})
        del base, cap

    def _tenacity_strategies(self) -> tuple[Any, Any, Any, Any]:
        """(the Retrying owner, retry predicate, wait, deadline stop): built once, on the first failed attempt.

        Stored with ``object.__setattr__`` (the dataclass is frozen), outside the fields, so repr and equality
        ignore them. Two threads racing here build equal strategies; either may win.
        """
        built: tuple[Any, Any, Any, Any] | None = getattr(self, "_strategies", None)
        if built is None:
            tenacity, full_jitter, server_or_jitter, stop_past_deadline = _tenacity()
            built = (
                tenacity.Retrying(),  # the owner tenacity's call state expects; never run
                tenacity.retry_if_result(self._retryable),
                server_or_jitter(full_jitter(self.backoff_base, self.backoff_cap, self.rng)),
                stop_past_deadline(),
            )
            object.__setattr__(self, "_strategies", built)
        return built

    def _retryable(self, outcome: Outcome) -> bool:
        """tenacity's retry predicate: is this failed attempt worth another?"""
        status = outcome.status
        if status is None:
            error = outcome.error
            if isinstance(error, APITimeoutError):
                return self.retry_timeouts and outcome.before_first_byte
            # A dropped connection retries even mid-body (nothing usable arrived); a timeout only before the
            # first byte (after it, the service may still be working on this very request).
            return isinstance(error, APIConnectionError) and self.retry_connection_errors
        if status in NEVER_RETRY_STATUSES:
            return False
        override = outcome.headers.get("x-should-retry") if outcome.headers else None
        if override is not None:
            flag = override.strip().lower()
            if flag in ("true", "false"):
                return flag == "true"
        return status in self.retry_statuses

    def _stop(self, max_retries: int) -> tenacity.stop.stop_base:
        stops: dict[int, tenacity.stop.stop_base] = self._stops  # type: ignore[attr-defined]
        stop = stops.get(max_retries)
        if stop is None:
            tenacity = _tenacity()[0]
            past_deadline = self._tenacity_strategies()[3]
            stop = stops[max_retries] = tenacity.stop_after_attempt(max_retries + 1) | past_deadline
        return stop


def retry_decision(
    policy: RetryPolicy,
    outcome: Outcome,
    attempt: int,
    deadline_left: float,
    max_retries: int,
    *,
    elsewhere: bool = False,
) -> RetryVerdict:
    """Whether to try again after the failed attempt number ``attempt`` (1 = the first attempt), and the wait.

    Args:
        policy: the rules.
        outcome: the failed attempt.
        attempt: how many attempts this call has made, this one included.
        deadline_left: seconds the call's deadline leaves (``inf`` without a deadline).
        max_retries: retries allowed after the first attempt.
        elsewhere: another deployment this call has not tried can take the next attempt: a server wait too long
            to honour then rules out only this deployment (the retry goes elsewhere at once), not the call.

    Returns:
        a :class:`RetryVerdict`; when it gives up, its ``error`` is ``outcome.error`` (a 429 whose wait was
        refused carries that wait as ``retry_after``).
    """
    give_up = RetryVerdict(False, 0.0, outcome.error)
    owner, retry, wait_for, _ = policy._tenacity_strategies()
    tenacity = _tenacity()[0]
    # tenacity's own pipeline order: the retry predicate, then the wait, then the stop (which sees the wait).
    state = tenacity.RetryCallState(owner, None, (), {})
    state.attempt_number = attempt
    state.outcome = tenacity.Future.construct(attempt, outcome, False)
    if not retry(state):
        return give_up
    hint = server_wait(outcome.status, outcome.headers)
    if hint is not None and (hint > policy.max_server_wait or hint + MIN_ATTEMPT_SECONDS > deadline_left):
        _carry_wait(outcome.error, hint)
        if not elsewhere:
            return give_up
        hint = 0.0  # the pool rests this deployment for the wait; the next attempt goes to another one
    state.kwargs = {"server_wait": hint, "deadline_left": deadline_left}
    wait: float = wait_for(state)
    state.upcoming_sleep = wait
    if policy._stop(max_retries)(state):
        return give_up
    return RetryVerdict(True, wait, outcome.error)


def _carry_wait(error: GrokError, wait: float) -> None:
    # The wait the headers stated, which ended the call: a 429 answered only with reset headers has no retry_after
    # from the error mapping, or one read from its message ("retry after 2 seconds"), which is not what was refused.
    if isinstance(error, RateLimitError):
        error.retry_after = wait
