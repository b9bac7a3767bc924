"""The clients the SDK builds honour proxies (environment and ``proxy=``) and keep httpx's ``elapsed``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, ConfigurationError, GrokClient

from ._loopback import ForwardProxy, LoopbackServer, SeenRequest, json_response
from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body, sse

MESSAGES = [{"role": "user", "content": "Hi"}]
PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
STREAM = sse({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, "[DONE]")


def _answer(request: SeenRequest) -> list[bytes]:
    if b'"stream":true' in request.body:
        head = f"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {len(STREAM)}\r\n"
        if request.headers.get("connection", "").lower() == "close":
            head += "connection: close\r\n"
            request.close = True
        return [head.encode() + b"\r\n" + STREAM]
    return json_response(request, completion_body())


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def origin() -> Iterator[LoopbackServer]:
    with LoopbackServer(_answer) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


def _sync_round(url: str, **options: object) -> None:
    with GrokClient(endpoint=url, api_key=KEY, **options) as client:  # type: ignore[arg-type]
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "Hello!"
        chunks = list(client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True))
        assert chunks


async def _async_round(url: str, **options: object) -> None:
    async with AsyncGrokClient(endpoint=url, api_key=KEY, **options) as client:  # type: ignore[arg-type]
        assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "Hello!"
        chunks = [
            c
            async for c in await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, stream=True
            )
        ]
        assert chunks


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_the_environment_proxy_is_used(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy, variable: str
) -> None:
    clean_env.setenv(variable, proxy.url)
    _sync_round(origin.url)
    assert len(proxy.relayed) == 2
    assert all(target.startswith(origin.url) for target in proxy.relayed)
    assert len(origin.requests) == 2


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
async def test_async_the_environment_proxy_is_used(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy, variable: str
) -> None:
    clean_env.setenv(variable, proxy.url)
    await _async_round(origin.url)
    assert len(proxy.relayed) == 2
    assert len(origin.requests) == 2


def test_no_proxy_bypasses_the_environment_proxy(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", "example.com,127.0.0.1")
    _sync_round(origin.url)
    assert proxy.relayed == []
    assert len(origin.requests) == 2
    # The same origin named otherwise is not in NO_PROXY, so it goes through the proxy.
    _sync_round(origin.url.replace("127.0.0.1", "localhost"))
    assert len(proxy.relayed) == 2


async def test_async_no_proxy_bypasses_the_environment_proxy(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy
) -> None:
    clean_env.setenv("ALL_PROXY", proxy.url)
    clean_env.setenv("no_proxy", "127.0.0.1")
    await _async_round(origin.url)
    assert proxy.relayed == []
    assert len(origin.requests) == 2
    await _async_round(origin.url.replace("127.0.0.1", "localhost"))
    assert len(proxy.relayed) == 2


def test_an_https_proxy_variable_does_not_apply_to_an_http_endpoint(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy
) -> None:
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    _sync_round(origin.url)
    assert proxy.relayed == []


@pytest.mark.parametrize("as_object", [False, True])
def test_an_explicit_proxy_wins_over_the_environment(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy, as_object: bool
) -> None:
    clean_env.setenv("NO_PROXY", "*")
    _sync_round(origin.url, proxy=httpx.Proxy(proxy.url) if as_object else proxy.url)
    assert len(proxy.relayed) == 2


async def test_async_explicit_proxy(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy
) -> None:
    await _async_round(origin.url, proxy=proxy.url)
    assert len(proxy.relayed) == 2
    assert len(origin.requests) == 2


def test_with_options_copies_use_the_same_proxy(
    clean_env: pytest.MonkeyPatch, origin: LoopbackServer, proxy: ForwardProxy
) -> None:
    with GrokClient(endpoint=origin.url, api_key=KEY, proxy=proxy.url) as client:
        client.with_options(timeout=5).chat.completions.create(model="grok-4", messages=MESSAGES)
    assert len(proxy.relayed) == 1


def test_proxy_together_with_http_client_is_a_configuration_error() -> None:
    with httpx.Client() as http, pytest.raises(ConfigurationError, match="http_client"):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http, proxy="http://127.0.0.1:1")


# --- elapsed -----------------------------------------------------------------------------------------------


def test_stream_response_has_elapsed_once_read(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, content=STREAM, headers={"content-type": "text/event-stream"})
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        stream = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
        for _ in stream:
            pass
        stream.close()
        assert isinstance(stream.response.elapsed, timedelta)
        assert stream.response.elapsed >= timedelta(0)
        with client.chat.completions.stream(model="grok-4", messages=MESSAGES) as helper:
            helper.get_final_completion()
        assert isinstance(helper.response.elapsed, timedelta)


async def test_async_stream_response_has_elapsed_once_read(origin: LoopbackServer) -> None:
    async with AsyncGrokClient(endpoint=origin.url, api_key=KEY) as client:
        stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
        async for _ in stream:
            pass
        await stream.close()
        assert isinstance(stream.response.elapsed, timedelta)
