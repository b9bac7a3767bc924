"""The batch pacer (``grok_azure._batch._pacer``): spacing under rpm / tpm, learning limits from headers, AIMD on
429, usage corrections, threads; a fake clock throughout, plus one run against the emulator's quotas."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from grok_azure import AsyncGrokClient, CallInfo, Hook, RequestValidationError
from grok_azure._batch._pacer import DEFAULT_OUTPUT_TOKENS, Pacer, estimate_tokens
from grok_azure._cost import estimate_prompt_tokens
from grok_azure.testing import FoundryEmulator

MODEL = "grok-4-1-fast-non-reasoning"
MESSAGES = [{"role": "user", "content": "Classify this ticket: the printer is on fire."}]
HEADERS_600_RPM = {
    "x-ratelimit-limit-requests": "10",
    "x-ratelimit-remaining-requests": "9",
    "x-ratelimit-reset-requests": "1",
    "x-ratelimit-limit-tokens": "1000",
    "x-ratelimit-remaining-tokens": "900",
    "x-ratelimit-reset-tokens": "1",
}


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain(pacer: Pacer, clock: Clock, tokens: int = 0) -> None:
    """Wait (on the fake clock) until ``pacer`` lets one request of ``tokens`` go."""
    while (wait := pacer.reserve(tokens)) > 0:
        clock.now += wait


# --- the estimate ------------------------------------------------------------------------------------------


def test_estimate_is_the_prompt_plus_the_output_cap() -> None:
    prompt = estimate_prompt_tokens({"messages": MESSAGES})
    assert estimate_tokens({"messages": MESSAGES, "max_tokens": 200}) == prompt + 200
    assert estimate_tokens({"messages": MESSAGES, "max_completion_tokens": 50}) == prompt + 50
    # Both caps: the service's choice is undocumented, the larger one is the safe charge.
    assert (
        estimate_tokens({"messages": MESSAGES, "max_tokens": 30, "max_completion_tokens": 90}) == prompt + 90
    )


@pytest.mark.parametrize("cap", [None, 0, -5, True, "100", 1.5])
def test_estimate_without_a_usable_cap_uses_the_default_output(cap: Any) -> None:
    body: dict[str, Any] = {"messages": MESSAGES, "max_tokens": cap}
    assert estimate_tokens(body) == estimate_prompt_tokens(body) + DEFAULT_OUTPUT_TOKENS


# --- pacing under given limits -----------------------------------------------------------------------------


def test_a_burst_is_spread_evenly_under_rpm() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    assert pacer.reserve(10) == 0
    assert pacer.reserve(10) == pytest.approx(0.1)
    assert pacer.reserve(10) == pytest.approx(0.1)  # asking again books nothing
    sent_at = [clock.now]
    for _ in range(9):
        drain(pacer, clock, 10)
        sent_at.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps == pytest.approx([0.1] * 9)


def test_an_idle_pacer_saves_no_burst() -> None:
    # Azure counts fixed 1 s windows: credit saved while idle would let a burst overrun the next window.
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    assert pacer.reserve(0) == 0
    clock.now += 60
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.1)


def test_a_sender_woken_late_keeps_the_grid() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    assert pacer.reserve(0) == 0
    clock.now += 0.115  # woke 15 ms late
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.085)  # the next slot is still at 0.2


def test_tokens_per_minute_space_requests_by_their_estimate() -> None:
    clock = Clock()
    pacer = Pacer(tpm=6000, clock=clock, utilization=1.0)  # 100 tokens a second
    assert pacer.reserve(50) == 0
    assert pacer.reserve(50) == pytest.approx(0.5)
    clock.now += 0.5
    assert pacer.reserve(300) == 0
    assert pacer.reserve(1) == pytest.approx(3.0)


def test_the_slower_dimension_wins() -> None:
    clock = Clock()
    pacer = Pacer(rpm=6000, tpm=6000, clock=clock, utilization=1.0)  # 100 requests/s, 100 tokens/s
    assert pacer.reserve(100) == 0
    assert pacer.reserve(100) == pytest.approx(1.0)


def test_utilization_leaves_headroom() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=0.5)
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.2)


def test_a_sleeper_woken_a_little_early_still_goes() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    assert pacer.reserve(0) == 0
    clock.now += 0.1 - 0.0005
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.1 + 0.0005)  # the slot stays on its grid


def test_without_limits_nothing_waits() -> None:
    pacer = Pacer(clock=Clock())
    assert [pacer.reserve(10_000) for _ in range(50)] == [0.0] * 50
    assert pacer.rpm is None
    assert pacer.tpm is None


@pytest.mark.parametrize(
    "options",
    [
        {"rpm": 0},
        {"rpm": -1},
        {"tpm": float("inf")},
        {"tpm": True},
        {"rpm": "600"},
        {"concurrency": 0},
        {"concurrency": 2.5},
        {"utilization": 0},
        {"utilization": 1.5},
        {"utilization": float("nan")},
    ],
)
def test_bad_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(RequestValidationError, match=next(iter(options))) as caught:
        Pacer(**options)
    assert caught.value.param == next(iter(options))
    assert isinstance(caught.value, ValueError)


# --- learning the limits -----------------------------------------------------------------------------------


def test_limits_are_learned_from_the_headers() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, utilization=1.0)
    pacer.on_response(200, HEADERS_600_RPM)
    assert pacer.rpm == 600  # 10 per 1 s window
    assert pacer.tpm == 60_000
    assert pacer.reserve(50) == 0
    assert pacer.reserve(50) == pytest.approx(0.1)


def test_header_names_are_case_insensitive() -> None:
    pacer = Pacer(clock=Clock())
    pacer.on_response(
        200, httpx.Headers({"X-RateLimit-Limit-Requests": "10", "X-RateLimit-Reset-Requests": "1"})
    )
    assert pacer.rpm == 600


def test_a_reset_longer_than_a_second_means_a_ten_second_window() -> None:
    pacer = Pacer(clock=Clock())
    pacer.on_response(200, {"x-ratelimit-limit-requests": "100", "x-ratelimit-reset-requests": "1"})
    assert pacer.rpm == 6000
    # A later reply shows the window is longer: the slower reading wins from then on.
    pacer.on_response(200, {"x-ratelimit-limit-requests": "100", "x-ratelimit-reset-requests": "7"})
    assert pacer.rpm == 600
    pacer.on_response(200, {"x-ratelimit-limit-requests": "100", "x-ratelimit-reset-requests": "1"})
    assert pacer.rpm == 600


def test_a_limit_without_a_reset_is_per_minute() -> None:
    pacer = Pacer(clock=Clock())
    pacer.on_response(200, {"x-ratelimit-limit-tokens": "400000", "x-ratelimit-remaining-tokens": "399000"})
    assert pacer.tpm == 400_000
    assert pacer.rpm is None


@pytest.mark.parametrize("value", ["-1", "0", "", "many"])
def test_placeholder_counters_teach_nothing(value: str) -> None:
    pacer = Pacer(clock=Clock())
    pacer.on_response(200, {"x-ratelimit-limit-requests": value, "x-ratelimit-limit-tokens": value})
    assert pacer.rpm is None
    assert pacer.tpm is None
    assert pacer.reserve(10) == 0


def test_given_limits_are_not_overridden_by_headers() -> None:
    pacer = Pacer(rpm=120, tpm=5000, clock=Clock())
    pacer.on_response(200, HEADERS_600_RPM)
    assert (pacer.rpm, pacer.tpm) == (120, 5000)


def test_a_given_dimension_is_kept_while_the_other_is_learned() -> None:
    pacer = Pacer(rpm=120, clock=Clock())
    pacer.on_response(200, HEADERS_600_RPM)
    assert (pacer.rpm, pacer.tpm) == (120, 60_000)


def test_with_nothing_known_one_request_probes_first() -> None:
    pacer = Pacer(concurrency=8, clock=Clock())
    assert pacer.allowed_concurrency == 1
    pacer.on_response(200, {})
    assert pacer.allowed_concurrency == 8


def test_with_a_given_limit_there_is_no_probe() -> None:
    assert Pacer(rpm=600, concurrency=8, clock=Clock()).allowed_concurrency == 8


# --- AIMD --------------------------------------------------------------------------------------------------


def test_a_429_halves_concurrency_and_successes_win_it_back() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, concurrency=16, clock=clock)
    pacer.on_response(429, {"retry-after": "1"})
    assert pacer.allowed_concurrency == 8
    for _ in range(8):  # one round of answers adds one
        pacer.on_response(200, {})
    assert pacer.allowed_concurrency == 9
    for _ in range(200):
        pacer.on_response(200, {})
    assert pacer.allowed_concurrency == 16  # never above the maximum


def test_429s_of_one_window_count_once() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, concurrency=16, clock=clock)
    pacer.on_response(429, HEADERS_600_RPM)
    pacer.on_response(429, HEADERS_600_RPM)
    pacer.on_response(429, HEADERS_600_RPM)
    assert pacer.allowed_concurrency == 8
    clock.now += 1.0  # the window (the longest reset seen) has passed
    pacer.on_response(429, HEADERS_600_RPM)
    assert pacer.allowed_concurrency == 4


def test_concurrency_never_drops_below_one() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, concurrency=2, clock=clock)
    for _ in range(5):
        pacer.on_response(429, {})
        clock.now += 2
    assert pacer.allowed_concurrency == 1


def test_a_429_slows_the_rate_and_successes_restore_it() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    pacer.on_response(429, {})
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.1 / 0.9)
    for _ in range(20):
        pacer.on_response(200, {})
    clock.now += 1
    assert pacer.reserve(0) == 0
    assert pacer.reserve(0) == pytest.approx(0.1)


def test_repeated_429s_in_one_window_pause_sending_for_the_wait_named() -> None:
    clock = Clock()
    pacer = Pacer(concurrency=4, clock=clock)
    pacer.on_response(429, {"retry-after-ms": "2500"})
    assert pacer.reserve(0) == 0  # one 429 may be jitter at a window's edge
    pacer.on_response(429, {"retry-after-ms": "2500"})
    assert pacer.reserve(0) == pytest.approx(2.5)
    clock.now += 2.5
    assert pacer.reserve(0) == 0


def test_a_429_without_any_wait_pauses_a_second() -> None:
    clock = Clock()
    pacer = Pacer(concurrency=4, clock=clock)
    pacer.on_response(429, {})
    pacer.on_response(429, {"x-ratelimit-reset-requests": "-1"})
    assert pacer.reserve(0) == pytest.approx(1.0)


def test_other_errors_neither_shrink_nor_grow_concurrency() -> None:
    pacer = Pacer(rpm=600, concurrency=16, clock=Clock())
    pacer.on_response(429, {})
    for status in (400, 500, 503, 408):
        pacer.on_response(status, {})
    assert pacer.allowed_concurrency == 8


# --- usage corrections -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refund", "used", "next_wait"),
    [
        (False, 350, 3.5),  # used beyond the estimate: charged now
        (True, 350, 3.5),
        # Azure charges the estimate (max_tokens included) on arrival: a refund would overrun the quota.
        (False, 40, 1.0),
        (True, 40, 0.4),
    ],
)
def test_usage_corrects_the_tokens_charged(refund: bool, used: int, next_wait: float) -> None:
    clock = Clock()
    pacer = Pacer(tpm=6000, clock=clock, utilization=1.0, refund_unused=refund)  # 100 tokens a second
    assert pacer.reserve(100) == 0
    pacer.settle(100, used)
    assert pacer.reserve(1) == pytest.approx(next_wait)


def test_unused_tokens_are_refunded_when_asked() -> None:
    clock = Clock()
    pacer = Pacer(tpm=6000, clock=clock, utilization=1.0, refund_unused=True)
    assert pacer.reserve(300) == 0
    pacer.settle(300, 100)
    assert pacer.reserve(1) == pytest.approx(1.0)
    # A refund never makes room in the past: an idle pacer has nothing to give back.
    clock.now += 10
    pacer.settle(1000, 0)
    assert pacer.reserve(100) == 0
    assert pacer.reserve(1) == pytest.approx(1.0)


def test_settle_without_a_token_limit_is_harmless() -> None:
    pacer = Pacer(rpm=600, clock=Clock(), utilization=1.0)
    assert pacer.reserve(10) == 0
    pacer.settle(10, 10_000)
    assert pacer.reserve(10) == pytest.approx(0.1)


def test_a_request_sent_without_asking_is_charged() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, clock=clock, utilization=1.0)
    assert pacer.reserve(0) == 0
    pacer.charge(0)  # e.g. the client's own retry of a 429
    assert pacer.reserve(0) == pytest.approx(0.2)


# --- threads -----------------------------------------------------------------------------------------------


def test_threads_never_share_a_slot() -> None:
    clock = Clock()
    pacer = Pacer(rpm=600, tpm=60_000, clock=clock, utilization=1.0)
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def ask(index: int) -> None:
        barrier.wait()
        for _ in range(200):
            if pacer.reserve(5) == 0:
                granted.append(index)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 1  # the clock stood still: one slot, whoever got it


def test_threads_together_keep_the_rate() -> None:
    lock = threading.Lock()
    clock = Clock(0.0)
    pacer = Pacer(rpm=6000, clock=clock, utilization=1.0)  # one slot every 10 ms
    sent: list[float] = []

    def tick() -> None:
        for _ in range(500):
            with lock:
                clock.now += 0.001
            if pacer.reserve(0) == 0:
                sent.append(clock.now)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 2 s of fake time at 100 a second: about 200 sends, and never two within one slot.
    assert 150 <= len(sent) <= 201
    ordered = sorted(sent)
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 0.01 - 0.0011


# --- against the emulator's quotas -------------------------------------------------------------------------


class Feed(Hook):
    """Shows the pacer every attempt's answer, as the batch runner does."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def on_response(self, response: httpx.Response, call: CallInfo) -> None:
        self.pacer.on_response(response.status_code, response.headers)


