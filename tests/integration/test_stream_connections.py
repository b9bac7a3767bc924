"""Streams over real sockets: the inline loop, and connection reuse counted on the wire.

A loopback relay in front of the emulator counts the TCP connections the client opens. A stream read to its
``[DONE]`` must leave its connection reusable, so sequential streams and calls share one; a stream left early,
or dropped half-read, must give its connection up (closed, since its body was not read) without leaking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from grok_azure import AsyncGrokClient, GrokClient
from grok_azure.testing import FoundryEmulator

from ._support import Target, user

pytestmark = pytest.mark.integration

ROUNDS = 10
LONG_REPLY = " ".join(f"word{i}" for i in range(40))


class CountingRelay:
    """A TCP relay on 127.0.0.1 to ``upstream`` that counts the connections it accepts."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self.accepted += 1
                self._sockets += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()


@pytest.fixture
def relay(emu: FoundryEmulator) -> Iterator[CountingRelay]:
    url = httpx.URL(emu.url)
    counting = CountingRelay((url.host, url.port or 80))
    yield counting
    counting.close()


def options(target: Target, relay: CountingRelay) -> dict[str, object]:
    return {**target.client_options("openai_v1"), "endpoint": relay.url}


@pytest.fixture
def sync_client(target: Target, relay: CountingRelay) -> Iterator[GrokClient]:
    with GrokClient(**options(target, relay)) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture(params=["aiohttp", "httpx"])
async def async_client(
    request: pytest.FixtureRequest, target: Target, relay: CountingRelay
) -> AsyncIterator[AsyncGrokClient]:
    """The default async client (aiohttp), and one on httpx's own async pool."""
    http = None if request.param == "aiohttp" else httpx.AsyncClient()
    async with AsyncGrokClient(**options(target, relay), http_client=http) as client:  # type: ignore[arg-type]
        yield client
    if http is not None:
        await http.aclose()


# --- the inline loop over real HTTP --------------------------------------------------------------------------------


def test_inline_loop_over_create_reads_the_whole_stream(client: GrokClient, deployment: str) -> None:
    pieces = []
    for chunk in client.chat.completions.create(model=deployment, messages=user("inline"), stream=True):
        gc.collect()  # the loop alone must keep the stream alive
        pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "".join(pieces).strip()


async def test_async_inline_loop_over_create_reads_the_whole_stream(
    aclient: AsyncGrokClient, deployment: str
) -> None:
    pieces = []
    async for chunk in await aclient.chat.completions.create(
        model=deployment, messages=user("inline"), stream=True
    ):
        gc.collect()
        await asyncio.sleep(0)
        pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "".join(pieces).strip()


def test_inline_loop_gets_the_emulators_exact_answer(client: GrokClient, emu: FoundryEmulator) -> None:
    emu.reply(LONG_REPLY)
    text = "".join(
        choice.delta.content or ""
        for chunk in client.chat.completions.create(model="chat", messages=user(), stream=True)
        for choice in chunk.choices
    )
    assert text == LONG_REPLY


def test_inline_loop_with_the_plugins_emulator_fixture(foundry_emulator: FoundryEmulator) -> None:
    model = next(iter(foundry_emulator.deployments))
    with GrokClient(endpoint=foundry_emulator.url, api_key=foundry_emulator.api_key) as client:
        text = "".join(
            choice.delta.content or ""
            for chunk in client.chat.completions.create(model=model, messages=user("plugin"), stream=True)
            for choice in chunk.choices
        )
    assert text.endswith("plugin")


async def test_async_inline_loop_with_the_plugins_emulator_fixture(foundry_emulator: FoundryEmulator) -> None:
    model = next(iter(foundry_emulator.deployments))
    pieces = []
    async with AsyncGrokClient(endpoint=foundry_emulator.url, api_key=foundry_emulator.api_key) as client:
        async for chunk in await client.chat.completions.create(
            model=model, messages=user("plugin"), stream=True
        ):
            pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "".join(pieces).endswith("plugin")


# --- one connection for sequential streams and calls ---------------------------------------------------------------


