"""An httpx transport over one aiohttp session: httpx's request/response types, aiohttp's connection pool.

The async client the SDK builds sends through this transport. httpx's own async pool serves an order of
magnitude fewer requests per second with hundreds in flight, and the ``httpx-aiohttp`` package's transport spends
much of a small call converting between the two libraries (see docs/performance.md). This one converts only what
a call needs, once:

- the request: method, URL, headers as plain pairs, the body as bytes, and the attempt's timeouts (``connect``
  -> ``sock_connect``, ``read`` -> ``sock_read``, ``pool`` -> ``connect``, which in aiohttp bounds the wait for
  a pooled connection plus connecting; httpx's ``write`` has no aiohttp counterpart);
- the response: status and raw headers, and the body either as read already (when all of it came with the
  headers and needs no decoding, as a small completion does) or as a stream read in bounded pieces, so a
  decompression bomb is still counted piece by piece by whoever decodes it (aiohttp never decompresses here;
  httpx does);
- aiohttp's errors, into the httpx exception a native transport raises for the same failure (a timeout stays a
  timeout and nothing else becomes one), chained to the original as httpx does.

aiohttp never follows a redirect here, never retries a request (only idempotent ones could be, and a chat call is
a POST), keeps no cookies, and ignores the environment's proxy settings: the SDK chooses the proxy once, as for
its sync client. A proxy's credentials and headers go where httpx sends them: on the forwarded request for an
``http://`` endpoint, on the ``CONNECT`` for an ``https://`` one. Closing a response whose body was not read to
the end drops its connection instead of draining it; a response read to the end returns it to the pool.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import weakref
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from aiohttp import hdrs
from yarl import URL

from ._errors import ConfigurationError, RequestValidationError
from ._secrets import LazyHeaders, holds_credential
from ._wire import SentHeaders

__all__ = ["AiohttpTransport"]

# Bytes per piece of a response body: as httpx-aiohttp reads, so one piece inflates to at most ~16 MiB.
CHUNK_SIZE = 16 * 1024
# A call's deadline shortens its timeouts, so they vary; most calls use the configured ones.
_CACHED_TIMEOUTS = 64
_CACHED_URLS = 64


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests through one ``aiohttp.ClientSession``, made on first use inside the running loop.

    Args:
        limits: ``max_connections`` bounds the pool (None: no bound) and ``keepalive_expiry`` how long an idle
            connection is kept; aiohttp keeps every idle connection, so ``max_keepalive_connections`` has no
            counterpart.
        proxy: Where every request goes through (``http://`` or ``https://``), with its ``auth`` and
            ``headers``; None for direct connections.
        verify: As for httpx: verify TLS certificates (with ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set), or an
            ``ssl.SSLContext`` to use.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        proxy: httpx.Proxy | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if proxy is not None and proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"aiohttp cannot use a {proxy.url.scheme}:// proxy")
        self._limits = limits
        # Made now, as httpx does: loading the CA bundle takes tens of milliseconds, which the first request would
        # otherwise spend blocking the event loop.
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._session: aiohttp.ClientSession | None = None
        # Lets go of the session when this transport is collected unclosed (see _open).
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop the session belongs to
        self._closed = False
        self._timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}
        self._urls: dict[int, tuple[httpx.URL, URL]] = {}
        self._proxy: str | None = None
        self._proxy_headers: list[tuple[str, str]] = []
        if proxy is not None:
            self._proxy = str(proxy.url)  # httpx took the user info out of it
            self._proxy_headers = list(proxy.headers.items())
            if proxy.auth is not None:
                # A header, as httpx sends it (aiohttp's proxy_auth= is deprecated).
                user, password = proxy.auth
                token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                self._proxy_headers.append(("Proxy-Authorization", f"Basic {token}"))

    def __repr__(self) -> str:
        # The proxy URL is left out: its headers may hold a credential, and a traceback may render this.
        return f"<{type(self).__name__} via {'a proxy' if self._proxy else 'direct connections'}>"

    def _open(self) -> aiohttp.ClientSession:
        """The session for the running event loop, made on first use or when the loop changed.

        An aiohttp session belongs to the loop it was made on. A client used again under a new loop (a second
        ``asyncio.run()``, or a test framework's loop per test) gets a new session, once the old loop is closed;
        the old session is let go without awaiting. One client cannot serve two running loops at once.
        """
        if self._closed:
            raise RuntimeError("The transport is closed")  # the SDK reports it as ClientClosedError
        loop = asyncio.get_running_loop()
        if self._session is not None:
            if self._loop is not None and self._loop.is_running():
                # A usage error, not a network failure: raised as one, so that it is not retried.
                raise ConfigurationError(
                    "This AsyncGrokClient's connections belong to another event loop, which is running now: use "
                    "one client per event loop (or per thread that runs one)"
                )
            self._forget_session()
        self._loop = loop
        _LIVE.add(self)
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # as httpx's transports: cookies are a client's business
            auto_decompress=False,  # httpx decodes, piece by piece, so its limits see the inflated size
            trust_env=False,  # the proxy (or none) was chosen when the client was built
            timeout=aiohttp.ClientTimeout(total=None),
            request_class=_Request,
        )
        # A transport never closed lets go of its session when it is collected (or at exit) without awaiting, so
        # that neither warns ("Unclosed client session", "Unclosed connector"). A finalizer, not __del__: it
        # holds the session, so when a client is collected in a reference cycle, the session is not finalized
        # first (in no set order, with the client) and it runs while the session still can be let go of.
        self._finalizer = weakref.finalize(self, _let_go, self._session)
        return self._session

    def _forget_session(self, *, let_go: bool = True) -> None:
        """Drop the session, letting go of it (``let_go``) or leaving it alone (it is the parent's, after a fork)."""
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        session, self._session = self._session, None
        if let_go and session is not None:
            _let_go(session)

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout") or {}
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) >= _CACHED_TIMEOUTS:
                self._timeouts.clear()
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None,
                sock_connect=_at_least_a_moment(key[0]),
                sock_read=_at_least_a_moment(key[1]),
                connect=_at_least_a_moment(key[2]),
            )
        return timeout

    def _url(self, url: httpx.URL) -> URL:
        """``url`` for aiohttp, sent as httpx encoded it. A client sends to one URL per deployment, whose
        ``httpx.URL`` the SDK reuses (see ``_wire._target``): those are converted once, not on every request."""
        known = self._urls.get(id(url))
        if known is not None and known[0] is url:
            return known[1]
        converted = URL(str(url), encoded=True)
        if holds_credential(url):
            return converted  # not kept
        if len(self._urls) >= _CACHED_URLS:
            self._urls.clear()
        self._urls[id(url)] = (url, converted)  # holding ``url`` keeps its id from being reused
        return converted

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the response comes back with its body streaming (:class:`_Body`) or already read."""
        session = self._session
        if session is None or self._loop is not asyncio.get_running_loop():
            session = self._open()
        try:
            content: bytes | None = request.content
        except httpx.RequestNotRead:
            content = await request.aread()
        headers = _as_aiohttp_headers(request.headers)
        proxy_headers = None
        if self._proxy is not None:
            if request.url.scheme == "http":
                # The proxy forwards this request itself: they go with it.
                headers = [*_pairs(headers), *self._proxy_headers]
            else:
                proxy_headers = self._proxy_headers  # they go with the CONNECT that opens the tunnel
        try:
            response = await session._request(
                request.method,
                self._url(request.url),
                headers=headers,
                data=content or None,
                allow_redirects=False,
                timeout=self._timeout(request),
                proxy=self._proxy,
                proxy_headers=proxy_headers,
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _mapped(exc, request) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        received = _ReceivedHeaders.of_raw(response.raw_headers)
        body = _whole_body(response)
        if body is None:
            return _response(response.status, received, _Body(response, request), request, extensions)
        done = _response(response.status, received, httpx.ByteStream(body), request, extensions)
        # What ``done.read()`` would leave, without its trip through httpx's decoder lookup and three iterators
        # (a third of this function's cost): the body is in memory and needs no decoding. ``_content`` is where
        # httpx keeps a read body (``BodyReader.finish`` stores it there too).
        done._content = body
        done.is_stream_consumed = done.is_closed = True
        return done

    async def aclose(self) -> None:
        self._closed = True
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        session, self._session = self._session, None
        if session is not None:
            if self._loop is asyncio.get_running_loop():
                await session.close()
            else:  # closed from another loop than the one it served: nothing of it can be awaited here
                _let_go(session)


# Transports with a session, which a fork makes the child forget (_forget_the_parents_sessions).
_LIVE: weakref.WeakSet[AiohttpTransport] = weakref.WeakSet()


# In a forked child: the connectors of sessions made in the parent, kept (never closed, never collected).
_LEFT_TO_THE_PARENT: list[aiohttp.BaseConnector] = []


def _forget_the_parents_sessions() -> None:
    """In a forked child: every transport forgets its session, which belongs to the parent, without touching it.

    Its connections are the parent's sockets, and closing them from here would unregister them from the parent's
    event loop (the child shares its epoll instance) or end their TLS sessions. The child makes its own session on
    first use. The old connectors are kept, so that they are never collected (which would close their sockets).
    """
    for transport in list(_LIVE):
        session = transport._session
        transport._forget_session(let_go=False)  # nor when the transport is collected
        transport._loop = None
        if session is not None:
            connector = session.connector
            with contextlib.suppress(Exception):
                session.detach()  # the session alone: it no longer refers to the connector, and is quiet when collected
            if connector is not None:
                _LEFT_TO_THE_PARENT.append(connector)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_the_parents_sessions)


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, asking for the encodings the SDK inflates within its limits: aiohttp would add br and zstd
    when their packages are installed, which the SDK refuses (``_wire.refused_encoding``)."""

    DEFAULT_HEADERS = {  # noqa: RUF012 (aiohttp's own attribute, read only)
        **aiohttp.ClientRequest.DEFAULT_HEADERS,
        hdrs.ACCEPT_ENCODING: "gzip, deflate",
    }


