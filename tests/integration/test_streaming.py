"""Streamed completions over real HTTP: raw chunks, typed events and the text helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grok_azure import (
    ChatCompletion,
    ChatCompletionChunk,
    ChunkEvent,
    ContentDeltaEvent,
    DoneEvent,
    ReasoningDeltaEvent,
    ToolCallArgumentsDeltaEvent,
    ToolCallArgumentsDoneEvent,
    UsageEvent,
)
from grok_azure.testing import FoundryEmulator

from ._support import (
    MAX_TOKENS,
    PROMPT,
    Driver,
    Target,
    assert_finished_with_text,
    assert_usage_consistent,
    user,
)

pytestmark = pytest.mark.integration

WEATHER_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city", "unit"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time in a time zone.",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
        },
    },
]
PARALLEL_CALLS = [
    {"name": "get_weather", "arguments": {"city": "Paris, France", "unit": "celsius"}},
    {"name": "get_time", "arguments": {"tz": "Europe/Paris"}},
]


def content_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)


async def test_create_stream_yields_chunks_that_add_up_to_the_final_completion(
    chat: Driver, target: Target, deployment: str
) -> None:
    chunks, final = await chat.create_stream(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert chunks
    assert all(isinstance(chunk, ChatCompletionChunk) for chunk in chunks)
    assert content_of(chunks) == final.text
    finishing = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
    assert finishing == [final.finish_reason]
    assert isinstance(final, ChatCompletion)
    assert final.id
    assert_finished_with_text(final)
    if target.emulated:
        assert final.text == f"Echo: {PROMPT}"
        assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1, "delivered in pieces"


async def test_create_stream_has_no_usage_unless_asked(chat: Driver, emu: FoundryEmulator) -> None:
    chunks, final = await chat.create_stream(model="chat", messages=user())

    assert all(chunk.usage is None for chunk in chunks)
    assert final.usage is None


async def test_create_stream_with_include_usage_ends_with_a_usage_chunk(
    chat: Driver, target: Target, deployment: str
) -> None:
    chunks, final = await chat.create_stream(
        model=deployment, messages=user(), max_tokens=MAX_TOKENS, stream_options={"include_usage": True}
    )

    assert chunks[-1].usage is not None
    assert chunks[-1].choices == []
    assert final.usage == chunks[-1].usage
    assert_usage_consistent(final.usage, emulated=target.emulated)


async def test_azure_first_chunk_carries_only_prompt_filter_results(
    chat: Driver, emu: FoundryEmulator
) -> None:
    chunks, final = await chat.create_stream(model="chat", messages=user())

    first = chunks[0]
    assert first.choices == []
    assert first.id == ""
    assert first.prompt_filter_results
    # The empty id/model of that first event must not erase the real ones.
    assert final.id == chunks[1].id != ""
    assert final.model == "grok-4-1-fast-non-reasoning"
    assert final.prompt_filter_results == first.prompt_filter_results


async def test_stream_manager_emits_typed_events_ending_with_done(
    chat: Driver, target: Target, deployment: str
) -> None:
    events, final = await chat.stream(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert isinstance(events[-1], DoneEvent)
    done = events[-1].completion
    assert done == final
    # What get_final_completion() returns, with what the client sets beside the fields.
    assert done.served_by is not None
    assert (done.served_by, done.cost) == (final.served_by, final.cost)
    assert sum(isinstance(e, DoneEvent) for e in events) == 1
    assert any(isinstance(e, ChunkEvent) for e in events)
    text = "".join(e.delta for e in events if isinstance(e, ContentDeltaEvent))
    assert text == final.text
    usage_events = [e for e in events if isinstance(e, UsageEvent)]
    assert len(usage_events) == 1, "stream() asks for usage by default"
    assert usage_events[0].usage == final.usage
    assert_usage_consistent(final.usage, emulated=target.emulated)
    assert_finished_with_text(final)


async def test_text_stream_yields_only_the_content(chat: Driver, target: Target, deployment: str) -> None:
    texts, final = await chat.text_stream(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert all(isinstance(t, str) and t for t in texts)
    assert "".join(texts) == final.text
    assert_finished_with_text(final)
    if target.emulated:
        assert len(texts) > 1


async def test_reasoning_stream_yields_only_the_reasoning(
    chat: Driver, target: Target, reasoner: str
) -> None:
    texts, final = await chat.reasoning_stream(model=reasoner, messages=user(), max_tokens=MAX_TOKENS)

    assert texts
    assert "".join(texts) == final.reasoning
    assert final.reasoning is not None
    assert final.reasoning.strip()
    assert final.usage is not None
    assert final.usage.reasoning_tokens > 0
    if target.emulated:
        assert final.text == f"Echo: {PROMPT}"


async def test_reasoning_deltas_come_before_content_deltas(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply("The answer is four.", reasoning="Two plus two is four.")

    events, final = await chat.stream(model="reasoner", messages=user("2+2?"))

    kinds = [type(e) for e in events if isinstance(e, (ReasoningDeltaEvent, ContentDeltaEvent))]
    first_content = kinds.index(ContentDeltaEvent)
    assert set(kinds[:first_content]) == {ReasoningDeltaEvent}
    assert set(kinds[first_content:]) == {ContentDeltaEvent}
    assert final.reasoning == "Two plus two is four."
    assert final.text == "The answer is four."


async def test_tool_call_argument_deltas_add_up_to_the_final_arguments(
    chat: Driver, emu: FoundryEmulator
) -> None:
    # Grok sends each call whole; other gateways send the arguments in pieces, as this reply does.
    emu.reply(tool_calls=PARALLEL_CALLS[:1], tool_call_deltas="fragmented")

    events, final = await chat.stream(model="chat", messages=user("Weather in Paris?"), tools=WEATHER_TOOLS)

    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDeltaEvent)]
    assert len(deltas) > 1, "the arguments arrive in pieces"
    assert {(e.index, e.name) for e in deltas} == {(0, "get_weather")}
    done = [e for e in events if isinstance(e, ToolCallArgumentsDoneEvent)]
    assert [(e.index, e.id, e.name, e.arguments) for e in done] == [
        (0, final.tool_calls[0].id, "get_weather", "".join(e.arguments_delta for e in deltas))
    ]
    assert json.loads(final.tool_calls[0].function.arguments) == PARALLEL_CALLS[0]["arguments"]
    assert final.finish_reason == "tool_calls"


async def test_parallel_tool_calls_get_one_done_event_each_with_complete_arguments(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(tool_calls=PARALLEL_CALLS)

    events, final = await chat.stream(model="chat", messages=user("Weather and time?"), tools=WEATHER_TOOLS)

    done = [e for e in events if isinstance(e, ToolCallArgumentsDoneEvent)]
    assert sorted((e.index, e.id, e.name, e.arguments) for e in done) == [
        (i, call.id, call.function.name, call.function.arguments) for i, call in enumerate(final.tool_calls)
    ]


async def test_parallel_tool_calls_are_stitched_by_index(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply(tool_calls=PARALLEL_CALLS)

    chunks, final = await chat.create_stream(
        model="chat", messages=user("Weather and time?"), tools=WEATHER_TOOLS
    )

    indexes = [t.index for chunk in chunks for c in chunk.choices for t in c.delta.tool_calls or []]
    assert set(indexes) == {0, 1}
    assert [(c.function.name, json.loads(c.function.arguments)) for c in final.tool_calls] == [
        (call["name"], call["arguments"]) for call in PARALLEL_CALLS
    ]
    assert len({c.id for c in final.tool_calls}) == 2
