"""The exception hierarchy.

Credentials never reach an exception: the request kept on an exception is a copy with credential headers and
query parameters redacted, a response is re-attached to that copy, and any credential value that the service
echoed back is scrubbed from the message, the body and the headers. How, and the rule for chained exceptions and
tracebacks, is in :mod:`grok_azure._secrets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ._secrets import (
    detached_response,
    redacted_request,
    request_of,
    scrub,
    scrub_credential_text,
    scrub_text,
    scrub_url_text,
    scrubbed_excerpt,
    scrubbed_headers,
    secret_values,
)

if TYPE_CHECKING:
    from .types.chat_completion import ChatCompletion
    from .types.content_filter import ContentFilterResults

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "CredentialError",
    "GrokError",
    "HookError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StreamClosedError",
    "StreamError",
    "StreamInterruptedError",
    "UnprocessableEntityError",
]

_EXCERPT_CHARS = 500


class GrokError(Exception):
    """Base class of every exception this SDK raises."""


class ConfigurationError(GrokError):
    """The client is misconfigured (missing endpoint or credential, malformed URL...)."""


class HookError(GrokError):
    """A :class:`~grok_azure.Hook` (or ``RetryPolicy.on_retry``) raised: the call ends; the hook's exception is
    the ``__cause__``."""


class RequestValidationError(GrokError, ValueError):
    """Bad input caught before anything was sent; ``param`` names the offending argument path."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class ClientClosedError(GrokError, RuntimeError):
    """The client was closed; nothing was sent. Make a new client, or keep using one inside its ``with`` block."""


