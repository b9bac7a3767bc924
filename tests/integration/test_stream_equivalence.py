"""The key end-to-end property: streaming changes how an answer arrives, never what it is.

The emulator is scripted identically twice; the first request is plain, the second streamed. What must then be
equal is :func:`._support.comparable`: per choice the role, content, reasoning_content, refusal, tool calls
(id, type, name, arguments) and finish_reason, plus model, usage (every field, Azure's extras included, but
``audio_prompt_tokens``, which only a plain reply carries) and prompt_filter_results. ``id`` and ``created`` may
differ (two requests, two completions), and so may each choice's content_filter_results and the
system_fingerprint, which Grok sends on stream chunks only (see ``comparable``). The emulator is reset between the
two requests so that its tool-call ids restart and match.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from grok_azure import ChatCompletion
from grok_azure.testing import Fault, FoundryEmulator

from ._support import CHAT, REASONER, Driver, comparable, sent_body, user
from .test_streaming import WEATHER_TOOLS

pytestmark = pytest.mark.integration

CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "population": {"type": "integer", "minimum": 1},
        "landmarks": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "coastal": {"type": "boolean"},
    },
    "required": ["city", "population", "landmarks", "coastal"],
    "additionalProperties": False,
}
CITY_FORMAT = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}}


@dataclass(frozen=True)
class Scenario:
    """A deployment, how to script the emulator, extra request parameters, and what the answer must show."""

    deployment: str
    script: Callable[[FoundryEmulator], object]
    params: dict[str, Any]
    check: Callable[[ChatCompletion], None]


def _check_text(completion: ChatCompletion) -> None:
    assert completion.text.startswith("Tides rise")
    assert completion.finish_reason == "stop"


def _check_reasoning(completion: ChatCompletion) -> None:
    assert completion.reasoning == "The sea has tides because the moon pulls on it.\nSo: tides."
    assert completion.usage is not None
    assert completion.usage.reasoning_tokens > 0


def _check_tools(completion: ChatCompletion) -> None:
    assert [c.function.name for c in completion.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(completion.tool_calls[1].function.arguments) == {"tz": "example"}
    assert completion.finish_reason == "tool_calls"


def _check_json(completion: ChatCompletion) -> None:
    jsonschema.validate(json.loads(completion.text), CITY_SCHEMA)


def _check_filtered(completion: ChatCompletion) -> None:
    assert completion.finish_reason == "content_filter"
    assert completion.content_filtered


SCENARIOS = {
    # Whitespace runs, a blank line and non-ASCII text must survive being cut into deltas.
    "text": Scenario(
        CHAT,
        lambda emu: emu.reply("Tides rise and fall.\n\nTwice  a day, naïve café 🌊 — roughly."),
        {},
        _check_text,
    ),
    "reasoning": Scenario(
        REASONER,
        lambda emu: emu.reply(
            "Tides.", reasoning="The sea has tides because the moon pulls on it.\nSo: tides."
        ),
        {},
        _check_reasoning,
    ),
    # Two parallel calls: explicit arguments, and arguments the emulator derives from the tool's schema.
    "parallel_tool_calls": Scenario(
        CHAT,
        lambda emu: emu.reply(
            tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Brest", "unit": "celsius"}},
                {"name": "get_time"},
            ]
        ),
        {"tools": WEATHER_TOOLS},
        _check_tools,
    ),
    "json_schema": Scenario(CHAT, lambda emu: None, {"response_format": CITY_FORMAT}, _check_json),
    "filtered_completion": Scenario(
        CHAT, lambda emu: emu.fault(Fault.filtered_completion()), {}, _check_filtered
    ),
}


def _without_stream_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


@pytest.mark.parametrize("how", ["create_stream", "stream"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_streamed_and_plain_answers_to_one_script_are_equal(
    chat: Driver, emu: FoundryEmulator, name: str, how: str
) -> None:
    scenario = SCENARIOS[name]
    request = {"model": scenario.deployment, "messages": user("Tell me about tides."), **scenario.params}

    scenario.script(emu)
    plain = await chat.create(**request)
    plain_body = sent_body(emu)
    emu.reset()
    scenario.script(emu)
    if how == "stream":
        _, streamed = await chat.stream(**request)
    else:
        _, streamed = await chat.create_stream(**request, stream_options={"include_usage": True})

    scenario.check(plain)
    assert streamed.usage is not None
    assert comparable(streamed) == comparable(plain)
    assert _without_stream_fields(sent_body(emu)) == _without_stream_fields(plain_body)
