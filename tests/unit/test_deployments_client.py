"""Failover through the public API: the breaker, trials and rests as a client's calls see them (respx, fake clock)."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    Deployment,
    DeploymentPool,
    GrokClient,
    GrokError,
    InternalServerError,
    RetryPolicy,
)
from grok_azure.types import UserMessageParam

from .conftest import KEY, chunk, completion_body, sse

MESSAGES: list[UserMessageParam] = [{"role": "user", "content": "Hi"}]
EAST = "https://east.services.ai.azure.com"
WEST = "https://west.services.ai.azure.com"
EAST_URL = f"{EAST}/openai/v1/chat/completions"
WEST_URL = f"{WEST}/openai/v1/chat/completions"
KINDS = ["sync", "stream", "async"]


def fast(**kw: Any) -> RetryPolicy:
    # max_server_wait is tiny so that no version of the call loop really sleeps for a rest in these tests.
    return RetryPolicy(
        backoff_base=0.001, backoff_cap=0.002, max_server_wait=0.01, rng=random.Random(1), **kw
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pool_of(clock: FakeClock, east_weight: float = 1000.0, **kw: Any) -> DeploymentPool:
    """East wins every pick while it is free; west is the fallback."""
    return DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=east_weight),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001 if east_weight > 1 else 1.0),
        ],
        clock=clock,
        rng=random.Random(1),
        **kw,
    )


def status(code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": str(code), "message": "no"}}, headers=headers)


def served(request: httpx.Request) -> httpx.Response:
    """A success, streamed when the request asked for a stream."""
    if b'"stream":true' in request.content:
        body = sse(chunk("Hel", role="assistant"), chunk("lo", finish_reason="stop"), "[DONE]")
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=completion_body("Hello"))


Outcome = str | GrokError  # served_by, or the error the call raised


def run_calls(kind: str, pool: DeploymentPool, n: int, policy: RetryPolicy, **kw: Any) -> list[Outcome]:
    """``n`` calls in a row on one client over ``pool``, written the way users write them."""
    outcomes: list[Outcome] = []
    if kind == "async":

        async def main() -> None:
            async with AsyncGrokClient(
                deployments=pool, retry=policy, http_client=httpx.AsyncClient(), **kw
            ) as client:
                for _ in range(n):
                    try:
                        completion = await client.chat.completions.create(model="grok-4", messages=MESSAGES)
                    except GrokError as exc:
                        outcomes.append(exc)
                    else:
                        assert completion.text == "Hello"
                        outcomes.append(str(completion.served_by))

        asyncio.run(main())
        return outcomes
    with GrokClient(deployments=pool, retry=policy, **kw) as client:
        for _ in range(n):
            try:
                if kind == "stream":
                    stream = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
                    text = ""
                    for part in stream:
                        text += part.choices[0].delta.content or ""
                    assert text == "Hello"
                    outcomes.append(str(stream.served_by))
                else:
                    completion = client.chat.completions.create(model="grok-4", messages=MESSAGES)
                    assert completion.text == "Hello"
                    outcomes.append(str(completion.served_by))
            except GrokError as exc:
                outcomes.append(exc)
    return outcomes


@pytest.mark.parametrize("kind", KINDS)
def test_a_deployment_failing_every_request_is_rested_then_given_one_trial(
    kind: str, mock_api: respx.MockRouter
) -> None:
    clock = FakeClock()
    pool = pool_of(clock)
    east = mock_api.post(EAST_URL).mock(side_effect=lambda request: status(503))
    west = mock_api.post(WEST_URL).mock(side_effect=served)
    assert run_calls(kind, pool, 6, fast()) == ["west"] * 6
    assert east.call_count == 2  # rested after failure_threshold failures; later calls went to west at once
    clock.now += 1.0  # its rest (default_cooldown) is over
    assert run_calls(kind, pool, 4, fast()) == ["west"] * 4
    assert east.call_count == 3  # one trial, not one per call; it failed and that call failed over
    clock.now += 1.0
    assert run_calls(kind, pool, 2, fast()) == ["west"] * 2
    assert east.call_count == 3  # the failed trial doubled the rest: 2 s
    east.side_effect = served  # the deployment comes back
    clock.now += 1.0
    assert run_calls(kind, pool, 3, fast()) == ["east"] * 3  # the trial succeeded and closed the breaker
    assert west.call_count == 12


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_scattered_server_errors_on_both_deployments_do_not_rest_them(
    kind: str, mock_api: respx.MockRouter
) -> None:
    # 10 % random 503s on both deployments, one answer every 10 ms of the pool's clock, calls from 8 threads or
    # 16 asyncio tasks at once. The old rule (2 failures in a row across all calls, then 5 s of rest) had both
    # deployments resting after 229 of these 400 calls, sync and async alike.
    clock = FakeClock()
    pool = pool_of(clock, east_weight=1.0)
    rng = random.Random(4)
    lock = threading.Lock()

    def noisy(request: httpx.Request) -> httpx.Response:
        with lock:
            clock.now += 0.01
            failed = rng.random() < 0.1
        return status(503) if failed else served(request)

    mock_api.post(EAST_URL).mock(side_effect=noisy)
    mock_api.post(WEST_URL).mock(side_effect=noisy)
    outcomes: list[Outcome] = []
    both_resting = 0

    def note(outcome: Outcome) -> None:
        nonlocal both_resting
        with lock:
            outcomes.append(outcome)
            both_resting += len(pool.cooling()) == 2

    if kind == "sync":
        with GrokClient(deployments=pool, retry=fast()) as client:

            def worker() -> None:
                for _ in range(50):
                    try:
                        completion = client.chat.completions.create(model="grok-4", messages=MESSAGES)
                        note(str(completion.served_by))
                    except GrokError as exc:
                        note(exc)

            threads = [threading.Thread(target=worker) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    else:

        async def main() -> None:
            async with AsyncGrokClient(
                deployments=pool, retry=fast(), http_client=httpx.AsyncClient()
            ) as client:

                async def task() -> None:
                    for _ in range(25):
                        try:
                            completion = await client.chat.completions.create(
                                model="grok-4", messages=MESSAGES
                            )
                            note(str(completion.served_by))
                        except GrokError as exc:
                            note(exc)

                await asyncio.gather(*(task() for _ in range(16)))

        asyncio.run(main())
    assert len(outcomes) == 400
    assert both_resting <= 4  # at most 1 %
    assert sum(isinstance(o, GrokError) for o in outcomes) <= 4  # three attempts rarely all fail
    assert {"east", "west"} <= set(outcomes)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_call_never_waits_for_a_rest_the_pool_only_guessed(kind: str, mock_api: respx.MockRouter) -> None:
    clock = FakeClock()
    pool = pool_of(clock, east_weight=1.0, default_cooldown=0.05, max_cooldown=0.1)
    east = mock_api.post(EAST_URL).mock(side_effect=lambda request: status(503))
    west = mock_api.post(WEST_URL).mock(side_effect=lambda request: status(502))
    waits: list[float] = []
    policy = RetryPolicy(
        backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1), on_retry=lambda n, e, w: waits.append(w)
    )
    outcomes = run_calls(kind, pool, 2, policy, max_retries=3)
    assert all(isinstance(o, InternalServerError) for o in outcomes)
    assert east.call_count + west.call_count == 8
    assert set(pool.cooling()) == {0, 1}  # both rest, on guesses (no response named a wait)
    assert max(waits) <= 0.002  # only the ordinary backoff: never the 0.05 s or more the pool guessed


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_rest_the_servers_stated_is_waited_for(kind: str, mock_api: respx.MockRouter) -> None:
    clock = FakeClock()
    pool = pool_of(clock)
    answers = iter([status(429, {"retry-after-ms": "20"})])
    east = mock_api.post(EAST_URL).mock(side_effect=lambda request: status(429, {"retry-after-ms": "30"}))
    west = mock_api.post(WEST_URL).mock(side_effect=lambda request: next(answers, None) or served(request))
    waits: list[float] = []
    policy = RetryPolicy(
        backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1), on_retry=lambda n, e, w: waits.append(w)
    )
    assert run_calls(kind, pool, 1, policy) == ["west"]
    assert (east.call_count, west.call_count) == (1, 2)
    assert waits == [0.0, pytest.approx(0.02)]  # failed over at once, then waited for the sooner stated rest


def test_a_pool_is_shared_by_the_clients_given_it(mock_api: respx.MockRouter) -> None:
    clock = FakeClock()
    pool = pool_of(clock)
    east = mock_api.post(EAST_URL).mock(side_effect=lambda request: status(500))
    mock_api.post(WEST_URL).mock(side_effect=served)
    run: Callable[[str], list[Outcome]] = lambda kind: run_calls(kind, pool, 1, fast())  # noqa: E731
    assert run("sync") + run("async") == ["west", "west"]
    assert run("stream") == ["west"]
    assert east.call_count == 2  # the sync call and the async one each met one failure; the third avoided it


class _DropsBeforeFirstEvent(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streamed 200 whose connection drops before any event arrives."""

    def __iter__(self) -> Any:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        yield b""  # pragma: no cover - makes this a generator

    async def __aiter__(self) -> Any:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        yield b""  # pragma: no cover


