"""GrokClient and AsyncGrokClient: configuration plus the two thin I/O shells.

Everything that decides something (endpoint, auth choice, request building, error mapping) lives in I/O-free
modules and in :class:`_BaseClient`; the two clients below only move bytes with httpx's sync or async API.
"""

from __future__ import annotations

import copy
import functools
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from typing_extensions import ParamSpec, Self

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
from ._errors import ClientClosedError, ConfigurationError, GrokError
from ._limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from ._secrets import QuietMapping, RedactingDict
from ._transport import ProxyTypes, bind_direct_response, default_async_client, default_sync_client
from ._wire import (
    BodyReader,
    PreparedRequest,
    check_headers,
    coerce_timeout,
    error_for_status,
    send_failure,
    should_refresh_token,
)
from .resources.chat import AsyncChat, Chat

if TYPE_CHECKING:
    from azure.core.credentials import AzureKeyCredential

    from ._auth import AsyncCredential, SyncCredential


class _Lifecycle:
    """Whether a client's resources were closed; shared by a client and its ``with_options`` copies."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class _BaseClient:
    """Configuration and every per-call decision shared by both clients; no I/O."""

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
        env = QuietMapping(os.environ if environ is None else environ)  # a rendered frame must not list it
        self.endpoint = resolve_endpoint(endpoint, route, environ=env)
        self.api_version = api_version
        self.timeout = coerce_timeout(timeout)
        check_headers(default_headers, param="default_headers")
        self.default_headers = RedactingDict(default_headers or {})
        self.response_limits = response_limits or DEFAULT_RESPONSE_LIMITS
        self._owns_resources = True
        self._lifecycle = _Lifecycle()
        self._owned_credential: Any = None
        choice = choose_auth(api_key, credential, env)
        if choice.api_key is not None:
            self._auth = KeyAuth(choice.api_key, api_key_header)
            # Refuse a key or header name httpx could not send now, not as a confusing error on the first call.
            check_headers({api_key_header: "-"}, param="api_key_header")
            check_headers(self._auth.headers(), param="api_key")
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
            check_headers(default_headers, param="default_headers")
            clone.default_headers = RedactingDict({**self.default_headers, **default_headers})
        if not isinstance(api_version, NotGiven):
            clone.api_version = api_version
        clone._bind_resources()
        return clone

    def _bind_resources(self) -> None:
        raise NotImplementedError

    _http: httpx.Client | httpx.AsyncClient

    def _closed_error(self) -> ClientClosedError | None:
        """The error for a call on a closed client (or on an ``http_client`` the caller closed), else None."""
        if self._lifecycle.closed:
            return ClientClosedError(
                f"This {type(self).__name__} is closed (close() was called or its with block ended); nothing "
                "was sent. Create a new client."
            )
        if self._http.is_closed:
            return ClientClosedError(
                f"The http_client given to this {type(self).__name__} is closed; nothing was sent. Pass an open "
                "client, or let the SDK make its own."
            )
        return None

    def _check_open(self) -> None:
        error = self._closed_error()
        if error is not None:
            raise error

    def _failure(self, exc: Exception, request: httpx.Request) -> GrokError:
        """The GrokError for an exception raised by the transport or while reading a body.

        A pool closed in the middle of a call (httpx says so with a bare RuntimeError) is a ClientClosedError.
        """
        closed = None if isinstance(exc, GrokError) else self._closed_error()
        return closed if closed is not None else send_failure(exc, request)

    def _closing(self) -> bool:
        """Mark the shared resources closed; False when there is nothing (more) for this object to close."""
        if not self._owns_resources or self._lifecycle.closed:
            return False
        self._lifecycle.closed = True
        return True

    def __repr__(self) -> str:
        # getattr: a traceback rendered with capture_locals calls this on a client whose __init__ failed.
        endpoint = getattr(self, "endpoint", None)
        if endpoint is None:
            return f"<{type(self).__name__} (not configured)>"
        return (
            f"{type(self).__name__}(endpoint={endpoint.base_url!r}, route={endpoint.route!r}, "
            f"auth={getattr(self, '_auth', None)!r})"
        )

    _auth: Any


_P = ParamSpec("_P")


def _forgets_arguments_on_failure(init: Callable[_P, None]) -> Callable[_P, None]:
    """A constructor whose failure leaves no frame holding what it was given.

    ``traceback`` with ``capture_locals=True`` renders every local of every frame an exception passed through, and
    a constructor's frames hold the API key, the credential and the endpoint (which may carry a secret query). A
    construction error therefore leaves with those frames cleared; its message already names what was wrong.
    """

    @functools.wraps(init)
    def construct(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            init(*args, **kwargs)
        except GrokError as exc:
            error = exc
        else:
            return
        traceback.clear_frames(error.__traceback__)
        del args, kwargs
        raise error

    return construct


class GrokClient(_BaseClient):
    """A synchronous client for Grok deployments on an Azure AI Foundry resource.

    >>> client = GrokClient()  # GROK_AZURE_ENDPOINT and GROK_AZURE_API_KEY, or DefaultAzureCredential
    >>> client.chat.completions.create(model="grok-4", messages=[{"role": "user", "content": "Hi"}]).text

    Args:
        endpoint: The Foundry resource or project URL (default: ``GROK_AZURE_ENDPOINT``).
        api_key: A key or an ``AzureKeyCredential`` (default: ``GROK_AZURE_API_KEY``). Checked when the client
            is built: CR, LF, control or non-ASCII characters raise :class:`RequestValidationError`.
        credential: An Entra ID token credential or a ``() -> str`` provider, instead of a key.
        route: ``"openai_v1"`` or ``"model_inference"``; normally inferred from the endpoint.
        api_version: The ``api-version`` query parameter (required by, and defaulted for, the model-inference
            route).
        credential_scopes: Token scopes; default: the one for the endpoint's host.
        api_key_header: The header that carries the key (``Ocp-Apim-Subscription-Key`` behind API Management).
        timeout: Seconds, an ``httpx.Timeout``, or None for no timeout.
        default_headers: Headers sent with every request (checked like ``api_key``).
        response_limits: How much a response may make the client hold in memory (:class:`ResponseLimits`).
        http_client: Your own ``httpx.Client`` (hooks, proxies, TLS). The SDK sends through it with redirects
            off whatever its ``follow_redirects`` says, and does not close it.
        proxy: A proxy URL or ``httpx.Proxy`` for the client the SDK builds. Without it the environment decides,
            as for httpx: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY``, and ``NO_PROXY``. Chosen once, for the
            endpoint, when the client is built (see docs/proxies.md). Not allowed together with ``http_client``.
        environ: Where to read ``GROK_AZURE_*`` settings; default ``os.environ`` (proxy variables always come
            from the process environment, as for httpx).
    """

    chat: Chat

    @_forgets_arguments_on_failure
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
        proxy: ProxyTypes | None = None,
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
            self._http, self._direct = default_sync_client(self.endpoint.chat_completions_url, proxy)
        else:
            _no_proxy_with(proxy)
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
        self._check_open()
        attempt = 0
        while True:
            request = prepared.build(self._auth.headers())
            response = self._transmit(request)
            if should_refresh_token(response, attempt):
                try:
                    refreshed = self._auth.refresh_after_unauthorized(request.headers, response.headers)
                except BaseException:
                    # The credential failed: free the connection before its error escapes.
                    response.close()
                    raise
                if refreshed:
                    response.close()
                    attempt += 1
                    continue
            break
        if stream and response.is_success:
            return response
        self._read(response, request)
        error = error_for_status(response)
        if error is not None:
            raise error
        return response

    def _transmit(self, request: httpx.Request) -> httpx.Response:
        """Hand the request to httpx (redirects off); any failure becomes a GrokError with a clean cause."""
        started = time.perf_counter()
        try:
            if self._direct is None:
                response = self._http.send(request, stream=True, follow_redirects=False)
            else:
                response = bind_direct_response(self._direct.handle_request(request), request, started)
        except Exception as exc:
            failure = self._failure(exc, request)
        else:
            return response
        raise failure  # outside the except block: the original (holding the request's headers) is not chained

    def _read(self, response: httpx.Response, request: httpx.Request) -> None:
        """Read the body within ``response_limits``, then release the connection (dropping it on failure)."""
        try:
            body = BodyReader(response, self.response_limits.max_body_bytes)
            for chunk in response.iter_bytes():
                body.feed(chunk)
            body.finish()
        except Exception as exc:
            failure = self._failure(exc, request)
        else:
            return
        finally:
            response.close()
        raise failure

    def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created.

        Every later call, on this client or a ``with_options`` copy of it, raises :class:`ClientClosedError`.
        Closing again does nothing; closing a copy does nothing either (the original owns the pool).
        """
        if not self._closing():
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
    """The asyncio twin of :class:`GrokClient`: the same arguments, awaitable methods.

    ``http_client`` is an ``httpx.AsyncClient``. The client the SDK builds runs on aiohttp's pool; ``proxy`` (or
    the environment's proxy) works there too for ``http://`` and ``https://`` proxies, and a ``socks5://`` proxy
    switches to httpx's native pool (with ``httpx[socks]`` installed).
    """

    chat: AsyncChat

    @_forgets_arguments_on_failure
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
        proxy: ProxyTypes | None = None,
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
            self._http, self._direct = default_async_client(self.endpoint.chat_completions_url, proxy)
        else:
            _no_proxy_with(proxy)
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
        self._check_open()
        attempt = 0
        while True:
            request = prepared.build(await self._auth.aheaders())
            response = await self._transmit(request)
            if should_refresh_token(response, attempt):
                try:
                    refreshed = await self._auth.arefresh_after_unauthorized(
                        request.headers, response.headers
                    )
                except BaseException:
                    # The credential failed: free the connection before its error escapes.
                    await response.aclose()
                    raise
                if refreshed:
                    await response.aclose()
                    attempt += 1
                    continue
            break
        if stream and response.is_success:
            return response
        await self._read(response, request)
        error = error_for_status(response)
        if error is not None:
            raise error
        return response

    async def _transmit(self, request: httpx.Request) -> httpx.Response:
        """Hand the request to httpx (redirects off); any failure becomes a GrokError with a clean cause.

        ``except Exception`` also catches what httpx-aiohttp leaves unmapped (oversized headers, for one), and
        never ``asyncio.CancelledError``, a BaseException.
        """
        started = time.perf_counter()
        try:
            if self._direct is None:
                response = await self._http.send(request, stream=True, follow_redirects=False)
            else:
                response = bind_direct_response(
                    await self._direct.handle_async_request(request), request, started
                )
        except Exception as exc:
            failure = self._failure(exc, request)
        else:
            return response
        raise failure  # outside the except block: the original (holding the request's headers) is not chained

    async def _read(self, response: httpx.Response, request: httpx.Request) -> None:
        """Read the body within ``response_limits``, then release the connection (dropping it on failure)."""
        try:
            body = BodyReader(response, self.response_limits.max_body_bytes)
            async for chunk in response.aiter_bytes():
                body.feed(chunk)
            body.finish()
        except Exception as exc:
            failure = self._failure(exc, request)
        else:
            return
        finally:
            await response.aclose()
        raise failure

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in) and any credential this client created.

        Every later call, on this client or a ``with_options`` copy of it, raises :class:`ClientClosedError`.
        Closing again does nothing; closing a copy does nothing either (the original owns the pool).
        """
        if not self._closing():
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


def _no_proxy_with(proxy: ProxyTypes | None) -> None:
    if proxy is not None:
        raise ConfigurationError(
            "proxy= configures the HTTP client the SDK builds; with http_client=, set the proxy on that client"
        )
