"""The deadline over real sockets: a body that drips past it, an upload the server never reads, a token that takes
longer than the budget, and close() during a retry wait, each with both clients.

The bounds asserted are the behaviour under test (the call ends at its deadline), with a wide margin: without the
cut-off each case runs at least twice as long, or until the test's own guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from grok_azure import APITimeoutError, AsyncGrokClient, ClientClosedError, GrokClient, RetryPolicy

from ._calls import create_with
from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
KINDS = ("sync", "async")


def call(kind: str, endpoint: str, **options: Any) -> Any:
    """One non-streamed call, as users write it, with either client (``create=``: more arguments of the call)."""
    more = options.pop("create", {})
    return create_with(kind, {"endpoint": endpoint, **options}, **more)


def dripping(request: SeenRequest) -> Iterator[bytes]:
    """A 200 whose headers come after 0.8 s and whose body then comes a byte every 0.8 s (each read is in time)."""
    time.sleep(0.8)
    body = json.dumps(completion_body()).encode()
    yield b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    for byte in body[:5]:
        yield bytes([byte])
        time.sleep(0.8)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_dripping_past_the_deadline_is_cut_off_at_it(kind: str) -> None:
    with LoopbackServer(dripping) as server:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"deadline=1 s ran out reading the body"):
            call(kind, server.url, api_key=KEY, timeout=30, deadline=1.0)
        # Each read was bounded by the 1 s left when the attempt started; the next byte came at 1.6 s.
        assert time.monotonic() - started < 1.5


def dripping_until_close(request: SeenRequest) -> Iterator[bytes]:
    """A 200 whose body has no length: it ends when the server closes the connection; a byte every 50 ms."""
    request.close = True
    yield b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
    for byte in json.dumps(completion_body()).encode():
        yield bytes([byte])
        time.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_ended_by_the_connection_is_not_taken_as_whole_when_cut(kind: str) -> None:
    # The cut shuts the socket down, which such a body reads as its end: the deadline's error, not half a body.
    expected = r"deadline=0.5 s ran out reading the body"
    with LoopbackServer(dripping_until_close) as server, pytest.raises(APITimeoutError, match=expected):
        call(kind, server.url, api_key=KEY, timeout=30, deadline=0.5)


@contextlib.contextmanager
def never_reading_server() -> Iterator[str]:
    """Accepts connections and never reads from them: an upload fills the socket buffers and blocks."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_bounds_an_upload_the_server_never_reads(kind: str) -> None:
    big = [{"role": "user", "content": "x" * (24 << 20)}]  # more than loopback's socket buffers hold
    with never_reading_server() as url:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"deadline=0.5 s ran out"):
            call(kind, url, api_key=KEY, timeout=30, deadline=0.5, validate=False, create={"messages": big})
        assert time.monotonic() - started < 5  # aiohttp bounds no write: without the SDK's bound, for ever


class SlowTokenCredential:
    """An Entra ID credential whose token takes longer to get than the call's whole budget."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        time.sleep(0.3)
        return AccessToken("slow-token", int(time.time()) + 3600)


class SlowAsyncTokenCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        await asyncio.sleep(0.3)
        return AccessToken("slow-token", int(time.time()) + 3600)

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("kind", KINDS)
def test_no_attempt_is_sent_once_the_token_took_the_whole_deadline(kind: str) -> None:
    credential = SlowTokenCredential() if kind == "sync" else SlowAsyncTokenCredential()
    with LoopbackServer(lambda request: json_response(request, completion_body())) as server:
        with pytest.raises(APITimeoutError, match=r"deadline=0.2 s ran out before the request could be sent"):
            call(kind, server.url, credential=credential, deadline=0.2)
        assert server.requests == []


def retry_later(request: SeenRequest) -> list[bytes]:
    return json_response(request, {"error": {"code": "busy"}}, status=503, headers={"retry-after": "30"})


def on_a_thread(client: GrokClient) -> tuple[threading.Thread, list[BaseException]]:
    """A call the way a worker thread makes it; what it raised goes in the list."""
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=send, daemon=True)
    caller.start()
    return caller, outcome


def test_close_from_another_thread_ends_a_sync_retry_wait() -> None:
    with LoopbackServer(retry_later) as server:
        client = GrokClient(endpoint=server.url, api_key=KEY, retry=RetryPolicy(max_server_wait=60))
        caller, outcome = on_a_thread(client)
        while not server.requests:  # the first attempt got its 503: the call now waits 30 s to retry
            time.sleep(0.01)
        time.sleep(0.1)
        client.close()
        caller.join(10)
        assert not caller.is_alive()  # the wait ended at close(), not after 30 s
    assert len(outcome) == 1
    assert isinstance(outcome[0], ClientClosedError)
    assert "earlier attempts were sent" in str(outcome[0])
    assert len(server.requests) == 1


async def test_close_from_another_task_ends_an_async_retry_wait() -> None:
    with LoopbackServer(retry_later) as server:
        client = AsyncGrokClient(endpoint=server.url, api_key=KEY, retry=RetryPolicy(max_server_wait=60))
        task = asyncio.ensure_future(client.chat.completions.create(model="grok-4", messages=MESSAGES))
        while not server.requests:  # noqa: ASYNC110 - the server is a thread: no event of the loop's to await
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        await client.close()
        with pytest.raises(ClientClosedError):
            await asyncio.wait_for(task, 10)  # ended at close(), not after the 30 s wait
        assert len(server.requests) == 1


def test_a_close_just_before_the_wait_skips_it() -> None:
    """close() between the failed attempt and its wait (here from on_retry, which runs just before the wait)."""
    with LoopbackServer(retry_later) as server:
        original = GrokClient(endpoint=server.url, api_key=KEY)

        def close_first(attempt: int, error: Exception, wait: float) -> None:
            original.close()

        client = original.with_options(retry=RetryPolicy(max_server_wait=60, on_retry=close_first))
        caller, outcome = on_a_thread(client)
        caller.join(10)
        assert not caller.is_alive()  # the 30 s wait never started
        assert len(server.requests) == 1
    assert len(outcome) == 1
    assert isinstance(outcome[0], ClientClosedError)
