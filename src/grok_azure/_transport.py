"""HTTP clients: pool sizes, the async transport choice, and sending without the client's per-request work.

The async client runs httpx's API over aiohttp's connection pool (the ``httpx-aiohttp`` transport, a
dependency): with hundreds of requests in flight, httpx's own async pool serves an order of magnitude fewer
requests per second (see docs/performance.md). Without aiohttp, the native transport is used.

When the SDK builds the httpx client itself, requests go straight to its transport. ``httpx.Client.send`` adds
cookie handling (a round trip through ``http.cookiejar`` per response), redirect and auth flows and event
hooks, none of which a Foundry call uses, and they cost about a third of the async throughput. A client passed
in as ``http_client=`` may carry hooks or settings of the caller's, so it always goes through ``send``.
"""

from __future__ import annotations

import httpx

from ._constants import DEFAULT_TIMEOUT

# Foundry allows 300 concurrent requests per deployment by default; keep enough connections alive to use them.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=300, keepalive_expiry=30.0)


def default_sync_client() -> tuple[httpx.Client, httpx.BaseTransport]:
    transport = httpx.HTTPTransport(limits=DEFAULT_LIMITS)
    return httpx.Client(timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False), transport


def default_async_transport() -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=DEFAULT_LIMITS)
    return transport


def default_async_client() -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport]:
    transport = default_async_transport()
    client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False)
    return client, transport
