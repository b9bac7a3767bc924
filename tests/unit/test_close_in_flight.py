"""``close()`` ends the reads in progress: a body half sent, or a stream between events, read in another thread
or task, ends at once with a typed error rather than waiting for its read timeout (or, with aiohttp, for ever).

The read timeout here is a minute; each reader gets far less to end before the test calls it hung."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from grok_azure import (
    AsyncGrokClient,
    ClientClosedError,
    GrokClient,
    GrokError,
    StreamInterruptedError,
)

from ._loopback import LoopbackServer, SeenRequest
from .conftest import KEY, chunk, sse

MESSAGES = [{"role": "user", "content": "Hi"}]
HUNG = 15.0  # seconds a reader gets to end after close(): far under the read timeout
OPTIONS: dict[str, Any] = {"api_key": KEY, "timeout": 60.0, "max_retries": 0, "validate": False}


def _stalling(content_type: bytes, first: bytes) -> Any:
    """Headers and ``first``, then nothing more (until the test's server closes)."""

    def respond(request: SeenRequest) -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n" % content_type
        yield b"%x\r\n%s\r\n" % (len(first), first)
        while True:
            time.sleep(0.2)
            yield b""  # sends nothing; fails (and ends this thread) once the server closed the connection

    return respond


BODY = _stalling(b"application/json", b'{"id": "x", "choices": [')
STREAM = _stalling(b"text/event-stream", sse(chunk("Hello", role="assistant")))


def _read_sync(client: GrokClient, stream: bool, started: threading.Event) -> None:
    if not stream:
        started.set()
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        return
    for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
        started.set()


@pytest.mark.parametrize(("stream", "expected"), [(False, ClientClosedError), (True, StreamInterruptedError)])
def test_sync_close_from_another_thread_ends_the_read(stream: bool, expected: type[GrokError]) -> None:
    outcome: list[BaseException] = []
    started = threading.Event()
    with LoopbackServer(STREAM if stream else BODY) as server:
        client = GrokClient(endpoint=server.url, **OPTIONS)

        def reader() -> None:
            try:
                _read_sync(client, stream, started)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        assert started.wait(HUNG)
        time.sleep(0.3)  # the reader is blocked in a read now
        client.close()
        thread.join(HUNG)
        assert not thread.is_alive(), "the read went on after close()"
    assert len(outcome) == 1
    assert isinstance(outcome[0], expected)


async def _read_async(client: AsyncGrokClient, stream: bool, started: asyncio.Event) -> None:
    if not stream:
        started.set()
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        return
    async for _ in await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
        started.set()


@pytest.mark.parametrize(("stream", "expected"), [(False, ClientClosedError), (True, StreamInterruptedError)])
def test_async_close_from_another_task_ends_the_read(stream: bool, expected: type[GrokError]) -> None:
    async def run() -> BaseException | None:
        with LoopbackServer(STREAM if stream else BODY) as server:
            client = AsyncGrokClient(endpoint=server.url, **OPTIONS)
            started = asyncio.Event()
            task = asyncio.create_task(_read_async(client, stream, started))
            await asyncio.wait_for(started.wait(), HUNG)
            await asyncio.sleep(0.3)  # the reader is awaiting the next piece now
            await client.close()
            done, _ = await asyncio.wait({task}, timeout=HUNG)
            if not done:
                task.cancel()
                pytest.fail("the read went on after close()")
            return task.exception()

    error = asyncio.run(run())
    assert isinstance(error, expected)
