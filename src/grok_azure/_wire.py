"""The wire layer without I/O: requests for each Foundry route, response decoding, transport-error mapping.

Both clients prepare a :class:`PreparedRequest` here, add auth headers, and hand it to httpx; what comes back is
decoded and mapped here too. Nothing in this module opens a socket.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic

from ._constants import DEFAULT_TIMEOUT
from ._deadline import Deadline
from ._dense_json import DIRECT_DECODE_BYTES, validate_large
from ._endpoint import DEFAULT_MODEL_INFERENCE_API_VERSION, Endpoint
from ._error_mapping import error_in_success_body, status_error_from_response
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    GrokError,
    RequestValidationError,
    ResponseDecodeError,
    ResponseTooLargeError,
)
from ._secrets import (
    LazyHeaders,
    RedactingHeaders,
    RedactingRequest,
    hide_secret_values,
    holds_credential,
    sanitized_cause,
)
from ._validate import ONLY_STR, check_header_mapping, check_timeout
from ._version import __version__
from .types.chat_completion import ChatCompletion

# ChatCompletionsOptions in the official 2025-05-01 model-inference spec. Any other body field makes the client
# ask for `extra-parameters: pass-through`, or the service rejects the request (its default is `error`).
MODEL_INFERENCE_SPEC_FIELDS = frozenset(
    {
        "messages",
        "frequency_penalty",
        "stream",
        "presence_penalty",
        "temperature",
        "top_p",
        "max_tokens",
        "response_format",
        "stop",
        "tools",
        "tool_choice",
        "seed",
        "model",
        "modalities",
        "user_security_context",
    }
)

# Sent on every attempt: "0" on the first, "1" on the one after it... so server logs can tell retries apart.
RETRY_COUNT_HEADER = "x-grok-azure-retry-count"
# The response extension where the call loop notes which deployment answered (read as ``served_by``).
SERVED_BY = "grok_azure.served_by"
# A streamed response's configured read timeout (the attempt's was shortened to the deadline): see _stream._relaxed.
READ_TIMEOUT = "grok_azure.read_timeout"
# A streamed success response's report to its deployment's health, made once the stream shows it is an answer: its
# first chunk, or a clean end (see _stream._answered).
STREAM_ANSWERED = "grok_azure.stream_answered"

USER_AGENT = f"grok-azure/{__version__} Python/{platform.python_version()} httpx/{httpx.__version__}"

# RFC 9110 field names are tokens; values here are visible ASCII, space and tab. httpx encodes header values as
# ASCII, and a CR or LF would split the header (h11 refuses it, surfacing as a fake connection error).
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e]*")


def header_problem(name: object, value: object) -> str | None:
    """Why a header cannot be sent, or None. The value is never quoted: it may be a credential."""
    if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        return (
            f"header name {shown} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        )
    if not isinstance(value, str):
        return f"the value of header {name!r} must be a str, not {type(value).__name__}"
    match = _HEADER_VALUE_RE.match(value)
    end = match.end() if match else 0
    if end == len(value):
        return None
    bad = value[end]
    kind = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)"}.get(bad) or (
        "a non-ASCII character" if ord(bad) > 0x7E else "a control character"
    )
    return f"the value of header {name!r} contains {kind} at position {end}; header values must be printable ASCII"


def _plainly_sendable(headers: Mapping[str, str]) -> bool:
    """True when :func:`header_problem` finds nothing in any of ``headers`` for the common reason: a token name and
    a value of printable ASCII without a tab. False says nothing (a tab is fine): ask ``header_problem``."""
    return all(
        type(name) is str
        and type(value) is str
        and value.isascii()
        and value.isprintable()
        and _HEADER_NAME_RE.fullmatch(name)
        for name, value in headers.items()
    )


def check_headers(headers: Mapping[str, str] | None, *, param: str) -> None:
    """Raise :class:`RequestValidationError` naming ``param`` if any header cannot be sent as given."""
    check_header_mapping(headers, param)  # a list of pairs or a string would fail below with AttributeError
    # A generator, not a loop: its frame (and the header value, maybe a credential) is gone before the raise,
    # so a traceback rendered with capture_locals cannot show it.
    problem = next(filter(None, (header_problem(k, v) for k, v in (headers or {}).items())), None)
    if problem is not None:
        raise RequestValidationError(f"{param}: {problem}", param=param)
    framing = next((name for name in headers or {} if name.lower() in _BODY_FRAMING), None)
    if framing is not None:
        # A length of the caller's would frame the body wrongly (aiohttp sends the whole body under it, and the
        # rest of it is read as the next request on that connection).
        raise RequestValidationError(
            f"{param}: {framing!r} frames the request body, which the SDK does itself: leave it out",
            param=param,
        )


_BODY_FRAMING = frozenset({"content-length", "transfer-encoding"})


@dataclass(slots=True, eq=False)
class PreparedRequest:
    """Everything about a request except its credentials, which are added per attempt.

    Not frozen, though nothing changes it once made: a frozen dataclass sets each field through
    ``object.__setattr__``, which doubled the cost of making one, and every call makes one. Compared by identity
    (nothing compares two).

    ``sdk_named``: every header name in ``headers`` is one the SDK chose (no ``default_headers`` or
    ``extra_headers``), so none of them can clash with Host, the retry count or the body framing.
    """

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    sdk_named: bool = False

    def __repr__(self) -> str:
        # Secret-named headers and query parameters (from default_headers, extra_headers, extra_query) are hidden:
        # a traceback rendered with capture_locals shows this object in the frames that send it.
        return (
            f"PreparedRequest(method={self.method!r}, url={self.url!r}, "
            f"params={dict(hide_secret_values(self.params))!r}, "
            f"headers={dict(hide_secret_values(self.headers))!r}, timeout={self.timeout!r})"
        )

    def build(
        self, auth_headers: Mapping[str, str], retry_count: int = 0, timeout: httpx.Timeout | None = None
    ) -> httpx.Request:
        """The request of one attempt.

        Args:
            auth_headers: the credential's headers for this attempt.
            retry_count: how many attempts of this call went before (sent as ``x-grok-azure-retry-count``).
            timeout: this attempt's timeouts (the call's deadline may have shortened them); default ``timeout``.
        """
        # Checked per attempt: an AzureKeyCredential can be rotated to a bad value, and a token comes from outside.
        plain = _plainly_sendable(auth_headers)
        if not plain:
            problem = next(filter(None, (header_problem(k, v) for k, v in auth_headers.items())), None)
            if problem is not None:
                # Keep the credential out of this frame's locals, which a traceback may render.
                del auth_headers
                raise RequestValidationError(f"The credential's {problem}", param="credential")
        url, host = _target(self.url, self.params)
        content = self.content or b""
        # Its repr hides credentials, for tracebacks rendered with capture_locals.
        return RedactingRequest.of_parts(
            self.method,
            url,
            self._headers(auth_headers, retry_count, host, len(content), plain),
            content,
            {"timeout": (timeout or self.timeout).as_dict()},
        )

    def _headers(
        self, auth_headers: Mapping[str, str], retry_count: int, host: str, length: int, plain_auth: bool
    ) -> RedactingHeaders:
        """The attempt's headers, with the two httpx would add itself: Host first, Content-Length last.

        Added here so that httpx need not build the header list twice (its own request preparation re-reads and
        copies every header). They stay strings until something reads them through httpx (see
        :class:`SentHeaders`).

        ``plain_auth``: :func:`_plainly_sendable` found the credential's headers to be exact strings.
        """
        mine = self.headers
        # The common call: the SDK's own headers (exact strings it made) and a credential's, exact strings too, that
        # clash with none of them; what the checks below would find, known without walking every header.
        known = plain_auth and self.sdk_named and _SDK_NAMES.isdisjoint(map(str.lower, auth_headers))
        if not known:
            names = {name.lower() for name in mine}
            if (
                RETRY_COUNT_HEADER in names
                or "host" in names
                or any(name.lower() in names or name.lower() in _FRAMING_NAMES for name in auth_headers)
            ):
                return self._merged_headers(auth_headers, retry_count, host, length)
        # None of these names is another's (the caller's differ from the SDK's and the credential's in any case),
        # so a dict holds them all, in the order httpx would send them.
        pairs = {
            "Host": host,
            **mine,
            RETRY_COUNT_HEADER: str(retry_count),
            **auth_headers,
            "Content-Length": str(length),
        }
        if known or (
            ONLY_STR.issuperset(map(type, pairs)) and ONLY_STR.issuperset(map(type, pairs.values()))
        ):
            return SentHeaders.of_pairs(pairs)
        # A str subclass (a key wrapped to hide it in logs, say): what was checked is its text, which httpx encodes,
        # where aiohttp would send whatever its __str__ returns.
        return RedactingHeaders(list(pairs.items()))

    def _merged_headers(
        self, auth_headers: Mapping[str, str], retry_count: int, host: str, length: int
    ) -> RedactingHeaders:
        """:meth:`_headers` when a header of the caller's has the name of one the SDK sends (in any case): a
        ``Host`` of the caller's is sent instead of the SDK's; the retry count and the credential's headers are
        sent instead of the caller's, where the caller's stood."""
        own = {RETRY_COUNT_HEADER: str(retry_count), **auth_headers}
        by_name = {name.lower(): (name, value) for name, value in own.items()}
        own_names = set(by_name)
        items: list[tuple[str, str]] = []
        for name, value in self.headers.items():
            replaced = by_name.pop(name.lower(), None)
            if replaced is not None:
                items.append(replaced)
            elif name.lower() not in own_names:
                items.append((name, value))
        items += by_name.values()
        if not any(name.lower() == "host" for name, _ in items):
            items.insert(0, ("Host", host))
        items.append(("Content-Length", str(length)))
        return RedactingHeaders(items)


_FRAMING_NAMES = frozenset({"host", "content-length", "transfer-encoding"})
# Every header name the SDK sends on its own (prepare_chat_request and _headers), in lower case.
_SDK_NAMES = _FRAMING_NAMES | {
    RETRY_COUNT_HEADER,
    "content-type",
    "accept",
    "user-agent",
    "x-ms-client-request-id",
    "extra-parameters",
}


class SentHeaders(LazyHeaders):
    """A request's headers as ``name -> value`` strings, encoded into httpx's field list only when something reads
    them through httpx's API.

    The SDK's aiohttp transport sends the strings as they are (:attr:`pairs`): encoding each header for httpx and
    decoding it again for aiohttp was a tenth of a call's own work. A request that a hook, the log or a tracer
    reads (or changes) is encoded then, and sent from its fields as before. The names and values are exact
    ``str`` s that were checked (printable ASCII, see :func:`header_problem`) before they got here.
    """

    _pairs: dict[str, str]

    @classmethod
    def of_pairs(cls, pairs: dict[str, str]) -> SentHeaders:
        """Headers holding ``pairs`` (taken as they are, not copied)."""
        headers = cls._blank()
        headers._pairs = pairs
        return headers

    @property
    def pairs(self) -> dict[str, str] | None:
        """The headers as given, while nothing has read them through httpx's API (which may change them); else
        None."""
        return self._pairs if self._fields is None else None

    def _make_fields(self) -> list[tuple[bytes, bytes, bytes]]:
        return [_encoded(name, value) for name, value in self._pairs.items()]


def _encoded(name: str, value: str) -> tuple[bytes, bytes, bytes]:
    raw = name.encode("ascii")
    return (raw, raw.lower(), value.encode("ascii"))


_TARGETS: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[httpx.URL, str]] = {}
_MAX_TARGETS = 64  # a client sends to one URL per deployment; the cache is emptied if it ever outgrows this


def _target(url: str, params: Mapping[str, str]) -> tuple[httpx.URL, str]:
    """``url`` with ``params`` as its query, parsed, and its ``Host`` header value.

    Parsing a URL is a twentieth of a small call, and every call of a client sends to the same one or two, so
    they are kept; not one with a secret in it (a query parameter with a secret name, or user info), which is
    parsed afresh each time and never held.
    """
    key: tuple[str, tuple[tuple[str, Any], ...]] | None
    try:
        key = (url, tuple(params.items()))
        found = _TARGETS.get(key)
    except TypeError:  # a parameter with several values (a list): fine to send, not to use as a key
        key = found = None
    if found is not None:
        return found
    parsed = httpx.URL(url, params=params) if params else httpx.URL(url)
    found = (parsed, parsed.netloc.decode("ascii"))
    if key is not None and not holds_credential(parsed):
        if len(_TARGETS) >= _MAX_TARGETS:
            _TARGETS.clear()
        _TARGETS[key] = found
    return found


def coerce_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    check_timeout(timeout)  # NaN, inf and negative fields would fail later as fake connection errors
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise RequestValidationError(
            f"timeout must be a positive number of seconds; got {timeout!r}", param="timeout"
        )
    return httpx.Timeout(float(timeout), connect=min(float(timeout), DEFAULT_TIMEOUT.connect or 10.0))


def encode_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def new_request_id() -> str:
    """A random (version 4) UUID for ``x-ms-client-request-id``, formatted as ``str(uuid.uuid4())``.

    It labels a call in the service's logs and protects nothing, so it comes from a generator of the SDK's own,
    seeded from ``os.urandom`` once (and again in a forked child), rather than from ``os.urandom`` itself: a system
    call on every request, which costs most where many requests are in flight. Not :mod:`random`'s shared one: an
    application that seeds it (every worker with the same seed) would send the same ids, and each id would shift
    the application's own sequence.
    """
    text = "%032x" % (_IDS.getrandbits(128) & _UUID_CLEAR | _UUID_SET)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_IDS = random.Random()  # seeded from os.urandom
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_IDS.seed)


# The version (4) and RFC 4122 variant bits of a UUID, as uuid.UUID(version=4) sets them.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def prepare_chat_request(
    endpoint: Endpoint,
    body: Mapping[str, Any],
    *,
    api_version: str | None,
    timeout: httpx.Timeout,
    default_headers: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
    request_id: str | None = None,
    encoded: bytes | None = None,
) -> PreparedRequest:
    """Build the POST for ``/chat/completions`` on the endpoint's route.

    ``request_id`` is the ``x-ms-client-request-id`` (default: a new UUID); a call sends the same one on every
    attempt, so the service's logs tie its retries together. ``encoded`` is ``body`` already encoded (by the check
    that it is strict JSON), or None to encode it here.
    """
    headers: dict[str, str] = {
        "content-type": "application/json",
        "accept": "text/event-stream" if body.get("stream") else "application/json",
        "user-agent": USER_AGENT,
        "x-ms-client-request-id": request_id or new_request_id(),
    }
    params: dict[str, str] = {}
    if endpoint.route == "model_inference":
        params["api-version"] = api_version or DEFAULT_MODEL_INFERENCE_API_VERSION
        if not MODEL_INFERENCE_SPEC_FIELDS.issuperset(body):
            headers["extra-parameters"] = "pass-through"
    elif api_version:
        # /openai/v1 needs no version, but `api-version=preview` turns on preview features there.
        params["api-version"] = api_version
    headers.update(default_headers or {})
    if extra_headers:
        check_headers(extra_headers, param="extra_headers")  # default_headers were checked when configured
        headers.update(extra_headers)
    params.update(extra_query or {})
    return PreparedRequest(
        method="POST",
        url=endpoint.chat_completions_url,
        params=params,
        headers=headers,
        content=encode_json(body) if encoded is None else encoded,
        timeout=timeout,
        sdk_named=not default_headers and not extra_headers,
    )


def should_refresh_token(response: httpx.Response, attempt: int) -> bool:
    """A first 401 asks the auth whether a fresh token is worth one resend (the cached one may have been revoked)."""
    return response.status_code == 401 and attempt == 0


def error_for_status(response: httpx.Response) -> APIStatusError | None:
    """The exception for a response that is not a 2xx (its body already read), or None for a success.

    A 3xx is an error too (:class:`RedirectError`): the SDK never follows a redirect, which would carry the key
    or token to wherever the ``Location`` points.
    """
    if 200 <= response.status_code < 300:
        return None
    return status_error_from_response(response)


def held_body(response: httpx.Response) -> bytes | None:
    """The body of a response the transport already read whole (a closed one that holds it), or None."""
    if not response.is_closed:
        return None
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


# httpx inflates br and zstd when their packages are installed, but a few KB of either can become gigabytes from
# one slice (deflate and gzip inflate at most 1032:1, see ``_inflate``); the SDK never asks for them.
_UNBOUNDED_ENCODINGS = frozenset({"br", "zstd"})


def refused_encoding(response: httpx.Response) -> ResponseDecodeError | None:
    """The error for a response whose body the SDK cannot inflate within :class:`ResponseLimits`, else None: one
    under several content encodings (``gzip, gzip``: httpx inflates every layer of a piece before it is counted),
    or under br or zstd, which the SDK does not ask for (unless the caller did, in an ``Accept-Encoding`` of their
    own: then it is inflated as they asked). No service does either unasked: such a response is refused unread.
    Encodings httpx does not know are left to it (it passes their bytes on as they are)."""
    declared = response.headers.get("content-encoding")
    if not declared:
        return None
    layers = [part.strip() for part in declared.lower().split(",") if part.strip()]
    coded = [layer for layer in layers if layer != "identity"]
    if len(coded) >= 2:
        problem = f"stacks content encodings ({', '.join(layers)}), which the SDK refuses: each layer could "
    elif coded and coded[0] in _UNBOUNDED_ENCODINGS and not _asked_for(response, coded[0]):
        problem = f"is encoded with {coded[0]}, which the SDK does not ask for and refuses: it could "
    else:
        return None
    return ResponseDecodeError(
        f"The response {problem}inflate the body past ResponseLimits before it is counted",
        status_code=response.status_code,
        request=response.request,
    )


def _asked_for(response: httpx.Response, encoding: str) -> bool:
    """Whether the request that ``response`` answers named ``encoding`` in an ``Accept-Encoding`` (the caller's)."""
    try:
        accepted = response.request.headers.get("accept-encoding", "")
    except RuntimeError:  # a response made without its request
        return False
    return encoding in (part.split(";")[0].strip().lower() for part in accepted.split(","))


class BodyReader:
    """Collects a non-streamed body (success or error) within ``max_body_bytes``; no I/O.

    A declared ``Content-Length`` over the limit is refused before any byte is read; otherwise the decoded
    (decompressed) bytes are counted as they arrive, so a gzip bomb stops once it has inflated past the limit
    (at most about 1 MiB later: ``_inflate`` inflates each network read a slice at a time). Raises :class:`ResponseTooLargeError`; the caller
    closes the response, which drops the connection instead of draining it.

    Args:
        response: The response whose body is about to be read.
        limit: ``ResponseLimits.max_body_bytes``.
        deadline: The call's budget; checked as each piece arrives, and the executors cut a read still blocked
            when it runs out (:meth:`time_left`), so a body that drips slowly past it ends with
            :class:`APITimeoutError`.
    """

    __slots__ = ("_deadline", "_limit", "_parts", "_response", "_size")

    def __init__(self, response: httpx.Response, limit: int, deadline: Deadline | None = None) -> None:
        self._response = response
        self._deadline = deadline if deadline is not None and deadline.bounded else None
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        if response.is_closed:
            return  # the transport read the body already (it is in memory): ``feed`` still counts it
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(f"declares Content-Length {int(declared)}")
        refused = refused_encoding(response)
        if refused is not None:
            raise refused

    def time_left(self) -> float | None:
        """Seconds the call's deadline leaves for the read (None: no deadline), for a timer that cuts it off."""
        return None if self._deadline is None else self._deadline.remaining()

    def feed(self, chunk: bytes) -> None:
        if self._deadline is not None and self._deadline.expired():
            raise self._deadline.error("reading the body", self._response.request)
        self._size += len(chunk)
        if self._size > self._limit:
            raise self._too_large(f"went past {self._limit} bytes after decompression")
        self._parts.append(chunk)

    def feed_read_body(self) -> bool:
        """Feed the body a transport already read (a closed response that holds it); False if it holds none.

        Lets the call loop skip a read that would do no I/O (the SDK's aiohttp transport hands over a small body
        that arrived with the headers as already read). Raises like :meth:`feed`.
        """
        content = held_body(self._response)
        if content is None:
            return False
        self.feed(content)
        self.finish()
        return True

    def finish(self) -> httpx.Response:
        """Store the body on the response, where ``response.content`` reads it (as ``Response.read`` does).

        Raises the deadline's error if it ran out: a timer that shut the socket down at the deadline ends a body
        delimited by the connection's close as if it were whole.
        """
        if self._deadline is not None and self._deadline.expired():
            raise self._deadline.error("reading the body", self._response.request)
        self._response._content = b"".join(self._parts)
        return self._response

    def _too_large(self, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"The response body {what}; the limit is {self._limit} bytes "
            "(ResponseLimits.max_body_bytes). The connection was closed without reading the rest.",
            limit_name="max_body_bytes",
            limit=self._limit,
            request=self._response.request,
        )


def decode_completion(response: httpx.Response) -> ChatCompletion:
    """Decode a non-streaming chat completion.

    Raises the mapped :class:`APIStatusError` when a 2xx body carries a top-level ``error`` (some gateways
    answer 200 with an error body), and :class:`ResponseDecodeError` when the body is not a completion (it has no
    ``choices`` list, or is not JSON).
    """
    result = _completion_or_reason(response)
    if isinstance(result, ChatCompletion):
        return result
    error = error_in_success_body(response)
    if error is not None:
        raise error
    # No local holds the body or a partial completion (a traceback rendered with capture_locals would show a
    # credential the server echoed): the exception keeps only a scrubbed excerpt.
    raise ResponseDecodeError(
        f"Response is not a chat completion ({result})",
        status_code=response.status_code,
        body=response.content,
        request=response.request,
    )


def _completion_or_reason(response: httpx.Response) -> ChatCompletion | str:
    """The completion in ``response``, or why its body is not one. Its frame is gone before anything raises."""
    content = response.content
    try:
        completion = (
            _completion_validator()(content)
            if len(content) <= DIRECT_DECODE_BYTES
            else validate_large(ChatCompletion, content)
        )
    except pydantic.ValidationError as exc:
        return _first_error(exc)
    extra = completion.model_extra
    if not (extra and extra.get("error") is not None) and "choices" in completion.model_fields_set:
        completion._set_served_by(response.extensions.get(SERVED_BY))
        return completion
    return "choices: Field required"


@functools.cache
def _completion_validator() -> Callable[[bytes], ChatCompletion]:
    """``ChatCompletion.model_validate_json`` without its wrapper (as for stream chunks, see ``_events``).

    The model builds its validator on first use (``defer_build``), so build it first.
    """
    ChatCompletion.model_rebuild()
    validate: Callable[[bytes], ChatCompletion] = ChatCompletion.__pydantic_validator__.validate_json
    return validate


def _first_error(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "invalid body"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'invalid')}"


