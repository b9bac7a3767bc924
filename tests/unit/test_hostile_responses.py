"""Responses a broken or hostile server sends end in typed errors with bounded memory, with both clients: an error
with a non-ASCII header, a status written with superscript digits, a body under stacked gzip layers, a body or a
stream that inflates a thousandfold from each network read, a body or an event of empty choices (which pydantic
would fill in, each to a Choice of over 1 KB)."""

from __future__ import annotations

import functools
import gzip
import json
import tracemalloc
import zlib
from typing import Any

import pytest

from grok_azure import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    RateLimitError,
    ResponseDecodeError,
    ResponseLimits,
    ResponseTooLargeError,
    RetryPolicy,
    StreamInterruptedError,
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


def call(kind: str, url: str, *, stream: bool = False, limits: ResponseLimits | None = None) -> Any:
    options: dict[str, Any] = {"endpoint": url, "api_key": KEY, "retry": FAST, "validate": False}
    if limits is not None:
        options["response_limits"] = limits
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


MIB = 1 << 20
WBITS = {"gzip": 31, "deflate": 15}


@functools.cache
def _bomb(encoding: str, size: int, line: bytes) -> bytes:
    """``size`` bytes of ``line`` over and over, compressed about a thousandfold (128 KiB for 128 MiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, WBITS[encoding])
    block = line * (MIB // len(line))
    return b"".join(compressor.compress(block) for _ in range(size // MIB)) + compressor.flush()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_body_that_inflates_a_thousandfold_per_read_stays_within_bounded_memory(
    kind: str, encoding: str
) -> None:
    # Each 64 KiB the network delivers inflates to 64 MiB: counted only after inflating a whole read, the limit
    # of 1 MiB was seen 64 MiB too late.
    bomb = _bomb(encoding, 128 * MIB, b" ")
    with LoopbackServer(raw(200, bomb, b"content-encoding: " + encoding.encode())) as server:

        def refused() -> None:
            with pytest.raises(ResponseTooLargeError) as caught:
                call(kind, server.url, limits=ResponseLimits(max_body_bytes=MIB))
            assert caught.value.limit_name == "max_body_bytes"

        assert _peak_bytes(refused) < 16 * MIB
        assert len(server.requests) == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_that_inflates_a_thousandfold_per_read_stays_within_bounded_memory(
    kind: str, encoding: str
) -> None:
    bomb = _bomb(encoding, 128 * MIB, b":\n")  # SSE comment lines: only the stream's whole size can stop them
    answer = raw(200, bomb, b"content-encoding: " + encoding.encode(), content_type=b"text/event-stream")
    with LoopbackServer(answer) as server:

        def refused() -> None:
            with pytest.raises(ResponseTooLargeError) as caught:
                call(kind, server.url, stream=True, limits=ResponseLimits(max_stream_bytes=MIB))
            assert caught.value.limit_name == "max_stream_bytes"

        assert _peak_bytes(refused) < 16 * MIB


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_compressed_stream_within_its_limits_is_read_whole(kind: str, encoding: str) -> None:
    events = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "grok-4", "choices": choices}
        for choices in (
            [{"index": 0, "delta": {"role": "assistant", "content": "x" * 5000}}],
            [{"index": 0, "delta": {"content": "y" * 5000}, "finish_reason": "stop"}],
        )
    ]
    body = (
        b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events) + b"data: [DONE]\n\n"
    )
    compressor = zlib.compressobj(6, zlib.DEFLATED, WBITS[encoding])
    packed = compressor.compress(body) + compressor.flush()
    answer = raw(200, packed, b"content-encoding: " + encoding.encode(), content_type=b"text/event-stream")
    with LoopbackServer(answer) as server:
        chunks = call(kind, server.url, stream=True, limits=ResponseLimits(max_event_bytes=8192))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "x" * 5000 + "y" * 5000


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_body_cut_short_is_not_a_completion(kind: str) -> None:
    whole = gzip.compress(json.dumps({"choices": []}).encode())
    with (
        LoopbackServer(raw(200, whole[:-12], b"content-encoding: gzip")) as server,
        pytest.raises(ResponseDecodeError, match="not a chat completion"),
    ):
        call(kind, server.url)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_that_is_not_the_gzip_it_claims_is_a_typed_error(kind: str) -> None:
    with (
        LoopbackServer(raw(200, b"\x1f\x8b not gzip at all", b"content-encoding: gzip")) as server,
        pytest.raises(APIConnectionError, match="DecodingError") as caught,
    ):
        call(kind, server.url)
    assert caught.value.request is not None


@pytest.mark.parametrize("kind", KINDS)
def test_a_json_error_labelled_as_an_event_stream_keeps_its_message_and_class(kind: str) -> None:
    # A gateway's 429 wrapped in a 200 whose content type claims an event stream: no `data:` line, so no event.
    error = b'{"error":{"code":"429","message":"Rate limit is exceeded. Try again in 1 seconds."}}'
    with LoopbackServer(raw(200, error, content_type=b"text/event-stream")) as server:
        with pytest.raises(RateLimitError, match="Rate limit is exceeded") as caught:
            call(kind, server.url, stream=True)
        assert len(server.requests) == 1  # as create() and a 200 labelled JSON: the answer, not resent
    assert caught.value.code == "429"


@pytest.mark.parametrize("kind", KINDS)
def test_a_json_error_without_a_status_labelled_as_an_event_stream_is_not_resent(kind: str) -> None:
    error = json.dumps(
        {"error": {"code": "DeploymentNotReady", "message": "The deployment is updating"}}, indent=2
    )
    with LoopbackServer(raw(200, error.encode(), content_type=b"text/event-stream")) as server:
        with pytest.raises(APIStatusError, match="The deployment is updating") as caught:
            call(kind, server.url, stream=True)
        assert len(server.requests) == 1  # the service's answer, as create() treats a 200 error body
    assert caught.value.code == "DeploymentNotReady"
    assert type(caught.value) is APIStatusError


@pytest.mark.parametrize("kind", KINDS)
def test_json_without_an_error_labelled_as_an_event_stream_is_still_a_stream_cut_short(kind: str) -> None:
    with (
        LoopbackServer(raw(200, b'{"status": "ok"}', content_type=b"text/event-stream")) as server,
        pytest.raises(StreamInterruptedError),
    ):
        call(kind, server.url, stream=True)


@pytest.mark.parametrize("kind", KINDS)
def test_an_error_body_after_a_chunk_is_a_stream_cut_short(kind: str) -> None:
    # Once a chunk came, the body is an event stream: a JSON error after it is no answer of its own.
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "grok-4"}
    chunk["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]
    body = b"data: " + json.dumps(chunk).encode() + b'\n\n{"error":{"code":"429","message":"late"}}'
    with LoopbackServer(raw(200, body, content_type=b"text/event-stream")) as server:
        with pytest.raises(StreamInterruptedError) as caught:
            call(kind, server.url, stream=True)
        assert len(server.requests) == 1
    assert caught.value.partial is not None
    assert caught.value.partial.choices[0].message.content == "Hel"


@pytest.mark.parametrize("kind", KINDS)
def test_a_compressed_json_error_labelled_as_an_event_stream_keeps_its_message_and_class(kind: str) -> None:
    # Gateways compress error bodies: the head kept is inflated already, and must not be inflated twice.
    error = gzip.compress(
        b'{"error":{"code":"429","message":"Rate limit is exceeded. Try again in 1 seconds."}}'
    )
    answer = raw(200, error, b"content-encoding: gzip", content_type=b"text/event-stream")
    with LoopbackServer(answer) as server, pytest.raises(RateLimitError, match="Rate limit is exceeded"):
        call(kind, server.url, stream=True)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("encoding", ["br", "zstd", "BR"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_body_in_an_encoding_the_sdk_cannot_bound_is_refused_unread(
    kind: str, encoding: str, stream: bool
) -> None:
    # br and zstd can inflate a thousand times more than gzip from one piece (httpx decodes them when their
    # packages are installed); the SDK never asks for them.
    content_type = b"text/event-stream" if stream else b"application/json"
    answer = raw(
        200, b"\x1b\x00\x00compressed", b"content-encoding: " + encoding.encode(), content_type=content_type
    )
    with LoopbackServer(answer) as server:
        with pytest.raises(
            ResponseDecodeError, match=f"encoded with {encoding.lower()}, which the SDK does not ask"
        ):
            call(kind, server.url, stream=stream)
        assert len(server.requests) == 1  # the service's answer: not retried
        assert server.requests[0].headers.get("accept-encoding") in (None, "gzip, deflate")


@pytest.mark.parametrize(
    ("status", "expected"), [(429, RateLimitError), (503, InternalServerError)], ids=["429", "503"]
)
@pytest.mark.parametrize("kind", KINDS)
def test_an_error_whose_body_is_in_such_an_encoding_keeps_its_class_and_its_retries(
    kind: str, status: int, expected: type[Exception]
) -> None:
    # Its body is dropped unread; its status still says what it is, and whether to retry.
    answer = raw(status, b"\x1b\x00\x00compressed", b"content-encoding: br", b"retry-after-ms: 10")
    with LoopbackServer(answer) as server:
        with pytest.raises(expected):
            call(kind, server.url)
        assert len(server.requests) == 3  # max_retries=2


@pytest.mark.parametrize("kind", KINDS)
def test_an_encoding_the_caller_asked_for_is_not_refused(kind: str) -> None:
    # No brotli here, so httpx hands the bytes over as they came (they are plain JSON): what the caller asked for.
    body = json.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "grok-4",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "as asked"}, "finish_reason": "stop"}
            ],
        }
    ).encode()
    options: dict[str, Any] = {"endpoint": "", "api_key": KEY, "retry": FAST, "validate": False}
    with LoopbackServer(raw(200, body, b"content-encoding: br")) as server:
        options["endpoint"] = server.url
        completion = create_with(kind, options, extra_headers={"Accept-Encoding": "gzip, br;q=0.9"})
        assert server.requests[0].headers["accept-encoding"] == "gzip, br;q=0.9"
    assert completion.choices[0].message.content == "as asked"


def test_the_async_client_asks_for_gzip_and_deflate_only_whatever_aiohttp_would_add(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # aiohttp adds br and zstd to its Accept-Encoding when their packages are installed (as here, pretended).
    import aiohttp

    pretended = {**aiohttp.ClientRequest.DEFAULT_HEADERS, "Accept-Encoding": "gzip, deflate, br, zstd"}
    monkeypatch.setattr(aiohttp.ClientRequest, "DEFAULT_HEADERS", pretended)
    body = json.dumps({"error": {"code": "500", "message": "x"}}).encode()
    with LoopbackServer(raw(500, body)) as server:
        with pytest.raises(InternalServerError):
            call("async", server.url)
        assert {request.headers["accept-encoding"] for request in server.requests} == {"gzip, deflate"}
