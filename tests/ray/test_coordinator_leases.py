"""QuotaCoordinator's slots are leases: a dead worker's slots come back, a cancelled waiter never counts. No
cluster: the actor's class, called directly on one event loop (as Ray runs an async actor's methods)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("ray")

from grok_azure.ray import QuotaCoordinator

# The plain class behind the actor: its methods, without a cluster.
Coordinator: Any = QuotaCoordinator.__ray_metadata__.modified_class  # type: ignore[attr-defined]
FAST = 600_000  # requests per minute: the pacer never makes these tests wait


async def test_a_dead_workers_slots_come_back_when_their_leases_run_out() -> None:
    coordinator = Coordinator(rpm=FAST, concurrency=2, lease_seconds=0.2)
    for _ in range(2):  # admitted, then their worker dies: no release ever comes
        await coordinator.acquire(10)
    assert coordinator.summary().in_flight == 2
    lease = await asyncio.wait_for(coordinator.acquire(10), timeout=30)  # a healthy worker gets in
    assert coordinator.summary().in_flight == 1
    coordinator.release(lease, 10, (5, 5), 0.001, False)
    summary = coordinator.summary()
    assert (summary.in_flight, summary.calls, summary.prompt_tokens) == (0, 1, 5)


async def test_a_release_after_the_lease_ran_out_still_counts_the_call_and_frees_nothing_twice() -> None:
    coordinator = Coordinator(rpm=FAST, concurrency=1, lease_seconds=0.1)
    late = await coordinator.acquire(10)
    current = await asyncio.wait_for(coordinator.acquire(10), timeout=30)  # after `late`'s lease ran out
    coordinator.release(late, 10, (3, 4), None, False)
    summary = coordinator.summary()
    assert (summary.calls, summary.in_flight, summary.completion_tokens) == (1, 1, 4)  # `current` still holds
    coordinator.release(current, 10, None, None, True)
    assert coordinator.summary().in_flight == 0


async def test_a_waiter_cancelled_while_waiting_never_counts() -> None:
    coordinator = Coordinator(rpm=FAST, concurrency=1)
    held = await coordinator.acquire(10)
    waiter = asyncio.ensure_future(coordinator.acquire(10, "gave-up"))
    await asyncio.sleep(0)
    assert not waiter.done()
    coordinator.cancel("gave-up")  # the worker's task was cancelled while it waited
    assert await asyncio.wait_for(waiter, timeout=30) == "gave-up"
    assert coordinator.summary().in_flight == 1  # only `held`
    coordinator.release(held, 10, None, None, False)
    assert coordinator.summary().in_flight == 0
    assert await asyncio.wait_for(coordinator.acquire(10), timeout=30)  # the slot is free
    assert coordinator.summary().calls == 1  # the cancelled one is no call


async def test_a_cancel_that_arrives_before_its_acquire_admits_nothing() -> None:
    coordinator = Coordinator(rpm=FAST, concurrency=1)
    coordinator.cancel("early")
    assert await coordinator.acquire(10, "early") == "early"
    assert coordinator.summary().in_flight == 0
    admitted = await asyncio.wait_for(coordinator.acquire(10), timeout=30)
    coordinator.cancel(admitted)  # admitted, then given up before sending: the slot comes back
    assert coordinator.summary().in_flight == 0


def test_learned_limits_are_per_deployment_in_the_coordinator_too() -> None:
    coordinator = Coordinator()
    headers = {"x-ratelimit-limit-requests": "10", "x-ratelimit-reset-requests": "1s"}
    coordinator.on_response(200, headers, "east")
    coordinator.on_response(200, headers, "west")
    assert coordinator.summary().rpm == 1200


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True, "60"])
def test_lease_seconds_must_be_a_positive_number(bad: object) -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        Coordinator(lease_seconds=bad)
