"""A credential that cannot produce a token: one CredentialError that says how to fix it, nothing sent, and no
secret reachable through the exception (chained or rendered with ``capture_locals``)."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from typing import Any

import httpx
import pytest
import respx
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ChainedTokenCredential, CredentialUnavailableError

from grok_azure import AsyncGrokClient, AuthenticationError, CredentialError, GrokClient, GrokError

from .conftest import CHAT_URL, ENDPOINT, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
CLIENT_SECRET = "client-secret-value-0123456789"
REVOKED_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.revoked-SECRET-token"

# What DefaultAzureCredential says when nothing is signed in (azure-identity 1.2x): 12 lines, one attempt over two.
DEFAULT_AZURE_CREDENTIAL_FAILURE = """DefaultAzureCredential failed to retrieve a token from the included credentials.
Attempted credentials:
\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not fully configured.
Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this issue.
\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable, no response from the IMDS endpoint.
\tSharedTokenCacheCredential: SharedTokenCacheCredential authentication unavailable. No accounts were found in the cache.
\tVisualStudioCodeCredential: Failed to get Azure user details from Visual Studio Code.
\tAzureCliCredential: Azure CLI not found on path
\tAzurePowerShellCredential: PowerShell is not installed
\tAzureDeveloperCliCredential: Azure Developer CLI could not be found. Please visit https://aka.ms/azure-dev for installation instructions and then,once installed, authenticate to your Azure account using 'azd auth login'.
To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."""
ATTEMPTED = [
    "EnvironmentCredential",
    "ManagedIdentityCredential",
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
]


class DefaultAzureCredential:
    """Fails the way azure-identity's DefaultAzureCredential does, without probing anything."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        client_secret = CLIENT_SECRET  # a local a real credential would hold  # noqa: F841
        raise ClientAuthenticationError(message=DEFAULT_AZURE_CREDENTIAL_FAILURE)


class AsyncDefaultAzureCredential:
    def __init__(self) -> None:
        self.calls = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        raise ClientAuthenticationError(message=DEFAULT_AZURE_CREDENTIAL_FAILURE)

    async def close(self) -> None:
        pass


def check_explains(error: CredentialError) -> None:
    text = str(error)
    assert "GROK_AZURE_API_KEY" in text
    assert "pass the key to the client as api_key." in text
    assert "[redacted]" not in text  # the hint once read "api_key=." and the secret scrubber hid its end
    assert "az login" in text
    assert "https://ai.azure.com/.default" in text
    for name in ATTEMPTED:
        assert text.count(f"{name}:") == 1, name  # each sign-in tried, once
    assert "To mitigate this issue" not in text
    assert len(text.splitlines()) <= len(ATTEMPTED) + 3


def check_chained_safely(error: BaseException) -> None:
    cause = error.__cause__
    assert isinstance(cause, ClientAuthenticationError)
    assert cause.__traceback__ is None
    assert cause.__cause__ is None
    assert cause.__context__ is None
    assert error.__context__ is None or error.__suppress_context__
    rendered = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    assert CLIENT_SECRET not in rendered


def test_a_failing_credential_is_a_credential_error_and_nothing_is_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = DefaultAzureCredential()
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client, pytest.raises(GrokError) as caught:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    error = caught.value
    assert isinstance(error, CredentialError)
    assert isinstance(error, AuthenticationError)
    assert error.status_code == 0
    assert error.response is None
    assert not route.called
    check_explains(error)
    check_chained_safely(error)


async def test_a_failing_async_credential_is_a_credential_error(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = AsyncDefaultAzureCredential()
    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=credential, http_client=httpx.AsyncClient()
    ) as client:
        with pytest.raises(CredentialError) as caught:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called
    check_explains(caught.value)
    check_chained_safely(caught.value)


