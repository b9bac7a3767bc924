"""Authentication: API keys and Entra ID tokens, with one caching policy for both clients.

Keys go in the ``api-key`` header (configurable, since Azure API Management uses ``Ocp-Apim-Subscription-Key``)
and are read from the :class:`~azure.core.credentials.AzureKeyCredential` on every request, so rotating it with
``credential.update()`` takes effect at once. Tokens are cached and refreshed five minutes before they expire
(or at the ``refresh_on`` time azure-identity suggests), and refreshed once more when the service answers 401.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._endpoint import API_KEY_ENV_VARS, first_env
from ._errors import ConfigurationError

if TYPE_CHECKING:
    # Only for annotations: importing azure.core costs ~25 ms, paid only by callers who use its credentials.
    from azure.core.credentials import AzureKeyCredential, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

REFRESH_MARGIN_SECONDS = 300.0

TokenProvider = Callable[[], str]
AsyncTokenProvider = Callable[[], str | Awaitable[str]]
if TYPE_CHECKING:
    SyncCredential = TokenCredential | TokenProvider
    AsyncCredential = AsyncTokenCredential | TokenCredential | AsyncTokenProvider


def is_key_credential(value: object) -> bool:
    """An AzureKeyCredential, recognised by shape so azure.core need not be imported to check."""
    return isinstance(getattr(value, "key", None), str) and callable(getattr(value, "update", None))


class _TokenLike(Protocol):
    token: str
    expires_on: int


@dataclass(frozen=True)
class _CachedToken:
    token: str
    refresh_at: float


class TokenCache:
    """When to ask the credential again: the one refresh rule both clients follow."""

    def __init__(self) -> None:
        self._cached: _CachedToken | None = None

    def get(self, now: float) -> str | None:
        cached = self._cached
        if cached is None or now >= cached.refresh_at:
            return None
        return cached.token

    def store(self, token: _TokenLike | str) -> str:
        if isinstance(token, str):
            # A bare provider gives no expiry: it caches for itself, so ask it on every request.
            self._cached = None
            value = token
        else:
            value = token.token
            refresh_on = getattr(token, "refresh_on", None)
            refresh_at = float(token.expires_on) - REFRESH_MARGIN_SECONDS
            if refresh_on:
                refresh_at = min(refresh_at, float(refresh_on))
            self._cached = _CachedToken(value, refresh_at)
        if not value:
            raise ConfigurationError("The credential returned an empty token")
        return value

    def invalidate(self) -> None:
        self._cached = None


class KeyAuth:
    """An API key, sent in one header."""

    can_refresh = False

    def __init__(self, key: str | AzureKeyCredential, header_name: str = "api-key") -> None:
        if isinstance(key, str):
            if not key.strip():
                raise ConfigurationError("api_key is empty")
        elif not is_key_credential(key):
            raise ConfigurationError("api_key must be a str or an azure.core.credentials.AzureKeyCredential")
        self._key = key
        self.header_name = header_name

    def headers(self, *, force_refresh: bool = False) -> dict[str, str]:
        # Read the credential on every request so that AzureKeyCredential.update() rotates the key at once.
        key = self._key if isinstance(self._key, str) else self._key.key
        return {self.header_name: key}

    async def aheaders(self, *, force_refresh: bool = False) -> dict[str, str]:
        return self.headers()

    def __repr__(self) -> str:
        return f"KeyAuth(header_name={self.header_name!r}, key=<redacted>)"


class _TokenAuthBase:
    can_refresh = True

    def __init__(self, scopes: Sequence[str]) -> None:
        if not scopes:
            raise ConfigurationError("credential_scopes must name at least one scope")
        self.scopes = tuple(scopes)
        self._cache = TokenCache()

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scopes={list(self.scopes)!r})"


def _fetch_sync(credential: Any, scopes: tuple[str, ...]) -> _TokenLike | str:
    if hasattr(credential, "get_token_info"):
        return credential.get_token_info(*scopes)  # type: ignore[no-any-return]
    if hasattr(credential, "get_token"):
        return credential.get_token(*scopes)  # type: ignore[no-any-return]
    return credential()  # type: ignore[no-any-return]


class SyncTokenAuth(_TokenAuthBase):
    """Bearer tokens from a TokenCredential or a ``() -> str`` provider, for :class:`GrokClient`."""

    def __init__(self, credential: SyncCredential, scopes: Sequence[str]) -> None:
        super().__init__(scopes)
        method = getattr(credential, "get_token_info", None) or getattr(credential, "get_token", None)
        if method is not None and inspect.iscoroutinefunction(method):
            raise ConfigurationError(
                "GrokClient needs a synchronous credential (azure.identity, not azure.identity.aio); "
                "use AsyncGrokClient for async credentials"
            )
        if method is None and not callable(credential):
            raise ConfigurationError("credential must be a TokenCredential or a callable returning a token")
        self._credential = credential
        self._lock = threading.Lock()

    def headers(self, *, force_refresh: bool = False) -> dict[str, str]:
        with self._lock:
            if force_refresh:
                self._cache.invalidate()
            token = self._cache.get(time.time())
            if token is None:
                token = self._cache.store(_fetch_sync(self._credential, self.scopes))
        return self._headers(token)


class AsyncTokenAuth(_TokenAuthBase):
    """Bearer tokens for :class:`AsyncGrokClient`: async credentials, sync ones (run in a thread) or providers."""

    def __init__(self, credential: AsyncCredential, scopes: Sequence[str]) -> None:
        super().__init__(scopes)
        if not (
            hasattr(credential, "get_token_info") or hasattr(credential, "get_token") or callable(credential)
        ):
            raise ConfigurationError("credential must be a TokenCredential or a callable returning a token")
        self._credential = credential
        self._lock: Any = None  # an asyncio.Lock, made on first use inside the running loop

    async def _fetch(self) -> _TokenLike | str:
        method = getattr(self._credential, "get_token_info", None) or getattr(
            self._credential, "get_token", None
        )
        if method is not None and not inspect.iscoroutinefunction(method):
            import asyncio

            return await asyncio.to_thread(_fetch_sync, self._credential, self.scopes)
        result = method(*self.scopes) if method is not None else self._credential()  # type: ignore[operator]
        if inspect.isawaitable(result):
            result = await result
        return result

    async def aheaders(self, *, force_refresh: bool = False) -> dict[str, str]:
        if self._lock is None:
            import asyncio  # imported here: `import grok_azure` should not pay for asyncio

            self._lock = asyncio.Lock()
        # One caller refreshes while the others wait, instead of a stampede of token requests.
        async with self._lock:
            if force_refresh:
                self._cache.invalidate()
            token = self._cache.get(time.time())
            if token is None:
                token = self._cache.store(await self._fetch())
        return self._headers(token)


Auth = KeyAuth | SyncTokenAuth
AsyncAuth = KeyAuth | AsyncTokenAuth


@dataclass(frozen=True)
class AuthChoice:
    """What the caller asked for, after the environment fills in a key: exactly one of the two is set."""

    api_key: str | AzureKeyCredential | None
    credential: Any


def choose_auth(
    api_key: str | AzureKeyCredential | None, credential: Any, environ: Mapping[str, str]
) -> AuthChoice:
    if api_key is not None and credential is not None:
        raise ConfigurationError("Pass either api_key or credential, not both")
    if is_key_credential(credential):
        return AuthChoice(api_key=credential, credential=None)
    if api_key is None and credential is None:
        api_key = first_env(API_KEY_ENV_VARS, environ)
    return AuthChoice(api_key=api_key, credential=credential)


def default_sync_credential() -> TokenCredential:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - azure-identity is a dependency
        raise ConfigurationError("No api_key given and azure-identity is not installed") from exc
    return DefaultAzureCredential()


def default_async_credential() -> AsyncTokenCredential:
    try:
        from azure.identity.aio import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - azure-identity is a dependency
        raise ConfigurationError("No api_key given and azure-identity is not installed") from exc
    return DefaultAzureCredential()