def test_sequential_streams_and_calls_share_one_connection(
    sync_client: GrokClient, relay: CountingRelay
) -> None:
    for i in range(ROUNDS):
        text = "".join(
            choice.delta.content or ""
            for chunk in sync_client.chat.completions.create(
                model="chat", messages=user(f"s{i}"), stream=True
            )
            for choice in chunk.choices
        )
        assert text == f"Echo: s{i}"
        with sync_client.chat.completions.stream(model="chat", messages=user(f"m{i}")) as stream:
            assert "".join(stream.text_stream) == f"Echo: m{i}"
        assert sync_client.chat.completions.create(model="chat", messages=user(f"c{i}")).text == f"Echo: c{i}"

    assert relay.accepted == 1


async def test_async_sequential_streams_and_calls_share_one_connection(
    async_client: AsyncGrokClient, relay: CountingRelay
) -> None:
    for i in range(ROUNDS):
        pieces = []
        async for chunk in await async_client.chat.completions.create(
            model="chat", messages=user(f"s{i}"), stream=True
        ):
            pieces.extend(choice.delta.content or "" for choice in chunk.choices)
        assert "".join(pieces) == f"Echo: s{i}"
        async with async_client.chat.completions.stream(model="chat", messages=user(f"m{i}")) as stream:
            assert "".join([text async for text in stream.text_stream]) == f"Echo: m{i}"
        completion = await async_client.chat.completions.create(model="chat", messages=user(f"c{i}"))
        assert completion.text == f"Echo: c{i}"

    assert relay.accepted == 1


# --- streams left early or dropped: their connection is given up, not leaked ------------------------------------


def test_streams_left_early_each_give_up_their_connection(
    target: Target, relay: CountingRelay, emu: FoundryEmulator
) -> None:
    emu.reply(LONG_REPLY, times=ROUNDS)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with (
        httpx.Client(limits=limits, timeout=httpx.Timeout(10.0, pool=2.0)) as http,
        GrokClient(**options(target, relay), http_client=http) as client,  # type: ignore[arg-type]
    ):
        for _ in range(ROUNDS):
            with client.chat.completions.create(model="chat", messages=user(), stream=True) as stream:
                next(stream)
        # One connection allowed: every early exit must have released it, or this would wait for the pool.
        assert client.chat.completions.create(model="chat", messages=user("after")).text == "Echo: after"

    # Each early exit gave its connection up (closed, unless its body happened to be read already).
    assert 1 <= relay.accepted <= ROUNDS + 1


def test_a_dropped_half_read_stream_gives_up_its_connection_without_gc(
    target: Target, relay: CountingRelay, emu: FoundryEmulator
) -> None:
    emu.reply(LONG_REPLY, times=ROUNDS)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with (
        httpx.Client(limits=limits, timeout=httpx.Timeout(10.0, pool=2.0)) as http,
        GrokClient(**options(target, relay), http_client=http) as client,  # type: ignore[arg-type]
    ):
        gc.disable()
        try:
            for _ in range(ROUNDS):
                stream = client.chat.completions.create(model="chat", messages=user(), stream=True)
                next(stream)
                response = stream.response
                del stream
                assert response.is_closed
            assert client.chat.completions.create(model="chat", messages=user("after")).text == "Echo: after"
        finally:
            gc.enable()

    assert 1 <= relay.accepted <= ROUNDS + 1


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_async_dropped_half_read_stream_gives_up_its_connection_without_gc(
    target: Target, relay: CountingRelay, emu: FoundryEmulator, transport: str
) -> None:
    emu.reply(LONG_REPLY, times=ROUNDS)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    http = httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits)
        if transport == "aiohttp"
        else httpx.AsyncHTTPTransport(limits=limits),
        timeout=httpx.Timeout(10.0, pool=2.0),
    )
    async with http, AsyncGrokClient(**options(target, relay), http_client=http) as client:  # type: ignore[arg-type]
        gc.disable()
        try:
            for _ in range(ROUNDS):
                stream = await client.chat.completions.create(model="chat", messages=user(), stream=True)
                await stream.__anext__()
                response = stream.response
                del stream
                for _ in range(50):  # asyncio closes a dropped async generator on the loop: give it turns
                    if response.is_closed:
                        break
                    await asyncio.sleep(0)
                assert response.is_closed
            # One connection allowed: this call only gets one if every dropped stream gave its up.
            completion = await client.chat.completions.create(model="chat", messages=user("after"))
            assert completion.text == "Echo: after"
        finally:
            gc.enable()

    assert 1 <= relay.accepted <= ROUNDS + 1
