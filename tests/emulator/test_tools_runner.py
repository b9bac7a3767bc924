"""``run_tools`` against the emulator's scripted tool calls: whole and fragmented deltas, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from grok_azure import AsyncGrokClient, GrokClient, ToolResultEvent, ToolRunDoneEvent, tool
from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, DEPLOYMENTS

MODELS = dict(DEPLOYMENTS)
QUESTION = [{"role": "user", "content": "Weather in Paris, and 2 + 3?"}]
CALLS = [
    {"name": "get_weather", "arguments": {"city": "Paris"}},
    {"name": "add", "arguments": {"a": 2, "b": 3}},
]


@tool
def get_weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    return {"city": city, "sky": "clear"}


@tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def add_sync(a: int, b: int) -> int:
    return a + b


def expected_answer() -> str:
    # The emulator answers right after tool messages with "Tool results: " and their contents.
    return 'Tool results: {"city":"Paris","sky":"clear"}; 5'


@pytest.mark.parametrize("deltas", ["whole", "fragmented"])
def test_sync_streamed_run_with_parallel_calls(emu: FoundryEmulator, deltas: Any) -> None:
    sync_add = tool(name="add")(add_sync.function)
    emu.reply(tool_calls=CALLS, tool_call_deltas=deltas)
    with GrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=MODELS) as client:
        run = client.chat.completions.run_tools(
            model="g47", messages=QUESTION, tools=[get_weather, sync_add], stream=True
        )
        with run:
            events = list(run)
    results = [e.call for e in events if isinstance(e, ToolResultEvent)]
    assert [(c.name, c.content) for c in results] == [
        ("get_weather", '{"city":"Paris","sky":"clear"}'),
        ("add", "5"),
    ]
    assert isinstance(events[-1], ToolRunDoneEvent)
    assert events[-1].result.text == expected_answer()
    second = emu.requests[-1].json
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool", "tool"]


@pytest.mark.parametrize("stream", [False, True])
async def test_async_run_with_async_tools(emu: FoundryEmulator, stream: bool) -> None:
    emu.reply(tool_calls=CALLS, tool_call_deltas="fragmented")
    async with AsyncGrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=MODELS) as client:
        if stream:
            run = await client.chat.completions.run_tools(
                model="g47", messages=QUESTION, tools=[get_weather, add], stream=True
            )
            async with run:
                result = await run.get_final_result()
        else:
            result = await client.chat.completions.run_tools(
                model="g47", messages=QUESTION, tools=[get_weather, add]
            )
    assert result.text == expected_answer()
    assert [c.output for c in result.tool_calls] == [{"city": "Paris", "sky": "clear"}, 5]
    assert len(result.rounds) == 2
    assert all(r.usage is not None and r.usage.prompt_tokens > 0 for r in result.rounds)


def test_generated_arguments_follow_the_tool_schema(emu: FoundryEmulator) -> None:
    # Without scripted arguments the emulator writes arguments valid for the offered schema: they validate.
    emu.reply(tool_calls=[{"name": "get_weather"}])
    with GrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=MODELS) as client:
        result = client.chat.completions.run_tools(model="g47", messages=QUESTION, tools=[get_weather])
    assert result.tool_calls[0].ok
    assert emu.requests[0].json["tools"][0] == get_weather.to_param()


def test_an_unknown_tool_from_the_model_is_reported(emu: FoundryEmulator) -> None:
    emu.reply(tool_calls=[{"name": "launch", "arguments": {}}])
    with GrokClient(endpoint=emu.url, api_key=API_KEY, deployment_models=MODELS) as client:
        result = client.chat.completions.run_tools(model="g47", messages=QUESTION, tools=[get_weather])
    assert result.tool_calls[0].error_kind == "unknown_tool"
    assert result.text == "Tool results: Unknown tool 'launch': the available tools are get_weather"
