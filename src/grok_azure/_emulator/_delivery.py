"""Turning an exchange or an error into an HTTP response, with Azure's headers and the delivery faults.

Headers follow recorded Foundry replies (``foundry-wire-facts.md``, section 6):

- every reply carries ``apim-request-id``;
- a successful reply (a completion, a model list) adds ``x-ms-region``, ``x-ms-client-request-id`` (the
  client's, or ``Not-Set`` when it sent none), ``strict-transport-security`` and
  ``x-content-type-options: nosniff``; a stream adds ``x-accel-buffering: no``;
- a reply from a deployment that was reached (charged to its quota) adds ``x-ms-deployment-name``,
  ``x-ms-rai-invoked`` and the ``x-ratelimit-*`` counters from :mod:`grok_azure._emulator._quota`, errors
  included; completions also carry ``azureml-model-session``;
- an error on ``/openai/v1`` carries no ``x-ms-error-code`` and no ``x-request-id`` (recorded); on ``/models``,
  whose official spec declares ``x-ms-error-code``, errors carry it and ``x-request-id``, with ``x-ms-region``
  and the client request id as before. (No ``/models`` error of Grok's was recorded: that form is the spec's.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse

from ._completions import Exchange, completion_body, stream_events
from ._core import ConnectionCut, EmulatorCore
from ._errors import ErrorReply, Route
from ._faults import Fault
from ._state import ToolCallDeltas

REGION = "East US 2"
NOT_SET = "Not-Set"
HSTS = "max-age=31536000; includeSubDomains; preload"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def success_headers(request_headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of every successful reply."""
    return {
        "apim-request-id": str(uuid.uuid4()),
        "x-ms-region": REGION,
        "x-ms-client-request-id": request_headers.get("x-ms-client-request-id") or NOT_SET,
        "strict-transport-security": HSTS,
        "x-content-type-options": "nosniff",
    }


def deployment_headers(deployment: str) -> dict[str, str]:
    """What a reply from a deployment that was reached says about it (errors included)."""
    return {"x-ms-deployment-name": deployment, "x-ms-rai-invoked": "true"}


def error_response(
    reply: ErrorReply,
    request_headers: Mapping[str, str],
    route: Route | None,
    reached: Mapping[str, str] | None = None,
) -> Response:
    """``reply`` with the route's error headers, then ``reached`` (the deployment and quota headers of a
    deployment that was charged), then the reply's own headers, which win."""
    headers = {"apim-request-id": str(uuid.uuid4())}
    if route != "openai_v1":
        headers["x-request-id"] = str(uuid.uuid4())
        headers["x-ms-region"] = REGION
        client_id = request_headers.get("x-ms-client-request-id")
        if client_id is not None:
            headers["x-ms-client-request-id"] = client_id
        if reply.code is not None:
            headers["x-ms-error-code"] = reply.code
    headers.update(reached or {})
    headers.update(reply.headers)
    return Response(reply.body, status_code=reply.status, headers=headers, media_type=reply.content_type)


def json_response(body: Any, request_headers: Mapping[str, str]) -> Response:
    return Response(_dumps(body), headers=success_headers(request_headers), media_type="application/json")


def completion_response(
    core: EmulatorCore,
    exchange: Exchange,
    *,
    stream: bool,
    include_usage: bool,
    fault: Fault | None,
    deployment: str,
    request_headers: Mapping[str, str],
    quota_headers: Mapping[str, str],
    tool_call_deltas: ToolCallDeltas,
) -> Response:
    """The 200 reply carrying ``exchange``: a JSON completion, or an SSE stream when ``stream``."""
    headers = success_headers(request_headers)
    headers.update(
        {
            **deployment_headers(deployment),
            "azureml-model-session": f"{deployment}-emulator",
            **quota_headers,
        }
    )
    if stream:
        headers["cache-control"] = "no-cache, must-revalidate"
        headers["x-accel-buffering"] = "no"
        events = [_dumps(event) for event in stream_events(exchange, include_usage, tool_call_deltas)]
        return StreamingResponse(_sse(core, events, fault), headers=headers, media_type="text/event-stream")
    body = _dumps(completion_body(exchange))
    if fault is None or fault.kind not in ("stall", "drop"):
        return Response(body, headers=headers, media_type="application/json")
    headers["content-length"] = str(len(body))
    return StreamingResponse(_split_body(core, body, fault), headers=headers, media_type="application/json")


async def _sse(core: EmulatorCore, events: list[bytes], fault: Fault | None) -> AsyncIterator[bytes]:
    # A fault placed past the last event acts just before [DONE].
    at = None if fault is None else min(fault.after_chunks, len(events))
    for index, event in enumerate([*events, None]):
        if fault is not None and index == at:
            if fault.kind == "stall":
                await core.sleep(fault.seconds)
            elif fault.kind == "drop":
                raise ConnectionCut()
            elif fault.kind == "error_event":
                error = {"error": {"code": fault.code, "message": fault.message, "param": None, "type": None}}
                yield b"data: " + _dumps(error) + b"\n\n"
                return
        core.check_open()
        yield b"data: [DONE]\n\n" if event is None else b"data: " + event + b"\n\n"
        # Give the server loop a turn per event, so a client that left is noticed instead of written at.
        await asyncio.sleep(0)


async def _split_body(core: EmulatorCore, body: bytes, fault: Fault) -> AsyncIterator[bytes]:
    half = len(body) // 2
    yield body[:half]
    if fault.kind == "drop":
        raise ConnectionCut()
    await core.sleep(fault.seconds)
    yield body[half:]
