"""A stream that fails before its first chunk is retried like any call; one that delivered a chunk never is.

Against the emulator, through both clients, written as users write streams: the inline ``for chunk in
create(stream=True)`` loop and the ``stream()`` helper. Event 0 of an emulated stream is Azure's prompt-filter
event (a chunk with no choices), so ``after_chunks=0`` fails before anything reached the caller and
``after_chunks=1`` after one chunk did.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from grok_azure import (
    APITimeoutError,
    AsyncGrokClient,
    Deployment,
    GrokClient,
    GrokError,
    RetryPolicy,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from grok_azure.testing import Fault, FoundryEmulator

pytestmark = pytest.mark.integration

KEY = "stream-retry-key-0123456789"
DEPLOYMENT = "chat"
MESSAGES = [{"role": "user", "content": "tell me"}]
EXPECTED = "Echo: tell me"


class Retries:
    """An ``on_retry`` hook that records what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, GrokError, float]] = []

    def __call__(self, attempt: int, error: GrokError, wait: float) -> None:
        self.seen.append((attempt, error, wait))


def policy(hook: Retries | None = None) -> RetryPolicy:
    return RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(7), on_retry=hook)


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments={DEPLOYMENT: "grok-4-1-fast-non-reasoning"}) as emu:
        yield emu


@pytest.fixture
def emu(emulator: FoundryEmulator) -> FoundryEmulator:
    emulator.reset()
    return emulator


