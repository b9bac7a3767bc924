"""Exactly one layer retries: httpx, httpcore and aiohttp never resend a request the SDK's rules did not ask for.

A loopback server reads each request and cuts the connection without answering (the failure a transport is most
tempted to retry quietly, on a kept-alive connection above all). The number of requests that reached it must be
exactly what ``max_retries`` allows, for both clients over the transports the SDK builds.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from grok_azure import APIConnectionError, AsyncGrokClient, GrokClient, RetryPolicy

pytestmark = pytest.mark.integration

FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002)
MESSAGES = [{"role": "user", "content": "once"}]


class CuttingServer:
    """Accepts connections on 127.0.0.1, reads one request head per connection, and closes it unanswered."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.requests = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                conn.settimeout(5)
                try:
                    while b"\r\n\r\n" not in data:
                        piece = conn.recv(65536)
                        if not piece:
                            break
                        data += piece
                except OSError:
                    continue
                if b"POST" in data:
                    with self._lock:
                        self.requests += 1

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def server() -> Iterator[CuttingServer]:
    running = CuttingServer()
    yield running
    running.close()


@pytest.mark.parametrize("max_retries", [0, 2])
def test_the_sync_client_sends_exactly_what_max_retries_allows(
    server: CuttingServer, max_retries: int
) -> None:
    endpoint = f"http://127.0.0.1:{server.port}"
    with (
        GrokClient(endpoint=endpoint, api_key="one-layer-key", max_retries=max_retries, retry=FAST) as client,
        pytest.raises(APIConnectionError),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert server.requests == max_retries + 1


@pytest.mark.parametrize("max_retries", [0, 2])
def test_the_async_client_sends_exactly_what_max_retries_allows(
    server: CuttingServer, max_retries: int
) -> None:
    endpoint = f"http://127.0.0.1:{server.port}"

    async def run() -> None:
        async with AsyncGrokClient(
            endpoint=endpoint, api_key="one-layer-key", max_retries=max_retries, retry=FAST
        ) as client:
            with pytest.raises(APIConnectionError):
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)

    asyncio.run(run())
    assert server.requests == max_retries + 1


def test_a_stream_is_sent_exactly_once_without_retries(server: CuttingServer) -> None:
    endpoint = f"http://127.0.0.1:{server.port}"
    with (
        GrokClient(endpoint=endpoint, api_key="one-layer-key", max_retries=0) as client,
        pytest.raises(APIConnectionError),
    ):
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass
    assert server.requests == 1
