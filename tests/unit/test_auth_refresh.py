"""Token refresh under load: one refresh for everyone after a 401, proactive refresh without blocking, back-off,
and continuous access evaluation (claims challenges). Fake credentials only; the "server" is an httpx
MockTransport, so that a test can hold all requests at a barrier until every one of them has sent the old token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

from grok_azure import AsyncGrokClient, AuthenticationError, GrokClient

from .conftest import ENDPOINT, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
DENIED = {"error": {"code": "PermissionDenied", "message": "Access token is missing, invalid or expired."}}
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1726258122"}}}'
N = 100


def cae_challenge(claims: str = CLAIMS, *, padded: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(claims.encode()).decode()
    if not padded:
        encoded = encoded.rstrip("=")  # Azure sends it unpadded
    return (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'error="insufficient_claims", claims="{encoded}"'
    )


class Credential:
    """A TokenCredential handing out token-1, token-2, ...; records each call's keyword arguments."""

    def __init__(self, lifetime: float = 3600, delay: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lifetime = lifetime
        self.delay = delay  # a refresh that takes a moment, so that waiters really wait
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.calls.append(kwargs)
            number = len(self.calls)
        time.sleep(self.delay)
        return AccessToken(f"token-{number}", int(time.time() + self.lifetime))


class AsyncCredential:
    def __init__(self, lifetime: float = 3600) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lifetime = lifetime

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(kwargs)
        number = len(self.calls)
        await asyncio.sleep(0.01)
        return AccessToken(f"token-{number}", int(time.time() + self.lifetime))

    async def close(self) -> None:
        pass


class CachingCredential:
    """Like azure-identity: the cached token comes back until claims force a new one."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.issued = 1

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.calls.append(dict(options or {}))
        if options and options.get("claims"):
            self.issued += 1
        return AccessTokenInfo(f"token-{self.issued}", int(time.time()) + 3600)


def ok() -> httpx.Response:
    return httpx.Response(200, json=completion_body())


def sync_client(credential: Any, handler: Callable[[httpx.Request], httpx.Response]) -> GrokClient:
    return GrokClient(
        endpoint=ENDPOINT,
        credential=credential,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def run_threads(count: int, target: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


# -- one refresh for everyone after a 401 -------------------------------------------------------------------


def test_100_threads_rejected_with_the_same_token_share_one_refresh() -> None:
    revoked = threading.Event()
    all_sent_old = threading.Barrier(N, timeout=20)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"]
        seen.append(token)
        if revoked.is_set() and token == "Bearer token-1":
            all_sent_old.wait()  # every request has sent the revoked token before any 401 comes back
            return httpx.Response(401, json=DENIED)
        return ok()

    credential = Credential(delay=0.05)
    with sync_client(credential, handler) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        revoked.set()
        run_threads(N, lambda: client.chat.completions.create(model="grok-4", messages=MESSAGES))

    assert len(credential.calls) == 2  # the first token and one refresh, not 1 + 100
    assert seen.count("Bearer token-1") == 1 + N
    assert seen.count("Bearer token-2") == N


async def test_100_tasks_rejected_with_the_same_token_share_one_refresh() -> None:
    revoked = False
    arrived = 0
    all_sent_old = asyncio.Event()
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        token = request.headers["authorization"]
        seen.append(token)
        if revoked and token == "Bearer token-1":
            arrived += 1
            if arrived == N:
                all_sent_old.set()
            await asyncio.wait_for(all_sent_old.wait(), 20)
            return httpx.Response(401, json=DENIED)
        return ok()

    credential = AsyncCredential()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncGrokClient(endpoint=ENDPOINT, credential=credential, http_client=http) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        revoked = True
        answers = await asyncio.gather(
            *(client.chat.completions.create(model="grok-4", messages=MESSAGES) for _ in range(N))
        )

    assert len(answers) == N
    assert len(credential.calls) == 2
    assert seen.count("Bearer token-2") == N


# -- proactive refresh and back-off ------------------------------------------------------------------------


class BlockingCredential:
    """First a token with 200 s to live (inside the refresh margin); the next call blocks until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.refreshing = threading.Event()
        self.release = threading.Event()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        if self.calls > 1:
            self.refreshing.set()
            self.release.wait(timeout=20)
        return AccessToken(f"token-{self.calls}", int(time.time() + 200))


def test_a_still_valid_token_is_used_while_another_thread_refreshes_it() -> None:
    credential = BlockingCredential()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return ok()

    with sync_client(credential, handler) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        refresher = threading.Thread(
            target=lambda: client.chat.completions.create(model="grok-4", messages=MESSAGES)
        )
        refresher.start()
        assert credential.refreshing.wait(timeout=20)
        other = threading.Thread(
            target=lambda: client.chat.completions.create(model="grok-4", messages=MESSAGES)
        )
        other.start()
        other.join(timeout=10)
        finished_during_refresh = not other.is_alive()
        credential.release.set()
        refresher.join(timeout=20)
        other.join(timeout=20)

    assert finished_during_refresh  # it did not queue behind the refresh
    assert seen[:2] == ["Bearer token-1", "Bearer token-1"]
    assert seen[2] == "Bearer token-2"


async def test_a_still_valid_token_is_used_while_another_task_refreshes_it() -> None:
    refreshing, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def get_token(*scopes: str, **kwargs: Any) -> AccessToken:
        nonlocal calls
        calls += 1
        if calls > 1:
            refreshing.set()
            await release.wait()
        return AccessToken(f"token-{calls}", int(time.time() + 200))

    credential = AsyncCredential()
    credential.get_token = get_token  # type: ignore[method-assign]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return ok()

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncGrokClient(endpoint=ENDPOINT, credential=credential, http_client=http) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        refresher = asyncio.create_task(client.chat.completions.create(model="grok-4", messages=MESSAGES))
        await asyncio.wait_for(refreshing.wait(), 10)
        await asyncio.wait_for(client.chat.completions.create(model="grok-4", messages=MESSAGES), 10)
        assert not refresher.done()
        release.set()
        await refresher

    assert seen == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_credential_that_keeps_returning_short_lived_tokens_is_not_asked_on_every_request() -> None:
    credential = Credential(lifetime=200)  # always inside the five-minute refresh margin
    with sync_client(credential, lambda request: ok()) as client:
        for _ in range(10):
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert len(credential.calls) == 2  # the first token, then one refresh attempt; then it backs off


def test_a_failed_proactive_refresh_keeps_the_still_valid_token() -> None:
    class FailingAfterFirst(Credential):
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            if self.calls:
                self.calls.append(kwargs)
                raise RuntimeError("token service down")
            return super().get_token(*scopes, **kwargs)

    credential = FailingAfterFirst(lifetime=200)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return ok()

    with sync_client(credential, handler) as client:
        for _ in range(3):
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert seen == ["Bearer token-1"] * 3
    assert len(credential.calls) == 2


# -- continuous access evaluation ---------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True])
def test_claims_of_a_cae_challenge_reach_get_token(padded: bool) -> None:
    challenge = cae_challenge(padded=padded)
    responses = iter([httpx.Response(401, json=DENIED, headers={"WWW-Authenticate": challenge}), ok()])
    credential = Credential()
    with sync_client(credential, lambda request: next(responses)) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "Hello!"
    assert credential.calls == [{}, {"claims": CLAIMS}]
    json.loads(credential.calls[1]["claims"])  # decoded to the JSON azure-identity expects


def test_claims_bypass_a_caching_credential_and_the_new_token_is_sent() -> None:
    seen: list[str] = []
    responses = iter([httpx.Response(401, json=DENIED, headers={"WWW-Authenticate": cae_challenge()}), ok()])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return next(responses)

    credential = CachingCredential()
    with sync_client(credential, handler) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert credential.calls == [{}, {"claims": CLAIMS}]
    assert seen == ["Bearer token-1", "Bearer token-2"]


def test_the_rejected_token_is_not_resent_when_the_credential_returns_it_again() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401, json=DENIED)  # a plain 401: nothing makes azure-identity skip its cache

    credential = CachingCredential()
    with sync_client(credential, handler) as client, pytest.raises(AuthenticationError) as caught:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert seen == ["Bearer token-1"]  # sent once, not twice with the same token
    assert len(credential.calls) == 2
    assert caught.value.status_code == 401


