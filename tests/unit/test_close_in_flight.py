"""``close()`` ends the reads in progress: a body half sent, or a stream between events, read in another thread
or task, ends at once with a typed error rather than waiting for its read timeout (or, with aiohttp, for ever).

The read timeout here is a minute; each reader gets far less to end before the test calls it hung."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from grok_azure import (
    AsyncGrokClient,
    ClientClosedError,
    GrokClient,
    StreamClosedError,
)
from grok_azure._client import _Lifecycle

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import KEY, chunk, completion_body, sse

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


def _close_under_a_reader(client: GrokClient, stream: bool) -> BaseException | None:
    """Read in another thread until blocked, then ``client.close()`` here: what the reader ended with."""
    outcome: list[BaseException] = []
    started = threading.Event()

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
    return outcome[0] if outcome else None


def _check_closed_by_the_client(error: BaseException | None, stream: bool) -> None:
    """A body cut by the client's close() is ClientClosedError; a stream says the client was closed, and keeps the
    chunk that had arrived (not "the connection dropped", which would send the caller looking for a network
    fault)."""
    if not stream:
        assert isinstance(error, ClientClosedError)
        return
    assert isinstance(error, StreamClosedError)
    assert "client was closed" in str(error)
    assert error.partial is not None
    assert error.partial.choices[0].message.content == "Hello"


@pytest.mark.parametrize("stream", [False, True])
def test_sync_close_from_another_thread_ends_the_read(stream: bool) -> None:
    with LoopbackServer(STREAM if stream else BODY) as server:
        error = _close_under_a_reader(GrokClient(endpoint=server.url, **OPTIONS), stream)
    _check_closed_by_the_client(error, stream)


async def _read_async(client: AsyncGrokClient, stream: bool, started: asyncio.Event) -> None:
    if not stream:
        started.set()
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        return
    async for _ in await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
        started.set()


@pytest.mark.parametrize("stream", [False, True])
def test_async_close_from_another_task_ends_the_read(stream: bool) -> None:
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
    _check_closed_by_the_client(error, stream)


def test_sync_close_cuts_a_stream_read_after_it_was_sent_again() -> None:
    # The first answer ends before its first event (the stream is sent again); the second stalls.
    answers: list[int] = []

    def respond(request: SeenRequest) -> Iterator[bytes]:
        answers.append(1)
        if len(answers) == 1:
            request.close = True
            yield b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            return
        yield from STREAM(request)

    with LoopbackServer(respond) as server:
        error = _close_under_a_reader(GrokClient(endpoint=server.url, **{**OPTIONS, "max_retries": 1}), True)
        assert len(answers) == 2
    _check_closed_by_the_client(error, stream=True)


def test_closing_a_client_leaves_alone_what_others_read_on_a_pool_it_was_given() -> None:
    # A's stream ends and its connection goes back to the shared pool; B's slow call then uses it.
    def respond(request: SeenRequest) -> Iterator[bytes]:
        if b'"stream": true' in request.body or b'"stream":true' in request.body:
            body = sse(chunk("hi", role="assistant"), chunk(finish_reason="stop"), "[DONE]")
            yield b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(
                body
            )
            yield body
            return
        time.sleep(1.0)
        yield from json_response(request, completion_body("slow"))

    with LoopbackServer(respond) as server, httpx.Client() as shared:
        a = GrokClient(endpoint=server.url, http_client=shared, **OPTIONS)
        b = GrokClient(endpoint=server.url, http_client=shared, **OPTIONS)
        assert [
            p.choices[0].delta.content
            for p in a.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
        ] == ["hi", None]
        answer: list[str] = []
        thread = threading.Thread(
            target=lambda: answer.append(b.chat.completions.create(model="grok-4", messages=MESSAGES).text)
        )
        thread.start()
        time.sleep(0.3)  # B waits for its answer on the connection A's stream used
        a.close()
        thread.join(HUNG)
        assert answer == ["slow"]
        assert server.connections == 1


def test_close_is_safe_while_other_threads_start_and_end_reads() -> None:
    # Reads in progress (200 streams) while other threads start and end theirs: what close() copies changes under
    # it, in other threads, as fast as they can switch. (A WeakSet failed here: its iteration runs Python code.)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        failures = [_close_under_churn() for _ in range(5)]
    finally:
        sys.setswitchinterval(interval)
    assert failures == [None] * 5


def _close_under_churn() -> BaseException | None:
    lifecycle = _Lifecycle()
    for _ in range(200):
        lifecycle.read(httpx.Response(200))
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            response = httpx.Response(200)
            lifecycle.read(response)
            lifecycle.done(response)

    workers = [threading.Thread(target=churn) for _ in range(8)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(300):
            lifecycle.close()
    except BaseException as exc:
        return exc
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    return None
