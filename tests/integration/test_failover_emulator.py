"""Failover, cooldown and pacing end to end: two Foundry emulators play two deployments of one model.

A client built with ``deployments=[...]`` (a :class:`DeploymentPool` with a seeded rng, and a fake clock where a
test moves time) calls the way users do; the emulators' request logs say which deployment each attempt reached,
``served_by`` which one answered.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError

from grok_azure import (
    APIStatusError,
    AsyncGrokClient,
    CredentialError,
    Deployment,
    DeploymentPool,
    GrokClient,
    GrokError,
    InternalServerError,
    RetryPolicy,
)
from grok_azure.testing import Fault, FoundryEmulator

KEY = "failover-emulator-key-0123456789"
CHAT = "chat"
DEPLOYMENTS = {CHAT: "grok-4-1-fast-non-reasoning"}
PROMPT = "where am I served"
ANSWER = f"Echo: {PROMPT}"
KINDS = ("sync", "async")
EAST, WEST = 0, 1


class Clock:
    """The pool's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class Hook:
    def __init__(self) -> None:
        self.calls: list[tuple[int, GrokError, float]] = []

    def __call__(self, attempt: int, error: GrokError, wait: float) -> None:
        self.calls.append((attempt, error, wait))

    @property
    def waits(self) -> list[float]:
        return [wait for _, _, wait in self.calls]


@pytest.fixture
def start() -> Iterator[Callable[..., FoundryEmulator]]:
    """Start an emulator (one deployment, ``chat``) with the given options; all are stopped after the test."""
    running: list[FoundryEmulator] = []

    def run(**emulator_options: Any) -> FoundryEmulator:
        emulator = FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, **emulator_options).start()
        running.append(emulator)
        return emulator

    yield run
    for emulator in running:
        emulator.stop()


@pytest.fixture(scope="module")
def plain_pair() -> Iterator[tuple[FoundryEmulator, FoundryEmulator]]:
    with (
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as east,
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as west,
    ):
        yield east, west


@pytest.fixture
def pair(plain_pair: tuple[FoundryEmulator, FoundryEmulator]) -> tuple[FoundryEmulator, FoundryEmulator]:
    """Two plain emulators (east, west), their faults and request logs reset."""
    for emulator in plain_pair:
        emulator.reset()
    return plain_pair


def pool(
    east: FoundryEmulator,
    west: FoundryEmulator,
    *,
    weights: tuple[float, float] = (1, 1),
    seed: int = 7,
    **more: Any,
) -> DeploymentPool:
    return DeploymentPool(
        [
            Deployment(east.url, api_key=KEY, name="east", weight=weights[0]),
            Deployment(west.url, api_key=KEY, name="west", weight=weights[1]),
        ],
        rng=random.Random(seed),
        **more,
    )


def options(deployments: DeploymentPool, hook: Hook | None = None, **more: Any) -> dict[str, Any]:
    policy = RetryPolicy(on_retry=hook, backoff_base=0.02, backoff_cap=0.05, rng=random.Random(1))
    return {"deployments": deployments, "retry": policy, "timeout": 10, **more}


def calls_sync(
    client_options: dict[str, Any], count: int, *, stream: bool = False
) -> list[tuple[str, str | None]]:
    """``count`` calls on one client: (text, served_by) of each."""
    results: list[tuple[str, str | None]] = []
    with GrokClient(**client_options) as client:
        for _ in range(count):
            if stream:
                chunks = client.chat.completions.create(model=CHAT, messages=messages(), stream=True)
                text = ""
                for chunk in chunks:
                    text += "".join(choice.delta.content or "" for choice in chunk.choices)
                results.append((text, chunks.served_by))
            else:
                completion = client.chat.completions.create(model=CHAT, messages=messages())
                results.append((completion.text, completion.served_by))
    return results


async def calls_async(
    client_options: dict[str, Any], count: int, *, stream: bool = False
) -> list[tuple[str, str | None]]:
    results: list[tuple[str, str | None]] = []
    async with AsyncGrokClient(**client_options) as client:
        for _ in range(count):
            if stream:
                chunks = await client.chat.completions.create(model=CHAT, messages=messages(), stream=True)
                text = ""
                async for chunk in chunks:
                    text += "".join(choice.delta.content or "" for choice in chunk.choices)
                results.append((text, chunks.served_by))
            else:
                completion = await client.chat.completions.create(model=CHAT, messages=messages())
                results.append((completion.text, completion.served_by))
    return results


