"""One time budget for a whole call: connecting, every attempt, every wait and reading the body (no I/O).

A :class:`Deadline` is started when a call starts. The call loop asks it how long each attempt may take (the
attempt's httpx timeouts are the configured ones, shortened to what is left), whether a wait and one more attempt
still fit, and for the :class:`~grok_azure.APITimeoutError` that names the budget once it ran out. Without a
budget (``deadline=None``, the default) every method answers at once and changes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx

from ._errors import APITimeoutError, RequestValidationError

__all__ = ["MIN_ATTEMPT_SECONDS", "UNBOUNDED", "Deadline", "check_budget"]

# An attempt with less than this left could not even connect; the call ends instead of starting it.
MIN_ATTEMPT_SECONDS = 0.01


def check_budget(value: object, param: str) -> float | None:
    """``value`` as seconds (or None for no bound); anything else is a :class:`RequestValidationError`.

    Args:
        value: what the caller passed as ``param``.
        param: ``"deadline"`` or ``"stream_deadline"``, named in the error.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise RequestValidationError(
            f"{param} must be a positive number of seconds or None; got {value!r}", param=param
        )
    return float(value)


class Deadline:
    """The budget of one call, started at construction.

    Args:
        seconds: the whole budget; None means unbounded.
        budget: the option that set it (``"deadline"`` or ``"stream_deadline"``), named when it runs out.
        clock: monotonic seconds; tests inject a fake one.
    """

    __slots__ = ("_clock", "_ends", "budget", "seconds")

    def __init__(
        self, seconds: float | None, *, budget: str = "deadline", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.budget = budget
        self._clock = clock
        self._ends = math.inf if seconds is None else clock() + seconds

    def restart(self) -> None:
        """Start the budget again from now."""
        self._ends = math.inf if self.seconds is None else self._clock() + self.seconds

    @property
    def bounded(self) -> bool:
        return self.seconds is not None

    def remaining(self) -> float:
        """Seconds left (``inf`` when unbounded; never negative)."""
        if self.seconds is None:
            return math.inf
        return max(0.0, self._ends - self._clock())

    def fits(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time for an attempt (:data:`MIN_ATTEMPT_SECONDS`)."""
        return self.seconds is None or self.remaining() - wait >= MIN_ATTEMPT_SECONDS

    def attempt_timeout(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """``timeout`` with every phase shortened to what is left, so no single read outlives the budget."""
        if self.seconds is None:
            return timeout
        left = self.remaining()

        def clamp(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(
            connect=clamp(timeout.connect),
            read=clamp(timeout.read),
            write=clamp(timeout.write),
            pool=clamp(timeout.pool),
        )

    def expired(self) -> bool:
        return self.seconds is not None and self._clock() >= self._ends

    def error(self, during: str, request: httpx.Request | None = None) -> APITimeoutError:
        """The error for a budget that ran out ``during`` something (``"waiting for the response"``...)."""
        return APITimeoutError(
            f"The call's {self.budget}={self.seconds:g} s ran out {during}", request=request
        )


# The budget of every call without a deadline: an unbounded Deadline has no state to keep (restarting it changes
# nothing), so calls share this one instead of each holding its own.
UNBOUNDED = Deadline(None)
