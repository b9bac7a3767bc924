"""Benchmark 4: async throughput with a fixed number of requests in flight.

``concurrency`` workers each loop "send, await, check" until the request count or the time budget runs out,
so exactly ``concurrency`` requests are in flight the whole time. Every row gets its own client and a warm-up
that fills its connection pool, then timed rounds whose median requests/s is reported. The target's two rows
(raw aiohttp and grok_azure) alternate rounds in one loop (see ``_rows``), 27 of them where the target applies
(see ``run_throughput``); every other row runs alone. The baselines get a pool as large as the concurrency (so
they measure the transport, not a too-small default); grok_azure and openai run with their defaults, as users get
them.
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
# Issue 12: AsyncGrokClient at 256 in flight serves at least this share of raw aiohttp's requests/s.
TARGET_RATIO = 0.6
_PAIRED = frozenset({RAW_AIOHTTP, GROK})


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


async def _rows(
    clients: list[tuple[str, AsyncFactory]],
    server: ServerHandle,
    concurrency: int,
    total: int,
    rounds: int,
    budget_s: float,
) -> dict[str, tuple[list[float], str] | BaseException]:
    """The timed rounds of a group of rows, interleaved: round 1 of each row, then round 2 in reverse order...

    The machine is shared, so its speed drifts over a run; measuring a client and its baseline one after the
    other would put that drift between them. Interleaved, both see the same conditions, round by round. The
    group's clients stay open together in one event loop.
    """
    results: dict[str, tuple[list[float], str] | BaseException] = {}
    calls: dict[str, AsyncCall] = {}
    colds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, factory in clients:
            try:
                call = await stack.enter_async_context(factory(server.url, concurrency))
                # The warm-up fills the connection pool; its rate is reported too, because some clients stall
                # for seconds while opening many connections at once and steady-state rounds would hide that.
                colds[name] = await _drive(call, concurrency * 2, concurrency, budget_s)
            except Exception as exc:
                results[name] = exc
            else:
                calls[name] = call
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for index in range(rounds):
            for name in list(calls) if index % 2 == 0 else list(reversed(calls)):
                if name in results:
                    continue
                cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
                try:
                    samples[name].append(await _drive(calls[name], total, concurrency, budget_s))
                except Exception as exc:
                    results[name] = exc
                    continue
                cpu_after = server.cpu_seconds()
                wall[name] = wall.get(name, 0.0) + time.perf_counter() - wall_before
                if cpu_before is not None and cpu_after is not None:
                    cpu[name] = cpu.get(name, 0.0) + cpu_after - cpu_before
    for name in calls:
        if name not in results:
            note = f"cold start {colds[name]:.0f} r/s"
            if name in cpu:
                note += f", server CPU {100 * cpu[name] / wall[name]:.0f}%"
            results[name] = (samples[name], note)
    return results


def run_throughput(
    server: ServerHandle,
    concurrency: int,
    total: int,
    rounds: int,
    budget_s: float,
    target_rounds: int | None = None,
) -> Section:
    """One section per concurrency level; ``budget_s`` caps the warm-up and each timed round.

    ``target_rounds``: the rounds of the target's two rows where the target applies (256 in flight; default
    ``rounds``). One round's ratio of the two rows spreads widely (its quartiles 0.6-0.8 in one run), so the
    median of 9 rounds moved by about 0.04 (one standard deviation) from run to run, and a client sitting a few
    hundredths above the target failed every third run; 27 rounds cut that to about 0.02.
    """
    section = Section(
        f"async_{concurrency}",
        f"4. Async throughput, {concurrency} requests in flight, requests/s (higher is better)",
        "req/s",
        RAW_AIOHTTP,
        GROK if concurrency >= 256 else None,
        TARGET_RATIO if concurrency >= 256 else None,
    )
    clients = [(name, factory) for name, factory, smallest in _CLIENTS if concurrency >= smallest]
    # The target's two rows share a loop and alternate rounds; every other row runs alone, in its own loop, so
    # no client's objects (openai's are many) weigh on another's garbage collections.
    groups = [[c for c in clients if c[0] in _PAIRED]] + [[c] for c in clients if c[0] not in _PAIRED]
    results: dict[str, tuple[list[float], str] | BaseException] = {}
    for group in groups:
        paired = group is groups[0] and section.target_limit is not None
        group_rounds = target_rounds if paired and target_rounds is not None else rounds
        try:
            results.update(asyncio.run(_rows(group, server, concurrency, total, group_rounds, budget_s)))
        except Exception as exc:  # the harness itself failed: the group's rows say so
            results.update(dict.fromkeys((name for name, _ in group), exc))
    for name, _ in clients:
        row = Row(name)
        section.rows.append(row)
        result = results.get(name)
        if isinstance(result, BaseException):
            row.fail(result)
        elif result is not None:
            row.samples, row.note = result
    section.finish()
    return section
