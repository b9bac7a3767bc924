"""Timeouts and streams that break: slow answers, stalls, dropped connections and error events."""

from __future__ import annotations

import httpx
import pytest

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    ChatCompletion,
    StreamError,
    StreamInterruptedError,
)
from grok_azure.testing import Fault, FoundryEmulator

from ._support import Driver, user

pytestmark = pytest.mark.integration

SCRIPT = "alpha beta gamma delta epsilon zeta eta theta"
# Event 0 is Azure's prompt-filter event, event 1 carries the role and the first word, and so on.
AFTER_TWO_WORDS = 3
SHORT_READ = httpx.Timeout(10.0, read=0.3)


def assert_partial_prefix(partial: ChatCompletion | None, expected: str) -> None:
    assert partial is not None
    assert partial.text == expected
    assert partial.finish_reason is None


async def test_slow_first_byte_beyond_the_timeout_is_a_timeout(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.slow_first_byte(3.0))

    with pytest.raises(APITimeoutError) as caught:
        await chat.create(model="chat", messages=user(), timeout=0.3)

    assert caught.value.request is not None
    assert caught.value.request.url.path.endswith("/chat/completions")


async def test_slow_first_byte_times_out_a_stream_before_it_opens(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.slow_first_byte(3.0))

    with pytest.raises(APITimeoutError):
        await chat.stream(model="chat", messages=user(), timeout=0.3)


async def test_slow_first_byte_within_the_timeout_succeeds(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.slow_first_byte(0.1))

    completion = await chat.create(model="chat", messages=user("patience"), timeout=10)

    assert completion.text == "Echo: patience"


async def test_stall_mid_stream_beyond_the_read_timeout_is_a_timeout(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.stall(after_chunks=AFTER_TWO_WORDS, seconds=3.0))

    with pytest.raises(APITimeoutError) as caught:
        await chat.create_stream(model="chat", messages=user(), timeout=SHORT_READ)

    assert not isinstance(caught.value, StreamInterruptedError)


async def test_stall_shorter_than_the_read_timeout_is_harmless(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.stall(after_chunks=AFTER_TWO_WORDS, seconds=0.1))

    _, final = await chat.create_stream(model="chat", messages=user(), timeout=httpx.Timeout(10.0, read=5.0))

    assert final.text == SCRIPT


async def test_stall_in_a_plain_body_is_a_timeout(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.stall(after_chunks=0, seconds=3.0))

    with pytest.raises(APITimeoutError):
        await chat.create(model="chat", messages=user(), timeout=SHORT_READ)


async def test_drop_mid_stream_is_an_interruption_with_the_partial_completion(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.drop(after_chunks=AFTER_TWO_WORDS))

    with pytest.raises(StreamInterruptedError) as caught:
        await chat.create_stream(model="chat", messages=user())

    assert isinstance(caught.value, APIConnectionError)
    assert not isinstance(caught.value, APITimeoutError)
    assert_partial_prefix(caught.value.partial, "alpha beta ")
    assert caught.value.partial is not None
    assert caught.value.partial.model == "grok-4-1-fast-non-reasoning"


async def test_drop_mid_stream_in_the_stream_manager_keeps_the_partial(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT, reasoning="think first")
    emu.fault(Fault.drop(after_chunks=4))

    with pytest.raises(StreamInterruptedError) as caught:
        await chat.stream(model="reasoner", messages=user())

    partial = caught.value.partial
    assert partial is not None
    assert partial.reasoning == "think first"
    assert partial.text == "alpha "


async def test_drop_before_the_first_event_is_an_interruption_with_an_empty_partial(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.drop(after_chunks=0))

    with pytest.raises(StreamInterruptedError) as caught:
        await chat.create_stream(model="chat", messages=user())

    assert caught.value.partial is not None
    assert caught.value.partial.choices == []


async def test_drop_in_a_plain_body_is_a_connection_error(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.drop(after_chunks=0))

    with pytest.raises(APIConnectionError) as caught:
        await chat.create(model="chat", messages=user())

    assert not isinstance(caught.value, (APITimeoutError, StreamInterruptedError))


async def test_drop_after_every_choice_finished_still_returns_the_completion(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(Fault.drop(after_chunks=1000))  # past the last event: only [DONE] is withheld

    _, final = await chat.stream(model="chat", messages=user())

    assert final.text == SCRIPT
    assert final.finish_reason == "stop"
    assert final.usage is not None


async def test_error_event_mid_stream_is_a_stream_error_with_the_partial(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(SCRIPT)
    emu.fault(
        Fault.error_event(after_chunks=AFTER_TWO_WORDS, code="server_error", message="Backend went away.")
    )

    with pytest.raises(StreamError) as caught:
        await chat.create_stream(model="chat", messages=user())

    assert caught.value.code == "server_error"
    assert caught.value.message == "Backend went away."
    assert_partial_prefix(caught.value.partial, "alpha beta ")


async def test_error_event_in_the_stream_manager_after_tool_call_deltas(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(tool_calls=[{"name": "get_time", "arguments": {"tz": "UTC"}}])
    emu.fault(Fault.error_event(after_chunks=2))

    with pytest.raises(StreamError) as caught:
        await chat.stream(model="chat", messages=user())

    assert caught.value.code == "server_error"
    partial = caught.value.partial
    assert partial is not None
    assert [(c.id, c.function.name) for c in partial.tool_calls] == [("call_1", "get_time")]
