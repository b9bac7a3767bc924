"""Authentication: API keys and Entra ID tokens, with one caching policy for both clients.

Keys go in the ``api-key`` header (configurable, since Azure API Management uses ``Ocp-Apim-Subscription-Key``)
and are read from the :class:`~azure.core.credentials.AzureKeyCredential` on every request, so rotating it with
``credential.update()`` takes effect at once. For tokens, :class:`~grok_azure._token_policy.TokenPolicy` decides
when to ask the credential (see its rules); the classes here only ask it, or wait for another caller's answer.

The clients call ``headers()`` / ``aheaders()`` for every request and, after a 401,
``refresh_after_unauthorized()`` / ``arefresh_after_unauthorized()``, resending once only when it returns True.
Anything the credential raises becomes a :class:`~grok_azure.CredentialError` that says how to fix it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._credential_failure import credential_error
from ._endpoint import API_KEY_ENV_VARS, first_env
from ._errors import ConfigurationError
from ._token_policy import (
    REFRESH_MARGIN_SECONDS,
    REFRESH_RETRY_DELAY_SECONDS,
    Failure,
    Outcome,
    Plan,
    Step,
    TokenPolicy,
    Wait,
    challenge_claims,
)

if TYPE_CHECKING:
    import asyncio

    import httpx

    # Only for annotations: importing azure.core costs ~25 ms, paid only by callers who use its credentials.
    from azure.core.credentials import AzureKeyCredential, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = [
    "REFRESH_MARGIN_SECONDS",
    "REFRESH_RETRY_DELAY_SECONDS",
    "AsyncTokenAuth",
    "KeyAuth",
    "SyncTokenAuth",
    "choose_auth",
]

E = TypeVar("E", "threading.Event", "asyncio.Event")
R = TypeVar("R")

TokenProvider = Callable[[], str]
AsyncTokenProvider = Callable[[], str | Awaitable[str]]
if TYPE_CHECKING:
    SyncCredential = TokenCredential | TokenProvider
    AsyncCredential = AsyncTokenCredential | TokenCredential | AsyncTokenProvider


def is_key_credential(value: object) -> bool:
    """An AzureKeyCredential, recognised by shape so azure.core need not be imported to check."""
    return isinstance(getattr(value, "key", None), str) and callable(getattr(value, "update", None))


class KeyAuth:
    """An API key, sent in one header.

    Args:
        key: the key, or an AzureKeyCredential read on every request (so ``update()`` rotates it at once).
        header_name: the header to send it in.
    """

    def __init__(self, key: str | AzureKeyCredential, header_name: str = "api-key") -> None:
        if isinstance(key, str):
            if not key.strip():
                raise ConfigurationError("api_key is empty")
        elif not is_key_credential(key):
            raise ConfigurationError("api_key must be a str or an azure.core.credentials.AzureKeyCredential")
        self._key = key
        self.header_name = header_name

    # Its headers come without I/O, so the call loop reads them itself (see _call_flow): no GetHeaders command.
    needs_io = False

    def headers(self) -> dict[str, str]:
        """The auth headers for a request."""
        key = self._key if isinstance(self._key, str) else self._key.key
        return {self.header_name: key}

    async def aheaders(self) -> dict[str, str]:
        """The auth headers for a request (async clients)."""
        return self.headers()

    def refresh_after_unauthorized(
        self, sent_headers: Mapping[str, str], response_headers: httpx.Headers
    ) -> bool:
        """A key cannot be refreshed: a 401 is final."""
        return False

    async def arefresh_after_unauthorized(
        self, sent_headers: Mapping[str, str], response_headers: httpx.Headers
    ) -> bool:
        """A key cannot be refreshed: a 401 is final."""
        return False

    def __repr__(self) -> str:
        return f"KeyAuth(header_name={self.header_name!r}, key=<redacted>)"


class _TokenAuthBase(Generic[E]):
    """Bearer tokens: the :class:`TokenPolicy` decides, subclasses ask the credential and wait."""

    _policy: TokenPolicy[E]

    def __init__(self, credential: Any, scopes: Sequence[str]) -> None:
        if not scopes:
            raise ConfigurationError("credential_scopes must name at least one scope")
        self.scopes = tuple(scopes)
        self._credential = credential

    @property
    def credential(self) -> Any:
        """The credential asked for tokens (deployments that share one fail together: see ``_call_flow``)."""
        return self._credential

    def _failure(self, exc: BaseException) -> Failure:
        if not isinstance(exc, Exception):  # KeyboardInterrupt, a cancelled task: not the credential's fault
            return Failure(interrupt=exc)
        return Failure(credential_error(exc, self._credential, self.scopes))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scopes={list(self.scopes)!r})"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _fetch_sync(credential: Any, scopes: tuple[str, ...], claims: str | None) -> Outcome:
    """Ask a synchronous credential or provider; ``claims`` (CAE) also makes azure-identity skip its cache."""
    if hasattr(credential, "get_token_info"):
        options = {"claims": claims} if claims else None
        return credential.get_token_info(*scopes, options=options)  # type: ignore[no-any-return]
    if hasattr(credential, "get_token"):
        if claims:
            return credential.get_token(*scopes, claims=claims)  # type: ignore[no-any-return]
        return credential.get_token(*scopes)  # type: ignore[no-any-return]
    return credential()  # type: ignore[no-any-return]


class SyncTokenAuth(_TokenAuthBase["threading.Event"]):
    """Bearer tokens from a TokenCredential or a ``() -> str`` provider, for :class:`GrokClient`.

    Thread-safe; the refresh rules are those of :class:`~grok_azure._token_policy.TokenPolicy`.

    Args:
        credential: an azure.core TokenCredential (``get_token_info`` or ``get_token``) or a provider.
        scopes: the scopes to ask for.
    """

    def __init__(self, credential: SyncCredential, scopes: Sequence[str]) -> None:
        super().__init__(credential, scopes)
        method = getattr(credential, "get_token_info", None) or getattr(credential, "get_token", None)
        if method is not None and inspect.iscoroutinefunction(method):
            raise ConfigurationError(
                "GrokClient needs a synchronous credential (azure.identity, not azure.identity.aio); "
                "use AsyncGrokClient for async credentials"
            )
        if method is None and not callable(credential):
            raise ConfigurationError("credential must be a TokenCredential or a callable returning a token")
        self._policy = TokenPolicy(threading.Event)

    def headers(self) -> dict[str, str]:
        """The auth headers for a request; raises CredentialError when no token can be had."""
        return _bearer(self._drive(self._policy.token()))

    def refresh_after_unauthorized(
        self, sent_headers: Mapping[str, str], response_headers: httpx.Headers
    ) -> bool:
        """After a 401: True when the request should be sent once more, with the token :meth:`headers` gives."""
        plan = self._policy.after_unauthorized(sent_headers, challenge_claims(response_headers))
        return self._drive(plan)

    def _drive(self, plan: Plan[threading.Event, R]) -> R:
        try:
            step = next(plan)
            while True:
                step = plan.send(self._perform(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _perform(self, step: Step[threading.Event]) -> Outcome:
        try:
            if isinstance(step, Wait):
                step.flight.event.wait()
                return None
            return _fetch_sync(self._credential, self.scopes, step.claims)
        except BaseException as exc:  # handed to the policy, which wakes the waiters and raises
            return self._failure(exc)


class AsyncTokenAuth(_TokenAuthBase["asyncio.Event"]):
    """Bearer tokens for :class:`AsyncGrokClient`: async credentials, sync ones (run in a thread) or providers.

    The refresh rules are those of :class:`~grok_azure._token_policy.TokenPolicy`.

    Args:
        credential: an azure.core AsyncTokenCredential or TokenCredential, or a provider returning a token
            or an awaitable of one.
        scopes: the scopes to ask for.
    """

    def __init__(self, credential: AsyncCredential, scopes: Sequence[str]) -> None:
        super().__init__(credential, scopes)
        if not (
            hasattr(credential, "get_token_info") or hasattr(credential, "get_token") or callable(credential)
        ):
            raise ConfigurationError("credential must be a TokenCredential or a callable returning a token")
        self._policy = TokenPolicy(_asyncio_event)

    async def aheaders(self) -> dict[str, str]:
        """The auth headers for a request; raises CredentialError when no token can be had."""
        return _bearer(await self._drive(self._policy.token()))

    async def arefresh_after_unauthorized(
        self, sent_headers: Mapping[str, str], response_headers: httpx.Headers
    ) -> bool:
        """After a 401: True when the request should be sent once more, with the token :meth:`aheaders` gives."""
        plan = self._policy.after_unauthorized(sent_headers, challenge_claims(response_headers))
        return await self._drive(plan)

    async def _drive(self, plan: Plan[asyncio.Event, R]) -> R:
        try:
            step = next(plan)
            while True:
                step = plan.send(await self._perform(step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _perform(self, step: Step[asyncio.Event]) -> Outcome:
        try:
            if isinstance(step, Wait):
                await step.flight.event.wait()
                return None
            return await self._fetch(step.claims)
        except BaseException as exc:  # handed to the policy, which wakes the waiters and raises
            return self._failure(exc)

    async def _fetch(self, claims: str | None) -> Outcome:
        credential = self._credential
        method = getattr(credential, "get_token_info", None) or getattr(credential, "get_token", None)
        if method is not None and not inspect.iscoroutinefunction(method):
            import asyncio

            return await asyncio.to_thread(_fetch_sync, credential, self.scopes, claims)
        if hasattr(credential, "get_token_info"):
            result = credential.get_token_info(*self.scopes, options={"claims": claims} if claims else None)
        elif hasattr(credential, "get_token"):
            result = credential.get_token(*self.scopes, **({"claims": claims} if claims else {}))
        else:
            result = credential()
        if inspect.isawaitable(result):
            result = await result
        return result  # type: ignore[no-any-return]


def request_token(credential: SyncCredential, scopes: Sequence[str]) -> Any:
    """Ask a synchronous credential for a token once, uncached (``grok-azure ping`` shows its lifetime).

    Raises:
        CredentialError: the credential failed; the message says how to fix it.
    """
    try:
        return _fetch_sync(credential, tuple(scopes), None)
    except Exception as exc:
        error = credential_error(exc, credential, scopes)
    raise error  # outside the except block: the original stays out of __context__


def _asyncio_event() -> asyncio.Event:
    import asyncio  # imported here: `import grok_azure` should not pay for asyncio

    return asyncio.Event()


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