def calls(
    kind: str, client_options: dict[str, Any], count: int, *, stream: bool = False
) -> list[tuple[str, str | None]]:
    if kind == "sync":
        return calls_sync(client_options, count, stream=stream)
    return asyncio.run(calls_async(client_options, count, stream=stream))


def messages(text: str = PROMPT) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# -- failover ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_deployment_that_answers_429_is_rested_and_the_other_serves(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str, stream: bool
) -> None:
    east, west = pair
    east.fault(Fault.rate_limited(30, header="retry-after"), times=100)
    hook = Hook()
    deployments = pool(east, west, weights=(1000, 1))  # east first, whatever the dice
    results = calls(kind, options(deployments, hook), 6, stream=stream)
    assert results == [(ANSWER, "west")] * 6
    assert [r.status for r in east.requests] == [429]  # rested for its 30 s after the first refusal
    assert len(west.requests) == 6
    assert EAST in deployments.cooling()
    assert 25 < deployments.cooling()[EAST] <= 30
    assert hook.waits == [0.0]  # failing over does not wait
    assert west.requests[0].headers["x-grok-azure-retry-count"] == "1"
    assert (
        west.requests[0].headers["x-ms-client-request-id"]
        == east.requests[0].headers["x-ms-client-request-id"]
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "fault", [Fault.server_error(503), Fault.server_error(502, html=True)], ids=["503", "502"]
)
def test_a_deployment_that_always_fails_is_rested_and_the_other_serves(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str, fault: Fault
) -> None:
    east, west = pair
    east.fault(fault, times=100)
    hook = Hook()
    deployments = pool(east, west, weights=(1000, 1))
    results = calls(kind, options(deployments, hook), 8)
    assert results == [(ANSWER, "west")] * 8
    assert len(east.requests) < 8  # the breaker stopped sending it every call
    assert EAST in deployments.cooling()
    assert WEST not in deployments.cooling()
    assert set(hook.waits) == {0.0}


