"""Non-streamed bodies: bounded memory (size, decompression bombs), 2xx bodies that are not completions,
and error bodies nested deep enough to break a recursive parser."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
import respx

from grok_azure import (
    APIStatusError,
    AsyncGrokClient,
    BadRequestError,
    ChatCompletion,
    GrokClient,
    InternalServerError,
    RateLimitError,
    ResponseDecodeError,
    ResponseLimits,
    ResponseTooLargeError,
)

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
MIB = 1024 * 1024
HUGE = 500 * MIB
SMALL = ResponseLimits(max_body_bytes=MIB)


def _zeros_compressed(size: int, wbits: int) -> bytes:
    """``size`` zero bytes compressed (gzip: wbits 31, zlib deflate: 15), built 1 MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    return b"".join(parts) + compressor.flush()


def _lazy_json(request: SeenRequest, *, status: int = 200, declare_length: bool) -> Iterator[bytes]:
    """A 500 MB JSON body, generated as it is sent; nothing of that size is ever allocated."""
    prefix = b'{"choices": [{"message": {"content": "'
    block = b"a" * (64 * 1024)
    framing = f"content-length: {HUGE}" if declare_length else "transfer-encoding: chunked"
    yield f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{framing}\r\n\r\n".encode()
    sent = 0
    for piece in [prefix, *(block for _ in range(HUGE // len(block)))]:
        sent += len(piece)
        if sent > HUGE:
            break
        yield piece if declare_length else b"%x\r\n%s\r\n" % (len(piece), piece)


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds  # bounds the test only; nothing asserts how long it took
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


# --- size limits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("status", [200, 500])
def test_a_500_mb_body_is_refused_and_its_connection_dropped(declare_length: bool, status: int) -> None:
    state = {"calls": 0}

    def answer(request: SeenRequest) -> Iterator[bytes]:
        state["calls"] += 1
        if state["calls"] == 1:
            return _lazy_json(request, status=status, declare_length=declare_length)
        return iter(json_response(request, completion_body()))

    with LoopbackServer(answer) as server, GrokClient(endpoint=server.url, api_key=KEY) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert info.value.limit_name == "max_body_bytes"
        assert info.value.limit == ResponseLimits().max_body_bytes
        # The connection was closed, not drained: the server's writes fail and the next call reconnects.
        assert _wait_for(lambda: server.client_hung_up == 1)
        assert server.sent_bytes < HUGE // 2
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "Hello!"
        assert server.connections == 2


async def test_async_a_huge_body_is_refused_with_a_small_limit() -> None:
    def answer(request: SeenRequest) -> Iterator[bytes]:
        return _lazy_json(request, declare_length=False)

    with LoopbackServer(answer) as server:
        async with AsyncGrokClient(endpoint=server.url, api_key=KEY, response_limits=SMALL) as client:
            with pytest.raises(ResponseTooLargeError) as info:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert info.value.limit == MIB
        assert _wait_for(lambda: server.client_hung_up == 1)


def test_a_body_within_a_custom_limit_is_read(mock_api: respx.MockRouter) -> None:
    body = completion_body("x" * (MIB // 2))
    mock_api.post(CHAT_URL).respond(200, json=body)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, response_limits=SMALL) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "x" * (MIB // 2)


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15)])
def test_a_decompression_bomb_stops_once_past_the_limit(
    mock_api: respx.MockRouter, encoding: str, wbits: int
) -> None:
    bomb = _zeros_compressed(64 * MIB, wbits)  # about 64 KiB on the wire
    assert len(bomb) < MIB
    route = mock_api.post(CHAT_URL).respond(200, content=bomb, headers={"content-encoding": encoding})
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, response_limits=SMALL) as client,
        pytest.raises(ResponseTooLargeError, match="decompression"),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.called


def test_an_error_body_bomb_is_refused_too(mock_api: respx.MockRouter) -> None:
    bomb = _zeros_compressed(8 * MIB, 31)
    mock_api.post(CHAT_URL).respond(503, content=bomb, headers={"content-encoding": "gzip"})
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, response_limits=SMALL) as client,
        pytest.raises(ResponseTooLargeError),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)


async def test_async_gzip_bomb_over_aiohttp_is_refused() -> None:
    bomb = _zeros_compressed(32 * MIB, 31)

    def answer(request: SeenRequest) -> list[bytes]:
        head = f"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {len(bomb)}\r\n\r\n"
        return [head.encode() + bomb]

    with LoopbackServer(answer) as server:
        async with AsyncGrokClient(endpoint=server.url, api_key=KEY, response_limits=SMALL) as client:
            with pytest.raises(ResponseTooLargeError):
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)


def test_a_compressed_completion_within_the_limit_still_decodes(mock_api: respx.MockRouter) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    body = compressor.compress(json.dumps(completion_body()).encode()) + compressor.flush()
    mock_api.post(CHAT_URL).respond(200, content=body, headers={"content-encoding": "gzip"})
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, response_limits=SMALL) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "Hello!"


# --- a 2xx that is not a completion ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"id": "x", "object": "chat.completion"}, {"choices": None}, []])
def test_a_2xx_without_a_choices_list_is_not_a_completion(mock_api: respx.MockRouter, body: object) -> None:
    mock_api.post(CHAT_URL).respond(200, json=body)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.status_code == 200


def test_a_2xx_with_an_error_body_raises_the_mapped_error(mock_api: respx.MockRouter) -> None:
    error = {"error": {"code": "429", "message": "Rate limit is exceeded. Try again in 7 seconds."}}
    mock_api.post(CHAT_URL).respond(200, json=error)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RateLimitError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.body == error
    assert "Rate limit is exceeded" in info.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "InternalFailure", "message": "boom"}},
        {"error": "boom"},
        {"error": {"message": "boom"}, "choices": []},  # an error wins even beside a choices list
    ],
)
def test_a_2xx_error_body_without_a_status_is_a_plain_api_status_error(
    mock_api: respx.MockRouter, body: dict[str, object]
) -> None:
    mock_api.post(CHAT_URL).respond(200, json=body)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(APIStatusError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert type(info.value) is APIStatusError
    assert info.value.status_code == 200
    assert info.value.body == body
    assert info.value.message == "boom"


def test_a_completion_with_a_null_error_field_is_a_completion(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body(error=None))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert isinstance(completion, ChatCompletion)
    assert completion.text == "Hello!"


async def test_async_2xx_error_body_raises(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json={"error": {"status": 500, "message": "upstream failed"}})
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(InternalServerError, match="upstream failed"):
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)


# --- bodies nested too deep --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 900])
@pytest.mark.parametrize("status", [400, 200])
def test_a_deeply_nested_body_is_a_grok_error_not_recursion_error(
    mock_api: respx.MockRouter, depth: int, status: int
) -> None:
    body = b'{"error":' * depth + b'"x"' + b"}" * depth
    mock_api.post(CHAT_URL).respond(status, content=body, headers={"content-type": "application/json"})
    expected = BadRequestError if status == 400 else (ResponseDecodeError, APIStatusError)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(expected) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    repr(info.value)
    str(info.value)
    assert isinstance(info.value.body, (str, type(None)))  # kept as a short excerpt, not a deep structure
