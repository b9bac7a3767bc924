"""The OpenAI / Azure batch JSONL formats: input requests, output results, and the error codes of failed lines.

Input line: ``{"custom_id": "...", "method": "POST", "url": "/chat/completions", "body": {...}}``.
Output line: ``{"id": "batch_req_...", "custom_id": "...", "response": {"status_code", "request_id", "body"} |
null, "error": {"code", "message"} | null}``. No I/O beyond reading an input file line by line.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._chat_params import REQUEST_OPTION_KEYS
from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ClientClosedError,
    ContentFilterError,
    ContextLengthExceededError,
    GrokError,
    HookError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    ResponseTooLargeError,
)
from .._json_file import JSONFileError, decode_strict

__all__ = [
    "BatchInput",
    "BatchInputError",
    "BatchOutputError",
    "BatchRequest",
    "BatchResult",
    "error_code",
    "read_requests",
]

URLS = ("/chat/completions", "/v1/chat/completions")


# Most specific class first: the first match gives a failed line's ``error.code``. These strings are stable: code
# that reads an output file may branch on them.
_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (ContentFilterError, "content_filter"),
    (ContextLengthExceededError, "context_length_exceeded"),
    (RateLimitError, "rate_limited"),
    (AuthenticationError, "authentication"),
    (PermissionDeniedError, "permission_denied"),
    (NotFoundError, "not_found"),
    (InternalServerError, "server_error"),
    (BadRequestError, "bad_request"),
    (APIStatusError, "http_error"),
    (APITimeoutError, "timeout"),
    (APIConnectionError, "connection_error"),
    (ResponseDecodeError, "bad_response"),
    (ResponseTooLargeError, "bad_response"),
    (BudgetExceededError, "budget_exceeded"),
    (RequestValidationError, "validation_error"),
    (ClientClosedError, "cancelled"),
    (HookError, "hook_error"),
)


def error_code(error: BaseException) -> str:
    """The stable code a failed line carries for ``error`` (``"error"`` for a GrokError with no closer code)."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "error"


