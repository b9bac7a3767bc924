"""A closed client refuses every call with ClientClosedError and sends nothing (item: closed clients)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, ClientClosedError, GrokClient

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body, sse

MESSAGES = [{"role": "user", "content": "Hi"}]
STREAM_BODY = sse({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, "[DONE]")


def _every_sync_call(client: GrokClient) -> list[Any]:
    """Each way a user sends, written as users write it; each must raise before sending."""

    def create() -> None:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)

    def create_stream() -> None:
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass

    def stream_helper() -> None:
        with client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream:
            for _ in stream.text_stream:
                pass

    return [create, create_stream, stream_helper]


def test_leaving_with_makes_every_call_raise_and_send_nothing(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    for call in _every_sync_call(client):
        with pytest.raises(ClientClosedError, match="closed"):
            call()
    assert route.call_count == 1


def test_close_is_idempotent_and_the_error_is_a_runtime_error(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    client.close()
    client.close()
    with pytest.raises(RuntimeError):  # ClientClosedError is also a RuntimeError, like httpx's own message
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called


def test_copies_share_the_closed_state_but_closing_a_copy_keeps_the_original_open(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    early_copy = client.with_options(timeout=5)
    early_copy.close()
    client.chat.completions.create(model="grok-4", messages=MESSAGES)  # the original still works
    client.close()
    late_copy = client.with_options(timeout=7)
    for copy in (early_copy, late_copy):
        with pytest.raises(ClientClosedError):
            copy.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.call_count == 1


def test_threads_calling_a_closed_client_all_get_client_closed_error(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    client.close()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(errors) == 8
    assert all(isinstance(exc, ClientClosedError) for exc in errors)
    assert not route.called


def test_an_injected_http_client_the_caller_closed_gives_client_closed_error(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    http = httpx.Client()
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http)
    http.close()
    for call in _every_sync_call(client):
        with pytest.raises(ClientClosedError, match="http_client"):
            call()
    assert not route.called


async def test_async_injected_http_client_closed_by_the_caller(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    http = httpx.AsyncClient()
    client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http)
    await http.aclose()
    with pytest.raises(ClientClosedError, match="http_client"):
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called


def _answer(request: SeenRequest) -> list[bytes]:
    if b'"stream":true' in request.body:
        return [
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            + f"content-length: {len(STREAM_BODY)}\r\n\r\n".encode()
            + STREAM_BODY
        ]
    return json_response(request, completion_body())


async def _every_async_call(client: AsyncGrokClient) -> list[BaseException]:
    async def create() -> None:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)

    async def create_stream() -> None:
        async for _ in await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass

    async def stream_helper() -> None:
        async with client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream:
            async for _ in stream.text_stream:
                pass

    results = await asyncio.gather(create(), create_stream(), stream_helper(), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


@pytest.mark.parametrize("used_before_close", [False, True])
async def test_closed_async_default_client_opens_no_new_session(used_before_close: bool) -> None:
    # Closed before its first call, aiohttp's transport used to open a fresh session (leaked) and send.
    with LoopbackServer(_answer) as server:
        client = AsyncGrokClient(endpoint=server.url, api_key=KEY)
        if used_before_close:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        async with client:
            pass
        sent_before = len(server.requests)
        errors = await _every_async_call(client)
        await client.close()  # closing again is fine
        copy_errors = await _every_async_call(client.with_options(timeout=3))
    assert len(errors) == 3, errors
    assert all(isinstance(e, ClientClosedError) for e in errors), errors
    assert len(copy_errors) == 3
    assert all(isinstance(e, ClientClosedError) for e in copy_errors)
    assert len(server.requests) == sent_before == int(used_before_close)


def test_a_client_never_closed_closes_its_sockets_when_collected(
    origin_for_lifecycle: LoopbackServer,
) -> None:
    """``GrokClient(...)`` without ``with`` or ``close()``, as quick scripts write it: no unclosed socket is left
    for the collector to warn about."""
    script = (
        "import gc, warnings\n"
        "warnings.simplefilter('error', ResourceWarning)\n"
        "from grok_azure import GrokClient\n"
        f"client = GrokClient(endpoint={origin_for_lifecycle.url!r}, api_key={KEY!r})\n"
        "client.chat.completions.create(model='grok-4', messages=[{'role': 'user', 'content': 'Hi'}])\n"
        "del client\n"
        "gc.collect()\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr
    assert "unclosed" not in done.stderr


@pytest.fixture
def origin_for_lifecycle() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: json_response(request, completion_body())) as server:
        yield server
