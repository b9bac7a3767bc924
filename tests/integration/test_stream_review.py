"""Review follow-ups against the emulator: a "stop" button pressed from another thread or task while the model
"thinks", and a rate limit that strikes mid-stream (a StreamError carrying the code)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from grok_azure import AsyncGrokClient, GrokClient, StreamClosedError, StreamError
from grok_azure.testing import Fault, FoundryEmulator

from ._support import user

pytestmark = pytest.mark.integration

SCRIPT = "alpha beta gamma delta epsilon zeta eta theta"
# Event 0 is Azure's prompt-filter event, event 1 carries the role and the first word, and so on.
AFTER_TWO_WORDS = 3
THINKING = 30.0  # the stall the stop button cuts short (the test is bounded well below it)
BOUND = 15.0


def test_stop_button_from_another_thread_ends_the_users_loop(
    client: GrokClient, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.stall(after_chunks=AFTER_TWO_WORDS, seconds=THINKING))
    words: list[str] = []
    outcome: list[BaseException | None] = []
    two_words = threading.Event()

    with client.chat.completions.stream(model="chat", messages=user()) as stream:

        def consume() -> None:
            try:
                for text in stream.text_stream:
                    words.append(text)
                    if len(words) == 2:
                        two_words.set()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        assert two_words.wait(BOUND)
        stream.close()  # the stop button, pressed in the UI thread
        reader.join(BOUND)
        assert not reader.is_alive()

    assert isinstance(outcome[0], StreamClosedError)
    assert "".join(words) == "alpha beta "
    assert outcome[0].partial is not None
    assert outcome[0].partial.text == "alpha beta "


async def test_stop_button_from_another_task_ends_the_users_loop(
    aclient: AsyncGrokClient, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.stall(after_chunks=AFTER_TWO_WORDS, seconds=THINKING))
    words: list[str] = []
    two_words = asyncio.Event()

    async with aclient.chat.completions.stream(model="chat", messages=user()) as stream:

        async def consume() -> None:
            async for text in stream.text_stream:
                words.append(text)
                if len(words) == 2:
                    two_words.set()

        reader = asyncio.create_task(consume())
        await asyncio.wait_for(two_words.wait(), BOUND)
        await stream.close()  # the stop button, from another task
        with pytest.raises(StreamClosedError) as caught:
            await asyncio.wait_for(reader, BOUND)

    assert "".join(words) == "alpha beta "
    assert caught.value.partial is not None
    assert caught.value.partial.text == "alpha beta "


def test_rate_limit_mid_stream_is_a_stream_error_with_the_code(
    client: GrokClient, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.error_event(after_chunks=AFTER_TWO_WORDS, code="429", message="Rate limit reached"))

    chunks = 0
    with pytest.raises(StreamError) as caught:  # noqa: PT012 - the inline loop is what users write
        for _ in client.chat.completions.create(model="chat", messages=user(), stream=True):
            chunks += 1

    assert chunks == AFTER_TWO_WORDS
    assert caught.value.code == "429"
    assert caught.value.partial is not None
    assert caught.value.partial.text == "alpha beta "
