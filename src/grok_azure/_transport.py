"""HTTP clients: pool sizes and the async transport choice.

The async client runs httpx's API over aiohttp's connection pool (the ``httpx-aiohttp`` transport) when
aiohttp is installed (it is a dependency): with hundreds of requests in flight, httpx's own async pool serves an order of magnitude
fewer requests per second (see docs/performance.md). httpx's API, ``http_client=`` injection and respx in tests are
unchanged; without aiohttp, the native transport is used.
"""

from __future__ import annotations

import httpx

from ._wire import DEFAULT_TIMEOUT

# Foundry allows 300 concurrent requests per deployment by default; keep enough connections alive to use them.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=300, keepalive_expiry=30.0)


def default_sync_client() -> httpx.Client:
    return httpx.Client(timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS, follow_redirects=False)


def default_async_transport() -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=DEFAULT_LIMITS)
    return transport


def default_async_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT, transport=default_async_transport(), follow_redirects=False
    )
