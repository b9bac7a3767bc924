"""The call's one time budget, on a fake clock."""

from __future__ import annotations

import math

import httpx
import pytest

from grok_azure import APITimeoutError, RequestValidationError
from grok_azure._deadline import Deadline, check_budget


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_unbounded_deadline_changes_nothing() -> None:
    deadline = Deadline(None)
    timeout = httpx.Timeout(5.0)
    assert deadline.remaining() == math.inf
    assert deadline.attempt_timeout(timeout) is timeout
    assert deadline.fits(1e9)
    assert not deadline.expired()


def test_remaining_counts_down_and_never_goes_negative() -> None:
    clock = FakeClock()
    deadline = Deadline(3.0, clock=clock)
    clock.now += 1.25
    assert deadline.remaining() == pytest.approx(1.75)
    clock.now += 10
    assert deadline.remaining() == 0.0
    assert deadline.expired()


def test_attempt_timeout_is_shortened_to_what_is_left() -> None:
    clock = FakeClock()
    deadline = Deadline(4.0, clock=clock)
    clock.now += 2.5
    got = deadline.attempt_timeout(httpx.Timeout(60.0, connect=1.0))
    assert got.connect == 1.0
    assert got.read == got.write == got.pool == pytest.approx(1.5)


def test_attempt_timeout_bounds_a_phase_that_had_none() -> None:
    deadline = Deadline(2.0, clock=FakeClock())
    assert deadline.attempt_timeout(httpx.Timeout(None)).read == pytest.approx(2.0)


def test_fits_keeps_room_for_an_attempt() -> None:
    clock = FakeClock()
    deadline = Deadline(1.0, clock=clock)
    assert deadline.fits(0.9)
    assert not deadline.fits(0.995)
    clock.now += 1.0
    assert not deadline.fits(0.0)


def test_error_names_the_budget() -> None:
    error = Deadline(2.5, budget="stream_deadline", clock=FakeClock()).error("reading the body")
    assert isinstance(error, APITimeoutError)
    assert "stream_deadline=2.5 s ran out reading the body" in str(error)


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), True, "3"])
def test_bad_budgets_are_rejected(value: object) -> None:
    with pytest.raises(RequestValidationError) as info:
        check_budget(value, "deadline")
    assert info.value.param == "deadline"


def test_good_budgets() -> None:
    assert check_budget(None, "deadline") is None
    assert check_budget(2, "deadline") == 2.0
