"""A stream that ends without ``[DONE]`` is complete only if it brought all it was asked for: as many finished
choices as ``n``, and, when its connection failed, the usage the request asked for. Both clients, real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from grok_azure import AsyncGrokClient, GrokClient, StreamError, StreamInterruptedError

from ._loopback import LoopbackServer, SeenRequest
from .conftest import KEY, chunk, sse

KINDS = ("sync", "async")
MESSAGES = [{"role": "user", "content": "Hi"}]
USAGE = {
    "id": "s1_sidecar",
    "choices": [],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def _chunked(*events: dict[str, Any], cut: bool) -> Any:
    """A 200 event stream of ``events`` without ``[DONE]``: its body ends cleanly, or (``cut``) the connection
    closes before the chunked body's last chunk."""

    def respond(request: SeenRequest) -> list[bytes]:
        body = sse(*events)
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        end = b"" if cut else b"0\r\n\r\n"
        request.close = True
        return [head + b"%x\r\n%s\r\n" % (len(body), body) + end]

    return respond


def _final(kind: str, url: str, **params: Any) -> Any:
    """``stream(...)``'s final completion, the way users ask for it."""
    call = {"model": "grok-4", "messages": MESSAGES, **params}
    options: dict[str, Any] = {"endpoint": url, "api_key": KEY, "max_retries": 0, "validate": False}
    if kind == "sync":
        with GrokClient(**options) as client, client.chat.completions.stream(**call) as stream:
            return stream.get_final_completion()

    async def run() -> Any:
        async with AsyncGrokClient(**options) as client, client.chat.completions.stream(**call) as stream:
            return await stream.get_final_completion()

    return asyncio.run(run())


def _chunks(kind: str, url: str, **params: Any) -> list[Any]:
    """Every chunk of ``create(stream=True)``, read in an openai-style loop."""
    call = {"model": "grok-4", "messages": MESSAGES, "stream": True, **params}
    options: dict[str, Any] = {"endpoint": url, "api_key": KEY, "max_retries": 0, "validate": False}
    if kind == "sync":
        with GrokClient(**options) as client:
            return [piece for piece in client.chat.completions.create(**call)]

    async def run() -> list[Any]:
        async with AsyncGrokClient(**options) as client:
            return [piece async for piece in await client.chat.completions.create(**call)]

    return asyncio.run(run())


FIRST_OF_TWO = (chunk("Hello", role="assistant"), chunk(finish_reason="stop"))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cut", [True, False], ids=["connection cut", "clean end"])
def test_one_finished_choice_of_two_is_no_complete_stream(kind: str, cut: bool) -> None:
    with (
        LoopbackServer(_chunked(*FIRST_OF_TWO, cut=cut)) as server,
        pytest.raises(StreamInterruptedError) as caught,
    ):
        _final(kind, server.url, n=2)
    partial = caught.value.partial
    assert partial is not None
    assert [choice.message.content for choice in partial.choices] == ["Hello"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_cut_before_the_usage_asked_for_is_no_complete_stream(kind: str) -> None:
    # stream() asks for usage (stream_options.include_usage): a cut before it arrived lost it.
    with (
        LoopbackServer(_chunked(*FIRST_OF_TWO, cut=True)) as server,
        pytest.raises(StreamInterruptedError, match="dropped mid-stream"),
    ):
        _final(kind, server.url)


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_cut_after_everything_asked_for_loses_nothing(kind: str) -> None:
    with LoopbackServer(_chunked(*FIRST_OF_TWO, USAGE, cut=True)) as server:
        final = _final(kind, server.url)
    assert final.text == "Hello"
    assert final.usage is not None
    assert final.usage.total_tokens == 5


@pytest.mark.parametrize("kind", KINDS)
def test_a_clean_end_without_usage_is_complete(kind: str) -> None:
    # A service that sends no usage however asked, and ends its body without [DONE]: nothing was cut.
    with LoopbackServer(_chunked(*FIRST_OF_TWO, cut=False)) as server:
        final = _final(kind, server.url)
    assert final.text == "Hello"
    assert final.usage is None


@pytest.mark.parametrize("kind", KINDS)
def test_an_openai_style_loop_without_usage_asked_loses_nothing_to_a_cut_after_the_finish(kind: str) -> None:
    with LoopbackServer(_chunked(*FIRST_OF_TWO, cut=True)) as server:
        pieces = _chunks(kind, server.url)
    assert [piece.choices[0].finish_reason for piece in pieces] == [None, "stop"]


@pytest.mark.parametrize("kind", KINDS)
def test_both_choices_finished_is_a_complete_stream(kind: str) -> None:
    events = (
        *FIRST_OF_TWO,
        chunk("Hi", role="assistant", index=1),
        chunk(finish_reason="stop", index=1),
        USAGE,
    )
    with LoopbackServer(_chunked(*events, cut=True)) as server:
        final = _final(kind, server.url, n=2)
    assert [choice.message.content for choice in final.choices] == ["Hello", "Hi"]


def _events(body: bytes) -> Any:
    """A 200 event stream whose body is ``body`` (with a Content-Length)."""

    def respond(request: SeenRequest) -> list[bytes]:
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(body)
        return [head + body]

    return respond


@pytest.mark.parametrize("kind", KINDS)
def test_done_with_spaces_around_it_ends_the_stream(kind: str) -> None:
    body = sse(chunk("Hello", role="assistant"), chunk(finish_reason="stop"), "[DONE] ", " [DONE]")
    with LoopbackServer(_events(body)) as server:
        pieces = _chunks(kind, server.url)
    assert [piece.choices[0].delta.content for piece in pieces] == ["Hello", None]


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_json_error_message_is_cut_in_the_stream_error(kind: str) -> None:
    error = '{"error": {"code": "server_error", "message": "' + "M" * 1_000_000 + '"}}'
    body = sse(chunk("Hello", role="assistant")) + b"event: error\ndata: " + error.encode() + b"\n\n"
    with LoopbackServer(_events(body)) as server, pytest.raises(StreamError) as caught:
        _chunks(kind, server.url)
    assert caught.value.code == "server_error"
    assert 8_000 < len(str(caught.value)) < 9_000


def _empty_then_whole() -> Any:
    """The first answer: a 200 event stream that ends at once, cleanly (its body delimited by the connection's
    close); every later one, the whole stream."""
    answers: list[int] = []

    def respond(request: SeenRequest) -> list[bytes]:
        answers.append(1)
        request.close = True
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        if len(answers) == 1:
            return [head]
        return [head + sse(*FIRST_OF_TWO, USAGE, "[DONE]")]

    return respond


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_that_ends_cleanly_before_its_first_event_is_sent_again(kind: str) -> None:
    with LoopbackServer(_empty_then_whole()) as server:
        options: dict[str, Any] = {"endpoint": server.url, "api_key": KEY, "validate": False}
        call = {"model": "grok-4", "messages": MESSAGES, "stream": True}
        if kind == "sync":
            with GrokClient(**options) as client:
                pieces = [piece for piece in client.chat.completions.create(**call)]
        else:

            async def run() -> list[Any]:
                async with AsyncGrokClient(**options) as client:
                    return [piece async for piece in await client.chat.completions.create(**call)]

            pieces = asyncio.run(run())
        assert len(server.requests) == 2
    assert "".join(piece.choices[0].delta.content or "" for piece in pieces if piece.choices) == "Hello"
