"""A service (or gateway) that echoes the request's credentials back: in a stream's event, in a 401's header, in a
response header logged at DEBUG. None of it reaches a traceback rendered with its frames' locals, or the log."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import httpx
import pytest

from grok_azure import GrokError
from grok_azure._call_flow import Refresh, Target
from grok_azure._endpoint import resolve_endpoint

from ._calls import create_with
from ._loopback import LoopbackServer, SeenRequest, json_response

KEY = "echoed-api-key-0123456789abcdef"
SUBSCRIPTION = "echoed-subscription-key-0123456789"
KINDS = ("sync", "async")


def rendered(error: BaseException) -> str:
    """The SDK's frames of every exception of the chain, with their locals (this file's hold the key: it is the
    caller's own, which the SDK cannot hide)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        stack = traceback.TracebackException.from_exception(current, capture_locals=True).stack
        for frame in stack:
            if "grok_azure" in frame.filename:
                parts.append(f"{frame.name} {frame.locals}")
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def echoing_stream(kind: str) -> Any:
    def respond(request: SeenRequest) -> list[bytes]:
        echoed = json.dumps(request.headers)
        request.close = True
        if kind == "error":
            event = (
                b"event: error\ndata: " + json.dumps({"error": {"code": "bad", "message": echoed}}).encode()
            )
        else:  # an event that is not a chunk
            event = b"data: {" + echoed.encode()
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        return [head + event + b"\n\n"]

    return respond


def stream_all(kind: str, url: str) -> None:
    create_with(kind, {"endpoint": url, "api_key": KEY, "max_retries": 0, "validate": False}, stream=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("event", ["error", "not a chunk"])
def test_a_key_echoed_in_a_stream_event_is_in_no_frame_of_the_traceback(kind: str, event: str) -> None:
    with LoopbackServer(echoing_stream(event)) as server, pytest.raises(GrokError) as caught:
        stream_all(kind, server.url)
    text = rendered(caught.value)
    assert (
        "_iter_chunks" in text or "_aiter_chunks" in text
    )  # the stream's frames are rendered, locals and all
    assert KEY not in text


def test_a_refresh_command_shows_no_header_value() -> None:
    headers = httpx.Headers({"api-key": KEY, "x-echo": KEY})
    target = Target(resolve_endpoint("https://east.services.ai.azure.com"), auth=object(), name="east")
    assert KEY not in repr(Refresh(target, headers, headers))


@pytest.mark.parametrize("kind", KINDS)
def test_a_secret_echoed_in_a_response_header_is_not_logged(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    def respond(request: SeenRequest) -> list[bytes]:
        echo = {"x-apim-trace": f"echo {request.headers.get('ocp-apim-subscription-key')}"}
        return json_response(request, {"error": {"code": "denied"}}, status=403, headers=echo)

    options: dict[str, Any] = {"api_key": KEY, "max_retries": 0, "validate": False}
    extra_headers = {"Ocp-Apim-Subscription-Key": SUBSCRIPTION}
    caplog.set_level(logging.DEBUG, logger="grok_azure")
    with LoopbackServer(respond) as server, pytest.raises(GrokError):
        create_with(kind, {"endpoint": server.url, **options}, extra_headers=extra_headers)
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("grok_azure")
    )
    assert "x-apim-trace" in logged  # the response's headers were logged
    assert SUBSCRIPTION not in logged
