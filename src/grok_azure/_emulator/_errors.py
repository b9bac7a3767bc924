"""Error replies as Foundry shapes them, per route.

Gateway-level failures (auth, unknown deployment, throttling, server errors, content filtering) carry the
same Azure body on both routes. Request validation errors differ: ``/openai/v1`` answers like OpenAI
(``{"error": {"message", "type", "param", "code"}}``), ``/models`` answers with the Azure ``ErrorResponse``
wrapper of the official spec, using the documented 422 ``parameter_not_supported`` form when a model does not
support a parameter or value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Route = Literal["openai_v1", "model_inference"]

DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within the last "
    "5 minutes, please wait a moment and try again."
)


@dataclass(frozen=True)
class ErrorReply:
    """A complete non-streamed error response."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    code: str | None = None  # sent as x-ms-error-code


class Rejection(Exception):
    """Raised anywhere in request handling to answer with ``reply`` instead of a completion."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def json_error(
    status: int, body: Mapping[str, Any], *, code: str | None, headers: Mapping[str, str] | None = None
) -> Rejection:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Rejection(ErrorReply(status, data, headers=dict(headers or {}), code=code))


def azure_error(status: int, code: str, message: str, **extra: Any) -> Rejection:
    """The plain Azure body ``{"error": {"code", "message", ...}}`` used by the gateway on every route."""
    return json_error(status, {"error": {"code": code, "message": message, **extra}}, code=code)


def not_found() -> Rejection:
    return azure_error(404, "404", "Resource not found")


def retired_model() -> Rejection:
    """A deployment of a retired model. Microsoft says such deployments "always return error responses" without
    recording one for Grok (UNCONFIRMED). The one public recording of a retired Azure model's deployment (an
    Azure OpenAI gpt-35-turbo 0125, BerriAI/litellm#11116, 2025-05) answered 404 ``Resource not found``; this is
    that answer."""
    return not_found()


def retired_api_version() -> Rejection:
    """A retired ``api-version`` on ``/models`` (UNCONFIRMED for Grok): Azure's answer to an api-version it no
    longer serves, as users have reported it (400 ``BadRequest``, "API version not supported")."""
    return azure_error(400, "BadRequest", "API version not supported")


V1_API_VERSION = "api-version query parameter is not allowed when using /v1 path"


def api_version_on_v1() -> Rejection:
    """A dated ``api-version`` on ``/openai/v1`` (recorded on Foundry, 2026)."""
    return azure_error(400, "BadRequest", V1_API_VERSION)


def deployment_not_found() -> Rejection:
    return azure_error(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND)


def bad_request(
    route: Route, message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> Rejection:
    """A malformed or invalid request."""
    if route == "openai_v1":
        body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
        return json_error(status, body, code=code)
    azure_code = code or "BadRequest"
    inner: dict[str, Any] = {"code": azure_code, "message": message, "status": status}
    if param is not None:
        inner["param"] = param
    return json_error(status, {"error": inner}, code=azure_code)


def unsupported(route: Route, message: str, *, param: str, value: Any, code: str) -> Rejection:
    """A parameter or value the deployed model does not support."""
    if route == "openai_v1":
        return bad_request(route, message, code=code, param=param)
    body = {
        "error": {
            "code": "parameter_not_supported",
            "message": "One of the parameters contain invalid values.",
            "status": 422,
            "detail": {"loc": ["body", param], "input": value},
            "details": [{"code": code, "message": message, "target": param}],
        }
    }
    return json_error(422, body, code="parameter_not_supported")


def context_length_exceeded(route: Route, limit: int | None, tokens: int | None) -> Rejection:
    if limit is None or tokens is None:
        message = (
            "This model's maximum context length was exceeded. Please reduce the length of the messages."
        )
    else:
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{tokens} tokens. Please reduce the length of the messages."
        )
    return bad_request(route, message, code="context_length_exceeded", param="messages")
