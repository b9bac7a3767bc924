"""Keeping credentials out of everything an exception can reach.

The rule: no API key, token, or value of a secret-named header or query parameter is reachable from an exception
the SDK raises, or rendered by :mod:`traceback` for it (``capture_locals=True`` included). Concretely:

- **Which names are secret.** A header or query parameter is secret when its name is one of the well-known
  credential names, or contains ``key``, ``token``, ``secret``, ``sig`` (``signature``), ``password``/``passwd``,
  ``auth``, ``credential`` or ``cookie`` in any case (:func:`is_secret_name`). That covers a custom
  ``api_key_header`` such as ``X-Custom-Key`` and secret-named ``default_headers``, ``extra_headers`` and
  ``extra_query`` entries, while ``x-ms-client-request-id``, ``content-length``, ``api-version`` and
  ``user-agent`` stay visible.
- **What an exception keeps.** ``exc.request`` is a body-less copy with secret headers, secret query values and a
  URL password replaced by ``[redacted]`` (:func:`redacted_request`); ``exc.response`` is a copy pointing at that
  request (:func:`detached_response`); the message, body, headers and fields are scrubbed of every secret value
  the request carried (:func:`secret_values`, :func:`scrub`), so a 401 that echoes the key shows ``[redacted]``.
- **What an exception chains.** A low-level exception is never chained as is (its ``request`` holds the real
  headers and its traceback the transport's frames). Raise the GrokError *outside* the ``except`` block, with
  ``__cause__ = sanitized_cause(exc, request)``: a bare copy with a scrubbed message, no traceback, no request,
  no chain.
- **What a traceback renders.** ``capture_locals=True`` renders ``repr()`` of every local of every frame. The
  objects that carry credentials through the SDK's frames render redacted: :class:`RedactingRequest` (the request
  built per attempt: its URL query and its headers), :class:`RedactingHeaders` and :class:`RedactingDict`, and
  ``PreparedRequest``. Their cost is paid only when they are rendered. Code that handles a credential must not
  keep it in a plain local while something that can raise runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx
from typing_extensions import Self

__all__ = [
    "REDACTED",
    "QuietMapping",
    "RedactingDict",
    "RedactingHeaders",
    "RedactingRequest",
    "detached_response",
    "hide_request_options",
    "hide_secret_values",
    "is_secret_name",
    "redacted_request",
    "redacted_url",
    "request_of",
    "sanitized_cause",
    "scrub",
    "scrub_credential_text",
    "scrub_text",
    "scrub_url_text",
    "scrubbed_excerpt",
    "secret_values",
]

REDACTED = "[redacted]"

# Names that are credentials although no secret word is in them (Azure Functions' function key is `code`).
_SECRET_NAMES = frozenset({"code"})
_SECRET_WORDS = re.compile(r"key|token|secret|sig|passw|auth|credential|cookie")
# Shorter values are not scrubbed from text: they cannot be real credentials and would mangle messages.
MIN_SECRET_LEN = 8
# Headers of a kept response whose values are session credentials of their own.
_SECRET_RESPONSE_HEADERS = frozenset({"set-cookie"})
# Response headers whose value is a URL, which may carry a secret query value or a password.
_URL_HEADERS = frozenset({"location", "content-location"})
# Shapes of credentials in text where the exact value is unknown (a low-level message with no request at hand).
# Anchored at a token's start (no token character before it): otherwise a run of "eyJeyJ..." is rescanned from
# every "eyJ" in it, quadratic in a hostile text's length.
_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")
_SCHEME_RE = re.compile(r"\b(Bearer|Basic|SharedKey)\s+[A-Za-z0-9._~+/:-]{8,}=*", re.IGNORECASE)
# `name=value` in a query string, or free text (`client_secret=...` in a provider's message); redacted when the
# name is secret-named.
_QUERY_PAIR_RE = re.compile(r"(^|[?&;,(\s])([^=&\s'\"#?;,()]+)=([^&\s'\"#;,)]*)")


@lru_cache(maxsize=512)
def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter name says it carries a credential (case-insensitive)."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or _SECRET_WORDS.search(lowered) is not None


def _credential_parts(value: str) -> list[str]:
    """The value of a secret header, plus the credential inside an ``Authorization: <scheme> <credential>``."""
    parts = [value]
    scheme, _, credential = value.strip().partition(" ")
    if credential and scheme.isalpha():
        parts.append(credential)
    return parts


def secret_values(request: httpx.Request | None) -> list[str]:
    """Every credential the request carries (secret headers, secret query values, URL password), longest first.

    Longest first, so a whole ``Bearer <token>`` header value is replaced before its token part. Percent-encoded
    forms are included, since a URL in a message carries them encoded.
    """
    if request is None:
        return []
    values: list[str] = []
    for name, value in request.headers.items():
        if is_secret_name(name):
            values.extend(_credential_parts(value))
    url = request.url
    values.extend(v for k, v in url.params.multi_items() if is_secret_name(k))
    if url.password:
        values.append(url.password)
    found: set[str] = set()
    for value in values:
        value = value.strip()
        if len(value) >= MIN_SECRET_LEN:
            found.add(value)
            found.add(quote(value, safe=""))
    return sorted(found, key=len, reverse=True)


def scrub_text(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _scrub_bytes(data: bytes, secrets: list[str]) -> bytes:
    # Bytes are replaced as bytes: decoding and re-encoding would alter a body that is not valid UTF-8.
    redacted = REDACTED.encode()
    for secret in secrets:
        encoded = secret.encode("utf-8", errors="ignore")
        if encoded and encoded in data:
            data = data.replace(encoded, redacted)
    return data


def _scrub_leaf(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, (bytes, bytearray)):
        return _scrub_bytes(bytes(value), secrets)
    return value


def _holds_secret(value: Any, secrets: list[str]) -> bool:
    """Whether any string or bytes nested in ``value`` (keys included) contains a secret; iterative."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif (isinstance(item, str) and any(secret in item for secret in secrets)) or (
            isinstance(item, (bytes, bytearray))
            and any(secret.encode("utf-8", errors="ignore") in item for secret in secrets)
        ):
            return True
    return False


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with secrets replaced in every string or bytes nested anywhere in it.

    When nothing in ``value`` holds a secret (the usual case) it is returned as is: copying a large decoded error
    body only to find nothing would double its memory. Otherwise the result is a copy in which mappings become
    dicts and sequences lists. Both walks use an explicit stack, not recursion, so a hostile body nested
    thousands of levels deep cannot raise ``RecursionError`` here.
    """
    if not secrets or not _holds_secret(value, secrets):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, MutableMapping[Any, Any] | list[Any], Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, Mapping):
            copied: dict[Any, Any] = {}
            parent[slot] = copied
            for key, child in item.items():
                new_key = _scrub_leaf(key, secrets)
                copied[new_key] = None  # keeps the order; the value is filled in when popped
                stack.append((child, copied, new_key))
        elif isinstance(item, (list, tuple)):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[slot] = _scrub_leaf(item, secrets)
    return root[0]


def _scrub_unknown(text: str) -> str:
    """Remove credential-shaped text whose exact value is not known: JWTs, ``Bearer x``, ``?sig=x``."""
    text = _JWT_RE.sub(REDACTED, text)
    text = _SCHEME_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _QUERY_PAIR_RE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}" if is_secret_name(m.group(2)) else m.group(0), text
    )


def scrub_credential_text(text: str) -> str:
    """``text`` without credential-shaped parts whose exact value is unknown (JWTs, ``Bearer x``, ``?sig=x``).

    For text from outside the SDK, such as a credential provider's exception message.
    """
    return _scrub_unknown(text)


def scrubbed_excerpt(text: str | bytes, secrets: list[str], limit: int) -> str:
    """The first ``limit`` characters of ``text``, scrubbed of ``secrets``, with ``…`` when cut.

    Scrubbing happens before the cut, so a secret straddling the cut cannot leave a prefix behind, and only a
    window of ``limit`` plus the longest secret is ever decoded or scanned: a body of many megabytes costs no
    copy of itself.

    Args:
        text: The text, or bytes decoded as UTF-8 (invalid bytes replaced).
        secrets: Values to replace with ``[redacted]`` (:func:`secret_values`).
        limit: The most characters kept before the ``…``.
    """
    longest = max((len(secret) for secret in secrets), default=0)
    window_chars = limit + longest
    if isinstance(text, (bytes, bytearray)):
        # A UTF-8 character is at most 4 bytes, so this many bytes decode to at least window_chars characters.
        raw = bytes(text[: window_chars * 4])
        cut_short = len(text) > len(raw)
        window = raw.decode("utf-8", errors="replace")
    else:
        window = text[:window_chars]
        cut_short = len(text) > len(window)
    if len(window) > window_chars:
        window, cut_short = window[:window_chars], True
    scrubbed = scrub_text(window, secrets)
    if cut_short and longest > 1:
        # Only the window's last longest-1 characters can hold the start of a secret that runs past the window.
        scrubbed = scrubbed[: len(scrubbed) - (longest - 1)]
    if len(scrubbed) > limit or cut_short:
        return scrubbed[:limit] + "…"
    return scrubbed


_USERINFO_PASSWORD_RE = re.compile(r"(//[^/@:\s]*):[^@/\s]*@")


def scrub_url_text(text: str) -> str:
    """A URL (or text quoting one) as typed by a user, without its password or secret-named query values."""
    return _scrub_unknown(_USERINFO_PASSWORD_RE.sub(rf"\1:{REDACTED}@", text))


def hide_secret_values(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The items of ``mapping`` with the values of secret names replaced (for a ``repr``)."""
    return [(k, REDACTED if isinstance(k, str) and is_secret_name(k) else v) for k, v in mapping.items()]