def test_threads_rejected_with_a_token_the_credential_insists_on_ask_it_only_once() -> None:
    all_sent = threading.Barrier(20, timeout=20)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        all_sent.wait()
        return httpx.Response(401, json=DENIED)

    credential = CachingCredential()
    failures: list[int] = []

    def call() -> None:
        try:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        except AuthenticationError as exc:
            failures.append(exc.status_code)

    with sync_client(credential, handler) as client:
        run_threads(20, call)
    assert failures == [401] * 20
    assert len(seen) == 20
    assert len(credential.calls) == 2


async def test_async_claims_go_to_get_token_info_options() -> None:
    class AsyncInfo:
        def __init__(self) -> None:
            self.options: list[Any] = []

        async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
            self.options.append(options)
            return AccessTokenInfo(f"info-{len(self.options)}", int(time.time()) + 3600)

        async def close(self) -> None:
            pass

    responses = iter([httpx.Response(401, json=DENIED, headers={"WWW-Authenticate": cae_challenge()}), ok()])
    credential = AsyncInfo()
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: next(responses)))
    async with AsyncGrokClient(endpoint=ENDPOINT, credential=credential, http_client=http) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert credential.options == [None, {"claims": CLAIMS}]


@pytest.mark.parametrize(
    "header",
    [
        'Bearer realm="", claims="!!!not-base64!!!"',
        'Basic realm="x", Bearer error="invalid_token"',
        "Negotiate",
        'PoP claims="' + base64.urlsafe_b64encode(b'{"x":1}').decode() + '"',
    ],
)
def test_a_challenge_without_usable_bearer_claims_refreshes_without_claims(header: str) -> None:
    responses = iter([httpx.Response(401, json=DENIED, headers={"WWW-Authenticate": header}), ok()])
    credential = Credential()
    with sync_client(credential, lambda request: next(responses)) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert credential.calls == [{}, {}]
