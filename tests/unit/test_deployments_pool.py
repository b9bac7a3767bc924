"""DeploymentPool decisions: failover order, weights, cooldown, pacing, and sharing across threads and tasks."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Collection, Mapping
from typing import cast

import pytest

from grok_azure._deployments import Deployment, DeploymentPool, Pick, WaitFor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployments(*weights: float) -> list[Deployment]:
    return [Deployment(f"https://r{i}.services.ai.azure.com", weight=w) for i, w in enumerate(weights)]


def make_pool(
    *weights: float, seed: int = 7, clock: FakeClock | None = None, **kwargs: float
) -> tuple[DeploymentPool, FakeClock]:
    clock = clock or FakeClock()
    pool = DeploymentPool(deployments(*weights), clock=clock, rng=random.Random(seed), **kwargs)  # type: ignore[arg-type]
    return pool, clock


def picked(pool: DeploymentPool, *, tried: Collection[int] = ()) -> int:
    choice = pool.pick(tried=tried)
    assert isinstance(choice, Pick), choice
    return choice.index


def shares(pool: DeploymentPool, n: int = 4000) -> Counter[int]:
    return Counter(picked(pool) for _ in range(n))


def quota(remaining_requests: str, limit_requests: str = "100", **extra: str) -> Mapping[str, str]:
    headers = {
        "x-ratelimit-remaining-requests": remaining_requests,
        "x-ratelimit-limit-requests": limit_requests,
    }
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


# --- failover order --------------------------------------------------------------------------------------------


def test_untried_deployments_are_preferred_whatever_the_dice() -> None:
    for seed in range(50):
        pool, _ = make_pool(1, 1, 1, seed=seed)
        assert picked(pool, tried={0, 1}) == 2
        assert picked(pool, tried=[2, 0]) == 1


def test_a_call_walks_every_deployment_before_reusing_one() -> None:
    pool, _ = make_pool(5, 1, 1)
    tried: list[int] = []
    for _ in range(3):
        tried.append(picked(pool, tried=tried))
    assert sorted(tried) == [0, 1, 2]
    assert picked(pool, tried=tried) in (0, 1, 2)  # all tried and healthy: a retry may go anywhere


def test_429_fails_over_to_the_other_deployment() -> None:
    pool, _ = make_pool(100, 1)  # the first would win nearly every pick
    pool.record_response(0, 429, {"retry-after": "30"})
    assert {picked(pool) for _ in range(200)} == {1}
    assert {picked(pool, tried={1}) for _ in range(50)} == {1}  # the resting one is not a fallback


def test_resting_deployment_is_skipped_even_when_others_were_tried() -> None:
    pool, _ = make_pool(1, 1, 1)
    pool.record_response(2, 429, {"retry-after-ms": "5000"})
    assert {picked(pool, tried={0}) for _ in range(50)} == {1}


def test_an_avoided_deployment_is_not_chosen_while_another_is_left() -> None:
    pool, _ = make_pool(100, 1, 1)  # the first would win nearly every pick
    assert {pool.pick(avoid={0}) for _ in range(200)} == {Pick(1), Pick(2)}
    pool.record_response(1, 429, {"retry-after": "30"})
    pool.record_response(2, 429, {"retry-after": "20"})
    # Both others rest for a stated time: the call waits for one of them rather than go to the avoided one.
    assert pool.pick(avoid={0}) == WaitFor(seconds=cast(float, pytest.approx(20.0)), index=2, firm=True)
    assert pool.pick(avoid={0, 1, 2}) == Pick(0)  # nothing else left: the pool still answers


def test_a_credential_failure_rests_the_deployment_for_the_default_cooldown() -> None:
    pool, clock = make_pool(100, 1, default_cooldown=2.0)
    pool.record_credential_failure(0)
    assert pool.cooling() == {0: 2.0}
    assert {picked(pool) for _ in range(50)} == {1}
    clock.now += 2.5
    assert pool.cooling() == {}
    assert picked(pool) == 0  # then its credential is asked again


# --- weights -----------------------------------------------------------------------------------------------------


def test_weights_split_traffic_in_proportion() -> None:
    pool, _ = make_pool(3, 1)
    counts = shares(pool)
    assert counts[0] / 4000 == pytest.approx(0.75, abs=0.03)


def test_equal_weights_split_evenly_across_three() -> None:
    counts = shares(make_pool(1, 1, 1)[0], 6000)
    for i in range(3):
        assert counts[i] / 6000 == pytest.approx(1 / 3, abs=0.03)


def test_same_seed_gives_the_same_sequence() -> None:
    a, _ = make_pool(2, 1, 1, seed=42)
    b, _ = make_pool(2, 1, 1, seed=42)
    assert [picked(a) for _ in range(100)] == [picked(b) for _ in range(100)]


# --- cooldown ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "60"}, 1.5),
        ({"x-ms-retry-after-ms": "2500", "retry-after": "60"}, 2.5),
        ({"retry-after": "12"}, 12.0),
        ({"x-ratelimit-reset-tokens": "6m0s"}, 360.0),  # Azure's 429 with only reset headers
        ({"x-ratelimit-reset-requests": "20ms"}, 0.02),
        ({"retry-after": "3", "x-ratelimit-reset-requests": "40"}, 3.0),  # retry-after family first
        ({}, 1.0),  # no hint: default_cooldown
        ({"x-ratelimit-reset-requests": "-1", "retry-after": "soon"}, 1.0),  # -1 / junk is no hint
    ],
)
def test_429_rests_the_deployment_for_the_servers_wait(headers: Mapping[str, str], expected: float) -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 429, headers)
    assert pool.cooling() == {0: pytest.approx(expected)}
    clock.now += expected - 0.001
    assert 0 in pool.cooling()
    clock.now += 0.002
    assert pool.cooling() == {}


def test_retry_after_passed_by_the_retry_rules_wins() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(1, 429, {"retry-after": "60"}, retry_after=2.0)
    assert pool.cooling() == {1: pytest.approx(2.0)}


def test_429_with_zero_wait_does_not_rest() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 429, {"retry-after": "0"})
    assert pool.cooling() == {}


def test_a_shorter_later_429_does_not_shorten_a_rest() -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 429, {"retry-after": "30"})
    clock.now += 1
    pool.record_response(0, 429, {"retry-after": "1"})  # e.g. a concurrent call's answer
    assert pool.cooling()[0] == pytest.approx(29.0)


def test_cooldown_expiry_brings_the_deployment_back() -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 429, {"retry-after": "10"})
    assert {picked(pool) for _ in range(100)} == {1}
    clock.now += 10.0
    assert {picked(pool) for _ in range(100)} == {0, 1}


def test_all_resting_waits_for_the_soonest() -> None:
    pool, clock = make_pool(1, 1, 1)
    pool.record_response(0, 429, {"retry-after": "9"})
    pool.record_response(1, 429, {"retry-after": "4"})
    pool.record_response(2, 429, {"retry-after": "6"})
    assert pool.pick() == WaitFor(seconds=cast(float, pytest.approx(4.0)), index=1, firm=True)
    clock.now += 1.5
    assert pool.pick(tried={0, 1, 2}) == WaitFor(seconds=cast(float, pytest.approx(2.5)), index=1, firm=True)
    clock.now += 2.5
    assert pool.pick(tried={0, 1, 2}) == Pick(1)


def test_consecutive_server_errors_rest_the_deployment() -> None:
    pool, clock = make_pool(1, 1, failure_threshold=2, default_cooldown=7.0)
    pool.record_response(0, 503, {})
    assert pool.cooling() == {}  # one 5xx is not yet a pattern
    pool.record_response(0, 502, {"content-type": "text/html"})
    assert pool.cooling() == {0: pytest.approx(7.0)}
    clock.now += 7.0
    assert pool.cooling() == {}


def test_connection_failures_and_timeouts_count_with_5xx() -> None:
    pool, _ = make_pool(1, 1, failure_threshold=3)
    pool.record_failure(1)
    pool.record_response(1, 500, {})
    assert pool.cooling() == {}
    pool.record_response(1, 408, {})
    assert set(pool.cooling()) == {1}


def test_successes_outweigh_scattered_failures() -> None:
    pool, clock = make_pool(1, 1, failure_threshold=2)
    for _ in range(20):
        clock.now += 0.01
        pool.record_failure(0)
        for _ in range(2):
            pool.record_response(0, 200, {})
    assert pool.cooling() == {}  # 20 failures, but never as many as the successes around them


def test_client_errors_neither_rest_nor_reset_the_count() -> None:
    pool, _ = make_pool(1, 1, failure_threshold=2)
    pool.record_response(0, 500, {})
    for status in (400, 401, 404, 422):
        pool.record_response(0, status, {})
    assert pool.cooling() == {}
    pool.record_response(0, 504, {})
    assert set(pool.cooling()) == {0}


def test_a_429_counts_as_an_answer_not_a_failure() -> None:
    pool, clock = make_pool(1, 1, failure_threshold=2)
    pool.record_response(0, 500, {})
    for _ in range(3):
        pool.record_response(0, 429, {"retry-after-ms": "10"})
    clock.now += 1
    pool.record_response(0, 500, {})
    assert pool.cooling() == {}  # 2 failures among 5 answers: the deployment is up, only its quota was spent


def test_a_failure_right_after_a_rest_rests_again_until_a_success() -> None:
    pool, clock = make_pool(1, 1, failure_threshold=3, default_cooldown=5.0)
    for _ in range(3):
        pool.record_failure(0)
    assert pool.cooling() == {0: pytest.approx(5.0)}
    clock.now += 5.0
    pool.record_failure(0)  # the trial attempt after the rest failed too: at once, and twice as long
    assert pool.cooling() == {0: pytest.approx(10.0)}
    clock.now += 10.0
    pool.record_response(0, 200, {})
    pool.record_failure(0)
    assert pool.cooling() == {}


def test_server_error_rest_honours_its_retry_after() -> None:
    pool, _ = make_pool(1, 1, failure_threshold=2, default_cooldown=5.0)
    pool.record_response(0, 503, {})
    pool.record_response(0, 503, {"retry-after": "20"})
    assert pool.cooling() == {0: pytest.approx(20.0)}


def test_single_deployment_is_always_picked_but_its_rest_is_tracked() -> None:
    pool = DeploymentPool([Deployment("https://only.services.ai.azure.com")])
    pool.record_response(0, 429, {"retry-after": "30"})
    assert pool.pick() == Pick(0)
    assert pool.pick(tried={0}) == Pick(0)
    assert set(pool.cooling()) == {0}


# --- pacing ------------------------------------------------------------------------------------------------------


def test_nearly_exhausted_deployment_gets_proportionally_less_traffic() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, quota("10"))  # 10 % left
    pool.record_response(1, 200, quota("100"))
    counts = shares(pool, 5500)
    assert counts[0] / 5500 == pytest.approx(1 / 11, abs=0.02)


def test_the_scarcer_of_requests_and_tokens_paces() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(
        0,
        200,
        quota("90", x_ratelimit_remaining_tokens="2000", x_ratelimit_limit_tokens="10000"),  # 20 % of tokens
    )
    counts = shares(pool, 6000)
    assert counts[0] / 6000 == pytest.approx(0.2 / 1.2, abs=0.02)


def test_empty_counter_without_reset_gets_no_traffic_while_others_have_quota() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, quota("0"))
    assert {picked(pool) for _ in range(200)} == {1}
    assert pool.cooling() == {}  # not resting: with nothing else free it is still usable
    assert picked(pool, tried={1}) == 0


@pytest.mark.parametrize("kind", ["requests", "tokens"])
def test_an_empty_counter_without_its_limit_still_says_empty(kind: str) -> None:
    # No limit header, so no fraction: but 0 left is 0 left (docs/failover.md, "Pacing").
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, {f"x-ratelimit-remaining-{kind}": "0"})
    assert {picked(pool) for _ in range(200)} == {1}
    assert pool.cooling() == {}


def test_a_counter_without_its_limit_that_is_not_empty_does_not_steer() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, {"x-ratelimit-remaining-tokens": "5"})
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_all_empty_falls_back_to_plain_weights() -> None:
    pool, _ = make_pool(3, 1)
    pool.record_response(0, 200, quota("0"))
    pool.record_response(1, 200, quota("0"))
    assert shares(pool)[0] / 4000 == pytest.approx(0.75, abs=0.03)


@pytest.mark.parametrize(
    "headers",
    [
        quota("-1", "-1"),
        quota("-1"),
        quota("0", "0"),  # the placeholder pair Azure sends on some routes
        quota("0", "0", x_ratelimit_reset_requests="0"),
        {"x-ratelimit-remaining-requests": "many"},
        {},
    ],
)
def test_unknown_counters_do_not_steer_or_rest(headers: Mapping[str, str]) -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, headers)
    assert pool.cooling() == {}
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_zero_remaining_with_a_reset_rests_until_the_reset() -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 200, quota("0", x_ratelimit_reset_requests="2s"))
    assert pool.cooling() == {0: pytest.approx(2.0)}
    assert {picked(pool) for _ in range(100)} == {1}
    clock.now += 2.0
    assert pool.cooling() == {}
    # the quota refilled at the reset: the old "empty" reading no longer steers
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_zero_tokens_without_a_known_limit_and_a_reset_rests() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(1, 200, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m0s"})
    assert pool.cooling() == {1: pytest.approx(60.0)}


def test_zero_without_a_known_limit_steers_only_until_its_reset() -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 200, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1"})
    assert {picked(pool) for _ in range(100)} == {1}
    clock.now += 1.5  # past the reset, well before pacing_ttl: the quota refilled
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_pacing_reading_goes_stale_after_the_ttl() -> None:
    pool, clock = make_pool(1, 1, pacing_ttl=10.0)
    pool.record_response(0, 200, quota("0"))
    assert {picked(pool) for _ in range(100)} == {1}
    clock.now += 10.0
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_a_newer_reading_replaces_the_old_one() -> None:
    pool, _ = make_pool(1, 1)
    pool.record_response(0, 200, quota("1"))
    pool.record_response(0, 200, quota("100"))
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


def test_quota_headers_on_a_429_are_read_too() -> None:
    pool, clock = make_pool(1, 1)
    pool.record_response(0, 429, quota("5", x_ratelimit_reset_requests="1s", retry_after="1"))
    clock.now += 1.0  # rest over, and the reading expired with its reset
    assert pool.cooling() == {}
    assert shares(pool)[0] / 4000 == pytest.approx(0.5, abs=0.03)


# --- shared state ---------------------------------------------------------------------------------------------


def test_failures_from_many_threads_are_all_counted() -> None:
    threads, each = 8, 500
    exact = DeploymentPool(deployments(1, 1), failure_threshold=threads * each, default_cooldown=60)
    one_short = DeploymentPool(deployments(1, 1), failure_threshold=threads * each + 1, default_cooldown=60)
    barrier = threading.Barrier(threads)

    def hammer() -> None:
        barrier.wait()
        for _ in range(each):
            exact.record_failure(0)
            one_short.record_failure(0)
            exact.pick()
            one_short.pick(tried={1})

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert set(exact.cooling()) == {0}  # a lost update would leave the count one short of the threshold
    assert one_short.cooling() == {}


def test_threads_never_get_a_resting_deployment() -> None:
    pool = DeploymentPool(deployments(1, 1, 1), rng=random.Random(3))
    pool.record_response(1, 429, {"retry-after": "600"})
    seen: Counter[int] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            local: Counter[int] = Counter()
            for i in range(400):
                choice = pool.pick(tried={n % 3})
                assert isinstance(choice, Pick)
                local[choice.index] += 1
                status = (200, 404)[i % 2]
                pool.record_response(choice.index, status, quota(str(i % 100)))
            with lock:
                seen.update(local)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert errors == []
    assert sum(seen.values()) == 8 * 400
    assert seen[1] == 0
    assert seen[0] > 0
    assert seen[2] > 0
    assert set(pool.cooling()) == {1}


def test_asyncio_tasks_share_one_pool() -> None:
    pool = DeploymentPool(deployments(1, 1), rng=random.Random(5))
    refused = False
    picks_after_refusal: Counter[int] = Counter()

    async def call(n: int) -> None:
        nonlocal refused
        for _ in range(n % 20):  # stagger: some tasks pick before the 429 is recorded, some after
            await asyncio.sleep(0)
        choice = pool.pick()
        assert isinstance(choice, Pick)
        if refused:
            picks_after_refusal[choice.index] += 1
        await asyncio.sleep(0)  # other tasks pick and record while this one is "on the wire"
        if choice.index == 0:
            pool.record_response(0, 429, {"retry-after": "600"})
            refused = True
        else:
            pool.record_response(1, 200, {})

    async def main() -> None:
        await asyncio.gather(*(call(n) for n in range(200)))

    asyncio.run(main())
    assert set(pool.cooling()) == {0}
    assert picks_after_refusal[0] == 0
    assert picks_after_refusal[1] > 0