def redacted_url(url: httpx.URL, secrets: list[str] | None = None) -> httpx.URL:
    """``url`` with secret query values and any password replaced; other query values scrubbed of ``secrets``."""
    secrets = secrets or []
    changes: dict[str, Any] = {}
    if url.query:
        changes["params"] = [
            (k, REDACTED if is_secret_name(k) else scrub_text(v, secrets))
            for k, v in url.params.multi_items()
        ]
    if url.password:
        changes["password"] = REDACTED
    return url.copy_with(**changes) if changes else url


class RedactingHeaders(httpx.Headers):
    """``httpx.Headers`` whose ``repr`` hides the values of secret names (httpx hides only Authorization)."""

    @classmethod
    def of_encoded(cls, fields: list[tuple[bytes, bytes, bytes]]) -> RedactingHeaders:
        """Headers holding ``fields`` as they are: ``(name, lower-case name, value)``, already encoded, as
        ``httpx.Headers`` keeps them (a test checks that this stays so: tests/unit/test_wire_build.py)."""
        headers = cls.__new__(
            cls
        )  # not __init__: it checks its argument against two abstract classes, slowly
        headers._list = fields
        headers._encoding = None  # as __init__ leaves it: worked out from the fields when first asked
        return headers

    def set_encoded(self, lower_name: bytes, value: bytes) -> None:
        """``headers[name] = value`` for a lower-case ASCII ``name`` and an encoded ``value``, without encoding
        them again: as there, the first field of that name (in any case) is replaced where it stands and any other
        goes, and a new name goes last."""
        fields = self._list
        found = [index for index, field in enumerate(fields) if field[1] == lower_name]
        if not found:
            fields.append((lower_name, lower_name, value))
            return
        for index in reversed(found[1:]):
            del fields[index]
        fields[found[0]] = (lower_name, lower_name, value)

    def __repr__(self) -> str:
        try:
            shown = dict(hide_secret_values(self))
        except UnicodeDecodeError:
            # httpx decodes with the encoding it first worked out, which bytes added since (a hook's) may not be
            # in; a repr must not raise (tracebacks rendered with their locals call it).
            shown = dict(hide_secret_values({k.decode("latin-1"): v.decode("latin-1") for k, v in self.raw}))
        return f"{type(self).__name__}({shown!r})"


