"""Hostile streams from a tiny loopback server: keep-alive comments that never turn into events, and a line that
never ends. Each must end in a typed error and a closed connection, with the sync and the async client."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from grok_azure import (
    APITimeoutError,
    AsyncGrokClient,
    ChatCompletionChunk,
    GrokClient,
    ResponseLimits,
    ResponseTooLargeError,
)

pytestmark = pytest.mark.integration

KEY = "hostile-test-key-0123456789"
MESSAGES = [{"role": "user", "content": "hi"}]
FIRST_EVENT = (
    b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}\n\n'
)
# Bounds on the server, so that a client that never gives up cannot hang the suite.
SERVER_SECONDS = 4.0
SERVER_BYTES = 512 * 1024 * 1024

Behaviour = Callable[["HostileServer", socket.socket], None]


class HostileServer:
    """Answers every request with a 200 ``text/event-stream`` head, then lets ``behaviour`` write the body.

    ``hung_up`` is set once the client has closed the connection (a write failed).
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.hung_up = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            if not _read_request(conn):
                return
            self.requests += 1
            try:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                )
                self._behaviour(self, conn)
            except OSError:
                self.hung_up.set()

    def close(self) -> None:
        self._listener.close()


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return False
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            return False
        body += piece
    return True


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def pings(server: HostileServer, conn: socket.socket) -> None:
    """An event, then only ``: ping`` comments every 50 ms (until the client leaves, or the bound)."""
    conn.sendall(chunked(FIRST_EVENT))
    deadline = time.monotonic() + SERVER_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        conn.sendall(chunked(b": ping\n\n"))
    conn.sendall(b"0\r\n\r\n")


def endless_line(server: HostileServer, conn: socket.socket) -> None:
    """An event, then a ``data:`` line that never ends (until the client leaves, or the bound)."""
    conn.sendall(chunked(FIRST_EVENT) + chunked(b"data: "))
    piece = chunked(b"x" * 4096)
    sent = 0
    while sent < SERVER_BYTES:
        conn.sendall(piece)
        sent += len(piece)
    conn.sendall(b"0\r\n\r\n")


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], HostileServer]]:
    servers: list[HostileServer] = []

    def start(behaviour: Behaviour) -> HostileServer:
        servers.append(HostileServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


SHORT_READ = httpx.Timeout(5.0, read=0.3)
SMALL_EVENTS = ResponseLimits(max_event_bytes=1024)


def test_keep_alive_comments_alone_time_out(serve: Callable[[Behaviour], HostileServer]) -> None:
    server = serve(pings)
    received: list[ChatCompletionChunk] = []

    def read(client: GrokClient) -> None:
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(chunk)

    with (
        GrokClient(endpoint=server.url, api_key=KEY, timeout=SHORT_READ) as client,
        pytest.raises(APITimeoutError) as caught,
    ):
        read(client)
    assert len(received) == 1
    assert "stalled" in caught.value.message
    assert server.hung_up.wait(SERVER_SECONDS + 1)


async def test_async_keep_alive_comments_alone_time_out(serve: Callable[[Behaviour], HostileServer]) -> None:
    server = serve(pings)
    received = []
    async with AsyncGrokClient(endpoint=server.url, api_key=KEY, timeout=SHORT_READ) as client:
        with pytest.raises(APITimeoutError):  # noqa: PT012
            async for chunk in await client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True
            ):
                received.append(chunk)
    assert len(received) == 1
    assert server.hung_up.wait(SERVER_SECONDS + 1)


def test_an_endless_line_is_refused_and_the_connection_closed(
    serve: Callable[[Behaviour], HostileServer],
) -> None:
    server = serve(endless_line)
    received: list[ChatCompletionChunk] = []

    def read(client: GrokClient) -> None:
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(chunk)

    with (
        GrokClient(endpoint=server.url, api_key=KEY, response_limits=SMALL_EVENTS) as client,
        pytest.raises(ResponseTooLargeError) as caught,
    ):
        read(client)
    assert len(received) == 1
    assert (caught.value.limit_name, caught.value.limit) == ("max_event_bytes", 1024)
    assert server.hung_up.wait(10)


async def test_async_endless_line_is_refused_and_the_connection_closed(
    serve: Callable[[Behaviour], HostileServer],
) -> None:
    server = serve(endless_line)
    async with AsyncGrokClient(endpoint=server.url, api_key=KEY, response_limits=SMALL_EVENTS) as client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        with pytest.raises(ResponseTooLargeError) as caught:
            await stream.get_final_completion()
        assert stream.response.is_closed
    assert caught.value.limit_name == "max_event_bytes"
    assert server.hung_up.wait(10)


def test_the_server_helpers_close_cleanly() -> None:
    # The bound that protects the suite from a client that never gives up holds on its own.
    with contextlib.closing(HostileServer(lambda server, conn: conn.sendall(b"0\r\n\r\n"))) as server:
        with httpx.Client() as http:
            response = http.post(server.url, content=b"{}")
        assert response.status_code == 200
        assert server.requests == 1
