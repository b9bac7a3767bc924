"""Responses a broken or hostile server sends end in typed errors with bounded memory, with both clients: an error
with a non-ASCII header, a status written with superscript digits, a body under stacked gzip layers, a body or an
event of empty choices (which pydantic would fill in, each to a Choice of over 1 KB)."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from typing import Any

import pytest

from grok_azure import (
    APIStatusError,
    InternalServerError,
    ResponseDecodeError,
    RetryPolicy,
)

from ._calls import create_with
from ._loopback import LoopbackServer, SeenRequest
from .conftest import KEY

KINDS = ("sync", "async")
FAST = RetryPolicy(backoff_base=0.01, backoff_cap=0.02)


def raw(status: int, body: bytes, *headers: bytes, content_type: bytes = b"application/json") -> Any:
    def respond(request: SeenRequest) -> list[bytes]:
        head = b"".join(h + b"\r\n" for h in headers)
        return [
            b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n" % (status, content_type, len(body))
            + head
            + b"\r\n"
            + body
        ]

    return respond


def call(kind: str, url: str, *, stream: bool = False) -> Any:
    options: dict[str, Any] = {"endpoint": url, "api_key": KEY, "retry": FAST, "validate": False}
    return create_with(kind, options, stream=stream)


@pytest.mark.parametrize("kind", KINDS)
def test_an_error_with_a_non_ascii_header_is_typed_and_retried(kind: str) -> None:
    detail = "x-ms-error-detail: Dienst vorübergehend nicht verfügbar".encode()
    with LoopbackServer(raw(503, b'{"error":{"message":"busy"}}', detail)) as server:
        with pytest.raises(InternalServerError) as caught:
            call(kind, server.url)
        assert len(server.requests) == 3  # max_retries=2: retried like any 503
    assert caught.value.headers["x-ms-error-detail"] == "Dienst vorübergehend nicht verfügbar"
    assert caught.value.response is not None
    assert caught.value.response.headers["x-ms-error-detail"] == "Dienst vorübergehend nicht verfügbar"


@pytest.mark.parametrize("kind", KINDS)
def test_a_status_in_superscript_digits_is_no_status(kind: str) -> None:
    body = json.dumps({"error": {"code": "²", "status": "³", "message": "quota"}}).encode()
    with (
        LoopbackServer(raw(200, body)) as server,
        pytest.raises(APIStatusError, match="quota"),
    ):  # the 200's error body, not a ValueError from int()
        call(kind, server.url)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_under_stacked_gzip_layers_is_refused_unread(kind: str) -> None:
    bomb = gzip.compress(gzip.compress(b"[" * (64 << 20)))  # a few KB that would inflate to 64 MiB
    with LoopbackServer(raw(200, bomb, b"content-encoding: gzip, gzip")) as server:
        with pytest.raises(ResponseDecodeError, match="stacks content encodings"):
            call(kind, server.url)
        assert len(server.requests) == 1  # the service's answer: not retried


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_under_stacked_gzip_layers_is_refused_unread(kind: str) -> None:
    bomb = gzip.compress(gzip.compress(b"data: " + b"[" * (64 << 20)))
    answer = raw(200, bomb, b"content-encoding: gzip, gzip", content_type=b"text/event-stream")
    with LoopbackServer(answer) as server:
        with pytest.raises(ResponseDecodeError, match="stacks content encodings"):
            call(kind, server.url, stream=True)
        assert len(server.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_html_page_answering_a_stream_is_reported_as_such(kind: str) -> None:
    page = b"<html><body>Sign in to continue</body></html>"
    with LoopbackServer(raw(200, page, content_type=b"text/html; charset=utf-8")) as server:
        with pytest.raises(ResponseDecodeError, match="answered with an HTML page, not an event stream"):
            call(kind, server.url, stream=True)
        assert len(server.requests) == 1


def _peak_bytes(run: Any) -> int:
    """The most memory Python objects took while ``run()`` ran (pydantic's own parse tree is not counted)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_of_empty_choices_is_refused_before_they_are_built(kind: str) -> None:
    body = b'{"choices":[' + b"{}," * 300_000 + b"{}]}"  # 0.9 MB; decoded to models, 340 MB
    with LoopbackServer(raw(200, body)) as server:

        def refused() -> None:
            with pytest.raises(ResponseDecodeError, match=r"300001 choices.* denser than any answer"):
                call(kind, server.url)

        assert _peak_bytes(refused) < 80 * len(body)
        assert len(server.requests) == 1  # the service's answer: not retried


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_event_of_empty_choices_is_refused_before_they_are_built(kind: str) -> None:
    event = b'data: {"choices":[' + b"{}," * 200_000 + b"{}]}\n\n"
    with LoopbackServer(raw(200, event, content_type=b"text/event-stream")) as server:

        def refused() -> None:
            with pytest.raises(ResponseDecodeError, match="not a chat completion chunk"):
                call(kind, server.url, stream=True)

        assert _peak_bytes(refused) < 80 * len(event)