class LazyHeaders(RedactingHeaders):
    """Headers whose httpx field list is made when something first reads them, from what the subclass holds
    (:meth:`_make_fields`); a call that reads none encodes and copies none. Made without ``__init__``
    (:meth:`_blank`), as :meth:`RedactingHeaders.of_encoded` is."""

    _fields: list[tuple[bytes, bytes, bytes]] | None

    @classmethod
    def _blank(cls) -> Self:
        headers = cls.__new__(cls)
        headers._fields = None
        headers._encoding = None  # as __init__ leaves it: worked out from the fields when first asked
        return headers

    def _make_fields(self) -> list[tuple[bytes, bytes, bytes]]:
        """The field list ``(name, lower-case name, value)``, encoded, from what the subclass holds."""
        raise NotImplementedError

    @property
    def _list(self) -> list[tuple[bytes, bytes, bytes]]:  # httpx.Headers keeps its fields here
        fields = self._fields
        if fields is None:
            fields = self._fields = self._make_fields()
        return fields

    @_list.setter
    def _list(self, fields: list[tuple[bytes, bytes, bytes]]) -> None:
        self._fields = fields


class RedactingDict(dict[str, str]):
    """A plain dict of headers or query parameters whose ``repr`` hides the values of secret names."""

    def __repr__(self) -> str:
        return repr(dict(hide_secret_values(self)))