async def _send_all(emulator: FoundryEmulator, pacer: Pacer | None, count: int) -> int:
    """Send ``count`` requests, paced by ``pacer`` at most 16 at a time, or unpaced (None) all at once and without
    retries; the 429s seen."""
    body: Mapping[str, Any] = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}
    options: dict[str, Any] = {"hooks": [Feed(pacer)]} if pacer else {"max_retries": 0}
    async with AsyncGrokClient(endpoint=emulator.url, api_key=emulator.api_key, **options) as client:
        running: set[asyncio.Task[Any]] = set()
        for _ in range(count):
            while pacer and len(running) >= pacer.allowed_concurrency:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            while pacer and (wait := pacer.reserve(estimate_tokens(body))) > 0:  # noqa: ASYNC110 (a pacer's wait)
                await asyncio.sleep(wait)
            task = asyncio.ensure_future(client.chat.completions.create(**body))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running, return_exceptions=pacer is None)
    return sum(1 for r in emulator.requests if r.status == 429)


@pytest.mark.parametrize("given", [True, False], ids=["given", "learned"])
async def test_paced_requests_stay_under_the_emulator_quota(given: bool) -> None:
    with FoundryEmulator(deployments={MODEL: MODEL}, rpm=1200, quota_window=1) as emulator:  # 20 a second
        # Unpaced, twice the quota of a second sent at once is refused in part. (24 requests, 16 at a time, could
        # spread over two seconds on a busy machine and pass: the check that pacing was needed then failed.)
        assert await _send_all(emulator, None, 40) > 0
        emulator.reset()
        await asyncio.sleep(1 - time.monotonic() % 1)  # the quota windows are aligned on the clock's seconds
        # 80% of the quota, not the default 95%: one request of margin a second was too little for a busy 2-core
        # machine, where a request the pacer let go late in one second can reach the emulator in the next.
        pacer = Pacer(rpm=1200 if given else None, concurrency=16, utilization=0.8)
        assert await _send_all(emulator, pacer, 24) == 0
        assert len(emulator.requests) == 24
