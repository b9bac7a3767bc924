"""GrokClient and AsyncGrokClient: configuration plus the two thin I/O shells.

Everything that decides something (endpoint, auth choice, request building, error mapping) lives in I/O-free
modules and in :class:`_BaseClient`; the two clients below only move bytes with httpx's sync or async API.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from typing_extensions import Self

from ._auth import (
    AsyncAuth,
    AsyncTokenAuth,
    Auth,
    KeyAuth,
    SyncTokenAuth,
    choose_auth,
    default_async_credential,
    default_sync_credential,
)
from ._constants import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven
from ._endpoint import Endpoint, resolve_endpoint
from ._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from ._transport import default_async_client, default_sync_client
from ._wire import (
    PreparedRequest,
    coerce_timeout,
    connection_error,
    error_for_status,
    should_refresh_token,
)
from .resources.chat import AsyncChat, Chat

if TYPE_CHECKING:
    from azure.core.credentials import AzureKeyCredential

    from ._auth import AsyncCredential, SyncCredential


class _BaseClient:
    """Configuration shared by both clients; no I/O."""

    endpoint: Endpoint
    api_version: str | None
    timeout: httpx.Timeout
    default_headers: dict[str, str]
    response_limits: ResponseLimits
    _owns_resources: bool

    def _configure(
        self,
        *,
        endpoint: str | None,
        route: str | None,
        api_version: str | None,
        timeout: float | httpx.Timeout | None,
        default_headers: Mapping[str, str] | None,
        response_limits: ResponseLimits | None,
        environ: Mapping[str, str] | None,
        api_key: str | AzureKeyCredential | None,
        credential: Any,
        credential_scopes: Sequence[str] | None,
        api_key_header: str,
        token_auth: Callable[[Any, Sequence[str]], Any],
        default_credential: Callable[[], Any],
    ) -> None:
        env = os.environ if environ is None else environ
        self.endpoint = resolve_endpoint(endpoint, route, environ=env)
        self.api_version = api_version
        self.timeout = coerce_timeout(timeout)
        self.default_headers = dict(default_headers or {})
        self.response_limits = response_limits or DEFAULT_RESPONSE_LIMITS
        self._owns_resources = True
        self._owned_credential: Any = None
        choice = choose_auth(api_key, credential, env)
        if choice.api_key is not None:
            self._auth = KeyAuth(choice.api_key, api_key_header)
            return
        cred = choice.credential
        if cred is None:
            # DefaultAzureCredential is only imported (and created) when nothing else was given.
            cred = self._owned_credential = default_credential()
        scopes = list(credential_scopes) if credential_scopes else [self.endpoint.default_scope]
        self._auth = token_auth(cred, scopes)

    def _copy_with(
        self,
        timeout: float | httpx.Timeout | NotGiven | None,
        default_headers: Mapping[str, str] | None,
        api_version: str | NotGiven | None,
    ) -> Self:
        clone = copy.copy(self)
        # The copy shares the connection pool and credential; only the original closes them.
        clone._owns_resources = False
        if not isinstance(timeout, NotGiven):
            clone.timeout = coerce_timeout(timeout)
        if default_headers is not None:
            clone.default_headers = {**self.default_headers, **default_headers}
        if not isinstance(api_version, NotGiven):
            clone.api_version = api_version
        clone._bind_resources()
        return clone

    def _bind_resources(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint.base_url!r}, route={self.endpoint.route!r}, "
            f"auth={self._auth!r})"
        )

    _auth: Any


class GrokClient(_BaseClient):
    """A synchronous client for Grok deployments on an Azure AI Foundry resource.

    >>> client = GrokClient()  # GROK_AZURE_ENDPOINT and GROK_AZURE_API_KEY, or DefaultAzureCredential
    >>> client.chat.completions.create(model="grok-4", messages=[{"role": "user", "content": "Hi"}]).text
    """

    chat: Chat

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        api_key: str | AzureKeyCredential | None = None,
        credential: SyncCredential | None = None,
        route: str | None = None,
        api_version: str | None = None,
        credential_scopes: Sequence[str] | None = None,
        api_key_header: str = "api-key",
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        response_limits: ResponseLimits | None = None,
        http_client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._auth: Auth
        self._configure(
            endpoint=endpoint,
            route=route,
            api_version=api_version,
            timeout=timeout,
            default_headers=default_headers,
            response_limits=response_limits,
            environ=environ,
            api_key=api_key,
            credential=credential,
            credential_scopes=credential_scopes,
            api_key_header=api_key_header,
            token_auth=SyncTokenAuth,
            default_credential=default_sync_credential,
        )
        self._owns_http = http_client is None
        self._http: httpx.Client
        self._direct: httpx.BaseTransport | None  # set when the SDK built the client: send straight to it
        if http_client is None:
            self._http, self._direct = default_sync_client()
        else:
            self._http, self._direct = http_client, None
        self._bind_resources()

    def _bind_resources(self) -> None:
        self.chat = Chat(self)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        api_version: str | NotGiven | None = NOT_GIVEN,
    ) -> GrokClient:
        """A copy with other defaults that shares this client's connection pool and credential."""
        return self._copy_with(timeout, default_headers, api_version)

    def _send(self, prepared: PreparedRequest, *, stream: bool = False) -> httpx.Response:
        """Send once (plus one token refresh on 401); return a response whose status is a success."""
        attempt = 0
        while True:
            request = prepared.build(self._auth.headers(force_refresh=attempt > 0))
            try:
                if self._direct is None:
                    response = self._http.send(request, stream=True)
                else:
                    response = self._direct.handle_request(request)
                    response.request = request
            except httpx.TransportError as exc:
                raise connection_error(exc, request) from exc
            if should_refresh_token(response, attempt, self._auth.can_refresh):
                response.close()
                attempt += 1
                continue
            break
        if stream and response.status_code < 400:
            return response
        try:
            response.read()
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
        finally:
            response.close()
        error = error_for_status(response)
        if error is not None:
            raise error
        return response

    def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created."""
        if not self._owns_resources:
            return
        if self._owns_http:
            self._http.close()
        if self._owned_credential is not None:
            self._owned_credential.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncGrokClient(_BaseClient):
    """The asyncio twin of :class:`GrokClient`: the same arguments, awaitable methods."""

    chat: AsyncChat

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        api_key: str | AzureKeyCredential | None = None,
        credential: AsyncCredential | None = None,
        route: str | None = None,
        api_version: str | None = None,
        credential_scopes: Sequence[str] | None = None,
        api_key_header: str = "api-key",
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        response_limits: ResponseLimits | None = None,
        http_client: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._auth: AsyncAuth
        self._configure(
            endpoint=endpoint,
            route=route,
            api_version=api_version,
            timeout=timeout,
            default_headers=default_headers,
            response_limits=response_limits,
            environ=environ,
            api_key=api_key,
            credential=credential,
            credential_scopes=credential_scopes,
            api_key_header=api_key_header,
            token_auth=AsyncTokenAuth,
            default_credential=default_async_credential,
        )
        self._owns_http = http_client is None
        self._http: httpx.AsyncClient
        self._direct: (
            httpx.AsyncBaseTransport | None
        )  # set when the SDK built the client: send straight to it
        if http_client is None:
            self._http, self._direct = default_async_client()
        else:
            self._http, self._direct = http_client, None
        self._bind_resources()

    def _bind_resources(self) -> None:
        self.chat = AsyncChat(self)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        api_version: str | NotGiven | None = NOT_GIVEN,
    ) -> AsyncGrokClient:
        """A copy with other defaults that shares this client's connection pool and credential."""
        return self._copy_with(timeout, default_headers, api_version)

    async def _send(self, prepared: PreparedRequest, *, stream: bool = False) -> httpx.Response:
        """Send once (plus one token refresh on 401); return a response whose status is a success."""
        attempt = 0
        while True:
            request = prepared.build(await self._auth.aheaders(force_refresh=attempt > 0))
            try:
                if self._direct is None:
                    response = await self._http.send(request, stream=True)
                else:
                    response = await self._direct.handle_async_request(request)
                    response.request = request
            except httpx.TransportError as exc:
                raise connection_error(exc, request) from exc
            if should_refresh_token(response, attempt, self._auth.can_refresh):
                await response.aclose()
                attempt += 1
                continue
            break
        if stream and response.status_code < 400:
            return response
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
        finally:
            await response.aclose()
        error = error_for_status(response)
        if error is not None:
            raise error
        return response

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created."""
        if not self._owns_resources:
            return
        if self._owns_http:
            await self._http.aclose()
        if self._owned_credential is not None:
            await self._owned_credential.close()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