class QuietMapping(Mapping[str, str]):
    """A read-only view of a mapping (such as ``os.environ``) whose ``repr`` shows no values.

    ``repr(os.environ)`` prints every variable, credentials included; a frame holding it renders them all.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = mapping

    def __getitem__(self, name: str) -> str:
        return self._mapping[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def __repr__(self) -> str:
        return f"<{len(self._mapping)} variables, values hidden>"


def holds_credential(url: httpx.URL) -> bool:
    """Whether ``url`` carries a credential (user info, or a query parameter with a secret name): never kept."""
    return bool(url.userinfo) or any(map(is_secret_name, url.params))


def hide_request_options(params: Mapping[str, Any]) -> None:
    """Swap the caller's ``extra_headers`` and ``extra_query`` in ``params`` (in place) for :class:`RedactingDict` s.

    ``params`` is the ``**params`` dict of a public method: a fresh dict per call, held by that method's frame
    and by every frame it is passed to. Swapping its entries hides them in all those frames at once, which a
    ``del`` in each could not. Call it first, before anything that can raise.
    """
    if not isinstance(params, dict) or not ("extra_headers" in params or "extra_query" in params):
        return
    for name in ("extra_headers", "extra_query"):
        value = params.get(name)
        if value is not None and isinstance(value, Mapping) and not isinstance(value, RedactingDict):
            params[name] = RedactingDict(value)


class RedactingRequest(httpx.Request):
    """An ``httpx.Request`` whose ``repr`` (and its headers' ``repr``) hides credentials.

    ``httpx.Request.__repr__`` prints the whole URL, a secret query value included, and ``httpx.Headers`` prints
    every header but Authorization; a traceback rendered with ``capture_locals=True`` calls both. Only rendering
    pays: building one costs a class swap on the headers, not a copy.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        headers = kwargs.get("headers")
        if isinstance(headers, RedactingHeaders) and kwargs.get("stream") is not None:
            # Headers built for this request (see _wire.PreparedRequest.build) are taken as they are: httpx adds
            # none to a request given its stream, and copying them would re-encode every one.
            del kwargs["headers"]
            super().__init__(*args, **kwargs)
            self.headers = headers
            if len(args) > 1 and isinstance(args[1], httpx.URL):
                # The URL given, not httpx's copy of it: a client's URL is one object the transport can recognise.
                self.url = args[1]
            return
        super().__init__(*args, **kwargs)
        # Same layout, no new slots: swapping the class changes only the repr.
        self.headers.__class__ = RedactingHeaders

    @classmethod
    def of_parts(
        cls,
        method: str,
        url: httpx.URL,
        headers: RedactingHeaders,
        content: bytes,
        extensions: dict[str, Any],
    ) -> RedactingRequest:
        """What ``cls(method, url, headers=headers, stream=httpx.ByteStream(content), extensions=extensions)`` is
        once read, made without ``__init__``, which would copy the headers, the URL and the extensions only for
        this to replace them (a test checks that the attributes match: tests/unit/test_wire_build.py).

        Args:
            method: the upper-case HTTP method.
            url: the URL, kept as given (one object per deployment, which the transport recognises).
            headers: every header to send, Host and Content-Length included (httpx adds none to a request made
                from a stream).
            content: the body.
            extensions: the request's extensions (its ``timeout``), kept as given.
        """
        request = cls.__new__(cls)
        request.method = method
        request.url = url
        request.headers = headers
        request.extensions = extensions
        request.stream = httpx.ByteStream(content)
        request._content = content
        return request

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({self.method!r}, {str(redacted_url(self.url))!r})>"


def redacted_request(request: httpx.Request, secrets: list[str] | None = None) -> httpx.Request:
    """A body-less copy of ``request`` for an exception: secret headers, query values and password replaced.

    Values of other headers and query parameters are scrubbed of ``secrets`` (by default the request's own).
    """
    if secrets is None:
        secrets = secret_values(request)
    # Body-framing headers are dropped along with the body they described.
    headers = [
        (name, REDACTED if is_secret_name(name) else scrub_text(value, secrets))
        for name, value in request.headers.items()
        if name.lower() not in {"content-length", "transfer-encoding"}
    ]
    # The body is left out: it may be an unread stream, and it is the caller's own data anyway.
    return RedactingRequest(request.method, redacted_url(request.url, secrets), headers=headers)


def request_of(holder: object) -> httpx.Request | None:
    """The request httpx attached to a response or an exception, or None (httpx raises when there is none)."""
    try:
        request = getattr(holder, "request", None)
    except RuntimeError:
        return None
    return request if isinstance(request, httpx.Request) else None


def scrubbed_headers(headers: httpx.Headers, secrets: list[str]) -> httpx.Headers:
    """Response headers with known secrets scrubbed from their values and session cookies dropped.

    A ``Location`` also loses its password and secret-named query values (``?sig=...``), which need not be
    secrets the request carried.
    """
    return httpx.Headers(
        [
            (k, REDACTED if k.lower() in _SECRET_RESPONSE_HEADERS else _scrub_header_value(k, v, secrets))
            for k, v in headers.multi_items()
        ],
        # The encoding the values were decoded with (UTF-8, or latin-1 for other bytes): httpx's default, ASCII,
        # cannot encode a header such as "x-ms-error-detail: nicht verfügbar" again.
        encoding=headers.encoding,
    )


def _scrub_header_value(name: str, value: str, secrets: list[str]) -> str:
    value = scrub_text(value, secrets)
    return scrub_url_text(value) if name.lower() in _URL_HEADERS else value


def detached_response(
    response: httpx.Response, request: httpx.Request | None, secrets: list[str]
) -> httpx.Response:
    """A copy of ``response`` for an exception: ``.request`` is the redacted one, body and headers scrubbed."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    # The copy holds decoded bytes, so the encoding headers would make httpx decode them a second time.
    scrubbed = scrubbed_headers(response.headers, secrets)
    headers = httpx.Headers(
        [
            (k, v)
            for k, v in scrubbed.multi_items()
            if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        ],
        encoding=scrubbed.encoding,  # as scrubbed_headers: a non-ASCII value is no failure
    )
    return httpx.Response(
        response.status_code, headers=headers, content=_scrub_bytes(content, secrets), request=request
    )


def _message_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not hide the failure it describes
        return ""


def _bare_copy(cls: type[BaseException], message: str) -> BaseException:
    """An instance of ``cls`` holding only ``message``; a RuntimeError naming ``cls`` if that cannot be made.

    ``__init__`` is skipped on purpose: some (azure-core's) store ``sys.exc_info()`` there, which inside an
    ``except`` block is the original exception, traceback and all.
    """
    try:
        clone = cls.__new__(cls)
        clone.args = (message,)
        # A __str__ or __repr__ that needs what __init__ would have set cannot be rendered: use the fallback.
        str(clone)
        repr(clone)
    except Exception:
        return RuntimeError(f"{cls.__name__}: {message}")
    return clone


def sanitized_cause(exc: BaseException, request: httpx.Request | None = None) -> BaseException:
    """A stand-in for a low-level exception, safe to chain under a GrokError as its ``__cause__``.

    Args:
        exc: The exception caught (any type).
        request: The request that was being sent, when known: every credential it carries is scrubbed from the
            message. Without it, the request httpx attached to ``exc`` (if any) is used. Credential-shaped text
            (JWTs, ``Bearer ...``, secret-named query parameters) is scrubbed either way.

    The copy keeps the type (when it can be made without running ``__init__``) and the scrubbed message, and
    drops what could hold a credential: the ``request`` httpx attaches (with its auth headers), the traceback
    (whose frames' locals ``traceback`` renders with ``capture_locals=True``), attributes, notes and the
    exception's own chain. Raise the GrokError outside the ``except`` block that caught ``exc``, so that
    ``__context__`` does not point back at the original either.
    """
    if request is None:
        request = request_of(exc)
    message = _scrub_unknown(scrub_text(_message_of(exc), secret_values(request)))
    clone = _bare_copy(type(exc), message)
    clone.__cause__ = None
    clone.__context__ = None
    clone.__traceback__ = None
    return clone
