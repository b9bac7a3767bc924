"""Entra ID end to end: bearer tokens from a credential, cached, and refreshed once when the service says 401.

These tests run their own emulator with a ``token_validator`` and fake credentials, whatever the target;
against a real resource, the whole suite exercises Entra ID when ``GROK_AZURE_API_KEY`` is unset.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from grok_azure import AI_FOUNDRY_SCOPE, AsyncGrokClient, AuthenticationError, GrokClient
from grok_azure.testing import FoundryEmulator

from ._support import open_driver, user

pytestmark = pytest.mark.integration


class TokenBook:
    """Hands out numbered tokens and remembers which the emulator must refuse."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.scopes: list[tuple[str, ...]] = []
        self.revoked: set[str] = set()
        self.refuse_all = False

    def issue(self, scopes: tuple[str, ...]) -> AccessToken:
        self.scopes.append(scopes)
        token = f"entra-token-{len(self.issued) + 1}-abcdefghijkl"
        self.issued.append(token)
        return AccessToken(token, int(time.time()) + 3600)

    def accepts(self, token: str) -> bool:
        return not self.refuse_all and token in self.issued and token not in self.revoked


class FakeCredential:
    """A synchronous azure.core TokenCredential."""

    def __init__(self, book: TokenBook) -> None:
        self.book = book

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self.book.issue(scopes)


class FakeAsyncCredential:
    """An asynchronous azure.core AsyncTokenCredential."""

    def __init__(self, book: TokenBook) -> None:
        self.book = book

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self.book.issue(scopes)

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def entra_emulator() -> Iterator[tuple[FoundryEmulator, list[TokenBook]]]:
    current: list[TokenBook] = [TokenBook()]
    with FoundryEmulator(
        deployments={"chat": "grok-4-1-fast-non-reasoning"}, token_validator=lambda t: current[0].accepts(t)
    ) as emulator:
        yield emulator, current


@pytest.fixture
def book(entra_emulator: tuple[FoundryEmulator, list[TokenBook]]) -> TokenBook:
    emulator, current = entra_emulator
    emulator.reset()
    current[0] = TokenBook()
    return current[0]


@pytest.fixture
def entra_emu(entra_emulator: tuple[FoundryEmulator, list[TokenBook]], book: TokenBook) -> FoundryEmulator:
    return entra_emulator[0]


def endpoint(emu: FoundryEmulator, route: str) -> str:
    return emu.url if route == "openai_v1" else emu.url + "/models"


def bearer(emu: FoundryEmulator) -> list[str]:
    return [r.headers.get("authorization", "") for r in emu.requests]


def credential(kind: str, book: TokenBook) -> FakeCredential | FakeAsyncCredential:
    return FakeCredential(book) if kind == "sync" else FakeAsyncCredential(book)


@pytest.mark.parametrize(
    ("kind", "credential_kind"), [("sync", "sync"), ("async", "async"), ("async", "sync")]
)
async def test_bearer_tokens_for_the_foundry_scope_are_fetched_once_and_cached(
    entra_emu: FoundryEmulator, book: TokenBook, route: str, kind: str, credential_kind: str
) -> None:
    options = {"endpoint": endpoint(entra_emu, route), "credential": credential(credential_kind, book)}
    async with open_driver(kind, **options) as chat:
        for _ in range(3):
            assert (await chat.create(model="chat", messages=user("hi"))).text == "Echo: hi"

    assert book.scopes == [(AI_FOUNDRY_SCOPE,)]
    assert bearer(entra_emu) == [f"Bearer {book.issued[0]}"] * 3
    assert all("api-key" not in r.headers for r in entra_emu.requests)


async def test_concurrent_async_requests_share_one_token_fetch(
    entra_emu: FoundryEmulator, book: TokenBook
) -> None:
    async with AsyncGrokClient(endpoint=entra_emu.url, credential=FakeAsyncCredential(book)) as client:
        answers = await asyncio.gather(
            *(client.chat.completions.create(model="chat", messages=user(str(i))) for i in range(20))
        )

    assert [a.text for a in answers] == [f"Echo: {i}" for i in range(20)]
    assert len(book.issued) == 1


def test_credential_scopes_override_the_default(entra_emu: FoundryEmulator, book: TokenBook) -> None:
    scope = "https://cognitiveservices.azure.com/.default"
    options: dict[str, Any] = {
        "endpoint": entra_emu.url,
        "credential": FakeCredential(book),
        "credential_scopes": [scope],
    }
    with GrokClient(**options) as client:
        client.chat.completions.create(model="chat", messages=user())

    assert book.scopes == [(scope,)]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_revoked_token_is_refreshed_once_and_the_new_one_kept(
    entra_emu: FoundryEmulator, book: TokenBook, route: str, kind: str
) -> None:
    options = {"endpoint": endpoint(entra_emu, route), "credential": credential(kind, book)}
    async with open_driver(kind, **options) as chat:
        await chat.create(model="chat", messages=user())
        book.revoked.add(book.issued[0])
        assert (await chat.create(model="chat", messages=user("again"))).text == "Echo: again"
        await chat.create(model="chat", messages=user())

    first, second = book.issued
    assert [r.status for r in entra_emu.requests] == [200, 401, 200, 200]
    assert bearer(entra_emu) == [f"Bearer {t}" for t in (first, first, second, second)]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_stream_opens_after_a_token_refresh(
    entra_emu: FoundryEmulator, book: TokenBook, route: str, kind: str
) -> None:
    book.revoked.add("entra-token-1-abcdefghijkl")  # the first token the book will issue
    options = {"endpoint": endpoint(entra_emu, route), "credential": credential(kind, book)}
    async with open_driver(kind, **options) as chat:
        texts, _ = await chat.text_stream(model="chat", messages=user("hi"))

    assert "".join(texts) == "Echo: hi"
    assert [r.status for r in entra_emu.requests] == [401, 200]
    assert bearer(entra_emu) == [f"Bearer {book.issued[0]}", f"Bearer {book.issued[1]}"]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_token_refused_twice_is_an_authentication_error_after_one_retry(
    entra_emu: FoundryEmulator, book: TokenBook, kind: str
) -> None:
    book.refuse_all = True
    async with open_driver(kind, endpoint=entra_emu.url, credential=credential(kind, book)) as chat:
        with pytest.raises(AuthenticationError) as caught:
            await chat.create(model="chat", messages=user())

    assert [r.status for r in entra_emu.requests] == [401, 401]
    assert len(book.issued) == 2
    assert "Access token is missing, invalid" in caught.value.message
    for token in book.issued:
        assert token not in str(caught.value)
        assert token not in repr(caught.value.request.headers if caught.value.request else "")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_token_provider_is_asked_on_every_request(
    entra_emu: FoundryEmulator, book: TokenBook, kind: str
) -> None:
    def provider() -> str:  # a bare provider gives no expiry, so nothing is cached
        return book.issue((AI_FOUNDRY_SCOPE,)).token

    async with open_driver(kind, endpoint=entra_emu.url, credential=provider) as chat:
        await chat.create(model="chat", messages=user())
        await chat.create(model="chat", messages=user())

    assert bearer(entra_emu) == [f"Bearer {book.issued[0]}", f"Bearer {book.issued[1]}"]
