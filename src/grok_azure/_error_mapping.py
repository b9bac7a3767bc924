"""Map error responses and stream error events to exceptions (no I/O).

Azure sends several body shapes for the same kinds of failure: the wrapped
``{"error": {"code", "message", "param", "type", "innererror", "status"}}``, the model-inference route's
unwrapped ``{"status", "code", "message", "detail"}``, ``{"error": "text"}``, gateway HTML pages and empty
bodies. All of them end up in one ``_ErrorFields`` record before the exception class is chosen.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentFilterError,
    ContextLengthExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)
from ._retry_after import retry_after_seconds
from ._secrets import scrub_text, scrub_url_text, scrubbed_excerpt, secret_values
from .types.content_filter import ContentFilterResults

__all__ = [
    "error_from_event",
    "error_in_success_body",
    "make_status_error",
    "service_request_id",
    "status_error_from_response",
]

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_REQUEST_ID_HEADERS = ("apim-request-id", "x-request-id", "x-ms-request-id")
_CONTENT_FILTER_CODES = frozenset({"content_filter", "responsibleaipolicyviolation"})
_CONTEXT_LENGTH_RE = re.compile(
    r"context_length_exceeded"
    r"|maximum (?:context|prompt) length"
    r"|context length (?:is |was |has been )?exceeded"
    r"|exceeds? (?:the )?(?:model's )?(?:maximum )?context (?:length|window)",
    re.IGNORECASE,
)
# Azure OpenAI 429 bodies say "Please retry after 60 seconds" even when no Retry-After header is sent.
_RETRY_IN_MESSAGE_RE = re.compile(r"retry after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_DROP_BLOCKS_RE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]*>")
_EXCERPT_CHARS = 200
# Real error bodies are a few hundred bytes. A bigger one is not decoded as JSON: a body of tiny values (`[[],[],...`)
# decodes to ~20x its size in Python objects, so a 60 MB 400 would cost gigabytes. Its excerpt stands in.
_MAX_JSON_BYTES = 1024 * 1024
# How much of a non-JSON (or too large) body is looked at for its excerpt: enough for a gateway page's <head>.
_EXCERPT_WINDOW_CHARS = 64 * 1024
# Real error bodies nest four or five levels. A deeper one is kept as a text excerpt: the exception's body is
# walked recursively later (secret scrubbing, repr), and `{"error":` * 100000 must not end in RecursionError.
_MAX_BODY_DEPTH = 32


@dataclass
class _ErrorFields:
    message: str | None = None
    code: str | None = None
    param: str | None = None
    inner_code: str | None = None
    filter_results: Mapping[str, Any] | None = None


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _fields_from_json(data: object) -> _ErrorFields:
    if isinstance(data, str):  # a bare JSON string body
        return _ErrorFields(message=_opt_str(data))
    if not isinstance(data, Mapping):
        return _ErrorFields()
    error = data.get("error")
    if isinstance(error, str):
        return _ErrorFields(message=_opt_str(error), code=_opt_str(data.get("code")))
    source: Mapping[str, Any] = error if isinstance(error, Mapping) else data
    message = _opt_str(source.get("message"))
    if message is None:
        # FastAPI-style ``detail`` strings and RFC 7807 ``title`` are the next best human-readable text.
        message = (
            _opt_str(source.get("detail")) or _opt_str(source.get("title")) or _opt_str(data.get("message"))
        )
    fields = _ErrorFields(
        message=message, code=_opt_str(source.get("code")), param=_opt_str(source.get("param"))
    )
    _add_specifics(fields, source)
    inner = source.get("innererror")
    if isinstance(inner, Mapping):
        fields.inner_code = _opt_str(inner.get("code"))
        results = inner.get("content_filter_result", inner.get("content_filter_results"))
        if isinstance(results, Mapping):
            fields.filter_results = results
    return fields


def _add_specifics(fields: _ErrorFields, source: Mapping[str, Any]) -> None:
    """The /models route's 422 says only "One of the parameters contain invalid values."; the parameter is in
    ``detail.loc`` and the reasons in Azure's ``details`` list, so bring both where callers look."""
    detail = source.get("detail")
    if fields.param is None and isinstance(detail, Mapping):
        loc = detail.get("loc")
        if isinstance(loc, list) and loc:
            fields.param = _opt_str(loc[-1])
    details = source.get("details")
    if isinstance(details, list):
        reasons = [
            text for item in details if isinstance(item, Mapping) and (text := _opt_str(item.get("message")))
        ]
        if reasons:
            fields.message = (
                "; ".join(reasons) if fields.message is None else f"{fields.message} ({'; '.join(reasons)})"
            )
        if fields.param is None:
            targets = [item.get("target") for item in details if isinstance(item, Mapping)]
            fields.param = next((t for t in map(_opt_str, targets) if t), None)


def _text_excerpt(text: str | bytes, secrets: list[str]) -> str:
    """A short, tag-free, whitespace-collapsed excerpt of a non-JSON body such as a gateway's HTML page.

    Only the body's first ``_EXCERPT_WINDOW_CHARS`` are read, and they are scrubbed of ``secrets`` before any cut.
    """
    window = scrubbed_excerpt(text, secrets, _EXCERPT_WINDOW_CHARS)
    window = _TAG_RE.sub(" ", _DROP_BLOCKS_RE.sub(" ", window))
    # Scrubbed again: unescaping `&#97;...` could spell a secret out.
    window = scrub_text(" ".join(html.unescape(window).split()), secrets)
    return window if len(window) <= _EXCERPT_CHARS else window[:_EXCERPT_CHARS].rstrip() + "…"


