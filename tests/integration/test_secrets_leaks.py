"""Over real loopback sockets: refused connections, resets mid-body and mid-stream, and stalls leak no credential.

Each test makes the failure with a tiny server of its own on 127.0.0.1 (accept, read the request, send part of a
response, then reset the connection with SO_LINGER 0), calls the SDK the way users do, and walks everything
reachable from the exception with :func:`assert_no_secret`, chained causes and ``capture_locals`` renderings
included. Secrets are module constants: the walk renders the test's own frame too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AsyncGrokClient,
    GrokClient,
    StreamInterruptedError,
)

from ..unit.test_secrets_walk import assert_no_secret

pytestmark = pytest.mark.integration

KEY = "sk-loopback-SECRET-key-0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.loopback-SECRET-token"
HEADER_SECRET = "loopback-header-SECRET-abcdef"
QUERY_SECRET = "loopback-query-SECRET-987654"
SECRETS = (KEY, TOKEN, HEADER_SECRET, QUERY_SECRET)
MESSAGES = [{"role": "user", "content": "Hi"}]
SHORT = httpx.Timeout(5.0, read=0.5)

Behaviour = Callable[[socket.socket], None]


def _read_request(conn: socket.socket) -> None:
    """Read one request (headers and a Content-Length body) so the client is done sending."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            return
        body += piece


def _reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a connection reset by peer.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def partial_body(conn: socket.socket) -> None:
    """A non-streamed 200 whose body stops after a few bytes of the promised length, then a reset."""
    _read_request(conn)
    conn.sendall(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"id": "x", '
    )
    time.sleep(0.05)
    _reset(conn)


def partial_stream(conn: socket.socket) -> None:
    """A chunked event stream that delivers two chunks and is then reset before [DONE]."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    for word in ("Hel", "lo"):
        event = (
            b'data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",'
            b'"choices":[{"index":0,"delta":{"content":"' + word.encode() + b'"}}]}\n\n'
        )
        conn.sendall(f"{len(event):x}\r\n".encode() + event + b"\r\n")
    time.sleep(0.05)
    _reset(conn)


def stall(conn: socket.socket) -> None:
    """Read the request and answer nothing until the client gives up."""
    _read_request(conn)
    with contextlib.suppress(OSError):
        conn.recv(1)  # returns when the client closes
    conn.close()


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and runs ``behaviour`` on each, in a thread."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5.0)
            with contextlib.suppress(OSError):
                self._behaviour(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@contextlib.contextmanager
def serving(behaviour: Behaviour) -> Iterator[str]:
    server = LoopbackServer(behaviour)
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def refused_url() -> str:
    """A loopback port nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class FakeAsyncCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)

    async def close(self) -> None:
        pass


def _key_client(url: str) -> GrokClient:
    return GrokClient(
        endpoint=url,
        api_key=KEY,
        api_key_header="X-Custom-Key",
        default_headers={"X-Default-Secret": HEADER_SECRET},
        timeout=SHORT,
    )


def _async_key_client(url: str) -> AsyncGrokClient:
    return AsyncGrokClient(
        endpoint=url,
        api_key=KEY,
        api_key_header="X-Custom-Key",
        default_headers={"X-Default-Secret": HEADER_SECRET},
        timeout=SHORT,
    )


@pytest.fixture
async def reset_mid_body() -> AsyncIterator[str]:
    with serving(partial_body) as url:
        yield url


@pytest.fixture
async def reset_mid_stream() -> AsyncIterator[str]:
    with serving(partial_stream) as url:
        yield url


@pytest.fixture
async def stalled() -> AsyncIterator[str]:
    with serving(stall) as url:
        yield url


# --- connection refused ---------------------------------------------------------------------------------------


def test_connection_refused_leaks_nothing(refused_url: str) -> None:
    with _key_client(refused_url) as client, pytest.raises(APIConnectionError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_query={"sig": QUERY_SECRET})
    assert_no_secret(caught.value, *SECRETS)


async def test_async_connection_refused_leaks_nothing(refused_url: str) -> None:
    async with _async_key_client(refused_url) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.chat.completions.create(
                model="m", messages=MESSAGES, extra_query={"sig": QUERY_SECRET}
            )
    assert_no_secret(caught.value, *SECRETS)


def test_connection_refused_with_a_token_leaks_nothing(refused_url: str) -> None:
    with (
        GrokClient(endpoint=refused_url, credential=FakeCredential(), timeout=SHORT) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert_no_secret(caught.value, TOKEN)


async def test_async_connection_refused_with_a_token_leaks_nothing(refused_url: str) -> None:
    async with AsyncGrokClient(
        endpoint=refused_url, credential=FakeAsyncCredential(), timeout=SHORT
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert_no_secret(caught.value, TOKEN)


# --- reset in the middle of a non-streamed body ------------------------------------------------------------


def test_reset_mid_body_leaks_nothing(reset_mid_body: str) -> None:
    with _key_client(reset_mid_body) as client, pytest.raises(APIConnectionError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_query={"sig": QUERY_SECRET})
    assert_no_secret(caught.value, *SECRETS)


async def test_async_reset_mid_body_leaks_nothing(reset_mid_body: str) -> None:
    async with _async_key_client(reset_mid_body) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.chat.completions.create(
                model="m", messages=MESSAGES, extra_query={"sig": QUERY_SECRET}
            )
    assert_no_secret(caught.value, *SECRETS)


# --- reset in the middle of a stream -----------------------------------------------------------------------


def test_reset_mid_stream_leaks_nothing(reset_mid_stream: str) -> None:
    with _key_client(reset_mid_stream) as client, pytest.raises(StreamInterruptedError) as caught:
        for _chunk in client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, extra_query={"sig": QUERY_SECRET}
        ):
            pass
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hello"
    assert_no_secret(caught.value, *SECRETS)


async def test_async_reset_mid_stream_leaks_nothing(reset_mid_stream: str) -> None:
    async with AsyncGrokClient(
        endpoint=reset_mid_stream, credential=FakeAsyncCredential(), timeout=SHORT
    ) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            async for _chunk in await client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True
            ):
                pass
    assert_no_secret(caught.value, TOKEN)


def test_reset_mid_stream_helper_leaks_nothing(reset_mid_stream: str) -> None:
    with (
        GrokClient(endpoint=reset_mid_stream, credential=FakeCredential(), timeout=SHORT) as client,
        pytest.raises(StreamInterruptedError) as caught,
        client.chat.completions.stream(model="m", messages=MESSAGES) as stream,
    ):
        for _text in stream.text_stream:
            pass
    assert_no_secret(caught.value, TOKEN)


# --- timeouts ----------------------------------------------------------------------------------------------


def test_timeout_leaks_nothing(stalled: str) -> None:
    with _key_client(stalled) as client, pytest.raises(APITimeoutError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_query={"sig": QUERY_SECRET})
    assert_no_secret(caught.value, *SECRETS)


async def test_async_timeout_with_a_token_leaks_nothing(stalled: str) -> None:
    async with AsyncGrokClient(endpoint=stalled, credential=FakeAsyncCredential(), timeout=SHORT) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert_no_secret(caught.value, TOKEN)
