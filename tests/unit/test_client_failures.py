"""Transport failures end in a GrokError whose chain holds no credential (refused, reset mid-body, bad headers)."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Iterator

import httpx
import pytest

from grok_azure import APIConnectionError, AsyncGrokClient, GrokClient

from ._loopback import RESET, LoopbackServer, SeenRequest
from .conftest import KEY

MESSAGES = [{"role": "user", "content": "Hi"}]


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return f"http://127.0.0.1:{port}"


def _reset_mid_body(request: SeenRequest) -> Iterator[bytes]:
    yield b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{"id": "x", '
    yield RESET


def _huge_header(request: SeenRequest) -> list[bytes]:
    return [b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 200_000 + b"\r\ncontent-length: 2\r\n\r\n{}"]


def assert_no_secret_reachable(exc: BaseException) -> None:
    """Nothing the exception reaches (chain, requests on it, a traceback with locals) holds the key."""
    assert isinstance(exc, APIConnectionError)
    assert exc.__context__ is None, "raised inside the except block: the original is chained as __context__"
    assert exc.__cause__ is not None, "the low-level cause should be kept (sanitized)"
    seen: BaseException | None = exc
    while seen is not None:
        try:
            request = getattr(seen, "request", None)
        except RuntimeError:  # httpx exceptions raise when no request was attached
            request = None
        if request is not None:
            assert KEY not in str(dict(request.headers))
        assert seen.__traceback__ is None or seen is exc
        seen = seen.__cause__ or seen.__context__
    rendered = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert KEY not in rendered


def _sync_clients(url: str) -> Iterator[GrokClient]:
    yield GrokClient(endpoint=url, api_key=KEY)
    yield GrokClient(endpoint=url, api_key=KEY, http_client=httpx.Client())


def _async_clients(url: str) -> Iterator[AsyncGrokClient]:
    yield AsyncGrokClient(endpoint=url, api_key=KEY)
    yield AsyncGrokClient(endpoint=url, api_key=KEY, http_client=httpx.AsyncClient())


def test_connection_refused_chains_a_clean_cause() -> None:
    for client in _sync_clients(_closed_port_url()):
        with client, pytest.raises(APIConnectionError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert_no_secret_reachable(info.value)


async def test_async_connection_refused_chains_a_clean_cause() -> None:
    for client in _async_clients(_closed_port_url()):
        async with client:
            with pytest.raises(APIConnectionError) as info:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert_no_secret_reachable(info.value)


def test_reset_mid_body_chains_a_clean_cause() -> None:
    with LoopbackServer(_reset_mid_body) as server:
        for client in _sync_clients(server.url):
            with client, pytest.raises(APIConnectionError) as info:
                client.chat.completions.create(model="grok-4", messages=MESSAGES)
            assert_no_secret_reachable(info.value)


async def test_async_reset_mid_body_chains_a_clean_cause() -> None:
    with LoopbackServer(_reset_mid_body) as server:
        for client in _async_clients(server.url):
            async with client:
                with pytest.raises(APIConnectionError) as info:
                    await client.chat.completions.create(model="grok-4", messages=MESSAGES)
            assert_no_secret_reachable(info.value)


def test_oversized_response_headers_are_a_connection_error() -> None:
    with LoopbackServer(_huge_header) as server:
        for client in _sync_clients(server.url):
            with client, pytest.raises(APIConnectionError):
                client.chat.completions.create(model="grok-4", messages=MESSAGES)


async def test_async_oversized_response_headers_are_a_connection_error() -> None:
    # aiohttp refuses a header line over 8 KiB with an exception httpx-aiohttp does not map.
    with LoopbackServer(_huge_header) as server:
        for client in _async_clients(server.url):
            async with client:
                with pytest.raises(APIConnectionError) as info:
                    await client.chat.completions.create(model="grok-4", messages=MESSAGES)
                with pytest.raises(APIConnectionError):
                    async for _ in await client.chat.completions.create(
                        model="grok-4", messages=MESSAGES, stream=True
                    ):
                        pass
            assert_no_secret_reachable(info.value)