class APIError(GrokError):
    """A failure talking to the service. ``request`` is a redacted copy (no credentials, no body)."""

    message: str
    request: httpx.Request | None
    body: object | None

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: object | None = None
    ) -> None:
        secrets = secret_values(request)
        self.message = scrub_text(message, secrets)
        self.body = scrub(body, secrets)
        self.request = redacted_request(request, secrets) if request is not None else None
        self._scrub_fields(secrets)
        super().__init__(self._describe())

    def _scrub_fields(self, secrets: list[str]) -> None:
        """Scrub subclass fields that may echo request text; the secrets themselves are not kept."""

    def _describe(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIStatusError(APIError):
    """The service answered with a non-success HTTP status."""

    status_code: int
    code: str | None
    param: str | None
    request_id: str | None
    headers: httpx.Headers
    response: httpx.Response | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        headers: httpx.Headers | Mapping[str, str] | None = None,
        body: object | None = None,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.param = param
        self.request_id = request_id
        if headers is None and response is not None:
            headers = response.headers
        self.headers = httpx.Headers(headers)
        self.response = response
        super().__init__(message, request=request if request is not None else request_of(response), body=body)

    def _scrub_fields(self, secrets: list[str]) -> None:
        self.code = scrub(self.code, secrets)
        self.param = scrub(self.param, secrets)
        self.request_id = scrub(self.request_id, secrets)
        self.headers = scrubbed_headers(self.headers, secrets)
        if self.response is not None:
            self.response = detached_response(self.response, self.request, secrets)

    def _describe(self) -> str:
        text = f"Error code: {self.status_code} - "
        if self.code and self.code != str(self.status_code):
            text += f"{self.code}: "
        text += self.message
        if self.request_id:
            text += f" (request id: {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: missing, wrong or expired key or token, or a token for the wrong audience."""


class CredentialError(AuthenticationError):
    """The credential could not produce a token, so nothing was sent (``status_code`` is 0, ``response`` None).

    The message says how to fix it: an API key (``GROK_AZURE_API_KEY`` / ``api_key=``) or which sign-in to use.
    """

    def __init__(self, message: str) -> None:
        # The message quotes the credential's own error text, which may hold a token or a client secret.
        super().__init__(scrub_credential_text(message), status_code=0)

    def _describe(self) -> str:
        return self.message


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but the identity lacks a role such as Cognitive Services User."""


class NotFoundError(APIStatusError):
    """404: wrong deployment name, route or api-version."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422: e.g. a parameter the model does not support."""


class RateLimitError(APIStatusError):
    """429. ``retry_after`` is the server's requested wait in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class InternalServerError(APIStatusError):
    """5xx."""


class RedirectError(APIStatusError):
    """3xx. The SDK never follows a redirect: it would carry the key or token to another host.

    ``location`` is where the server pointed (its ``Location`` header), usually a sign of a wrong endpoint.
    """

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        self.location = location
        super().__init__(message, **kwargs)

    def _scrub_fields(self, secrets: list[str]) -> None:
        super()._scrub_fields(secrets)
        # A redirect may point at a URL carrying the key (``?api-key=...``) or another credential (``?sig=...``).
        if self.location is not None:
            self.location = scrub_url_text(scrub_text(self.location, secrets))


class ContentFilterError(BadRequestError):
    """The prompt (or completion) was blocked by Azure content filtering."""

    def __init__(
        self, message: str, *, filter_results: ContentFilterResults | None = None, **kwargs: Any
    ) -> None:
        self.filter_results = filter_results
        self.filtered_categories: list[str] = filter_results.filtered_categories if filter_results else []
        super().__init__(message, **kwargs)


class ContextLengthExceededError(BadRequestError):
    """The prompt plus requested output does not fit the model's context window."""


class PromptTooLongError(ContextLengthExceededError):
    """Found before sending: the prompt plainly cannot fit the deployment's model (nothing was sent).

    ``except ContextLengthExceededError`` catches it and the service's answer alike. ``status_code`` (400) and
    ``code`` (``context_length_exceeded``) are what the service answers such a request with; ``response`` and
    ``request`` are None. ``estimated_tokens`` is the SDK's local estimate (a cheap one: see docs/models.md),
    ``context_window`` the model's, ``model`` the catalog id.
    """

    def __init__(self, message: str, *, model: str, estimated_tokens: int, context_window: int) -> None:
        self.model = model
        self.estimated_tokens = estimated_tokens
        self.context_window = context_window
        super().__init__(message, status_code=400, code="context_length_exceeded", param="messages")

    def _describe(self) -> str:
        return self.message  # found before sending: no "Error code: 400" of a service that was never asked


class UnsupportedParameterError(RequestValidationError):
    """A parameter, or a value of it, that the deployment's model is known to reject; nothing was sent.

    ``model`` is the catalog id, ``param`` the parameter, ``allowed`` the values it accepts (None when the
    parameter is not accepted at all). Pass ``validate=False`` to the client to send such requests anyway.
    """

    def __init__(
        self, message: str, *, model: str, param: str, allowed: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(message, param=param)
        self.model = model
        self.allowed = allowed


class ModelRetiredError(RequestValidationError):
    """The deployment's model is retired (its deployments only answer errors); ``replacement`` names its successor.

    ``model`` is the catalog id, ``retired_on`` the retirement date (a ``datetime.date``) or None.
    """

    def __init__(self, message: str, *, model: str, replacement: str | None, retired_on: Any = None) -> None:
        super().__init__(message, param="model")
        self.model = model
        self.replacement = replacement
        self.retired_on = retired_on


class BudgetExceededError(GrokError):
    """A call would take a :class:`~grok_azure.UsageTracker` past its budget; nothing was sent.

    ``budget`` and ``spent`` are in USD; ``estimate`` is the call's worst-case cost as the tracker estimated it
    (prompt estimate at the input price plus the most output the call may produce at the output price).
    """

    def __init__(self, message: str, *, budget: float, spent: float, estimate: float) -> None:
        super().__init__(message)
        self.message = message
        self.budget = budget
        self.spent = spent
        self.estimate = estimate


class APIConnectionError(APIError):
    """The request did not get an HTTP response (DNS, TLS, refused or dropped connection)."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out.

    ``partial`` is what a stream had delivered before it stalled or its ``stream_deadline`` ran out; None for a
    call that timed out before any chunk (and for every non-streamed call).
    """

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        partial: ChatCompletion | None = None,
    ) -> None:
        self.partial = partial
        super().__init__(message, request=request)


class ResponseDecodeError(APIError):
    """A 2xx response whose body is not the JSON (or event stream) promised.

    Only a truncated excerpt of the body is kept (``body_excerpt``, also ``body``).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes | str = b"",
        request: httpx.Request | None = None,
    ) -> None:
        # Scrubbed before it is cut (a key straddling the cut would leave its start behind), and only a window of
        # the body is decoded: the body may be tens of megabytes.
        excerpt = scrubbed_excerpt(body, secret_values(request), _EXCERPT_CHARS)
        self.status_code = status_code
        super().__init__(message, request=request, body=excerpt)
        self.body_excerpt: str = self.body if isinstance(self.body, str) else ""

    def _describe(self) -> str:
        return f"{self.message} (status {self.status_code})"


class StreamError(APIError):
    """The service sent an error event in the middle of a stream; ``partial`` is what arrived before it.

    ``code`` is the error's code as sent: a rate limit or overload that strikes mid-stream is a ``StreamError``
    with ``code="429"`` (or ``"503"``...), not a :class:`RateLimitError`, because the response had already begun
    (status 200) and chunks may have been delivered; retrying is the caller's choice. A streamed request answered
    with a JSON error body instead of an event stream raises the status error ``create()`` would.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        partial: ChatCompletion | None = None,
        request: httpx.Request | None = None,
        body: object | None = None,
    ) -> None:
        self.code = code
        self.partial = partial
        super().__init__(message, request=request, body=body)

    def _scrub_fields(self, secrets: list[str]) -> None:
        self.code = scrub(self.code, secrets)

    def _describe(self) -> str:
        return f"Stream error: {self.code}: {self.message}" if self.code else f"Stream error: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class StreamInterruptedError(APIConnectionError):
    """The connection dropped before the stream finished; ``partial`` is what arrived before it."""

    def __init__(
        self,
        message: str = "The stream ended before it was complete.",
        *,
        partial: ChatCompletion | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        self.partial = partial
        super().__init__(message, request=request)


class StreamClosedError(GrokError):
    """The stream was closed (or its ``with`` block left) before it finished, so it has no final completion.

    ``partial`` is what had arrived before it was closed.
    """

    def __init__(self, message: str, *, partial: ChatCompletion | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial


class ResponseTooLargeError(APIError):
    """The response went over one of the client's :class:`~grok_azure.ResponseLimits`; its connection was closed.

    ``limit_name`` is the field of ``ResponseLimits`` that was exceeded and ``limit`` its value in bytes.
    """

    def __init__(
        self, message: str, *, limit_name: str, limit: int, request: httpx.Request | None = None
    ) -> None:
        self.limit_name = limit_name
        self.limit = limit
        super().__init__(message, request=request)


# --- structured outputs (chat.completions.parse / stream(response_format=Model)) ----------------------------------


class StructuredOutputError(GrokError):
    """A structured reply could not be turned into the requested type; ``completion`` is the reply as received.

    The request itself succeeded (and was paid for: ``completion.usage``, ``completion.cost``). ``choice_index``
    is the choice concerned; ``attempts`` the earlier attempts of a ``parse(max_repairs=...)`` call that were
    rejected (see :class:`~grok_azure.types.StructuredAttempt`), whose usage was paid for too.
    """

    def __init__(
        self,
        message: str,
        *,
        completion: ChatCompletion,
        choice_index: int = 0,
        attempts: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.completion = completion
        self.choice_index = choice_index
        self.attempts: list[Any] = list(attempts or ())


class LengthFinishReasonError(StructuredOutputError):
    """The reply was cut by the token limit (``finish_reason="length"``) before its JSON was complete.

    Raise ``max_tokens`` / ``max_completion_tokens``, or ask for less.
    """


class ContentFilterFinishReasonError(StructuredOutputError):
    """The content filter cut the reply (``finish_reason="content_filter"``); see the choice's
    ``content_filter_results`` in ``completion``."""


class OutputValidationError(StructuredOutputError):
    """The reply is not valid JSON for the requested type (after every repair allowed by ``max_repairs``).

    ``errors`` are pydantic's error dicts (``loc``, ``msg``, ``type``, ``input``; no URLs) for the last reply and
    ``content`` that reply's text.
    """

    def __init__(
        self,
        message: str,
        *,
        completion: ChatCompletion,
        errors: list[dict[str, Any]],
        choice_index: int = 0,
        attempts: list[Any] | None = None,
    ) -> None:
        super().__init__(message, completion=completion, choice_index=choice_index, attempts=attempts)
        self.errors = errors
        self.content = completion.choices[choice_index].message.content if completion.choices else None


__all__ += [
    "ContentFilterFinishReasonError",
    "LengthFinishReasonError",
    "OutputValidationError",
    "StructuredOutputError",
]
