"""Benchmark 4: async throughput with a fixed number of requests in flight.

``concurrency`` workers each loop "send, await, check" until the request count or the time budget runs out,
so exactly ``concurrency`` requests are in flight the whole time. Every row gets its own event loop and
client, a warm-up that fills the connection pool, then timed rounds whose median requests/s is reported.
The baselines get a pool as large as the concurrency (so they measure the transport, not a too-small
default); grok_azure and openai run with their defaults, as users get them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from _grok import grok_client_class
from _payloads import ANSWER, API_KEY, MESSAGES, MODEL, OPENAI_PATH, REQUEST
from _report import Row, Section
from _server import ServerHandle

AsyncCall = Callable[[], Awaitable[object]]
AsyncFactory = Callable[[str, int], contextlib.AbstractAsyncContextManager[AsyncCall]]

RAW_AIOHTTP = "aiohttp (raw)"
GROK = "grok_azure AsyncGrokClient (default)"
_HEADERS = {"api-key": API_KEY}
# Above this many in flight, httpx's default pool (20 keep-alive connections) starts churning sockets.
_DEFAULT_POOL_KEEPALIVE = 20
_GRACE_S = 30.0


@contextlib.asynccontextmanager
async def _aiohttp(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def call() -> object:
            async with session.post(url + OPENAI_PATH, json=REQUEST, headers=_HEADERS) as response:
                response.raise_for_status()
                data: Any = await response.json()
            return data["choices"][0]["message"]["content"]

        yield call


def _httpx_call(client: httpx.AsyncClient, url: str) -> AsyncCall:
    async def call() -> object:
        response = await client.post(url + OPENAI_PATH, json=REQUEST, headers=_HEADERS)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return call


def _pool(concurrency: int) -> httpx.Limits:
    return httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)


@contextlib.asynccontextmanager
async def _httpx_native(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    async with httpx.AsyncClient(limits=_pool(concurrency)) as client:
        yield _httpx_call(client, url)


@contextlib.asynccontextmanager
async def _httpx_default(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    async with httpx.AsyncClient() as client:
        yield _httpx_call(client, url)


@contextlib.asynccontextmanager
async def _httpx_aiohttp(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    from httpx_aiohttp import AiohttpTransport

    async with httpx.AsyncClient(transport=AiohttpTransport(limits=_pool(concurrency))) as client:
        yield _httpx_call(client, url)


@contextlib.asynccontextmanager
async def _grok(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    async with grok_client_class("AsyncGrokClient")(endpoint=url, api_key=API_KEY) as client:

        async def call() -> object:
            completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            return completion.choices[0].message.content

        yield call


@contextlib.asynccontextmanager
async def _openai(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    import openai

    async with openai.AsyncOpenAI(base_url=url + "/openai/v1", api_key=API_KEY) as client:

        async def call() -> object:
            completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            return completion.choices[0].message.content

        yield call


@contextlib.asynccontextmanager
async def _azure(url: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    from azure.ai.inference.aio import ChatCompletionsClient
    from azure.core.credentials import AzureKeyCredential

    async with ChatCompletionsClient(
        endpoint=url + "/models", credential=AzureKeyCredential(API_KEY)
    ) as client:

        async def call() -> object:
            completion = await client.complete(messages=MESSAGES, model=MODEL)
            return completion.choices[0].message.content

        yield call


# (name, factory, smallest concurrency at which the row says something new)
_CLIENTS: tuple[tuple[str, AsyncFactory, int], ...] = (
    (RAW_AIOHTTP, _aiohttp, 1),
    ("httpx AsyncClient (pool = in flight)", _httpx_native, 1),
    ("httpx AsyncClient (default pool)", _httpx_default, _DEFAULT_POOL_KEEPALIVE + 1),
    ("httpx + AiohttpTransport (pool = in flight)", _httpx_aiohttp, 1),
    (GROK, _grok, 1),
    ("openai AsyncOpenAI (default)", _openai, 1),
    ("azure-ai-inference aio (default)", _azure, 1),
)


async def _drive(call: AsyncCall, total: int, concurrency: int, budget_s: float) -> float:
    """Send ``total`` requests (or as many as fit in ``budget_s``) ``concurrency`` at a time; return req/s."""
    remaining, done = total, 0
    deadline = time.perf_counter() + budget_s

    async def worker() -> None:
        nonlocal remaining, done
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            answer = await call()
            if answer != ANSWER:
                raise AssertionError(f"decoded answer differs from the canned one: {str(answer)[:60]!r}")
            done += 1

    start = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        # The grace period lets in-flight requests finish; a hung client fails the row instead of the run.
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget_s + _GRACE_S)
    except asyncio.TimeoutError:
        raise RuntimeError(
            f"requests still in flight {_GRACE_S:.0f} s after the round's time budget"
        ) from None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return done / (time.perf_counter() - start)


async def _row(
    factory: AsyncFactory, server: ServerHandle, concurrency: int, total: int, rounds: int, budget_s: float
) -> tuple[list[float], str]:
    async with factory(server.url, concurrency) as call:
        # The warm-up fills the connection pool; its rate is reported too, because some clients stall for
        # seconds while opening many connections at once and steady-state rounds alone would hide that.
        cold = await _drive(call, concurrency * 2, concurrency, budget_s)
        cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
        samples = [await _drive(call, total, concurrency, budget_s) for _ in range(rounds)]
        cpu_after, wall = server.cpu_seconds(), time.perf_counter() - wall_before
    note = f"cold start {cold:.0f} r/s"
    if cpu_before is not None and cpu_after is not None:
        note += f", server CPU {100 * (cpu_after - cpu_before) / wall:.0f}%"
    return samples, note


def run_throughput(
    server: ServerHandle, concurrency: int, total: int, rounds: int, budget_s: float
) -> Section:
    """One section per concurrency level; ``budget_s`` caps the warm-up and each timed round."""
    section = Section(
        f"async_{concurrency}",
        f"4. Async throughput, {concurrency} requests in flight, requests/s (higher is better)",
        "req/s",
        RAW_AIOHTTP,
        GROK if concurrency >= 256 else None,
        0.3 if concurrency >= 256 else None,
    )
    for name, factory, min_concurrency in _CLIENTS:
        if concurrency < min_concurrency:
            continue
        row = Row(name)
        section.rows.append(row)
        try:
            row.samples, row.note = asyncio.run(_row(factory, server, concurrency, total, rounds, budget_s))
        except Exception as exc:
            row.fail(exc)
    section.finish()
    return section