def connection_error(exc: BaseException, request: httpx.Request | None) -> APIConnectionError:
    """Wrap a transport failure (httpx's, or a raw one such as aiohttp's); timeouts get their own type.

    The result's ``__cause__`` is already set to a credential-free stand-in for ``exc``
    (:func:`~grok_azure._secrets.sanitized_cause`). Raise it with a bare ``raise`` OUTSIDE the ``except`` block
    that caught ``exc`` (so ``__context__`` stays None) and never ``from exc``: the original carries the request
    with its auth headers, and its traceback the frames that built them.
    """
    error: APIConnectionError
    if is_timeout(exc):
        error = APITimeoutError(f"Request timed out ({type(exc).__name__})", request=request)
    else:
        error = APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)
    error.__cause__ = sanitized_cause(exc, request)
    return error


def send_failure(exc: Exception, request: httpx.Request | None) -> GrokError:
    """What an exception raised while sending or reading means: GrokErrors pass, anything else is a connection error."""
    if isinstance(exc, GrokError):
        return exc
    return connection_error(exc, request)


def is_timeout(exc: BaseException) -> bool:
    """Whether a transport error really was a timeout.

    httpx-aiohttp maps every aiohttp connection error, a server hanging up included, to ``ConnectTimeout``; only
    a cause that is itself a timeout counts as one there.
    """
    if not isinstance(exc, httpx.TimeoutException):
        return False
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        import asyncio

        return isinstance(cause, (TimeoutError, asyncio.TimeoutError))
    return True
