"""The Starlette application: Foundry's routes, in the order the service checks things.

Chat requests go through: auth, api-version (on ``/models`` required, served and not retired; on
``/openai/v1`` refused unless ``preview``), JSON body, deployment (a retired model's deployment answers an error), the
deployment's quotas (charged on arrival: a request refused here consumes no fault or script), injected faults,
the route's parameter list (``extra-parameters`` on ``/models``, unrecognised arguments on ``/openai/v1``),
the model's rules, and finally the scripted or default reply. Every request is recorded, whatever its fate.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from .._catalog import ModelSpec
from ._auth import check_auth
from ._completions import build_exchange
from ._core import EmulatorCore
from ._delivery import completion_response, deployment_headers, error_response, json_response
from ._errors import (
    Rejection,
    Route,
    api_version_on_v1,
    azure_error,
    bad_request,
    deployment_not_found,
    not_found,
    retired_api_version,
    retired_model,
)
from ._faults import error_event_rejection, fault_rejection
from ._parameters import reject_unknown_openai_parameters, split_extra_parameters
from ._quota import estimate_tokens, quota_rejection
from ._state import RecordedRequest
from ._validation import validate_chat

_INVALID_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The API expects a JSON payload, but what was sent was not valid JSON.)"
)
_MISSING_API_VERSION = "The api-version query parameter (?api-version=) is required for all requests."
# The only api-version /openai/v1 takes: it opts into preview features (Azure OpenAI API lifecycle doc).
_V1_API_VERSIONS = ("preview",)


class _Incoming:
    """The parts of a request that handlers use and that get recorded."""

    def __init__(self, request: Request, body: bytes, route: Route | None) -> None:
        self.method = request.method
        self.path = request.url.path
        self.query = dict(request.query_params)
        self.headers = {k.lower(): v for k, v in request.headers.items()}
        self.body = body
        self.route = route
        self.deployment: str | None = None
        self.dropped: tuple[str, ...] = ()
        self.quota_headers: dict[str, str] = {}  # the x-ratelimit-* counters, once quotas were charged
        self.reached: dict[str, str] = {}  # deployment and quota headers of a deployment that was charged
        self.json: Any = None
        self.valid_json = False
        with contextlib.suppress(ValueError):  # also covers an empty body and invalid UTF-8
            self.json, self.valid_json = json.loads(body), True

    def record(self, status: int) -> RecordedRequest:
        return RecordedRequest(
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.headers,
            body=self.body,
            json=self.json,
            deployment=self.deployment,
            route=self.route,
            status=status,
            dropped_parameters=self.dropped,
        )


def build_app(core: EmulatorCore) -> Starlette:
    """The ASGI app serving ``core``'s deployments."""
    started = int(time.time())

    async def handle(request: Request, route: Route | None, handler: Any) -> Response:
        incoming = _Incoming(request, await request.body(), route)
        try:
            response: Response = await handler(incoming)
        except Rejection as rejection:
            response = error_response(rejection.reply, incoming.headers, incoming.route, incoming.reached)
        core.record(incoming.record(response.status_code))
        return response

    def authorize(incoming: _Incoming) -> None:
        check_auth(incoming.headers, core.api_key, core.token_validator)
        version = incoming.query.get("api-version")
        if incoming.route == "model_inference":
            if not version:
                raise azure_error(400, "MissingApiVersionParameter", _MISSING_API_VERSION)
            if version in core.retired_api_versions:
                raise retired_api_version()
            if version not in core.api_versions:
                raise not_found()
        elif incoming.route == "openai_v1" and version is not None and version not in _V1_API_VERSIONS:
            raise api_version_on_v1()

    def resolve(incoming: _Incoming, route: Route, name: Any) -> ModelSpec:
        if name is None and route == "model_inference" and len(core.deployments) == 1:
            name = next(iter(core.deployments))
        if name is None:
            if route == "openai_v1":
                raise bad_request(route, "you must provide a model parameter", param="model")
            raise bad_request(
                route,
                "The model parameter is required when more than one deployment is available.",
                param="model",
            )
        if not isinstance(name, str) or name not in core.deployments:
            raise deployment_not_found()
        incoming.deployment = name
        spec = core.deployments[name]
        if not spec.is_current and not core.serve_retired:
            raise retired_model()
        return spec

    async def chat(incoming: _Incoming) -> Response:
        route = incoming.route
        assert route is not None
        authorize(incoming)
        if not incoming.valid_json:
            raise bad_request(route, _INVALID_JSON)
        body = incoming.json
        if not isinstance(body, dict):
            raise bad_request(
                route, "Invalid type for request body: expected a JSON object.", code="invalid_type"
            )
        name = body.get("model")
        if name is None and route == "model_inference":
            name = incoming.headers.get("azureml-model-deployment")
        spec = resolve(incoming, route, name)
        deployment = incoming.deployment
        assert deployment is not None
        version = incoming.query.get("api-version", "v1")
        admission = core.quotas.charge(deployment, estimate_tokens(body))
        if admission.refused is not None:
            raise quota_rejection(admission, version)
        incoming.quota_headers = admission.headers()
        incoming.reached = {**deployment_headers(deployment), **incoming.quota_headers}
        fault = core.take_fault(deployment)
        if fault is not None and fault.replaces_response:
            # A gateway fault's answer (429, 5xx, 408) carries exactly the headers it scripts (a 429 its own
            # counters); the model's own refusals (content filter, context length) carry the deployment's, as a
            # recorded content-filter 400 did.
            if fault.kind not in ("content_filter", "context_length"):
                incoming.reached = {}
            if fault.seconds:
                await core.sleep(fault.seconds)
            raise fault_rejection(fault, route, version, spec.context_window)
        if route == "openai_v1":
            reject_unknown_openai_parameters(route, body)
        else:
            body, incoming.dropped = split_extra_parameters(
                route, body, incoming.headers.get("extra-parameters")
            )
        chat_request = validate_chat(route, body, spec, strict=core.enforce_unconfirmed)
        if fault is not None and fault.kind == "error_event" and not chat_request.stream:
            raise error_event_rejection(fault)
        script = core.replies.take(deployment)
        exchange = build_exchange(
            chat_request,
            spec,
            script,
            filtered=fault is not None and fault.kind == "filtered_completion",
            next_call_id=core.next_call_id,
            route=route,
            usage_convention=core.usage_convention,
        )
        if fault is not None and fault.kind == "slow_first_byte":
            await core.sleep(fault.seconds)
        return completion_response(
            core,
            exchange,
            stream=chat_request.stream,
            include_usage=chat_request.include_usage,
            fault=fault,
            deployment=deployment,
            request_headers=incoming.headers,
            quota_headers=incoming.quota_headers,
            tool_call_deltas=(script and script.tool_call_deltas) or core.tool_call_deltas,
        )

    async def model_info(incoming: _Incoming) -> Response:
        authorize(incoming)
        name = incoming.query.get("model") or incoming.headers.get("azureml-model-deployment")
        spec = resolve(incoming, "model_inference", name)
        body = {"model_name": spec.id, "model_type": "chat-completion", "model_provider_name": "xAI"}
        return json_response(body, incoming.headers)

    async def list_models(incoming: _Incoming) -> Response:
        authorize(incoming)
        data = [
            {"id": name, "object": "model", "created": started, "owned_by": "xAI"}
            for name in core.deployments
        ]
        return json_response({"object": "list", "data": data}, incoming.headers)

    async def unknown(incoming: _Incoming) -> Response:
        raise not_found()

    async def openai_chat(request: Request) -> Response:
        return await handle(request, "openai_v1", chat)

    async def models_chat(request: Request) -> Response:
        return await handle(request, "model_inference", chat)

    async def models_info(request: Request) -> Response:
        return await handle(request, "model_inference", model_info)

    async def openai_models(request: Request) -> Response:
        return await handle(request, "openai_v1", list_models)

    async def not_routed(request: Request, exc: Exception) -> Response:
        return await handle(request, None, unknown)

    exception_handlers: Mapping[Any, Any] = {404: not_routed, 405: not_routed, HTTPException: not_routed}
    return Starlette(
        routes=[
            StarletteRoute("/openai/v1/chat/completions", openai_chat, methods=["POST"]),
            StarletteRoute("/models/chat/completions", models_chat, methods=["POST"]),
            StarletteRoute("/models/info", models_info, methods=["GET"]),
            StarletteRoute("/openai/v1/models", openai_models, methods=["GET"]),
        ],
        exception_handlers=exception_handlers,
    )