def _let_go(session: aiohttp.ClientSession) -> None:
    """Close ``session`` without awaiting: its loop may be closed, or not the running one.

    Its connector closes its connections at once (a closed loop's are only marked closed; their sockets close as they
    are collected), and the session is detached from it, so neither warns when collected.
    """
    connector = session.connector
    session.detach()
    if connector is not None:
        with contextlib.suppress(Exception):
            connector._close()  # the synchronous part of close(), which is a coroutine


class _Body(httpx.AsyncByteStream):
    """A response body read from aiohttp in pieces of at most :data:`CHUNK_SIZE` bytes, errors mapped to httpx's.

    ``aclose`` awaits nothing, so it completes even in a task being cancelled: a body read to the end gives its
    connection back to the pool, any other is closed with its connection.
    """

    __slots__ = ("_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while chunk := await content.read(CHUNK_SIZE):
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _mapped(exc, self._request) from exc

    async def aclose(self) -> None:
        # A body read to the end already gave its connection back (aiohttp does on the body's end); any other
        # connection is closed here, and a read blocked on it in another task fails at once.
        self._response.close()

    def cut(self) -> bool:
        """End a read of this body blocked in another task, at once (``_cutoff.cut_read``; on the event loop).

        Closing the session alone would leave that reader waiting for ever: aiohttp drops a closed connection's
        payload without waking whoever awaits it.
        """
        self._response.close()
        return True

    def relax_read_timeout(self, seconds: float | None) -> None:
        """Read the rest of the body with ``seconds`` as the per-read timeout (a stream's body after its headers,
        whose request timeouts were shortened to the call's deadline: see ``_stream._relaxed``). It applies from
        the next piece that arrives; until then the deadline's own timer bounds the wait."""
        connection = self._response.connection
        if connection is not None and connection.protocol is not None:
            connection.protocol.read_timeout = seconds
            # The timer armed by the last piece still counts the old timeout: re-arm it with the new one (from
            # now), or a stall right after the first chunk would end at the deadline after all.
            connection.protocol.start_timeout()


def _at_least_a_moment(seconds: float | None) -> float | None:
    """An httpx timeout for aiohttp, which reads 0 as "no timeout" where httpx means "at once"."""
    return _A_MOMENT if seconds is not None and seconds <= 0 else seconds


_A_MOMENT = 1e-6


def _as_aiohttp_headers(sent: httpx.Headers) -> dict[str, str] | list[tuple[str, str]]:
    """The request's headers for aiohttp: a dict of strings when no name repeats, else a list of pairs.

    The dict is the cheaper for the garbage collector: it holds only strings, so it is not tracked, where a list
    of pairs adds a dozen objects that the collector walks while the request waits for its answer. Headers the SDK
    built and nothing changed are that dict already (aiohttp copies what it is given).
    """
    if isinstance(sent, SentHeaders) and sent.pairs is not None:
        return sent.pairs
    # aiohttp encodes header text as UTF-8, so UTF-8 is the decoding that sends httpx's bytes unchanged (a hook's
    # non-ASCII value, which httpx stores as UTF-8, went out encoded twice when this was latin-1).
    try:
        pairs = [(key.decode(), value.decode()) for key, value in sent.raw]
    except UnicodeDecodeError:
        pairs = None
    # Raised here, not in the except block: the decode error holds the bytes (a credential, maybe).
    if pairs is None:
        name = next(key for key, value in sent.raw if not _utf8(key) or not _utf8(value))
        raise RequestValidationError(
            f"The request's header {name.decode('latin-1')!r} holds bytes that are not UTF-8 (set by a hook?): the "
            "async client's transport sends header text as UTF-8 and cannot send them as they are",
            param="headers",
        )
    headers = dict(pairs)
    return headers if len(headers) == len(pairs) else pairs


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _pairs(headers: dict[str, str] | list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, dict) else headers


class _ReceivedHeaders(LazyHeaders):
    """A response's headers as httpx keeps them, from aiohttp's raw bytes (not re-checked one by one as
    ``httpx.Headers`` does with what it is given), and kept as those raw pairs until something reads them: a
    successful call to one endpoint without hooks or INFO logging reads none, and building httpx's field list is a
    twentieth of the transport's work."""

    _raw: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of_raw(cls, raw: tuple[tuple[bytes, bytes], ...]) -> _ReceivedHeaders:
        headers = cls._blank()
        headers._raw = raw
        return headers

    def _make_fields(self) -> list[tuple[bytes, bytes, bytes]]:
        fields = [(name, name.lower(), value) for name, value in self._raw]
        self._raw = ()  # the fields are the headers from now on
        return fields


def _response(
    status: int,
    headers: httpx.Headers,
    stream: httpx.AsyncByteStream,
    request: httpx.Request,
    extensions: dict[str, Any],
) -> httpx.Response:
    """``httpx.Response(status, headers=headers, stream=stream, request=request, extensions=extensions)``, made
    without ``__init__``, which would copy the headers and the extensions just made for it (a test checks that the
    attributes match: tests/unit/test_aiohttp_transport.py)."""
    made = httpx.Response.__new__(httpx.Response)
    made.status_code = status
    made.headers = headers
    made._request = request
    made.next_request = None
    made.extensions = extensions
    made.history = []
    made.is_closed = made.is_stream_consumed = False
    made.default_encoding = "utf-8"
    made.stream = stream
    made._num_bytes_downloaded = 0
    return made


def _whole_body(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, if all of it arrived with the headers and needs no decoding; else None (it is read as it comes).

    A small response usually arrives in one piece. Handing it over as read skips httpx's streaming machinery
    (three layers of async generators per piece) for the common case; the bytes were in memory already, and
    aiohttp gave the connection back to its pool when the body ended. An encoded body always streams, so that
    whoever decodes it counts the inflated size piece by piece.
    """
    content = response.content
    if not content.is_eof() or content.exception() is not None:
        return None
    encoding = response.headers.get("Content-Encoding")
    if encoding and encoding.strip().lower() != "identity":
        return None
    body = content.read_nowait()
    response.release()
    return body


def _mapped(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error a native httpx transport raises for the failure aiohttp reported as ``exc``."""
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout  # waiting for a pooled connection, or connecting
    elif isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        kind = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # refused, DNS, TLS
    elif isinstance(
        exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)
    ):
        kind = httpx.RemoteProtocolError  # no response, a truncated body, or a malformed one
    elif isinstance(exc, aiohttp.ClientConnectionError):
        kind = httpx.ReadError  # reset, broken pipe
    elif isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        kind = httpx.UnsupportedProtocol
    else:
        kind = httpx.TransportError
    return kind(str(exc) or type(exc).__name__, request=request)
