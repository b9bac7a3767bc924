"""Tool-call round trips and structured output, end to end."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from grok_azure import ChatCompletion
from grok_azure.testing import FoundryEmulator

from ._support import MAX_TOKENS, Driver, Target, assert_finished_with_text, sent_body, user
from .test_stream_equivalence import CITY_FORMAT, CITY_SCHEMA
from .test_streaming import WEATHER_TOOLS

pytestmark = pytest.mark.integration

QUESTION = "What is the weather in Paris right now? Use the tool."
WEATHER_RESULT = json.dumps({"temperature_c": 14, "sky": "overcast"})


def tool_results(completion: ChatCompletion) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT} for call in completion.tool_calls
    ]


def check_tool_calls(completion: ChatCompletion, *, emulated: bool) -> None:
    assert completion.tool_calls
    if emulated:
        assert completion.finish_reason == "tool_calls"
    else:  # a forced tool choice may finish with "stop" on some models
        assert completion.finish_reason in ("tool_calls", "stop")
    schemas = {tool["function"]["name"]: tool["function"]["parameters"] for tool in WEATHER_TOOLS}
    for call in completion.tool_calls:
        assert call.id
        assert call.type == "function"
        jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])


async def test_tool_call_round_trip_with_the_response_message_object(
    chat: Driver, target: Target, deployment: str
) -> None:
    messages: list[Any] = user(QUESTION)
    first = await chat.create(
        model=deployment,
        messages=messages,
        tools=WEATHER_TOOLS,
        tool_choice="required",
        max_tokens=MAX_TOKENS,
    )
    check_tool_calls(first, emulated=target.emulated)

    messages += [first.choices[0].message, *tool_results(first)]
    second = await chat.create(
        model=deployment, messages=messages, tools=WEATHER_TOOLS, max_tokens=MAX_TOKENS
    )

    assert_finished_with_text(second)
    if target.emulated:
        assert second.tool_calls == []
        assert second.text == "Tool results: " + "; ".join(WEATHER_RESULT for _ in first.tool_calls)


async def test_round_trip_sends_the_assistant_tool_calls_back_verbatim(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(
        "Let me check.",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}],
    )
    first = await chat.create(model="chat", messages=user(QUESTION), tools=WEATHER_TOOLS)

    await chat.create(
        model="chat",
        messages=[*user(QUESTION), first.choices[0].message, *tool_results(first)],
        tools=WEATHER_TOOLS,
    )

    sent = sent_body(emu)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": first.tool_calls[0].id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": first.tool_calls[0].function.arguments},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": WEATHER_RESULT}
    assert emu.requests[-1].status == 200


async def test_reasoning_is_not_sent_back_in_the_round_trip(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply(reasoning="The user wants weather.", tool_calls=[{"name": "get_weather"}])
    first = await chat.create(model="reasoner", messages=user(QUESTION), tools=WEATHER_TOOLS)
    assert first.reasoning == "The user wants weather."

    second = await chat.create(
        model="reasoner", messages=[*user(QUESTION), first.choices[0].message, *tool_results(first)]
    )

    assert "reasoning_content" not in sent_body(emu)["messages"][1]
    assert second.text == f"Tool results: {WEATHER_RESULT}"


async def test_a_streamed_final_message_round_trips_like_a_plain_one(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time"}])
    _, first = await chat.stream(model="chat", messages=user(QUESTION), tools=WEATHER_TOOLS)
    assert len(first.tool_calls) == 2

    second = await chat.create(
        model="chat",
        messages=[*user(QUESTION), first.choices[0].message, *tool_results(first)],
        tools=WEATHER_TOOLS,
    )

    sent = sent_body(emu)["messages"][1]
    assert [c["id"] for c in sent["tool_calls"]] == [c.id for c in first.tool_calls]
    assert "content" not in sent  # the stream carried no content: omitted rather than sent as null
    assert second.text.startswith("Tool results: ")


async def test_emulator_forced_tool_choice_calls_the_named_tool(chat: Driver, emu: FoundryEmulator) -> None:
    completion = await chat.create(
        model="chat",
        messages=user(QUESTION),
        tools=WEATHER_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )

    assert [c.function.name for c in completion.tool_calls] == ["get_time"]
    check_tool_calls(completion, emulated=True)


async def test_json_schema_reply_parses_and_validates(chat: Driver, deployment: str) -> None:
    completion = await chat.create(
        model=deployment,
        messages=user("Describe Marseille as JSON."),
        response_format=CITY_FORMAT,
        max_tokens=MAX_TOKENS,
    )

    assert completion.finish_reason == "stop"
    jsonschema.validate(json.loads(completion.text), CITY_SCHEMA)


async def test_streamed_json_schema_reply_parses_and_validates(chat: Driver, deployment: str) -> None:
    texts, final = await chat.text_stream(
        model=deployment,
        messages=user("Describe Marseille as JSON."),
        response_format=CITY_FORMAT,
        max_tokens=MAX_TOKENS,
    )

    assert final.finish_reason == "stop"
    jsonschema.validate(json.loads("".join(texts)), CITY_SCHEMA)
