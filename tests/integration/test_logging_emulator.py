"""Over real loopback HTTP (the emulator): with every logger at DEBUG, no key or token reaches a record.

httpx, httpcore, aiohttp and azure-identity log at DEBUG in their own words; the SDK's filter must hold for
each of them, on the sync client (httpx) and the async one (aiohttp), with a key and with an Entra ID token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from grok_azure import AsyncGrokClient, CallInfo, GrokClient, Hook
from grok_azure.testing import FoundryEmulator

pytestmark = pytest.mark.integration

KEY = "sk-emulator-log-SECRET-key-0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJsb2ciOiJ0ZXN0In0.log-SECRET-signature"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hi"}]


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, 4_102_444_800)


class AsyncFakeCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, 4_102_444_800)

    async def close(self) -> None:
        pass


@pytest.fixture
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, token_validator=lambda token: token == TOKEN) as emu:
        yield emu


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    for name in ("httpx", "httpcore", "aiohttp", "azure", "grok_azure"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert KEY not in text
    assert TOKEN not in text
    assert TOKEN.split(".")[-1] not in text


@pytest.mark.parametrize("auth", ["key", "token"])
def test_sync_calls_and_streams_log_no_credential(
    emulator: FoundryEmulator, everything_at_debug: pytest.LogCaptureFixture, auth: str
) -> None:
    options: dict[str, Any] = {"api_key": KEY} if auth == "key" else {"credential": FakeCredential()}
    with GrokClient(endpoint=emulator.url, **options) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            if c.choices
        )
        assert text
    lines = [r.getMessage() for r in everything_at_debug.records if r.name == "grok_azure"]
    assert sum(" -> 200 attempt=1 " in line for line in lines) == 2  # one line per attempt, stream included
    assert any(r.name.startswith(("httpx", "httpcore")) for r in everything_at_debug.records)  # they did log
    assert_clean(everything_at_debug)


@pytest.mark.parametrize("auth", ["key", "token"])
def test_async_calls_over_aiohttp_log_no_credential(
    emulator: FoundryEmulator, everything_at_debug: pytest.LogCaptureFixture, auth: str
) -> None:
    options: dict[str, Any] = {"api_key": KEY} if auth == "key" else {"credential": AsyncFakeCredential()}

    async def main() -> None:
        async with AsyncGrokClient(endpoint=emulator.url, **options) as client:
            await asyncio.gather(
                *(client.chat.completions.create(model="grok-4", messages=MESSAGES) for _ in range(3))
            )

    asyncio.run(main())
    lines = [r.getMessage() for r in everything_at_debug.records if r.name == "grok_azure"]
    assert sum(" -> 200 attempt=1 " in line for line in lines) == 3
    assert_clean(everything_at_debug)


def test_a_hook_adds_a_header_the_service_receives(emulator: FoundryEmulator) -> None:
    class Tenant(Hook):
        def on_request(self, request: Any, call: CallInfo) -> None:
            request.headers["x-tenant"] = f"blue-{call.attempt}"

    with GrokClient(endpoint=emulator.url, api_key=KEY, hooks=[Tenant()]) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert emulator.requests[-1].headers["x-tenant"] == "blue-1"


class RaisesOnResponse(Hook):
    def on_response(self, response: Any, call: CallInfo) -> None:
        raise RuntimeError("metrics backend down")


def test_a_hook_raising_on_a_response_gives_the_connection_back_sync(emulator: FoundryEmulator) -> None:
    import httpx

    from grok_azure import HookError

    pool = httpx.Client(limits=httpx.Limits(max_connections=1))
    with GrokClient(endpoint=emulator.url, api_key=KEY, http_client=pool, timeout=3.0) as client:
        for stream in (False, True):
            with pytest.raises(HookError):
                client.with_options(hooks=[RaisesOnResponse()]).chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=stream
                )
        # One connection in the pool: a leaked one would make this wait for the pool, then time out.
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text
    pool.close()


def test_a_hook_raising_on_a_response_gives_the_connection_back_async(emulator: FoundryEmulator) -> None:
    import httpx

    from grok_azure import HookError

    async def main() -> None:
        pool = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
        async with AsyncGrokClient(
            endpoint=emulator.url, api_key=KEY, http_client=pool, timeout=3.0
        ) as client:
            for stream in (False, True):
                with pytest.raises(HookError):
                    await client.with_options(hooks=[RaisesOnResponse()]).chat.completions.create(
                        model="grok-4", messages=MESSAGES, stream=stream
                    )
            assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text
        await pool.aclose()

    asyncio.run(main())
