"""retry_after_seconds reads the server's wait hint from headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from grok_azure._retry_after import retry_after_seconds

NOW = datetime(2025, 10, 1, 12, 0, 0, tzinfo=timezone.utc)


def test_no_headers_gives_none() -> None:
    assert retry_after_seconds({}) is None


def test_retry_after_seconds_integer() -> None:
    assert retry_after_seconds({"retry-after": "60"}) == 60.0


def test_retry_after_fractional_seconds() -> None:
    assert retry_after_seconds({"retry-after": " 1.25 "}) == 1.25


def test_retry_after_ms_is_milliseconds() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25


def test_x_ms_retry_after_ms_is_milliseconds() -> None:
    assert retry_after_seconds({"x-ms-retry-after-ms": "1500"}) == 1.5


def test_retry_after_ms_takes_precedence_over_retry_after() -> None:
    assert retry_after_seconds({"retry-after": "60", "retry-after-ms": "100"}) == 0.1


def test_retry_after_ms_takes_precedence_over_x_ms_variant() -> None:
    assert retry_after_seconds({"x-ms-retry-after-ms": "2000", "retry-after-ms": "100"}) == 0.1


def test_header_names_are_case_insensitive_in_plain_dict() -> None:
    assert retry_after_seconds({"Retry-After-Ms": "300"}) == 0.3


def test_httpx_headers_are_accepted() -> None:
    assert retry_after_seconds(httpx.Headers({"X-MS-Retry-After-MS": "400", "Retry-After": "9"})) == 0.4


def test_http_date_is_relative_to_now() -> None:
    headers = {"retry-after": "Wed, 01 Oct 2025 12:00:30 GMT"}
    assert retry_after_seconds(headers, now=NOW) == 30.0


def test_http_date_in_the_past_means_retry_now() -> None:
    assert retry_after_seconds({"retry-after": "Wed, 01 Oct 2025 11:59:00 GMT"}, now=NOW) == 0.0


def test_naive_now_is_treated_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert retry_after_seconds({"retry-after": "Wed, 01 Oct 2025 12:00:10 GMT"}, now=naive) == 10.0


def test_http_date_without_now_uses_current_time() -> None:
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    seconds = retry_after_seconds({"retry-after": future.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert seconds is not None
    assert 3000 < seconds <= 3600


@pytest.mark.parametrize("value", ["-5", "abc", "", "nan", "inf", "1e400", "Wed, 99 Foo 2025 12:00:00 GMT"])
def test_unusable_retry_after_gives_none(value: str) -> None:
    assert retry_after_seconds({"retry-after": value}, now=NOW) is None


@pytest.mark.parametrize("value", ["-1", "soon", "NaN"])
def test_unusable_ms_header_falls_through_to_retry_after(value: str) -> None:
    assert retry_after_seconds({"retry-after-ms": value, "retry-after": "7"}) == 7.0


def test_unusable_ms_headers_and_no_retry_after_give_none() -> None:
    assert retry_after_seconds({"retry-after-ms": "-1", "x-ms-retry-after-ms": "x"}) is None


def test_zero_is_a_valid_hint() -> None:
    assert retry_after_seconds({"retry-after": "0"}) == 0.0
