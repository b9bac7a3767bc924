"""The async client's own aiohttp transport, through the public API, against tiny servers on 127.0.0.1.

What it must keep from the ``httpx-aiohttp`` transport it replaced (pooled connections, streamed bodies, proxies,
timeouts that are timeouts, no redirects) and what it does better: a server that hangs up is a connection error
with httpx's own exception type under it (not a ``ConnectTimeout``), malformed responses are mapped too,
cookies are never replayed, and a cancelled task gives its connection back.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import httpx
import pytest

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AsyncGrokClient,
    CallInfo,
    ClientClosedError,
    GrokClient,
    Hook,
    RedirectError,
    RequestValidationError,
    StreamInterruptedError,
)
from grok_azure._aiohttp_transport import AiohttpTransport, _ReceivedHeaders, _response

from ._loopback import RESET, ForwardProxy, LoopbackServer, SeenRequest, json_response, response_bytes
from .conftest import KEY, chunk, completion_body, sse
from .test_secrets_walk import assert_no_secret

MESSAGES = [{"role": "user", "content": "Hi"}]
STREAM = sse(chunk("Hel", role="assistant"), chunk("lo"), chunk(finish_reason="stop"), "[DONE]")


def _completion(request: SeenRequest) -> list[bytes]:
    return json_response(request, completion_body())


def _stream_head(length: int | None = None) -> bytes:
    size = f"content-length: {length}\r\n" if length is not None else "transfer-encoding: chunked\r\n"
    return f"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n{size}\r\n".encode()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown: servers that hold a response back wait on it, so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds  # bounds the test only; nothing asserts how long it took
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _client(server: LoopbackServer, **options: object) -> AsyncGrokClient:
    options.setdefault("api_key", KEY)
    return AsyncGrokClient(endpoint=server.url, **options)  # type: ignore[arg-type]


# --- what works -------------------------------------------------------------------------------------------


async def test_calls_share_one_pooled_connection() -> None:
    with LoopbackServer(_completion) as server:
        async with _client(server) as client:
            for _ in range(5):
                assert (
                    await client.chat.completions.create(model="grok-4", messages=MESSAGES)
                ).text == "Hello!"
        assert server.connections == 1
        assert len(server.requests) == 5


async def test_concurrent_tasks_each_get_their_own_answer() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        text = json.loads(request.body)["messages"][0]["content"]
        return json_response(request, completion_body(f"echo {text}"))

    with LoopbackServer(answer) as server:
        async with _client(server) as client:

            async def ask(i: int) -> str:
                completion = await client.chat.completions.create(
                    model="grok-4", messages=[{"role": "user", "content": str(i)}]
                )
                return completion.text

            assert await asyncio.gather(*(ask(i) for i in range(20))) == [f"echo {i}" for i in range(20)]


async def test_the_request_goes_out_as_built() -> None:
    with LoopbackServer(_completion) as server:
        async with _client(server) as client:
            await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, extra_query={"api-version": "preview"}
            )
        seen, port = server.requests[0], server.port
    assert seen.method == "POST"
    assert seen.target == "/openai/v1/chat/completions?api-version=preview"
    assert seen.headers["api-key"] == KEY
    assert seen.headers["host"] == f"127.0.0.1:{port}"
    assert seen.headers["content-length"] == str(len(seen.body))
    assert json.loads(seen.body)["messages"] == MESSAGES


async def test_every_header_built_goes_out_when_nothing_reads_them() -> None:
    # Headers nothing read are handed to aiohttp as the strings they were built from (SentHeaders.pairs).
    with LoopbackServer(_completion) as server:
        async with _client(server, default_headers={"X-Team": "blue"}) as client:
            await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, extra_headers={"X-Trace": "abc"}
            )
        seen = server.requests[0]
    assert {
        name: seen.headers[name] for name in ("x-team", "x-trace", "x-grok-azure-retry-count", "accept")
    } == {
        "x-team": "blue",
        "x-trace": "abc",
        "x-grok-azure-retry-count": "0",
        "accept": "application/json",
    }
    assert seen.headers["user-agent"].startswith("grok-azure/")
    assert len(seen.headers["x-ms-client-request-id"]) == 36


async def test_headers_a_hook_changes_go_out_changed() -> None:
    class Stamp(Hook):
        def on_request(self, request: httpx.Request, call: CallInfo) -> None:
            request.headers["X-Stamp"] = "1"
            request.headers["accept"] = "application/json; q=0.9"
            del request.headers["x-grok-azure-retry-count"]

    with LoopbackServer(_completion) as server:
        async with _client(server, hooks=[Stamp()]) as client:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        seen = server.requests[0]
    assert seen.headers["x-stamp"] == "1"
    assert seen.headers["accept"] == "application/json; q=0.9"
    assert "x-grok-azure-retry-count" not in seen.headers
    assert seen.headers["api-key"] == KEY


class _SetsHeader(Hook):
    def __init__(self, name: str, value: str | bytes) -> None:
        self._header = {name: value}

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        for name, value in self._header.items():
            if isinstance(value, str):
                request.headers[name] = value  # httpx stores a str set this way as UTF-8
            else:
                request.headers.update({name: value})  # bytes, as they are


async def test_a_non_ascii_value_a_hook_sets_goes_out_as_the_sync_client_sends_it() -> None:
    hook = _SetsHeader("X-Team", "Zoë and Þór")
    with LoopbackServer(_completion) as server:
        with GrokClient(endpoint=server.url, api_key=KEY, hooks=[hook]) as sync_client:
            sync_client.chat.completions.create(model="grok-4", messages=MESSAGES)
        async with _client(server, hooks=[hook]) as client:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        sent = [seen.headers["x-team"].encode("latin-1") for seen in server.requests]  # the bytes on the wire
    assert sent == ["Zoë and Þór".encode()] * 2  # UTF-8, as httpx holds it; once, not encoded twice


async def test_header_bytes_that_are_not_utf8_are_refused_before_sending() -> None:
    with LoopbackServer(_completion) as server:
        async with _client(server, hooks=[_SetsHeader("X-Raw", b"caf\xe9")]) as client:
            with pytest.raises(RequestValidationError) as caught:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert server.requests == []  # nothing went out, and nothing was retried
    assert caught.value.param == "headers"
    assert "'X-Raw'" in str(caught.value)
    assert "not UTF-8" in str(caught.value)
    assert "caf" not in str(caught.value)  # the value is not shown: a hook may put a credential there
    assert caught.value.__context__ is None  # nor chained (the decode error holds the bytes)
    assert_no_secret(caught.value, KEY)  # the frames that raised hold no credential (the API key's header)


class _Masked(str):
    """A str that hides itself when printed, as secret wrappers do: its text is what must be sent."""

    def __str__(self) -> str:
        return "****"


async def test_a_key_and_headers_given_as_str_subclasses_are_sent_as_their_text() -> None:
    with LoopbackServer(_completion) as server:
        async with _client(
            server, api_key=_Masked(KEY), default_headers={"X-Tag": _Masked("plain")}
        ) as client:
            await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, extra_headers={_Masked("X-Trace"): _Masked("abc")}
            )
        seen = server.requests[0]
    assert (seen.headers["api-key"], seen.headers["x-tag"], seen.headers["x-trace"]) == (KEY, "plain", "abc")


async def test_a_body_that_arrives_in_pieces_is_read_whole(release: threading.Event) -> None:
    body = json.dumps(completion_body("x" * 50_000)).encode()

    def answer(request: SeenRequest) -> Iterator[bytes]:
        yield response_bytes(request, b"")[0].replace(
            b"content-length: 0", f"content-length: {len(body)}".encode()
        )
        for start in range(0, len(body), 7_000):
            release.wait(0.01)  # separate TCP segments: the transport streams this body
            yield body[start : start + 7_000]

    with LoopbackServer(answer) as server:
        async with _client(server) as client:
            completion = await client.chat.completions.create(model="grok-4", messages=MESSAGES)
            assert completion.text == "x" * 50_000
            # Read to the end, so the connection went back to the pool and serves the next call.
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert server.connections == 1


async def test_a_gzip_body_is_decoded() -> None:
    body = gzip.compress(json.dumps(completion_body("zipped")).encode())

    def answer(request: SeenRequest) -> list[bytes]:
        return response_bytes(request, body, headers={"content-encoding": "gzip"})

    with LoopbackServer(answer) as server:
        async with _client(server) as client:
            assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "zipped"


async def test_a_stream_written_event_by_event_arrives_whole(release: threading.Event) -> None:
    events = [
        sse(chunk("a", role="assistant")),
        sse(chunk("b")),
        sse(chunk(finish_reason="stop")),
        sse("[DONE]"),
    ]

    def answer(request: SeenRequest) -> Iterator[bytes]:
        if b'"stream":true' not in request.body:
            yield from _completion(request)
            return
        yield _stream_head()
        for event in events:
            release.wait(0.02)
            yield b"%x\r\n%s\r\n" % (len(event), event)
        yield b"0\r\n\r\n"

    with LoopbackServer(answer) as server:
        async with _client(server) as client:
            stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            texts = [
                c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content
            ]
            assert texts == ["a", "b"]
            assert stream.response.elapsed.total_seconds() >= 0
            assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "Hello!"
        assert server.connections == 1


async def test_a_complete_response_has_elapsed_and_its_headers() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        return [_stream_head(len(STREAM)) + STREAM]

    with LoopbackServer(answer) as server:
        async with _client(server) as client:
            async with client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream:
                assert (await stream.get_final_completion()).text == "Hello"
            assert stream.response.headers["content-type"] == "text/event-stream"
            assert stream.response.elapsed.total_seconds() >= 0
            assert stream.response.http_version == "HTTP/1.1"


async def test_response_headers_keep_their_case_order_and_repeats() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        head = _stream_head(len(STREAM)).replace(
            b"\r\n\r\n", b"\r\nX-Dup: a\r\nx-dup: b\r\nX-Ms-Region: East US\r\n\r\n"
        )
        return [head + STREAM]

    with LoopbackServer(answer) as server:
        async with (
            _client(server) as client,
            client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream,
        ):
            assert (await stream.get_final_completion()).text == "Hello"
    headers = stream.response.headers
    assert headers.get_list("x-dup") == ["a", "b"]
    assert headers["x-ms-region"] == "East US"
    assert (b"X-Ms-Region", b"East US") in headers.raw  # the server's spelling, as httpx keeps it


async def test_the_same_url_with_and_without_a_secret_query() -> None:
    # The transport converts each client URL once; a URL holding a credential is converted every time, never kept.
    with LoopbackServer(_completion) as server:
        async with _client(server) as client:
            for query in ({"api-version": "preview"}, {"sig": "SECRET-sig"}, {"api-version": "preview"}):
                await client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_query=query)
            transport = client._direct
            assert isinstance(transport, AiohttpTransport)
            kept = [str(url) for url, _ in transport._urls.values()]
        targets = [seen.target for seen in server.requests]
        base = server.url
    assert targets == [
        "/openai/v1/chat/completions?api-version=preview",
        "/openai/v1/chat/completions?sig=SECRET-sig",
        "/openai/v1/chat/completions?api-version=preview",
    ]
    assert kept == [f"{base}/openai/v1/chat/completions?api-version=preview"]  # once, for both calls


async def test_cookies_a_server_sets_are_never_sent_back() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        return json_response(request, completion_body(), headers={"set-cookie": "session=abc123; Path=/"})

    with LoopbackServer(answer) as server:
        # By name: a cookie jar keeps no cookies for a bare IP address, which would make this test pass anyway.
        url = server.url.replace("127.0.0.1", "localhost")
        async with AsyncGrokClient(endpoint=url, api_key=KEY) as client:
            for _ in range(2):
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert [request.headers.get("cookie") for request in server.requests] == [None, None]


async def test_a_redirect_is_not_followed() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        return response_bytes(request, b"", status=307, headers={"location": "http://127.0.0.1:9/elsewhere"})

    with LoopbackServer(answer) as server:
        async with _client(server, max_retries=0) as client:
            with pytest.raises(RedirectError):
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert len(server.requests) == 1


async def test_a_proxy_with_credentials_gets_them_in_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with LoopbackServer(_completion) as origin, ForwardProxy() as proxy:
        url = proxy.url.replace("http://", "http://user:s3cret-pass@")
        async with _client(origin, proxy=url) as client:
            assert "s3cret" not in repr(client._http._transport)
            assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "Hello!"
        expected = "Basic " + base64.b64encode(b"user:s3cret-pass").decode()
        assert proxy.requests[0].headers["proxy-authorization"] == expected
        assert "proxy-authorization" not in origin.requests[0].headers


# --- what fails, and how ----------------------------------------------------------------------------------


async def _failure(
    respond: Callable[[SeenRequest], Iterable[bytes]], **options: object
) -> tuple[BaseException, LoopbackServer]:
    with LoopbackServer(respond) as server:
        async with _client(server, max_retries=0, **options) as client:
            with pytest.raises(APIConnectionError) as info:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert_no_secret(info.value, KEY)
    return info.value, server


def _hang_up(request: SeenRequest) -> list[bytes]:
    request.close = True
    return []


async def test_a_server_that_hangs_up_without_answering_is_a_connection_error_not_a_timeout() -> None:
    error, _ = await _failure(_hang_up)
    assert not isinstance(error, APITimeoutError)
    assert type(error.__cause__) is httpx.RemoteProtocolError


async def test_a_reset_connection_is_a_connection_error() -> None:
    error, _ = await _failure(lambda request: [RESET])
    assert not isinstance(error, APITimeoutError)
    assert isinstance(error.__cause__, httpx.TransportError)


async def test_a_truncated_body_is_a_connection_error() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        request.close = True
        return [b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"id":']

    error, _ = await _failure(answer)
    assert not isinstance(error, APITimeoutError)
    assert type(error.__cause__) is httpx.RemoteProtocolError


async def test_a_malformed_response_is_a_connection_error() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        request.close = True
        return [b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n"]

    error, _ = await _failure(answer)
    assert not isinstance(error, APITimeoutError)
    assert type(error.__cause__) is httpx.RemoteProtocolError


async def test_a_refused_connection_is_a_connect_error() -> None:
    # A bound socket that never listens: connecting is refused, and no other test can take the port meanwhile.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{holder.getsockname()[1]}"
        async with AsyncGrokClient(endpoint=url, api_key=KEY, max_retries=0) as client:
            with pytest.raises(APIConnectionError) as info:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not isinstance(info.value, APITimeoutError)
    assert type(info.value.__cause__) is httpx.ConnectError
    assert_no_secret(info.value, KEY)


async def test_a_silent_server_is_a_read_timeout(release: threading.Event) -> None:
    def answer(request: SeenRequest) -> Iterator[bytes]:
        release.wait(10)
        yield b""

    error, _ = await _failure(answer, timeout=httpx.Timeout(0.2, connect=5))
    assert isinstance(error, APITimeoutError)
    assert type(error.__cause__) is httpx.ReadTimeout


async def test_a_stream_that_stalls_mid_way_times_out(release: threading.Event) -> None:
    def answer(request: SeenRequest) -> Iterator[bytes]:
        first = sse(chunk("a", role="assistant"))
        yield _stream_head() + b"%x\r\n%s\r\n" % (len(first), first)
        release.wait(10)

    with LoopbackServer(answer) as server:
        async with _client(server, max_retries=0, timeout=httpx.Timeout(0.3, connect=5)) as client:
            stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            with pytest.raises(APITimeoutError):
                async for _ in stream:
                    pass


async def test_a_stream_cut_mid_way_is_interrupted_with_what_arrived(release: threading.Event) -> None:
    def answer(request: SeenRequest) -> Iterator[bytes]:
        first = sse(chunk("a", role="assistant"))
        yield _stream_head() + b"%x\r\n%s\r\n" % (len(first), first)
        release.wait(0.05)
        yield RESET

    with LoopbackServer(answer) as server:
        async with _client(server, max_retries=0) as client:
            stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            with pytest.raises(StreamInterruptedError) as info:
                async for _ in stream:
                    pass
    assert info.value.partial is not None
    assert info.value.partial.text == "a"
    assert isinstance(info.value.__cause__, httpx.TransportError)


async def test_waiting_for_a_pooled_connection_times_out(release: threading.Event) -> None:
    # httpx's API over this transport, as a user would mount it: one connection, held by a slow call.
    def answer(request: SeenRequest) -> Iterator[bytes]:
        release.wait(10)
        yield from _completion(request)

    with LoopbackServer(answer) as server:
        transport = AiohttpTransport(limits=httpx.Limits(max_connections=1))
        async with (
            httpx.AsyncClient(transport=transport) as http,
            _client(server, http_client=http) as client,
        ):
            slow = asyncio.ensure_future(client.chat.completions.create(model="grok-4", messages=MESSAGES))
            await asyncio.sleep(0.2)
            quick = client.with_options(timeout=httpx.Timeout(5, pool=0.2), max_retries=0)
            with pytest.raises(APITimeoutError) as info:
                await quick.chat.completions.create(model="grok-4", messages=MESSAGES)
            assert isinstance(info.value.__cause__, httpx.TimeoutException)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow


# --- cancellation and early close give the connection back ------------------------------------------------


async def test_a_cancelled_call_frees_its_connection(release: threading.Event) -> None:
    first = threading.Event()

    def answer(request: SeenRequest) -> Iterator[bytes]:
        if not first.is_set():
            first.set()
            release.wait(10)  # the first call never gets an answer; it is cancelled
            return
        yield from _completion(request)

    with LoopbackServer(answer) as server:
        transport = AiohttpTransport(limits=httpx.Limits(max_connections=1))
        async with (
            httpx.AsyncClient(transport=transport) as http,
            _client(server, http_client=http) as client,
        ):
            task = asyncio.ensure_future(client.chat.completions.create(model="grok-4", messages=MESSAGES))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The only connection slot is free again: this call would wait for ever otherwise.
            bounded = client.with_options(timeout=httpx.Timeout(5, pool=2))
            completion = await bounded.chat.completions.create(model="grok-4", messages=MESSAGES)
            assert completion.text == "Hello!"


async def test_breaking_out_of_a_stream_drops_its_connection(release: threading.Event) -> None:
    event = sse(chunk("x" * 1000, role="assistant"))

    def answer(request: SeenRequest) -> Iterator[bytes]:
        if b'"stream":true' not in request.body:
            yield from _completion(request)
            return
        yield _stream_head()
        for _ in range(10_000):  # far more than the client reads
            yield b"%x\r\n%s\r\n" % (len(event), event)

    with LoopbackServer(answer) as server:
        async with _client(server) as client:
            stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            async for _ in stream:
                break
            await stream.close()
            assert (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "Hello!"
        assert _wait_for(lambda: server.client_hung_up > 0)
        assert server.client_hung_up == 1  # not drained: the rest of the stream was never read
        assert server.connections == 2


async def test_a_closed_client_refuses_and_a_new_one_works() -> None:
    with LoopbackServer(_completion) as server:
        client = _client(server)
        await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        await client.close()
        with pytest.raises(ClientClosedError):
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        async with _client(server) as again:
            assert (await again.chat.completions.create(model="grok-4", messages=MESSAGES)).text == "Hello!"


async def test_a_transport_closed_before_use_refuses_requests() -> None:
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=1))
    await transport.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("POST", "http://127.0.0.1:9/x", content=b"{}"))


def test_a_socks_proxy_is_refused_by_this_transport() -> None:
    with pytest.raises(ValueError, match="socks5"):
        AiohttpTransport(limits=httpx.Limits(), proxy=httpx.Proxy("socks5://127.0.0.1:1080"))


def test_a_response_made_without_init_has_what_init_would_give_it() -> None:
    # The transport makes responses without httpx.Response.__init__; if httpx ever sets another attribute there,
    # this fails before a response comes back without it.
    request = httpx.Request("POST", "http://127.0.0.1/openai/v1/chat/completions")
    headers = httpx.Headers({"content-type": "application/json"})
    stream = httpx.ByteStream(b"{}")
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
    made = _response(200, headers, stream, request, extensions)
    httpx_made = httpx.Response(200, headers=headers, stream=stream, request=request, extensions=extensions)
    assert vars(made).keys() == vars(httpx_made).keys()
    for name, value in vars(httpx_made).items():
        if name not in ("headers", "extensions"):
            assert getattr(made, name) == value, name
    assert list(made.headers.raw) == list(httpx_made.headers.raw)
    assert made.extensions == httpx_made.extensions
    assert made.headers is headers  # kept, not copied
    assert made.extensions is extensions
    assert made.request is request
    assert (made.reason_phrase, made.http_version) == ("OK", "HTTP/1.1")


def test_response_headers_read_late_are_what_httpx_would_keep() -> None:
    # The transport hands over aiohttp's raw header pairs and builds httpx's field list only when first read.
    raw = (
        (b"Content-Type", b"application/json"),
        (b"X-Request-Id", b"abc"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    )
    headers = _ReceivedHeaders.of_raw(raw)
    assert headers == httpx.Headers(list(raw))
    assert headers.raw == list(raw)
    assert headers["x-request-id"] == "abc"
    assert headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert dict(headers.copy()) == dict(httpx.Headers(list(raw)))
    headers["x-request-id"] = "changed"  # a hook may change them: changes stick
    del headers["set-cookie"]
    assert headers.multi_items() == [("content-type", "application/json"), ("x-request-id", "changed")]
    assert "abc" not in repr(_ReceivedHeaders.of_raw(((b"api-key", b"abc"),)))  # still redacting
