"""The retry rules without I/O: which outcomes retry, the waits (server hints, jitter), caps and the deadline."""

from __future__ import annotations

import math
import random
from dataclasses import FrozenInstanceError

import httpx
import pytest

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)
from grok_azure._errors import APIStatusError, BadRequestError
from grok_azure._retry import Outcome, retry_decision, server_wait

INF = math.inf


def status_outcome(status: int, headers: dict[str, str] | None = None) -> Outcome:
    cls = {429: RateLimitError, 400: BadRequestError}.get(
        status, InternalServerError if status >= 500 else APIStatusError
    )
    error = cls("failed", status_code=status, headers=headers or {})
    return Outcome(error, status, httpx.Headers(headers or {}))


def decide(
    outcome: Outcome,
    *,
    policy: RetryPolicy | None = None,
    attempt: int = 1,
    left: float = INF,
    max_retries: int = 2,
):
    return retry_decision(policy or RetryPolicy(rng=random.Random(7)), outcome, attempt, left, max_retries)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_retry(status: int) -> None:
    assert decide(status_outcome(status)).retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 301, 501])
def test_other_statuses_never_retry(status: int) -> None:
    verdict = decide(status_outcome(status))
    assert not verdict.retry
    assert verdict.error.status_code == status  # type: ignore[attr-defined]


def test_x_should_retry_false_stops_a_retryable_status() -> None:
    assert not decide(status_outcome(503, {"x-should-retry": "false"})).retry


def test_x_should_retry_true_retries_a_status_outside_the_list() -> None:
    assert decide(status_outcome(501, {"x-should-retry": "TRUE"})).retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_x_should_retry_true_never_revives_a_final_status(status: int) -> None:
    assert not decide(status_outcome(status, {"x-should-retry": "true"})).retry


def test_connection_error_and_timeout_before_first_byte_retry() -> None:
    assert decide(Outcome(APIConnectionError("reset"))).retry
    assert decide(Outcome(APITimeoutError("connect timeout"))).retry


def test_timeout_after_the_first_byte_does_not_retry() -> None:
    assert not decide(Outcome(APITimeoutError("read timeout"), before_first_byte=False)).retry


def test_connection_dropped_mid_body_retries() -> None:
    assert decide(Outcome(APIConnectionError("dropped"), before_first_byte=False)).retry


def test_policy_can_turn_off_connection_and_timeout_retries() -> None:
    policy = RetryPolicy(retry_connection_errors=False, retry_timeouts=False)
    assert not decide(Outcome(APIConnectionError("reset")), policy=policy).retry
    assert not decide(Outcome(APITimeoutError("t")), policy=policy).retry


def test_attempts_are_bounded_by_max_retries() -> None:
    outcome = status_outcome(503)
    assert decide(outcome, attempt=1, max_retries=2).retry
    assert decide(outcome, attempt=2, max_retries=2).retry
    assert not decide(outcome, attempt=3, max_retries=2).retry
    assert not decide(outcome, attempt=1, max_retries=0).retry


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250", "x-ms-retry-after-ms": "900", "retry-after": "7"}, 0.25),
        ({"x-ms-retry-after-ms": "900", "retry-after": "7"}, 0.9),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5", "x-ratelimit-reset-requests": "30"}, 1.5),
        ({"x-ratelimit-reset-requests": "3", "x-ratelimit-reset-tokens": "1s"}, 3.0),
        ({"x-ratelimit-reset-tokens": "20ms"}, 0.02),
    ],
)
def test_server_wait_precedence_on_429(headers: dict[str, str], expected: float) -> None:
    assert server_wait(429, httpx.Headers(headers)) == pytest.approx(expected)
    verdict = decide(status_outcome(429, headers))
    assert verdict.retry
    assert verdict.wait == pytest.approx(expected)


