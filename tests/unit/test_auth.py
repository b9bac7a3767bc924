"""Auth: token caching and refresh, the 401 retry, scopes by host, DefaultAzureCredential, async credentials."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
import respx
from azure.core.credentials import AccessToken, AccessTokenInfo

from grok_azure import AsyncGrokClient, AuthenticationError, ConfigurationError, CredentialError, GrokClient
from grok_azure._auth import REFRESH_MARGIN_SECONDS

from .conftest import CHAT_URL, ENDPOINT, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
DENIED = {"error": {"code": "PermissionDenied", "message": "Access token is missing, invalid or expired."}}


class FakeCredential:
    """A TokenCredential that hands out numbered tokens and records the scopes asked for."""

    def __init__(self, lifetime: float = 3600) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        return AccessToken(f"token-{len(self.calls)}", int(time.time() + self.lifetime))


class FakeTokenInfoCredential(FakeCredential):
    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.calls.append(scopes)
        now = int(time.time())
        return AccessTokenInfo(f"info-{len(self.calls)}", now + 3600, refresh_on=now - 1)


class FakeAsyncCredential:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        return AccessToken(f"async-{len(self.calls)}", int(time.time() + 3600))

    async def close(self) -> None:
        pass


def bearer(route: respx.Route, call: int = -1) -> str:
    return route.calls[call].request.headers["authorization"]


def test_token_credential_sends_bearer_and_caches_it(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = FakeCredential()
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert bearer(route, 0) == bearer(route, 1) == "Bearer token-1"
    assert "api-key" not in route.calls[0].request.headers
    assert credential.calls == [("https://ai.azure.com/.default",)]


def test_scope_is_cognitive_services_for_openai_hosts(mock_api: respx.MockRouter) -> None:
    mock_api.post("https://res.openai.azure.com/openai/v1/chat/completions").respond(
        200, json=completion_body()
    )
    credential = FakeCredential()
    with GrokClient(endpoint="https://res.openai.azure.com", credential=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert credential.calls == [("https://cognitiveservices.azure.com/.default",)]


def test_credential_scopes_override(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = FakeCredential()
    with GrokClient(
        endpoint=ENDPOINT, credential=credential, credential_scopes=["api://x/.default"]
    ) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert credential.calls == [("api://x/.default",)]


def test_token_near_expiry_is_refreshed_before_use(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = FakeCredential(lifetime=REFRESH_MARGIN_SECONDS - 10)
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert [bearer(route, 0), bearer(route, 1)] == ["Bearer token-1", "Bearer token-2"]


def test_refresh_on_from_token_info_is_honoured(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = FakeTokenInfoCredential()
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert [bearer(route, 0), bearer(route, 1)] == ["Bearer info-1", "Bearer info-2"]


def test_401_refreshes_the_token_once_and_retries(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL)
    route.side_effect = [httpx.Response(401, json=DENIED), httpx.Response(200, json=completion_body())]
    credential = FakeCredential()
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        completion = client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert completion.text == "Hello!"
    assert [bearer(route, 0), bearer(route, 1)] == ["Bearer token-1", "Bearer token-2"]


def test_second_401_is_raised_not_retried_forever(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(401, json=DENIED)
    with (
        GrokClient(endpoint=ENDPOINT, credential=FakeCredential()) as client,
        pytest.raises(AuthenticationError),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.call_count == 2


def test_401_with_an_api_key_is_not_retried(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(401, json=DENIED)
    with GrokClient(endpoint=ENDPOINT, api_key="k") as client, pytest.raises(AuthenticationError):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.call_count == 1


def test_callable_token_provider_is_called_per_request(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tokens = iter(["p1", "p2"])
    with GrokClient(endpoint=ENDPOINT, credential=lambda: next(tokens)) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert [bearer(route, 0), bearer(route, 1)] == ["Bearer p1", "Bearer p2"]


def test_empty_token_is_a_credential_error(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, credential=lambda: "") as client, pytest.raises(CredentialError):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called


def test_sync_client_refuses_an_async_credential() -> None:
    with pytest.raises(ConfigurationError, match="AsyncGrokClient"):
        GrokClient(endpoint=ENDPOINT, credential=FakeAsyncCredential())  # type: ignore[arg-type]


def test_non_credential_object_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="TokenCredential"):
        GrokClient(endpoint=ENDPOINT, credential=object())  # type: ignore[arg-type]


def test_token_never_appears_in_repr(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    client = GrokClient(endpoint=ENDPOINT, credential=FakeCredential())
    client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert "token-1" not in repr(client)
    assert "token-1" not in repr(client._auth)
    client.close()


def test_default_azure_credential_is_only_imported_when_needed() -> None:
    code = (
        "import sys, grok_azure\n"
        "c = grok_azure.GrokClient(endpoint='https://r.services.ai.azure.com', api_key='k')\n"
        "assert 'azure.identity' not in sys.modules, 'imported azure.identity'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_key_anywhere_uses_default_azure_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.identity

    created: list[Any] = []

    class Recording(FakeCredential):
        def __init__(self) -> None:
            super().__init__()
            self.closed = False
            created.append(self)

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Recording)
    client = GrokClient(endpoint=ENDPOINT, environ={})
    assert len(created) == 1
    client.close()
    assert created[0].closed


async def test_async_client_awaits_async_credentials(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL)
    route.side_effect = [httpx.Response(401, json=DENIED), httpx.Response(200, json=completion_body())]
    credential = FakeAsyncCredential()
    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=credential, http_client=httpx.AsyncClient()
    ) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert [bearer(route, 0), bearer(route, 1)] == ["Bearer async-1", "Bearer async-2"]


async def test_async_client_accepts_a_sync_credential(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=FakeCredential(), http_client=httpx.AsyncClient()
    ) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert bearer(route) == "Bearer token-1"


async def test_async_client_accepts_an_async_token_provider(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())

    async def provider() -> str:
        return "from-coroutine"

    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=provider, http_client=httpx.AsyncClient()
    ) as client:
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert bearer(route) == "Bearer from-coroutine"