class BatchOutputError(GrokError):
    """The batch output cannot be used: another run holds it, it cannot be opened, or a write failed (the file
    is cut back to its last whole line, so the run can resume once the cause is fixed). ``errno`` is the OS error's
    number, when there is one."""

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class BatchInputError(GrokError, ValueError):
    """The batch input is not usable; nothing was sent. ``line`` is the 1-based input line (or item) at fault,
    when one is."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(frozen=True)
class BatchRequest:
    """One input line.

    Args:
        custom_id: the caller's id for the line, unique in the batch; the result line carries it.
        body: the chat completion request (``model``, ``messages`` and any other parameter of
            ``chat.completions.create``).
        method: always ``"POST"``.
        url: ``"/chat/completions"`` or ``"/v1/chat/completions"``.
        line: where it came from (1-based line of the file, or position in the iterable), for error messages.
    """

    custom_id: str
    body: Mapping[str, Any]
    method: str = "POST"
    url: str = "/chat/completions"
    line: int | None = None

    def to_line(self) -> str:
        """The request as one JSONL input line (no newline)."""
        data = {"custom_id": self.custom_id, "method": self.method, "url": self.url, "body": dict(self.body)}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class BatchResult:
    """One output line.

    Args:
        custom_id: the input line's id.
        response: ``{"status_code", "request_id", "body"}`` when the service answered (a failed line keeps the
            error answer here); None when it never answered (a timeout, a connection error, a request refused
            before sending).
        error: None for a success; ``{"code", "message"}`` for a failed line (``code``: see :func:`error_code`).
        id: the result's own id (``batch_req_...``), new for every line written.
    """

    custom_id: str
    response: Mapping[str, Any] | None
    error: Mapping[str, str] | None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", f"batch_req_{uuid.uuid4().hex}")

    @property
    def ok(self) -> bool:
        """True for a success line (no ``error``)."""
        return self.error is None

    def to_line(self) -> str:
        """The result as one JSONL output line (no newline)."""
        data = {"id": self.id, "custom_id": self.custom_id, "response": self.response, "error": self.error}
        # ASCII escapes: a lone surrogate (legal JSON, "\ud800") in an id or a body cannot be encoded as UTF-8,
        # and a line that cannot be written would stop the batch at every resume.
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_line(cls, text: str | bytes) -> BatchResult:
        """Parse one output line.

        Args:
            text: one line of an output file (JSON; a trailing newline is fine).

        Raises:
            BatchInputError: it is not a result line.
        """
        try:
            data = decode_strict(text if isinstance(text, bytes) else text.encode())
        except JSONFileError as exc:
            raise BatchInputError(f"not a batch result line: {exc.reason}") from None
        if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str) or "response" not in data:
            raise BatchInputError("not a batch result line (no custom_id or response)")
        error = data.get("error")
        if error is not None and not isinstance(error, dict):
            raise BatchInputError("not a batch result line (error is not an object)")
        return cls(data["custom_id"], data["response"], error, str(data.get("id") or ""))


# What client.batches.run reads.
BatchInput = str | os.PathLike[str] | Iterable[Mapping[str, Any] | BatchRequest]


def read_requests(source: BatchInput, *, model: str | None = None) -> Iterator[BatchRequest]:
    """The requests of a batch, each checked: valid JSON, ``method`` POST, ``url`` a chat completions path, a
    ``body`` object with ``messages`` and a ``model`` (or ``model=`` given), no ``stream``, a unique ``custom_id``.

    A path is read line by line (blank lines skipped); an iterable yields dicts (the input line's shape) or
    :class:`BatchRequest`. Lazy: a caller that must refuse bad input before sending anything reads it all first.

    Args:
        source: a JSONL file path, or an iterable of request dicts / :class:`BatchRequest`.
        model: the deployment for lines whose body names none (a line's own ``model`` is kept).

    Raises:
        BatchInputError: the first bad line, with its line number; for a repeated ``custom_id``, both.
    """
    seen: dict[str, int] = {}
    for number, item in _items(source):
        request = _check(item, number, model)
        first = seen.setdefault(request.custom_id, number)
        if first != number:
            raise BatchInputError(
                f"custom_id {request.custom_id!r} is used twice: on line {first} and line {number}",
                line=number,
            )
        yield request


def _items(source: BatchInput) -> Iterator[tuple[int, object]]:
    if isinstance(source, (str, os.PathLike)):
        try:
            file = open(source, "rb")  # noqa: SIM115 (closed below; a with block would hide the OSError's origin)
        except OSError as exc:
            raise BatchInputError(
                f"cannot read the batch input {os.fspath(source)!r}: {exc.strerror}"
            ) from None
        with file:
            for number, raw in enumerate(file, start=1):
                if raw.strip():
                    yield number, _decode(raw, number)
        return
    if isinstance(source, (bytes, Mapping)):
        raise BatchInputError("the batch input must be a path or an iterable of requests")
    for number, item in enumerate(source, start=1):
        yield number, item


def _decode(raw: bytes, number: int) -> object:
    try:
        return decode_strict(raw)
    except JSONFileError as exc:
        raise BatchInputError(exc.reason, line=number) from None


def _check(item: object, number: int, model: str | None) -> BatchRequest:
    if isinstance(item, BatchRequest):
        item = {"custom_id": item.custom_id, "method": item.method, "url": item.url, "body": item.body}
    if not isinstance(item, Mapping):
        raise BatchInputError(f"a request must be a JSON object, not {type(item).__name__}", line=number)
    unknown = set(item) - {"custom_id", "method", "url", "body"}
    if unknown:  # nothing the caller wrote is silently dropped
        raise BatchInputError(f"unknown field(s) {sorted(unknown)}", line=number)
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise BatchInputError("custom_id must be a non-empty string", line=number)
    if item.get("method", "POST") != "POST":
        raise BatchInputError(f'method must be "POST", not {item.get("method")!r}', line=number)
    url = item.get("url", "/chat/completions")
    if url not in URLS:
        raise BatchInputError(f"url must be one of {list(URLS)}, not {url!r}", line=number)
    body = item.get("body")
    if not isinstance(body, Mapping):
        raise BatchInputError("body must be a JSON object", line=number)
    if "messages" not in body:
        raise BatchInputError("body has no messages", line=number)
    options = REQUEST_OPTION_KEYS.intersection(body)
    if options:  # create() takes these as request options, not body fields: they would not be sent as written
        raise BatchInputError(
            f"body field(s) {sorted(options)} are client options, not chat completion fields", line=number
        )
    if "stream" in body:  # any value: create() takes stream as its own argument, never in the body
        raise BatchInputError(
            "body has a stream field; leave it out: a batch collects whole completions", line=number
        )
    if body.get("model") is None:
        if model is None:
            raise BatchInputError("body has no model, and no model= (--model) was given", line=number)
        body = {**body, "model": model}
    return BatchRequest(custom_id, body, "POST", str(url), number)