def _parse_body(body: bytes, secrets: list[str]) -> tuple[object | None, _ErrorFields]:
    """Returns the decoded body (JSON value, excerpt string or None) and the fields found in it.

    Args:
        body: The raw body.
        secrets: The request's credentials, scrubbed from an excerpt before it is cut (a JSON value is scrubbed
            later, by the exception).
    """
    if len(body) > _MAX_JSON_BYTES:
        excerpt = _text_excerpt(body, secrets)
        return excerpt or None, _ErrorFields(message=excerpt or None)
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None, _ErrorFields()
    try:
        data: object = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's stack allows
        excerpt = _text_excerpt(text, secrets)
        return excerpt or None, _ErrorFields(message=excerpt or None)
    fields = _fields_from_json(data)  # reads the top three levels only
    if _deeper_than(data, _MAX_BODY_DEPTH):
        return _text_excerpt(text, secrets) or None, fields
    return data, fields


def _deeper_than(data: object, limit: int) -> bool:
    """Whether JSON containers nest more than ``limit`` levels; iterative, so any depth is safe to ask about."""
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def service_request_id(headers: httpx.Headers) -> str | None:
    """The service's id for a request (``apim-request-id``, else ``x-request-id``, else ``x-ms-request-id``): the
    one to quote to Azure support; None when the response carries none."""
    return _header(headers, _REQUEST_ID_HEADERS)


def _header(headers: httpx.Headers, names: tuple[str, ...]) -> str | None:
    for name in names:
        value: str | None = headers.get(name)
        if value and value.strip():
            return value.strip()
    return None


def _filter_results(raw: Mapping[str, Any] | None) -> ContentFilterResults | None:
    if raw is None:
        return None
    try:
        return ContentFilterResults.model_validate(raw)
    except ValidationError:  # a malformed annotation must not hide the error it annotates
        return None


def _pick_class(status_code: int, fields: _ErrorFields, message: str) -> type[APIStatusError]:
    if 300 <= status_code < 400:
        return RedirectError
    if status_code == 400:
        codes = {c.lower() for c in (fields.code, fields.inner_code) if c}
        if codes & _CONTENT_FILTER_CODES:
            return ContentFilterError
        if _CONTEXT_LENGTH_RE.search(message) or "context_length_exceeded" in codes:
            return ContextLengthExceededError
    if status_code >= 500:
        return InternalServerError
    return _BY_STATUS.get(status_code, APIStatusError)


def make_status_error(
    status_code: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    request: httpx.Request | None = None,
    response: httpx.Response | None = None,
) -> APIStatusError:
    """Build the exception for an error response from its parts."""
    headers = httpx.Headers(headers)
    secrets = secret_values(request)
    decoded, fields = _parse_body(body, secrets)
    message = fields.message or httpx.codes.get_reason_phrase(status_code) or f"HTTP status {status_code}"
    code = fields.code or _header(headers, ("x-ms-error-code",))
    cls = _pick_class(status_code, fields, message)
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "param": fields.param,
        "request_id": service_request_id(headers),
        "headers": headers,
        "body": decoded,
        "request": request,
        "response": response,
    }
    if cls is RateLimitError:
        retry_after = retry_after_seconds(headers)
        if retry_after is None and (match := _RETRY_IN_MESSAGE_RE.search(message)):
            retry_after = float(match.group(1))
        kwargs["retry_after"] = retry_after
    elif cls is ContentFilterError:
        kwargs["filter_results"] = _filter_results(fields.filter_results)
    elif cls is RedirectError:
        location = headers.get("location")
        # Where it points may carry the key (`?api-key=...`) or a credential of its own (`?sig=...`).
        kwargs["location"] = location = scrub_url_text(scrub_text(location, secrets)) if location else None
        message = (
            f"The service redirected ({status_code}) to {location or 'an unnamed location'}; the SDK never "
            "follows redirects, which would carry the key or token to another host. Check the endpoint URL."
        )
    return cls(message, **kwargs)


def status_error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the exception for an error response whose body has already been read."""
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:
        request = None
    return make_status_error(
        response.status_code, response.headers, response.content, request=request, response=response
    )


def error_in_success_body(response: httpx.Response) -> APIStatusError | None:
    """The exception for a 2xx whose JSON body has a top-level, non-null ``error``, or None if it has none.

    Its class follows the status or numeric code the error body gives (``{"error": {"code": "429"}}`` is a
    :class:`RateLimitError`); without one it is a plain :class:`APIStatusError` with the HTTP status.
    """
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:
        request = None
    data, _ = _parse_body(response.content, secret_values(request))
    if not isinstance(data, Mapping) or data.get("error") is None:
        return None
    error = data["error"]
    places = [data] if not isinstance(error, Mapping) else [error, data]
    status = next(
        (code for place in places for key in ("status", "code") if (code := _status_code(place.get(key)))),
        response.status_code,
    )
    del data, error, places  # make_status_error decodes the body again; one decoded copy at a time
    return make_status_error(status, response.headers, response.content, request=request, response=response)


def _status_code(value: object) -> int | None:
    """An HTTP error status written in a body (``429`` or ``"429"``), else None."""
    if isinstance(value, bool):
        return None
    if (
        isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
    ):  # not "²", which int() refuses
        value = int(value.strip())
    return value if isinstance(value, int) and 400 <= value < 600 else None


def error_from_event(data: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(code, message)`` of an error event received mid-stream."""
    fields = _fields_from_json(data)
    return fields.code, fields.message or "The service reported an error during streaming."
