"""Connections are returned however a stream ends: read to the end, left early, abandoned or cancelled.

Each test gives the client a pool of a few connections and a short pool timeout, so a single leaked
connection per stream turns into an APITimeoutError (PoolTimeout) long before the loop ends.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from grok_azure import AsyncGrokClient, GrokClient
from grok_azure.testing import Fault, FoundryEmulator

from ._support import Target, user

pytestmark = pytest.mark.integration

POOL = 4
STREAMS = 200
POOL_TIMEOUT = httpx.Timeout(30.0, pool=1.0)
# Pooling does not depend on the route, and 200 streams per case add up: these cases run on one route.
ONE_ROUTE = pytest.mark.parametrize("route", ["openai_v1"])
LONG_REPLY = " ".join(f"word{i}" for i in range(40))


def limits(size: int) -> httpx.Limits:
    return httpx.Limits(max_connections=size, max_keepalive_connections=size)


def async_http(transport: str, size: int) -> httpx.AsyncClient:
    if transport == "aiohttp":
        return httpx.AsyncClient(transport=AiohttpTransport(limits=limits(size)))
    return httpx.AsyncClient(limits=limits(size))


@pytest.fixture
def sync_client(target: Target, route: str, emu: FoundryEmulator) -> Iterator[GrokClient]:
    options = {**target.client_options(route), "timeout": POOL_TIMEOUT}
    with httpx.Client(limits=limits(POOL)) as http, GrokClient(**options, http_client=http) as client:
        yield client


@pytest.fixture(params=["aiohttp", "httpx"])
async def async_client(
    request: pytest.FixtureRequest, target: Target, route: str, emu: FoundryEmulator
) -> AsyncIterator[AsyncGrokClient]:
    options = {**target.client_options(route), "timeout": POOL_TIMEOUT}
    async with (
        async_http(request.param, POOL) as http,
        AsyncGrokClient(**options, http_client=http) as client,
    ):
        yield client


def leave_create_stream_early(client: GrokClient) -> None:
    with client.chat.completions.create(model="chat", messages=user(), stream=True) as stream:
        for _ in stream:
            break


def leave_stream_manager_early(client: GrokClient) -> None:
    with client.chat.completions.stream(model="chat", messages=user()) as stream:
        for _ in stream.text_stream:
            break


async def aleave_create_stream_early(client: AsyncGrokClient) -> None:
    async with await client.chat.completions.create(model="chat", messages=user(), stream=True) as stream:
        async for _ in stream:
            break


async def aleave_stream_manager_early(client: AsyncGrokClient) -> None:
    async with client.chat.completions.stream(model="chat", messages=user()) as stream:
        async for _ in stream.text_stream:
            break


@ONE_ROUTE
@pytest.mark.parametrize("leave", [leave_create_stream_early, leave_stream_manager_early])
def test_sync_streams_left_early_return_their_connections(
    sync_client: GrokClient, emu: FoundryEmulator, leave: Callable[[GrokClient], None]
) -> None:
    emu.reply(LONG_REPLY, times=STREAMS)
    for _ in range(STREAMS):
        leave(sync_client)

    completion = sync_client.chat.completions.create(model="chat", messages=user("still there?"))

    assert completion.text == "Echo: still there?"
    assert len(emu.requests) == STREAMS + 1


@ONE_ROUTE
@pytest.mark.parametrize("leave", [aleave_create_stream_early, aleave_stream_manager_early])
async def test_async_streams_left_early_return_their_connections(
    async_client: AsyncGrokClient, emu: FoundryEmulator, leave: Callable[[AsyncGrokClient], Awaitable[None]]
) -> None:
    emu.reply(LONG_REPLY, times=STREAMS)
    for _ in range(STREAMS):
        await leave(async_client)

    completion = await async_client.chat.completions.create(model="chat", messages=user("still there?"))

    assert completion.text == "Echo: still there?"
    assert len(emu.requests) == STREAMS + 1


@ONE_ROUTE
def test_sync_stream_abandoned_without_close_returns_its_connection(
    sync_client: GrokClient, emu: FoundryEmulator
) -> None:
    emu.reply(LONG_REPLY, times=3 * POOL)
    gc.disable()  # what matters is whether the connection comes back without the cyclic GC
    try:
        for _ in range(3 * POOL):
            stream = sync_client.chat.completions.create(model="chat", messages=user(), stream=True)
            for _ in stream:
                break
            response = stream.response
            del stream
            assert response.is_closed  # by reference counting alone
        # The pool holds POOL connections and there were 3 * POOL streams: this call needs them given back.
        completion = sync_client.chat.completions.create(model="chat", messages=user("still there?"))
    finally:
        gc.enable()

    assert completion.text == "Echo: still there?"
    assert len(emu.requests) == 3 * POOL + 1


@ONE_ROUTE
async def test_async_stream_abandoned_without_close_returns_its_connection(
    async_client: AsyncGrokClient, emu: FoundryEmulator
) -> None:
    # A stalled body keeps the response incomplete, so aiohttp cannot release the connection on its own.
    emu.reply(LONG_REPLY, times=3 * POOL)
    emu.fault(Fault.stall(after_chunks=3, seconds=5.0), times=3 * POOL)
    gc.disable()
    try:
        for _ in range(3 * POOL):
            stream = await async_client.chat.completions.create(model="chat", messages=user(), stream=True)
            async for _ in stream:
                break
            del stream
        # The pool holds POOL connections and there were 3 * POOL stalled streams: this call needs them given back.
        completion = await async_client.chat.completions.create(model="chat", messages=user("still there?"))
    finally:
        gc.enable()

    assert completion.text == "Echo: still there?"
    assert len(emu.requests) == 3 * POOL + 1


@pytest.mark.parametrize("how", ["create", "stream"])
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_cancelling_a_task_mid_stream_closes_its_connection(
    target: Target, route: str, emu: FoundryEmulator, transport: str, how: str
) -> None:
    emu.reply(LONG_REPLY)
    emu.fault(Fault.stall(after_chunks=3, seconds=5.0))  # the server holds the stream open
    options = {**target.client_options(route), "timeout": POOL_TIMEOUT}
    async with async_http(transport, 1) as http, AsyncGrokClient(**options, http_client=http) as client:
        first_chunk = asyncio.Event()
        responses: list[httpx.Response] = []

        async def consume() -> None:
            if how == "create":
                stream = await client.chat.completions.create(model="chat", messages=user(), stream=True)
                responses.append(stream.response)
                async for _ in stream:
                    first_chunk.set()
            else:
                async with client.chat.completions.stream(model="chat", messages=user()) as managed:
                    responses.append(managed.response)
                    async for _ in managed:
                        first_chunk.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first_chunk.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert responses[0].is_closed
        # The pool holds one connection: this only succeeds if the cancelled stream gave it back.
        completion = await client.chat.completions.create(model="chat", messages=user("next"))
        assert completion.text == "Echo: next"


async def test_default_async_client_runs_on_aiohttp(aclient: AsyncGrokClient, emu: FoundryEmulator) -> None:
    # The whole suite's async tests use this default client; make sure it really is the aiohttp transport.
    from grok_azure._aiohttp_transport import AiohttpTransport as SdkAiohttpTransport

    transport = aclient._http._transport
    assert isinstance(transport, SdkAiohttpTransport)
    assert (await aclient.chat.completions.create(model="chat", messages=user("hi"))).text == "Echo: hi"


async def test_concurrent_requests_on_one_async_client_get_their_own_answers(
    aclient: AsyncGrokClient, emu: FoundryEmulator
) -> None:
    async def plain(i: int) -> str:
        return (await aclient.chat.completions.create(model="chat", messages=user(f"plain {i}"))).text

    async def streamed(i: int) -> str:
        async with aclient.chat.completions.stream(model="chat", messages=user(f"streamed {i}")) as stream:
            return "".join([text async for text in stream.text_stream])

    answers = await asyncio.gather(*(plain(i) for i in range(25)), *(streamed(i) for i in range(25)))

    assert answers == [f"Echo: plain {i}" for i in range(25)] + [f"Echo: streamed {i}" for i in range(25)]


def test_threads_sharing_one_sync_client_get_their_own_answers(
    client: GrokClient, emu: FoundryEmulator
) -> None:
    def streamed(i: int) -> str:
        with client.chat.completions.stream(model="chat", messages=user(f"thread {i}")) as stream:
            return "".join(stream.text_stream)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(streamed, range(40)))

    assert answers == [f"Echo: thread {i}" for i in range(40)]


def test_emulator_stops_writing_a_stream_the_client_left(
    client: GrokClient, emu: FoundryEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.reply(" ".join(f"word{i}" for i in range(2000)))
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        with client.chat.completions.create(model="chat", messages=user(), stream=True) as stream:
            next(iter(stream))
        # The server's loop is free again only once that stream's handler has finished.
        client.chat.completions.create(model="chat", messages=user())

    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