def chat_requests(emu: FoundryEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def read_inline(emu: FoundryEmulator, kind: str, **options: Any) -> tuple[str, str | None]:
    """Stream with the inline loop; the text and ``served_by`` (``stream_deadline`` goes to the call)."""
    call: dict[str, Any] = {"model": DEPLOYMENT, "messages": MESSAGES, "stream": True}
    if "stream_deadline" in options:
        call["stream_deadline"] = options.pop("stream_deadline")
    if kind == "sync":
        with GrokClient(endpoint=emu.url, api_key=KEY, **options) as client:
            stream = client.chat.completions.create(**call)
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            return text, stream.served_by

    async def run() -> tuple[str, str | None]:
        async with AsyncGrokClient(endpoint=emu.url, api_key=KEY, **options) as client:
            stream = await client.chat.completions.create(**call)
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return "".join(parts), stream.served_by

    return asyncio.run(run())


def read_helper(emu: FoundryEmulator, kind: str, **options: Any) -> str:
    """Stream with the ``stream()`` helper's ``text_stream``; the final completion's text."""
    call = {"model": DEPLOYMENT, "messages": MESSAGES}
    if kind == "sync":
        with (
            GrokClient(endpoint=emu.url, api_key=KEY, **options) as client,
            client.chat.completions.stream(**call) as stream,
        ):
            assert "".join(stream.text_stream) == EXPECTED
            return stream.get_final_completion().text or ""

    async def run() -> str:
        async with (
            AsyncGrokClient(endpoint=emu.url, api_key=KEY, **options) as client,
            client.chat.completions.stream(**call) as stream,
        ):
            assert "".join([t async for t in stream.text_stream]) == EXPECTED
            return (await stream.get_final_completion()).text or ""

    return asyncio.run(run())


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_dropped_before_its_first_chunk_is_resent(kind: str, emu: FoundryEmulator) -> None:
    emu.fault(Fault.drop(after_chunks=0))
    hook = Retries()

    text, _ = read_inline(emu, kind, retry=policy(hook))

    assert text == EXPECTED
    sent = chat_requests(emu)
    assert len(sent) == 2
    assert len({r.headers["x-ms-client-request-id"] for r in sent}) == 1
    assert [r.headers["x-grok-azure-retry-count"] for r in sent] == ["0", "1"]
    assert sent[0].json == sent[1].json
    [(attempt, error, _)] = hook.seen
    assert attempt == 1
    assert isinstance(error, StreamInterruptedError)


@pytest.mark.parametrize("kind", KINDS)
def test_the_stream_helper_resends_a_stream_dropped_before_its_first_chunk(
    kind: str, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.drop(after_chunks=0))

    assert read_helper(emu, kind, retry=policy()) == EXPECTED
    assert len(chat_requests(emu)) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_silent_before_its_first_chunk_is_resent_after_the_read_timeout(
    kind: str, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.stall(after_chunks=0, seconds=5.0))
    hook = Retries()

    text, _ = read_inline(emu, kind, retry=policy(hook), timeout=httpx.Timeout(10.0, read=0.3))

    assert text == EXPECTED
    assert len(chat_requests(emu)) == 2
    assert isinstance(hook.seen[0][1], APITimeoutError)


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_that_always_drops_gives_up_after_max_retries(kind: str, emu: FoundryEmulator) -> None:
    emu.fault(Fault.drop(after_chunks=0), times=10)

    with pytest.raises(StreamInterruptedError) as caught:
        read_inline(emu, kind, retry=policy(), max_retries=2)

    assert len(chat_requests(emu)) == 3
    assert caught.value.partial is not None
    assert caught.value.partial.text == ""


@pytest.mark.parametrize("kind", KINDS)
def test_max_retries_zero_does_not_resend_a_stream(kind: str, emu: FoundryEmulator) -> None:
    emu.fault(Fault.drop(after_chunks=0))

    with pytest.raises(StreamInterruptedError):
        read_inline(emu, kind, retry=policy(), max_retries=0)

    assert len(chat_requests(emu)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_that_delivered_a_chunk_is_never_resent(kind: str, emu: FoundryEmulator) -> None:
    # after_chunks=1: the prompt-filter chunk reached the caller, then the connection dropped.
    emu.fault(Fault.drop(after_chunks=1))
    hook = Retries()

    with pytest.raises(StreamInterruptedError):
        read_inline(emu, kind, retry=policy(hook))

    assert len(chat_requests(emu)) == 1
    assert hook.seen == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_cut_after_words_keeps_its_partial_and_is_not_resent(
    kind: str, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.drop(after_chunks=3))
    words: list[str] = []
    call = {"model": DEPLOYMENT, "messages": MESSAGES, "stream": True}

    def read() -> None:
        if kind == "sync":
            with GrokClient(endpoint=emu.url, api_key=KEY, retry=policy()) as client:
                for chunk in client.chat.completions.create(**call):
                    words.extend(c.delta.content or "" for c in chunk.choices)
            return

        async def run() -> None:
            async with AsyncGrokClient(endpoint=emu.url, api_key=KEY, retry=policy()) as client:
                async for chunk in await client.chat.completions.create(**call):
                    words.extend(c.delta.content or "" for c in chunk.choices)

        asyncio.run(run())

    with pytest.raises(StreamInterruptedError) as caught:
        read()

    assert caught.value.partial is not None
    assert caught.value.partial.text == "".join(words) != ""
    assert len(chat_requests(emu)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_error_event_before_the_first_chunk_is_the_services_answer_not_retried(
    kind: str, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.error_event(after_chunks=0, code="content_filter", message="filtered"))

    with pytest.raises(StreamError) as caught:
        read_inline(emu, kind, retry=policy())

    assert caught.value.code == "content_filter"
    assert len(chat_requests(emu)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_resend_that_does_not_fit_the_deadline_ends_the_call(kind: str, emu: FoundryEmulator) -> None:
    # The stall uses up the deadline before the first chunk: no time is left for another attempt.
    emu.fault(Fault.stall(after_chunks=0, seconds=5.0), times=3)

    with pytest.raises(APITimeoutError) as caught:
        read_inline(emu, kind, retry=policy(), deadline=0.4)

    assert "deadline=0.4" in str(caught.value)
    assert len(chat_requests(emu)) == 1


def test_a_stream_dropped_before_its_first_chunk_fails_over_to_the_other_deployment(
    emu: FoundryEmulator,
) -> None:
    with FoundryEmulator(api_key=KEY, deployments={DEPLOYMENT: "grok-4-1-fast-non-reasoning"}) as west:
        emu.fault(Fault.drop(after_chunks=0), times=10)
        deployments = [
            Deployment(emu.url, api_key=KEY, name="east", weight=1000.0),
            Deployment(west.url, api_key=KEY, name="west", weight=0.001),
        ]
        with GrokClient(deployments=deployments, retry=policy()) as client:
            stream = client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

            assert text == EXPECTED
            assert stream.served_by == "west"
            assert stream.get_final_completion().served_by == "west"
        assert len(chat_requests(west)) == 1


# --- stream_deadline against a server that goes silent ----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_stream_deadline_cuts_a_silent_stream(kind: str, emu: FoundryEmulator) -> None:
    # Silent after two chunks for far longer than the deadline, with a read timeout longer still: only the
    # stream_deadline can end this stream in time.
    # (The test's own bound, 20 s, is far below the stall: without the cut it would fail, not just be slow.)
    emu.fault(Fault.stall(after_chunks=2, seconds=120.0))
    call = {"model": DEPLOYMENT, "messages": MESSAGES, "stream": True, "stream_deadline": 0.5}
    got: list[Any] = []

    def read_sync() -> None:
        with GrokClient(endpoint=emu.url, api_key=KEY, timeout=300.0) as client:
            for chunk in client.chat.completions.create(**call):
                got.append(chunk)

    async def read_async() -> None:
        async with AsyncGrokClient(endpoint=emu.url, api_key=KEY, timeout=300.0) as client:
            async for chunk in await client.chat.completions.create(**call):
                got.append(chunk)

    def read() -> None:
        if kind == "sync":
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(read_sync).result(timeout=20)
        else:
            asyncio.run(asyncio.wait_for(read_async(), timeout=20))

    with pytest.raises(APITimeoutError) as caught:
        read()

    assert "stream_deadline=0.5" in str(caught.value)
    assert len(got) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_stream_deadline_before_the_first_chunk_is_final_not_retried(kind: str, emu: FoundryEmulator) -> None:
    emu.fault(Fault.stall(after_chunks=0, seconds=120.0), times=5)
    hook = Retries()

    with pytest.raises(APITimeoutError) as caught:
        read_inline(emu, kind, retry=policy(hook), stream_deadline=0.5)

    assert "stream_deadline=0.5" in str(caught.value)
    assert len(chat_requests(emu)) == 1
    assert hook.seen == []


# --- the call's deadline covers a stream up to its first chunk, and no further --------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_does_not_cut_a_stream_after_its_first_chunk(kind: str, emu: FoundryEmulator) -> None:
    # A pause longer than the whole deadline, after two chunks: the stall rule (read timeout 30 s) governs now.
    emu.fault(Fault.stall(after_chunks=2, seconds=1.2))

    text, _ = read_inline(emu, kind, retry=policy(), deadline=0.8, timeout=30.0)

    assert text == EXPECTED
    assert len(chat_requests(emu)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_deadline_bounds_the_wait_for_the_first_chunk(kind: str, emu: FoundryEmulator) -> None:
    # Headers at once, then silence: the read timeout (300 s) would wait; the deadline's timer does not.
    emu.fault(Fault.stall(after_chunks=0, seconds=120.0), times=5)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_inline(emu, kind, retry=policy(), deadline=0.6, timeout=300.0)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(20)  # a bound for the test only: without the timer the read would wait 120 s

    assert not worker.is_alive()
    [error] = outcome
    assert isinstance(error, APITimeoutError)
    assert "deadline=0.6" in str(error)


class _LongestWait(random.Random):
    """Full jitter at its longest: every backoff is the whole window."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_closing_a_stream_during_its_resend_wait_ends_it_at_once_and_sends_nothing_more(
    emu: FoundryEmulator,
) -> None:
    emu.fault(Fault.drop(after_chunks=0))
    slow = RetryPolicy(backoff_base=30.0, backoff_cap=30.0, rng=_LongestWait())
    outcome: list[BaseException] = []
    with GrokClient(endpoint=emu.url, api_key=KEY, retry=slow) as client:
        stream = client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES, stream=True)

        def read() -> None:
            try:
                for _ in stream:
                    pass
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        for _ in range(500):  # until the first attempt went out
            if chat_requests(emu):
                break
            threading.Event().wait(0.01)
        threading.Event().wait(0.3)  # the reader is now waiting 30 s to resend
        stream.close()
        reader.join(10)  # a bound for the test only

        assert not reader.is_alive()
        [error] = outcome
        assert isinstance(error, StreamClosedError)
    assert len(chat_requests(emu)) == 1


def test_closing_an_async_stream_during_its_resend_wait_ends_it_at_once(emu: FoundryEmulator) -> None:
    emu.fault(Fault.drop(after_chunks=0))
    slow = RetryPolicy(backoff_base=30.0, backoff_cap=30.0, rng=_LongestWait())

    async def run() -> BaseException | None:
        async with AsyncGrokClient(endpoint=emu.url, api_key=KEY, retry=slow) as client:
            stream = await client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES, stream=True)

            async def read() -> None:
                async for _ in stream:
                    pass

            reader = asyncio.ensure_future(read())
            await asyncio.sleep(0.5)  # the first attempt failed; the reader waits 30 s to resend
            await stream.close()
            try:
                await asyncio.wait_for(reader, timeout=10)
            except BaseException as exc:
                return exc
            return None

    error = asyncio.run(run())
    assert isinstance(error, StreamClosedError)
    assert len(chat_requests(emu)) == 1
