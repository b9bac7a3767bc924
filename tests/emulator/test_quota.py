"""The emulator's quota arithmetic (``grok_azure._emulator._quota``), driven by a fake clock: no sockets, no sleeps."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from grok_azure._emulator._quota import DEFAULT_OUTPUT_ESTIMATE, Quotas, estimate_tokens, quota_rejection


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def quotas(clock: FakeClock, **options: Any) -> Quotas:
    return Quotas(["a", "b"], clock=clock, **options)


def test_request_counters_count_down_request_by_request() -> None:
    book = quotas(FakeClock(), rpm=600)  # 1 s windows: 10 requests per second
    seen = [book.charge("a", 10).headers() for _ in range(3)]
    assert [h["x-ratelimit-remaining-requests"] for h in seen] == ["9", "8", "7"]
    assert {h["x-ratelimit-limit-requests"] for h in seen} == {"10"}
    assert {h["x-ratelimit-reset-requests"] for h in seen} == {"1"}


def test_exhausted_window_refuses_until_it_ends_then_refills() -> None:
    clock = FakeClock(1000.25)
    book = quotas(clock, rpm=120)  # 2 per 1 s window
    assert book.charge("a", 1).refused is None
    assert book.charge("a", 1).refused is None
    refused = book.charge("a", 1)
    assert refused.refused == "requests"
    assert refused.retry_after == pytest.approx(0.75)
    assert refused.headers()["x-ratelimit-remaining-requests"] == "0"
    clock.now = 1000.999
    assert book.charge("a", 1).refused == "requests"  # still the same window
    clock.now = 1001.0
    admitted = book.charge("a", 1)
    assert admitted.refused is None
    assert admitted.requests.remaining == 1


def test_a_refused_request_is_not_charged() -> None:
    book = quotas(FakeClock(), rpm=60, tpm=60_000)  # 1 request, 1,000 tokens per second
    assert book.charge("a", 100).tokens.remaining == 900
    refused = book.charge("a", 100)
    assert refused.refused == "requests"
    assert refused.tokens.remaining == 900


def test_ten_second_windows_allow_a_sixth_of_the_minute_and_report_the_seconds_left() -> None:
    clock = FakeClock(1003.5)  # windows are aligned on the clock: this one ends at 1010
    book = quotas(clock, rpm=60, window=10)
    first = book.charge("a", 1)
    assert first.requests.limit == 10
    assert first.headers()["x-ratelimit-reset-requests"] == "7"  # 6.5 s, rounded up
    for _ in range(9):
        assert book.charge("a", 1).refused is None
    assert book.charge("a", 1).retry_after == pytest.approx(6.5)


def test_tokens_are_charged_on_arrival_from_the_estimate() -> None:
    book = quotas(FakeClock(), tpm=60_000)  # 1,000 tokens per second
    first = book.charge("a", 600)
    assert first.headers()["x-ratelimit-remaining-tokens"] == "400"
    refused = book.charge("a", 600)
    assert refused.refused == "tokens"
    assert refused.headers()["x-ratelimit-remaining-tokens"] == "400"
    assert book.charge("a", 400).tokens.remaining == 0


def test_an_oversized_request_fits_only_an_untouched_window() -> None:
    clock = FakeClock()
    book = quotas(clock, tpm=6000)  # 100 tokens per second
    assert book.charge("a", 500).refused is None  # larger than the window, but nothing charged yet
    assert book.charge("a", 1).refused == "tokens"
    clock.now += 1
    assert book.charge("a", 1).refused is None
    assert book.charge("a", 500).refused == "tokens"  # the window is no longer untouched


def test_small_quotas_still_admit_one_request_per_window() -> None:
    book = quotas(FakeClock(), rpm=6)  # 0.1 per second rounds up to 1
    assert book.charge("a", 1).requests.limit == 1
    assert book.charge("a", 1).refused == "requests"


@pytest.mark.parametrize(
    ("rpm", "window"), [(1, 1), (1, 10), (30, 1), (90, 1), (90, 10), (119, 10), (600, 1)]
)
def test_a_minute_admits_the_quota_no_more(rpm: int, window: int) -> None:
    # A request every 10 ms for a minute: short windows rounded to at least one must not add up past the quota.
    clock = FakeClock(6000.0)  # a minute boundary, as the windows are aligned on the clock
    book = quotas(clock, rpm=rpm, window=window)
    admitted = 0
    for step in range(6000):
        clock.now = 6000.0 + step * 0.01
        admitted += book.charge("a", 1).refused is None
    assert admitted == rpm


def test_a_full_minute_names_its_own_end_as_the_wait() -> None:
    clock = FakeClock(6000.0)
    book = quotas(clock, rpm=2)  # 1 s windows of 1 request; 2 a minute
    assert book.charge("a", 1).refused is None
    clock.now = 6001.5
    assert book.charge("a", 1).refused is None
    clock.now = 6003.0
    refused = book.charge("a", 1)
    assert refused.refused == "requests"
    assert refused.retry_after == pytest.approx(57.0)  # the minute's end, not the second's
    assert refused.requests.remaining == 0


def test_deployments_are_independent() -> None:
    book = quotas(FakeClock(), rpm=60)
    assert book.charge("a", 1).refused is None
    assert book.charge("a", 1).refused == "requests"
    assert book.charge("b", 1).refused is None


def test_a_mapping_limits_only_the_deployments_it_names() -> None:
    book = quotas(FakeClock(), rpm={"a": 60})
    assert book.charge("a", 1).refused is None
    assert book.charge("a", 1).refused == "requests"
    for _ in range(5):
        unlimited = book.charge("b", 1)
        assert unlimited.refused is None
    assert unlimited.requests.limit == 1000
    assert "x-ratelimit-reset-requests" not in unlimited.headers()


def test_without_limits_the_counters_count_down_but_never_refuse() -> None:
    clock = FakeClock()
    book = quotas(clock)
    assert not book.enforced
    remaining = [book.charge("a", 1000).headers() for _ in range(3)]
    assert [h["x-ratelimit-remaining-requests"] for h in remaining] == ["999", "998", "997"]
    assert [h["x-ratelimit-remaining-tokens"] for h in remaining] == ["399000", "398000", "397000"]
    assert not any(name.startswith("x-ratelimit-reset") for h in remaining for name in h)
    for _ in range(1000):
        last = book.charge("a", 1000)
    assert last.refused is None
    assert last.requests.remaining == 0
    assert last.tokens.remaining == 0
    clock.now += 60  # the advisory window is a minute
    assert book.charge("a", 1).requests.remaining == 999


def test_reset_empties_every_window() -> None:
    book = quotas(FakeClock(), rpm=60)
    book.charge("a", 1)
    assert book.charge("a", 1).refused == "requests"
    book.reset()
    assert book.charge("a", 1).refused is None


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"rpm": 0}, "rpm must be a positive integer"),
        ({"rpm": -5}, "rpm must be a positive integer"),
        ({"tpm": 1.5}, "tpm must be a positive integer"),
        ({"tpm": True}, "tpm must be a positive integer"),
        ({"rpm": "600"}, "rpm must be a positive integer"),
        ({"rpm": {"zzz": 60}}, "unknown deployment 'zzz'"),
        ({"window": 5}, "quota_window must be one of"),
        ({"window": 0}, "quota_window must be one of"),
    ],
)
def test_invalid_quota_settings_are_rejected(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Quotas(["a"], **options)


def test_estimate_is_prompt_characters_over_four_plus_max_tokens() -> None:
    messages = [{"role": "system", "content": "x" * 8}, {"role": "user", "content": "y" * 41}]
    assert estimate_tokens({"messages": messages, "max_tokens": 500}) == 2 + 11 + 500
    assert estimate_tokens({"messages": messages, "max_completion_tokens": 70}) == 13 + 70
    assert estimate_tokens({"messages": messages}) == 13 + DEFAULT_OUTPUT_ESTIMATE
    parts = [{"type": "text", "text": "z" * 16}, {"type": "image_url", "image_url": {"url": "data:"}}]
    assert estimate_tokens({"messages": [{"role": "user", "content": parts}], "max_tokens": 1}) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"messages": "not a list", "max_tokens": "many"},
        {"messages": [None, 3, {"content": 7}], "max_tokens": True},
        {"max_tokens": -4},
        {},
    ],
)
def test_estimate_never_fails_on_a_malformed_body(body: dict[str, Any]) -> None:
    # The gateway charges a request before the model validates it.
    assert estimate_tokens(body) == DEFAULT_OUTPUT_ESTIMATE


def test_concurrent_charges_never_exceed_the_quota() -> None:
    book = quotas(FakeClock(), rpm=3000)  # 50 per window; the clock stands still
    barrier = threading.Barrier(8)
    admitted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        for _ in range(100):
            decision = book.charge("a", 1)
            if decision.refused is None:
                with lock:
                    admitted.append(decision.requests.remaining)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a check-then-charge race shows
    try:
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        sys.setswitchinterval(previous)
    # Exactly the allowance got in, and each admission saw its own remaining count.
    assert sorted(admitted) == list(range(50))


@pytest.mark.parametrize(("counters", "remaining"), [("unknown", "-1"), ("zero", "0")])
def test_placeholder_reports_hide_the_counters_but_still_enforce(counters: str, remaining: str) -> None:
    clock = FakeClock(1000.25)
    book = quotas(clock, rpm=120, counters=counters)  # 2 per 1 s window
    admitted = [book.charge("a", 10) for _ in range(2)]
    assert [a.refused for a in admitted] == [None, None]
    assert admitted[1].requests.remaining == 0  # counted as ever...
    placeholders = {
        "x-ratelimit-limit-requests": "0",
        "x-ratelimit-limit-tokens": "0",
        "x-ratelimit-remaining-requests": remaining,
        "x-ratelimit-remaining-tokens": remaining,
        "x-ratelimit-reset-requests": "0",
        "x-ratelimit-reset-tokens": "0",
    }
    assert admitted[1].headers() == placeholders  # ...but not reported
    refused = book.charge("a", 10)
    assert refused.refused == "requests"
    rejection = quota_rejection(refused, "v1")
    assert rejection.reply.status == 429
    assert rejection.reply.headers == placeholders  # no retry-after, no retry-after-ms
    assert b"Please retry after 1 seconds" in rejection.reply.body


def test_live_quota_rejection_still_names_the_wait_in_headers() -> None:
    book = quotas(FakeClock(1000.25), rpm=60)
    book.charge("a", 1)
    headers = quota_rejection(book.charge("a", 1), "v1").reply.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("1", "750")
    assert headers["x-ratelimit-remaining-requests"] == "0"


def test_an_unknown_counter_report_is_rejected() -> None:
    with pytest.raises(ValueError, match="counters"):
        quotas(FakeClock(), counters="hidden")
