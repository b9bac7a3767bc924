"""The wire layer without I/O: requests for each Foundry route, response decoding, transport-error mapping.

Both clients prepare a :class:`PreparedRequest` here, add auth headers, and hand it to httpx; what comes back is
decoded and mapped here too. Nothing in this module opens a socket.
"""

from __future__ import annotations

import json
import platform
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic

from ._constants import DEFAULT_TIMEOUT
from ._endpoint import DEFAULT_MODEL_INFERENCE_API_VERSION, Endpoint
from ._error_mapping import status_error_from_response
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RequestValidationError,
    ResponseDecodeError,
)
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

USER_AGENT = f"grok-azure/{__version__} Python/{platform.python_version()} httpx/{httpx.__version__}"


@dataclass(frozen=True)
class PreparedRequest:
    """Everything about a request except its credentials, which are added per attempt."""

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)

    def build(self, auth_headers: Mapping[str, str]) -> httpx.Request:
        headers = {**self.headers, **auth_headers}
        return httpx.Request(
            self.method,
            self.url,
            params=self.params or None,
            headers=headers,
            content=self.content,
            extensions={"timeout": self.timeout.as_dict()},
        )


def coerce_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
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


def prepare_chat_request(
    endpoint: Endpoint,
    body: Mapping[str, Any],
    *,
    api_version: str | None,
    timeout: httpx.Timeout,
    default_headers: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """Build the POST for ``/chat/completions`` on the endpoint's route."""
    headers: dict[str, str] = {
        "content-type": "application/json",
        "accept": "text/event-stream" if body.get("stream") else "application/json",
        "user-agent": USER_AGENT,
        "x-ms-client-request-id": str(uuid.uuid4()),
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
    headers.update(extra_headers or {})
    params.update(extra_query or {})
    return PreparedRequest(
        method="POST",
        url=endpoint.chat_completions_url,
        params=params,
        headers=headers,
        content=encode_json(body),
        timeout=timeout,
    )


def should_refresh_token(response: httpx.Response, attempt: int, can_refresh: bool) -> bool:
    """A 401 with a token credential earns one retry with a fresh token (the cached one may have been revoked)."""
    return response.status_code == 401 and attempt == 0 and can_refresh


def error_for_status(response: httpx.Response) -> APIStatusError | None:
    """The exception for an error response (its body already read), or None for a success."""
    if response.status_code < 400:
        return None
    return status_error_from_response(response)


def decode_completion(response: httpx.Response) -> ChatCompletion:
    """Decode a non-streaming chat completion, or raise ResponseDecodeError if the body is not one."""
    try:
        return ChatCompletion.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise ResponseDecodeError(
            f"Response is not a chat completion ({_first_error(exc)})",
            status_code=response.status_code,
            body=response.content,
            request=response.request,
        ) from None


def _first_error(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "invalid body"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'invalid')}"


def connection_error(exc: httpx.TransportError, request: httpx.Request | None) -> APIConnectionError:
    """Wrap an httpx transport failure; timeouts get their own type so callers can tell them apart."""
    if is_timeout(exc):
        return APITimeoutError(f"Request timed out ({type(exc).__name__})", request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)


def is_timeout(exc: httpx.TransportError) -> bool:
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