def test_a_real_credential_chain_failure_is_condensed(mock_api: respx.MockRouter) -> None:
    class Unavailable:
        def __init__(self, why: str) -> None:
            self.why = why

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise CredentialUnavailableError(message=self.why)

        def get_token_info(self, *scopes: str, options: Any = None) -> AccessToken:
            raise CredentialUnavailableError(message=self.why)

    chain = ChainedTokenCredential(
        Unavailable("no managed identity here"), Unavailable("Please run 'az login'")
    )
    with GrokClient(endpoint=ENDPOINT, credential=chain) as client, pytest.raises(CredentialError) as caught:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    text = str(caught.value)
    assert text.count("no managed identity here") == 1
    assert text.count("Please run 'az login'") == 1
    assert "ChainedTokenCredential" in text


def test_a_provider_that_raises_is_a_credential_error_naming_it(mock_api: respx.MockRouter) -> None:
    def provider() -> str:
        raise RuntimeError("vault unreachable")

    with (
        GrokClient(endpoint=ENDPOINT, credential=provider) as client,
        pytest.raises(CredentialError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert "RuntimeError: vault unreachable" in str(caught.value)
    assert "GROK_AZURE_API_KEY" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_an_expired_token_is_never_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())

    class Expired:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("stale-token", int(time.time()) - 1)

    with GrokClient(endpoint=ENDPOINT, credential=Expired()) as client, pytest.raises(CredentialError):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called


def test_a_failure_after_a_401_is_a_credential_error_too(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(401, json={"error": {"code": "PermissionDenied", "message": "expired"}})

    class FailsOnRefresh:
        calls = 0

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.calls += 1
            if self.calls > 1:
                raise ClientAuthenticationError(message="AADSTS700082: The refresh token has expired.")
            return AccessToken("token-1", int(time.time()) + 3600)

    with (
        GrokClient(endpoint=ENDPOINT, credential=FailsOnRefresh()) as client,
        pytest.raises(CredentialError, match="AADSTS700082"),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)


def test_threads_behind_a_failing_fetch_each_get_their_own_credential_error(
    mock_api: respx.MockRouter,
) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    started, release = threading.Event(), threading.Event()

    class Slow(DefaultAzureCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            started.set()
            release.wait(timeout=20)
            return super().get_token(*scopes, **kwargs)

    credential = Slow()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        except BaseException as exc:
            errors.append(exc)

    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        first = threading.Thread(target=call)
        first.start()
        assert started.wait(timeout=20)
        others = [threading.Thread(target=call) for _ in range(5)]
        for thread in others:
            thread.start()
        while sum(1 for t in others if t.is_alive()) < 5:
            time.sleep(0.001)
        release.set()
        for thread in [first, *others]:
            thread.join(timeout=20)
    assert len(errors) == 6
    assert all(isinstance(e, CredentialError) for e in errors)
    assert len({id(e) for e in errors}) == 6  # one exception object per caller: tracebacks do not mix


async def test_a_cancelled_fetch_lets_the_next_caller_try_again(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    hang = asyncio.Event()

    class HangsOnce:
        calls = 0

        async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.calls += 1
            if self.calls == 1:
                await hang.wait()
            return AccessToken(f"token-{self.calls}", int(time.time()) + 3600)

        async def close(self) -> None:
            pass

    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=HangsOnce(), http_client=httpx.AsyncClient()
    ) as client:
        first = asyncio.create_task(client.chat.completions.create(model="grok-4", messages=MESSAGES))
        await asyncio.sleep(0.01)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        completion = await asyncio.wait_for(
            client.chat.completions.create(model="grok-4", messages=MESSAGES), 10
        )
    assert completion.text == "Hello!"


def test_a_failed_refresh_after_a_401_renders_no_token(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(401, json={"error": {"code": "PermissionDenied", "message": "expired"}})

    class FailsOnRefresh:
        calls = 0

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.calls += 1
            if self.calls > 1:
                raise ClientAuthenticationError(message="AADSTS50173: the grant was revoked")
            return AccessToken(REVOKED_TOKEN, int(time.time()) + 3600)

    with (
        GrokClient(endpoint=ENDPOINT, credential=FailsOnRefresh()) as client,
        pytest.raises(CredentialError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    rendered = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    assert "AADSTS50173" in rendered
    assert REVOKED_TOKEN not in rendered  # a module constant: no test frame holds it either