def dropped_stream(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_DropsBeforeFirstEvent())


def stream_calls(kind: str, pool: DeploymentPool, n: int) -> list[str]:
    """``n`` streamed calls in a row, read with the inline loop users write; each one's ``served_by``."""
    served_by: list[str] = []
    if kind == "async":

        async def main() -> None:
            async with AsyncGrokClient(
                deployments=pool, retry=fast(), http_client=httpx.AsyncClient()
            ) as client:
                for _ in range(n):
                    stream = await client.chat.completions.create(
                        model="grok-4", messages=MESSAGES, stream=True
                    )
                    text = ""
                    async for part in stream:
                        text += part.choices[0].delta.content or ""
                    assert text == "Hello"
                    served_by.append(str(stream.served_by))

        asyncio.run(main())
        return served_by
    with GrokClient(deployments=pool, retry=fast()) as client:
        for _ in range(n):
            stream = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            text = ""
            for part in stream:
                text += part.choices[0].delta.content or ""
            assert text == "Hello"
            served_by.append(str(stream.served_by))
    return served_by


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_healthy_deployment_whose_streams_start_dropping_before_the_first_event_is_rested(
    kind: str, mock_api: respx.MockRouter
) -> None:
    # A streamed 200 proves nothing until a chunk arrives: a drop before that is one failure, not a success and a
    # failure (which would keep the failures under half of the recent outcomes, and the deployment in use forever).
    clock = FakeClock()
    pool = pool_of(clock)
    east = mock_api.post(EAST_URL).mock(side_effect=served)
    west = mock_api.post(WEST_URL).mock(side_effect=served)
    assert stream_calls(kind, pool, 10) == ["east"] * 10
    east.side_effect = dropped_stream
    assert stream_calls(kind, pool, 20) == ["west"] * 20  # each resent to west before any chunk was read
    # Rested once its drops matched its 10 earlier successes; the 10 calls after that went to west at once.
    assert east.call_count == 10 + 10
    assert west.call_count == 20