def test_retry_after_http_date_is_a_wait() -> None:
    assert server_wait(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past: now


def test_reset_headers_count_only_for_429() -> None:
    assert server_wait(503, {"x-ratelimit-reset-requests": "3"}) is None


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_zero_or_negative_reset_counters_are_no_hint(value: str) -> None:
    headers = {"x-ratelimit-reset-requests": value, "x-ratelimit-reset-tokens": value}
    assert server_wait(429, headers) is None
    verdict = decide(status_outcome(429, headers))
    assert verdict.retry
    assert verdict.wait <= 0.5  # the jittered backoff, not "forever"


def test_server_wait_over_the_cap_ends_the_call_with_retry_after() -> None:
    verdict = decide(status_outcome(429, {"retry-after": "120"}))
    assert not verdict.retry
    assert isinstance(verdict.error, RateLimitError)
    assert verdict.error.retry_after == 120


def test_reset_only_429_over_the_cap_carries_the_reset_as_retry_after() -> None:
    verdict = decide(status_outcome(429, {"x-ratelimit-reset-tokens": "6m0s"}))
    assert not verdict.retry
    assert verdict.error.retry_after == 360  # type: ignore[attr-defined]


def test_server_wait_longer_than_the_deadline_gives_up_at_once() -> None:
    verdict = decide(status_outcome(429, {"retry-after": "5"}), left=3.0)
    assert not verdict.retry
    assert verdict.error.retry_after == 5  # type: ignore[attr-defined]
    assert decide(status_outcome(429, {"retry-after": "2"}), left=3.0).retry


def test_max_server_wait_is_configurable() -> None:
    outcome = status_outcome(503, {"retry-after": "10"})
    assert not decide(outcome, policy=RetryPolicy(max_server_wait=5)).retry
    assert decide(outcome, policy=RetryPolicy(max_server_wait=10)).wait == 10


def test_backoff_that_does_not_fit_the_deadline_gives_up() -> None:
    policy = RetryPolicy(backoff_base=10, backoff_cap=10, rng=random.Random(3))
    verdicts = [decide(status_outcome(500), policy=policy, left=0.5) for _ in range(50)]
    assert all(v.wait + 0.01 <= 0.5 for v in verdicts if v.retry)
    assert any(not v.retry for v in verdicts)


def test_no_time_left_means_no_retry() -> None:
    assert not decide(status_outcome(500), left=0.0).retry


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_full_jitter_stays_within_the_window(attempt: int) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4.0, rng=random.Random(attempt))
    high = min(4.0, 0.5 * 2 ** (attempt - 1))
    waits = [
        decide(status_outcome(500), policy=policy, attempt=attempt, max_retries=10).wait for _ in range(300)
    ]
    assert all(0.0 <= w <= high for w in waits)
    assert max(waits) > high * 0.8
    assert min(waits) < high * 0.2  # it really spreads over the whole window


def test_jitter_is_deterministic_with_a_seeded_rng() -> None:
    def waits(seed: int) -> list[float]:
        policy = RetryPolicy(rng=random.Random(seed))
        return [decide(status_outcome(500), policy=policy).wait for _ in range(5)]

    assert waits(11) == waits(11)
    assert waits(11) != waits(12)


def test_policy_is_immutable_and_comparable() -> None:
    policy = RetryPolicy()
    with pytest.raises(FrozenInstanceError):
        policy.backoff_base = 1  # type: ignore[misc]
    assert RetryPolicy() == RetryPolicy(on_retry=print)
    assert "on_retry" in repr(policy)
    assert "rng" not in repr(policy)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff_base": -1},
        {"backoff_cap": float("nan")},
        {"max_server_wait": "5"},
        {"retry_statuses": frozenset({429, 400})},
        {"retry_statuses": frozenset({True})},
        {"on_retry": 3},
    ],
)
def test_bad_policies_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_custom_statuses() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({429}))
    assert decide(status_outcome(429), policy=policy).retry
    assert not decide(status_outcome(503), policy=policy).retry
