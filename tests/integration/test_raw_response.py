"""``with_raw_response`` end to end against the Foundry emulator: real HTTP on loopback, sync and async.

A client whose pool holds one connection shows that a stream handed out by ``parse()`` gives its connection back
when it is read to the end or closed: otherwise the next call would wait for the pool and fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from grok_azure import AsyncGrokClient, GrokClient, InternalServerError, RetryPolicy
from grok_azure.testing import Fault, FoundryEmulator

KEY = "raw-response-key-0123456789"
CHAT = "chat"
MESSAGES = [{"role": "user", "content": "one two"}]
ANSWER = "Echo: one two"
MAPPED = {CHAT: "grok-4-1-fast-non-reasoning"}
QUICK = RetryPolicy(backoff_base=0.01, backoff_cap=0.02)
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
# Given to the SDK too: its per-attempt timeout is what the pool wait obeys (a leak fails in 2 s, not hangs).
POOL_TIMEOUT = httpx.Timeout(10.0, pool=2.0)


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=MAPPED) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh(emulator: FoundryEmulator) -> None:
    emulator.reset()


def test_create_shows_the_services_headers_and_the_sdks_request_id(emulator: FoundryEmulator) -> None:
    with GrokClient(endpoint=emulator.url, api_key=KEY, deployment_models=MAPPED, retry=QUICK) as client:
        emulator.fault(Fault.rate_limited(0.05, header="retry-after-ms"))
        raw = client.chat.completions.with_raw_response.create(model=CHAT, messages=MESSAGES)

    seen = emulator.requests
    assert [r.status for r in seen] == [429, 200]
    assert raw.status_code == 200
    assert raw.retries_taken == 1
    assert raw.request_id == seen[-1].headers["x-ms-client-request-id"]
    assert raw.apim_request_id is not None
    assert "x-ratelimit-remaining-requests" in raw.headers  # the 200's counters, not the 429's exhausted ones
    assert raw.headers["x-ratelimit-remaining-requests"] != "0"
    assert raw.parse().text == ANSWER
    assert KEY not in repr(raw)
    assert KEY not in repr(dict(raw.headers))


async def test_async_create_and_a_final_error(emulator: FoundryEmulator) -> None:
    async with AsyncGrokClient(
        endpoint=emulator.url, api_key=KEY, deployment_models=MAPPED, retry=QUICK, max_retries=1
    ) as client:
        raw = await client.chat.completions.with_raw_response.create(model=CHAT, messages=MESSAGES)
        assert raw.parse().text == ANSWER
        assert raw.request_id == emulator.requests[-1].headers["x-ms-client-request-id"]
        emulator.fault(Fault.server_error(500), times=2)
        with pytest.raises(InternalServerError):
            await client.chat.completions.with_raw_response.create(model=CHAT, messages=MESSAGES)


def test_streams_from_parse_give_their_connection_back(emulator: FoundryEmulator) -> None:
    http = httpx.Client(limits=ONE_CONNECTION, timeout=POOL_TIMEOUT)
    with (
        http,
        GrokClient(
            endpoint=emulator.url,
            api_key=KEY,
            deployment_models=MAPPED,
            http_client=http,
            timeout=POOL_TIMEOUT,
        ) as client,
    ):
        raws = client.chat.completions.with_raw_response
        read = raws.create(model=CHAT, messages=MESSAGES, stream=True)
        assert read.parse().get_final_completion().text == ANSWER  # to the end
        with raws.create(model=CHAT, messages=MESSAGES, stream=True).parse() as stream:
            next(stream)  # closed early
        with raws.stream(model=CHAT, messages=MESSAGES) as raw:
            assert raw.apim_request_id is not None
            next(iter(raw.parse()))  # left early
        # One connection: each stream above must have given it back, or this waits for the pool and fails.
        assert raws.create(model=CHAT, messages=MESSAGES).parse().text == ANSWER
    assert len(emulator.requests) == 4


async def test_async_streams_from_parse_give_their_connection_back(emulator: FoundryEmulator) -> None:
    http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(limits=ONE_CONNECTION), timeout=POOL_TIMEOUT)
    async with (
        http,
        AsyncGrokClient(
            endpoint=emulator.url,
            api_key=KEY,
            deployment_models=MAPPED,
            http_client=http,
            timeout=POOL_TIMEOUT,
        ) as client,
    ):
        raws = client.chat.completions.with_raw_response
        read = await raws.create(model=CHAT, messages=MESSAGES, stream=True)
        assert (await read.parse().get_final_completion()).text == ANSWER
        async with (await raws.create(model=CHAT, messages=MESSAGES, stream=True)).parse() as stream:
            await stream.__anext__()
        async with raws.stream(model=CHAT, messages=MESSAGES) as raw:
            assert "".join([text async for text in raw.parse().text_stream]) == ANSWER
        assert (await raws.create(model=CHAT, messages=MESSAGES)).parse().text == ANSWER


async def test_async_tasks_on_the_default_transport(emulator: FoundryEmulator) -> None:
    async with AsyncGrokClient(endpoint=emulator.url, api_key=KEY, deployment_models=MAPPED) as client:
        raws = await asyncio.gather(
            *(
                client.chat.completions.with_raw_response.create(
                    model=CHAT, messages=[{"role": "user", "content": f"m{i}"}]
                )
                for i in range(6)
            )
        )
    assert [raw.parse().text for raw in raws] == [f"Echo: m{i}" for i in range(6)]
    sent = {r.headers["x-ms-client-request-id"] for r in emulator.requests}
    assert {raw.request_id for raw in raws} == sent
    assert len(sent) == 6
