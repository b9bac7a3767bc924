"""Turning an exchange or an error into an HTTP response, with Azure's headers and the delivery faults.

Every response carries ``apim-request-id``, ``x-request-id`` and ``x-ms-region``, and echoes
``x-ms-client-request-id`` when the client sent one. Errors add ``x-ms-error-code``. Completions add
``x-ms-deployment-name``, ``azureml-model-session`` and ``x-ms-rai-invoked``. Every chat reply whose deployment
was charged (completions, validation errors, quota 429s) carries the deployment's ``x-ratelimit-*`` counters
from :mod:`grok_azure._emulator._quota`.
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
from ._errors import ErrorReply
from ._faults import Fault

REGION = "East US 2"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def base_headers(request_headers: Mapping[str, str]) -> dict[str, str]:
    headers = {"apim-request-id": str(uuid.uuid4()), "x-request-id": str(uuid.uuid4()), "x-ms-region": REGION}
    client_id = request_headers.get("x-ms-client-request-id")
    if client_id is not None:
        headers["x-ms-client-request-id"] = client_id
    return headers


def error_response(
    reply: ErrorReply, request_headers: Mapping[str, str], quota_headers: Mapping[str, str] | None = None
) -> Response:
    """``reply`` with the base headers, then ``quota_headers``, then the reply's own (which win)."""
    headers = base_headers(request_headers)
    if reply.code is not None:
        headers["x-ms-error-code"] = reply.code
    headers.update(quota_headers or {})
    headers.update(reply.headers)
    return Response(reply.body, status_code=reply.status, headers=headers, media_type=reply.content_type)


def json_response(body: Any, request_headers: Mapping[str, str]) -> Response:
    return Response(_dumps(body), headers=base_headers(request_headers), media_type="application/json")


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
) -> Response:
    headers = base_headers(request_headers)
    headers.update(
        {
            "x-ms-deployment-name": deployment,
            "azureml-model-session": f"{deployment}-emulator",
            "x-ms-rai-invoked": "true",
            **quota_headers,
        }
    )
    if stream:
        headers["cache-control"] = "no-cache, must-revalidate"
        events = [_dumps(event) for event in stream_events(exchange, include_usage)]
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
