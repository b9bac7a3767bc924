"""HTTP clients: pool sizes, proxies, the async transport choice, and sending without the client's per-request work.

The async client runs httpx's API over aiohttp's connection pool, through the SDK's own transport
(``_aiohttp_transport``): with hundreds of requests in flight, httpx's own async pool serves an order of
magnitude fewer requests per second, and the ``httpx-aiohttp`` package's transport about half of what this one
does (see docs/performance.md). Without aiohttp, or for a SOCKS proxy, the native transport is used.

When the SDK builds the httpx client itself, requests go straight to its transport. ``httpx.Client.send`` adds
cookie handling (a round trip through ``http.cookiejar`` per response), redirect and auth flows and event
hooks, none of which a Foundry call uses, and they cost about a third of the async throughput. A client passed
in as ``http_client=`` may carry hooks or settings of the caller's, so it always goes through ``send``.

Going straight to the transport skips two things ``send`` would have done, so they are done here instead:
choosing a proxy (httpx mounts one transport per proxy pattern and picks per request; the SDK only ever talks to
one endpoint, so the choice is made once, when the client is built) and stamping ``response.elapsed``.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeAlias, TypeVar

import httpx

# Private, but stable since httpx 0.18: the very rules `httpx.Client(trust_env=True)` applies, so the SDK's
# proxy choice matches what httpx users expect (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY, system settings).
from httpx._utils import URLPattern, get_environment_proxies

from ._constants import DEFAULT_TIMEOUT
from ._errors import ConfigurationError
from ._secrets import sanitized_cause, scrub_url_text

_T = TypeVar("_T")

__all__ = ["ProxyTypes", "bind_direct_response", "default_async_client", "default_sync_client", "proxy_for"]

ProxyTypes: TypeAlias = "str | httpx.Proxy"

# Foundry allows 300 concurrent requests per deployment by default; keep enough connections alive to use them.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=300, keepalive_expiry=30.0)
# aiohttp tunnels to these itself; any other proxy scheme (socks5://) needs httpx's native transport.
_AIOHTTP_PROXY_SCHEMES = frozenset({"http", "https"})


def proxy_for(url: str, proxy: ProxyTypes | None) -> httpx.Proxy | None:
    """The proxy for requests to ``url``: ``proxy`` if given, else the environment's, as httpx decides it.

    Args:
        url: The endpoint every request of the client goes to.
        proxy: An explicit proxy URL or :class:`httpx.Proxy`; it wins over the environment.
    """
    if proxy is not None:
        return proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
    target = httpx.URL(url)
    # Most specific pattern first, as httpx orders its mounts; a NO_PROXY entry maps to None.
    patterns = sorted(
        ((URLPattern(key), value) for key, value in get_environment_proxies().items()), key=_first
    )
    for pattern, value in patterns:
        if pattern.matches(target):
            return httpx.Proxy(value) if value else None
    return None


def _proxy_checked(build: Callable[[], _T]) -> _T:
    """``build()``, with a proxy httpx cannot use (from ``proxy=`` or the environment) as a ConfigurationError.

    httpx raises ImportError for a SOCKS proxy without socksio and ValueError for an unknown scheme, from deep
    inside its constructors. The error is raised outside the ``except`` block with a sanitized cause, so neither
    the original (whose frames hold the proxy URL, password included) nor its context is reachable.
    """
    error: ConfigurationError | None = None
    try:
        return build()
    except ImportError as exc:
        error = ConfigurationError(
            "The proxy (proxy= or ALL_PROXY/HTTPS_PROXY/HTTP_PROXY) is a SOCKS proxy, which needs the socksio "
            "package: pip install 'httpx[socks]'."
        )
        error.__cause__ = sanitized_cause(exc)
    except (ValueError, TypeError, httpx.InvalidURL) as exc:
        error = ConfigurationError(
            f"The proxy (proxy= or ALL_PROXY/HTTPS_PROXY/HTTP_PROXY) cannot be used: {scrub_url_text(str(exc))}. "
            "Use an http://, https:// or socks5:// proxy URL."
        )
        error.__cause__ = sanitized_cause(exc)
    raise error


def _first(item: tuple[URLPattern, str | None]) -> URLPattern:
    return item[0]


def default_sync_client(
    url: str, proxy: ProxyTypes | None = None
) -> tuple[httpx.Client, httpx.BaseTransport]:
    """An httpx client for ``url`` and the transport to send to directly.

    Args:
        url: The endpoint; the proxy is chosen for it once, here.
        proxy: An explicit proxy; ``None`` means the environment's (``HTTPS_PROXY``, ``NO_PROXY``...).
    """
    transport = _proxy_checked(
        lambda: httpx.HTTPTransport(limits=DEFAULT_LIMITS, proxy=proxy_for(url, proxy))
    )
    # trust_env=False: the proxy is already in the transport; env mounts on the wrapper would never be used.
    client = _OwnedClient(
        timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False, trust_env=False
    )
    _POOLS.add(transport)
    return client, transport


# The transports the SDK made: a forked child forgets their pooled connections (see _forget_pooled_connections).
_POOLS: weakref.WeakSet[httpx.HTTPTransport] = weakref.WeakSet()


def _forget_pooled_connections() -> None:
    """In a forked child: drop every pooled connection of the SDK's own transports, without closing it.

    A child shares its parent's sockets: sending on a pooled one, both processes would write requests into one
    connection and read each other's answers. The child opens its own instead. Closing the shared ones could end
    the parent's (a TLS close, a shutdown), so they are left to be garbage: that closes only the child's copy of each
    file descriptor. The pool's lock is made anew, as a thread of the parent may have held it at the fork. A pool
    that is not httpcore's as this knows it is left alone.
    """
    for transport in list(_POOLS):
        pool: Any = getattr(transport, "_pool", None)
        if isinstance(getattr(pool, "_connections", None), list) and isinstance(
            getattr(pool, "_requests", None), list
        ):
            with contextlib.suppress(Exception):
                pool._optional_thread_lock = type(pool._optional_thread_lock)()
                pool._connections = []
                pool._requests = []


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_pooled_connections)


class _OwnedClient(httpx.Client):
    """The httpx client a ``GrokClient`` makes for itself: closed when collected, if its owner never closed it.

    ``GrokClient(...)`` used without ``with`` or ``close()`` (as quick scripts do) would otherwise leave its pooled
    sockets to the garbage collector, which warns (``ResourceWarning: unclosed socket``). A client passed in as
    ``http_client=`` is its owner's to close.
    """

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, what close() needs may be gone already
            self.close()


def default_async_transport(proxy: httpx.Proxy | None = None) -> httpx.AsyncBaseTransport:
    """aiohttp's pool when it is installed and can reach the proxy, else httpx's native one."""
    if proxy is None or proxy.url.scheme in _AIOHTTP_PROXY_SCHEMES:
        try:
            from ._aiohttp_transport import AiohttpTransport
        except ImportError:
            pass
        else:
            transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=DEFAULT_LIMITS, proxy=proxy)
            return transport
    return httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS, proxy=proxy)


def default_async_client(
    url: str, proxy: ProxyTypes | None = None
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport]:
    """The async twin of :func:`default_sync_client`, with the same arguments."""
    transport = _proxy_checked(lambda: default_async_transport(proxy_for(url, proxy)))
    client = httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False, trust_env=False
    )
    return client, transport


def bind_direct_response(response: httpx.Response, request: httpx.Request, started: float) -> httpx.Response:
    """Give a response from a bare transport what ``Client.send`` would: its request, and ``elapsed`` on close.

    Args:
        response: What the transport returned.
        request: The request it answers.
        started: ``time.perf_counter()`` just before the request was handed to the transport.
    """
    response.request = request
    if response.is_closed:  # the transport read the whole body already (see _aiohttp_transport): it is done
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response
    stream = response.stream
    if isinstance(stream, httpx.SyncByteStream):
        response.stream = _TimedSyncStream(stream, response, started)
    elif isinstance(stream, httpx.AsyncByteStream):
        response.stream = _TimedAsyncStream(stream, response, started)
    return response


def _stamp(ref: weakref.ref[httpx.Response], started: float) -> None:
    response = ref()
    if response is not None:
        response.elapsed = timedelta(seconds=time.perf_counter() - started)


class _Timed:
    """What both timed streams hold: the wrapped stream, the response to stamp, and when the request started."""

    def __init__(self, stream: Any, response: httpx.Response, started: float) -> None:
        self._stream = stream
        # A weak reference: a strong one would make response and stream a cycle that only the cyclic garbage
        # collector frees, holding a pooled connection until it runs.
        self._response = weakref.ref(response)
        self._started = started


class _TimedSyncStream(_Timed, httpx.SyncByteStream):
    """Sets ``elapsed`` when the body is closed, as httpx's own client does; bytes pass through untouched."""

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        _stamp(self._response, self._started)
        self._stream.close()


class _TimedAsyncStream(_Timed, httpx.AsyncByteStream):
    """The async twin of :class:`_TimedSyncStream`: only the I/O calls differ."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # type: ignore[no-any-return]

    def relax_read_timeout(self, seconds: float | None) -> None:
        """Passed on to the transport's body, when it can change its read timeout (see ``_aiohttp_transport``)."""
        relax = getattr(self._stream, "relax_read_timeout", None)
        if relax is not None:
            relax(seconds)

    def cut(self) -> bool:
        """Passed on to the transport's body, when it can end a read in progress (see ``_cutoff.cut_read``);
        whether it could."""
        cut = getattr(self._stream, "cut", None)
        return cut is not None and bool(cut())

    async def aclose(self) -> None:
        _stamp(self._response, self._started)
        await self._stream.aclose()