class BrokenCredential:
    """A credential that cannot get a token (an expired secret, a revoked identity), for either client."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.calls += 1
        raise ClientAuthenticationError(message="AADSTS7000222: The provided client secret keys are expired.")


class AsyncBrokenCredential(BrokenCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().get_token(*scopes, **kwargs)

    async def close(self) -> None:
        pass


def broken_credential(kind: str) -> BrokenCredential:
    return BrokenCredential() if kind == "sync" else AsyncBrokenCredential()


def east_without_a_token(
    east: FoundryEmulator, west: FoundryEmulator, broken: BrokenCredential, weights: tuple[float, float]
) -> DeploymentPool:
    """East with the ``broken`` credential, west with a good key."""
    return DeploymentPool(
        [
            Deployment(east.url, credential=broken, name="east", weight=weights[0]),
            Deployment(west.url, api_key=KEY, name="west", weight=weights[1]),
        ],
        rng=random.Random(7),
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_deployment_whose_credential_fails_is_failed_over_and_rested(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str, stream: bool
) -> None:
    east, west = pair
    broken = broken_credential(kind)
    deployments = east_without_a_token(east, west, broken, weights=(1000, 1))
    assert calls(kind, options(deployments), 8, stream=stream) == [(ANSWER, "west")] * 8
    assert east.requests == []  # nothing was sent without its credential
    assert len(west.requests) == 8  # one attempt per call: the failover is no retry
    assert 1 <= broken.calls < 8  # the breaker stopped asking the broken credential every call
    assert EAST in deployments.cooling()


@pytest.mark.parametrize("kind", KINDS)
def test_when_every_credential_fails_the_call_raises_the_credential_error(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    east, west = pair
    first, second = broken_credential(kind), broken_credential(kind)
    deployments = DeploymentPool(
        [
            Deployment(east.url, credential=first, name="east"),
            Deployment(west.url, credential=second, name="west"),
        ],
        rng=random.Random(7),
    )
    with pytest.raises(CredentialError, match="client secret keys are expired"):
        calls(kind, options(deployments), 1)
    assert (first.calls, second.calls) == (1, 1)  # each asked once: no loop between them
    assert east.requests == west.requests == []
    assert set(deployments.cooling()) == {EAST, WEST}  # both rest, the last one asked too


@pytest.mark.parametrize("kind", KINDS)
def test_a_call_whose_other_deployment_fails_ends_with_that_failure_not_the_credential(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    # East's credential is broken, so it rests; west has a good key but answers 503: the retries stay on west, and
    # the call ends with west's error (what the service said), not with east's credential asked again.
    east, west = pair
    west.fault(Fault.server_error(503), times=100)
    broken = broken_credential(kind)
    deployments = east_without_a_token(east, west, broken, weights=(1000, 1))
    with pytest.raises(InternalServerError):
        calls(kind, options(deployments), 1)
    assert broken.calls == 1
    assert len(west.requests) == 3  # max_retries=2
    assert east.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_credential_that_fails_on_a_retry_is_no_retry_of_its_own(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    # West answers 503; the retry goes to east, whose credential fails: back to west, and the retry hook hears of
    # each retry once, with the error that caused it (the wait itself: tests/unit/test_call_flow.py).
    east, west = pair
    west.fault(Fault.server_error(503), times=100)
    hook = Hook()
    deployments = east_without_a_token(east, west, broken_credential(kind), weights=(1, 1000))
    policy = RetryPolicy(on_retry=hook, backoff_base=0.2, backoff_cap=0.2, rng=random.Random(1))
    with pytest.raises(InternalServerError):
        calls(kind, {"deployments": deployments, "retry": policy, "timeout": 10}, 1)
    assert len(west.requests) == 3
    assert [attempt for attempt, _, _ in hook.calls] == [1, 2]
    assert all(isinstance(error, InternalServerError) for _, error, _ in hook.calls)


@pytest.mark.parametrize("kind", KINDS)
def test_deployments_sharing_the_clients_credential_ask_it_once(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    east, west = pair
    broken = broken_credential(kind)
    deployments = DeploymentPool(
        [Deployment(east.url, name="east"), Deployment(west.url, name="west")], rng=random.Random(7)
    )
    with pytest.raises(CredentialError):
        calls(kind, {**options(deployments), "credential": broken}, 1)
    assert broken.calls == 1  # one credential: when it fails for one deployment, it fails for both
    assert set(deployments.cooling()) == {EAST, WEST}


@pytest.mark.parametrize("kind", KINDS)
def test_cooldown_expiry_brings_the_deployment_back(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    east, west = pair
    east.fault(Fault.rate_limited(30, header="retry-after"))  # once
    clock = Clock()
    deployments = pool(east, west, weights=(1000, 1), clock=clock)
    client_options = options(deployments)
    assert calls(kind, client_options, 3) == [(ANSWER, "west")] * 3
    assert deployments.cooling() == {EAST: 30.0}
    assert len(east.requests) == 1
    clock.now += 30.5
    assert deployments.cooling() == {}
    assert calls(kind, client_options, 2) == [(ANSWER, "east")] * 2
    assert [r.status for r in east.requests] == [429, 200, 200]


@pytest.mark.parametrize("kind", KINDS)
def test_when_both_refuse_the_call_waits_for_the_sooner_and_succeeds(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    east, west = pair
    east.fault(Fault.rate_limited(0.1, header="retry-after-ms"))
    west.fault(Fault.rate_limited(0.2, header="x-ms-retry-after-ms"))
    hook = Hook()
    deployments = pool(east, west, weights=(1000, 1))
    assert calls(kind, options(deployments, hook), 1) == [(ANSWER, "east")]
    assert [r.status for r in east.requests] == [429, 200]
    assert [r.status for r in west.requests] == [429]
    first, second = hook.waits
    assert first == 0.0  # east -> west: failover, at once
    assert 0.0 < second <= 0.2  # back to east: a server-stated wait
    assert [r.headers["x-grok-azure-retry-count"] for r in (*east.requests, *west.requests)] == [
        "0",
        "2",
        "1",
    ]


# -- pacing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("drained", [True, False])
def test_pacing_steers_traffic_away_from_the_deployment_nearly_out_of_quota(
    start: Callable[..., FoundryEmulator], kind: str, drained: bool
) -> None:
    # east: 10,000 tokens per 10 s window, on a frozen clock so the window never refills during the test.
    east = start(tpm=60_000, quota_window=10, clock=lambda: 1000.0)
    west = start()  # no quota: its (advisory) counters stay near full
    if drained:  # one large request leaves east with ~10 % of its tokens
        reply = httpx.post(
            f"{east.url}/openai/v1/chat/completions",
            headers={"api-key": KEY},
            json={"model": CHAT, "messages": messages(), "max_tokens": 9_000},
        )
        assert reply.status_code == 200
        assert int(reply.headers["x-ratelimit-remaining-tokens"]) < 1_000
    count = 40
    deployments = pool(east, west, seed=11)
    client_options = options(deployments)
    if kind == "sync":
        with GrokClient(**client_options) as client:
            served = [
                client.chat.completions.create(model=CHAT, messages=messages(), max_tokens=5).served_by
                for _ in range(count)
            ]
    else:

        async def run() -> list[str | None]:
            async with AsyncGrokClient(**client_options) as client:
                return [
                    (
                        await client.chat.completions.create(model=CHAT, messages=messages(), max_tokens=5)
                    ).served_by
                    for _ in range(count)
                ]

        served = asyncio.run(run())
    to_east = served.count("east")
    assert to_east + served.count("west") == count
    if drained:
        assert to_east <= count // 5  # ~10 % of its share; a 50/50 split would be ~20
    else:
        assert count // 4 <= to_east <= 3 * count // 4
    assert deployments.cooling() == {}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("counters", ["unknown", "zero"])
def test_placeholder_counters_neither_steer_nor_rest(
    start: Callable[..., FoundryEmulator], kind: str, counters: str
) -> None:
    # east reports Azure's -1 / 0 placeholders on every reply; read as "empty" it would get no traffic.
    east, west = start(rate_limit_counters=counters), start()
    hook = Hook()
    deployments = pool(east, west, seed=5)
    results = calls(kind, options(deployments, hook), 40)
    assert {text for text, _ in results} == {ANSWER}
    to_east = sum(name == "east" for _, name in results)
    assert 10 <= to_east <= 30
    assert deployments.cooling() == {}
    assert hook.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_with_only_placeholders_fails_over_at_once(
    pair: tuple[FoundryEmulator, FoundryEmulator], kind: str
) -> None:
    east, west = pair
    east.fault(Fault.rate_limited(header=None, counters="unknown"))
    hook = Hook()
    deployments = pool(east, west, weights=(1000, 1))
    assert calls(kind, options(deployments, hook), 1) == [(ANSWER, "west")]
    assert hook.waits == [0.0]
    assert [r.status for r in east.requests] == [429]


# -- many callers, one pool, random faults on both deployments ----------------------------------------------------


def test_sixteen_threads_share_one_pool_under_random_faults(start: Callable[..., FoundryEmulator]) -> None:
    east, west = start(fault_rate=0.3, seed=3), start(fault_rate=0.3, seed=4)
    deployments = pool(east, west)
    with GrokClient(**options(deployments)) as client, ThreadPoolExecutor(16) as workers:

        def call(index: int) -> tuple[str, str | None] | GrokError:
            try:
                completion = client.chat.completions.create(model=CHAT, messages=messages(f"thread {index}"))
            except GrokError as exc:
                return exc
            return completion.text, completion.served_by

        outcomes = list(workers.map(call, range(48)))
    _check(outcomes, "thread", sent=len(east.requests) + len(west.requests))


async def test_sixty_four_tasks_share_one_pool_under_random_faults(
    start: Callable[..., FoundryEmulator],
) -> None:
    east, west = start(fault_rate=0.3, seed=5), start(fault_rate=0.3, seed=6)
    deployments = pool(east, west)
    async with AsyncGrokClient(**options(deployments)) as client:

        async def call(index: int) -> tuple[str, str | None] | GrokError:
            try:
                completion = await client.chat.completions.create(
                    model=CHAT, messages=messages(f"task {index}")
                )
            except GrokError as exc:
                return exc
            return completion.text, completion.served_by

        outcomes = await asyncio.gather(*(call(i) for i in range(64)))
    _check(list(outcomes), "task", sent=len(east.requests) + len(west.requests))


def _check(outcomes: list[tuple[str, str | None] | GrokError], prefix: str, *, sent: int) -> None:
    served: set[str | None] = set()
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, GrokError):
            assert isinstance(outcome, APIStatusError), repr(outcome)
        else:
            assert outcome[0] == f"Echo: {prefix} {index}"
            served.add(outcome[1])
    assert served == {"east", "west"}
    assert sum(not isinstance(o, GrokError) for o in outcomes) >= 0.85 * len(outcomes)
    assert sent > len(outcomes)  # faults were met and retried or failed over
