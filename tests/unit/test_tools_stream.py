"""``run_tools(..., stream=True)`` over respx: each round's events, tool results, the result; fragmented deltas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    AsyncToolRunStream,
    ContentDeltaEvent,
    DoneEvent,
    GrokClient,
    StreamClosedError,
    ToolCallArgumentsDoneEvent,
    ToolResultEvent,
    ToolRoundsExceededError,
    ToolRunDoneEvent,
    ToolRunStream,
    UsageEvent,
    tool,
)

from .conftest import CHAT_URL, ENDPOINT, FIRST_EVENT, KEY, chunk, sse

MESSAGES = [{"role": "user", "content": "Add and multiply"}]
SSE_HEADERS = {"content-type": "text/event-stream"}
USAGE = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}


@tool
def add(a: int, b: int) -> int:
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    return a * b


def fragmented_round() -> bytes:
    """Two parallel calls, id and name first, then argument pieces taking turns (as gateways stream them)."""
    pieces = [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "add", "arguments": ""}},
        {"index": 1, "id": "call_m", "type": "function", "function": {"name": "multiply", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"a": 2,'}},
        {"index": 1, "function": {"arguments": '{"a": 3,'}},
        {"index": 0, "function": {"arguments": ' "b": 5}'}},
        {"index": 1, "function": {"arguments": ' "b": 4}'}},
    ]
    events: list[dict[str, Any] | str] = [FIRST_EVENT, chunk(role="assistant", tool_calls=[pieces[0]])]
    events += [chunk(tool_calls=[piece]) for piece in pieces[1:]]
    events += [chunk(finish_reason="tool_calls"), USAGE, "[DONE]"]
    return sse(*events)


def whole_round() -> bytes:
    """The same calls, each whole in one delta (as Grok streams them)."""
    calls = [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 5}'},
        },
        {
            "index": 1,
            "id": "call_m",
            "type": "function",
            "function": {"name": "multiply", "arguments": '{"a": 3, "b": 4}'},
        },
    ]
    events: list[dict[str, Any] | str] = [FIRST_EVENT, chunk(role="assistant", tool_calls=[calls[0]])]
    events += [chunk(tool_calls=[calls[1]]), chunk(finish_reason="tool_calls"), USAGE, "[DONE]"]
    return sse(*events)


def answer_round(text: str = "7 and 12") -> bytes:
    words = text.split(" ")
    parts = [w + " " for w in words[:-1]] + [words[-1]]
    return sse(FIRST_EVENT, *[chunk(p) for p in parts], chunk(finish_reason="stop"), USAGE, "[DONE]")


def serve(mock_api: respx.MockRouter, *bodies: bytes) -> respx.Route:
    return mock_api.post(CHAT_URL).mock(
        side_effect=[httpx.Response(200, content=body, headers=SSE_HEADERS) for body in bodies]
    )


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as c:
        yield c


def check_events(events: list[Any]) -> None:
    kinds = [type(e).__name__ for e in events]
    # Round 1: both calls finish with the choice; then both results; round 2 streams its text; then the result.
    done_calls = [(e.name, e.arguments) for e in events if isinstance(e, ToolCallArgumentsDoneEvent)]
    assert done_calls == [("add", '{"a": 2, "b": 5}'), ("multiply", '{"a": 3, "b": 4}')]
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(r.round, r.call.name, r.call.content) for r in results] == [
        (1, "add", "7"),
        (1, "multiply", "12"),
    ]
    assert kinds.index("ToolResultEvent") > kinds.index("DoneEvent")  # results after round 1's stream ended
    assert "".join(e.delta for e in events if isinstance(e, ContentDeltaEvent)) == "7 and 12"
    assert kinds.count("DoneEvent") == 2
    assert kinds.count("UsageEvent") == 2
    assert isinstance(events[-1], ToolRunDoneEvent)
    assert events[-1].result.text == "7 and 12"
    assert [r.usage.total_tokens for r in events[-1].result.rounds if r.usage] == [13, 13]


@pytest.mark.parametrize("round_one", [fragmented_round, whole_round])
def test_streamed_run_yields_each_rounds_events_tool_results_and_the_result(
    mock_api: respx.MockRouter, client: GrokClient, round_one: Any
) -> None:
    route = serve(mock_api, round_one(), answer_round())
    with client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[add, multiply], stream=True
    ) as run:
        assert isinstance(run, ToolRunStream)
        events = list(run)
        result = run.get_final_result()
    check_events(events)
    assert result is events[-1].result
    second = json.loads(route.calls[1].request.content)
    assert second["stream"] is True
    assert second["stream_options"] == {"include_usage": True}
    assert second["messages"][1]["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 5}'}},
        {
            "id": "call_m",
            "type": "function",
            "function": {"name": "multiply", "arguments": '{"a": 3, "b": 4}'},
        },
    ]
    assert second["messages"][2:] == [
        {"role": "tool", "tool_call_id": "call_a", "content": "7"},
        {"role": "tool", "tool_call_id": "call_m", "content": "12"},
    ]


@pytest.mark.parametrize("round_one", [fragmented_round, whole_round])
async def test_async_streamed_run(mock_api: respx.MockRouter, round_one: Any) -> None:
    serve(mock_api, round_one(), answer_round())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        run = await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add, multiply], stream=True
        )
        assert isinstance(run, AsyncToolRunStream)
        async with run:
            events = [event async for event in run]
            result = await run.get_final_result()
    check_events(events)
    assert result.tool_calls[1].output == 12


def test_get_final_result_reads_what_is_left(mock_api: respx.MockRouter, client: GrokClient) -> None:
    serve(mock_api, fragmented_round(), answer_round())
    with client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[add, multiply], stream=True
    ) as run:
        first = next(run)
        assert run.get_final_result().text == "7 and 12"
    assert not isinstance(first, (DoneEvent, ToolRunDoneEvent))


def test_closing_a_streamed_run_stops_it(mock_api: respx.MockRouter, client: GrokClient) -> None:
    route = serve(mock_api, fragmented_round(), answer_round())
    with client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[add, multiply], stream=True
    ) as run:
        for event in run:
            if isinstance(event, UsageEvent):
                break
    assert route.call_count == 1  # no second round was sent
    with pytest.raises(StreamClosedError):
        run.get_final_result()


def test_a_streamed_run_raises_max_rounds_while_iterating(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    serve(mock_api, whole_round())
    run = client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[add, multiply], stream=True, max_rounds=1
    )
    seen: list[Any] = []
    with run, pytest.raises(ToolRoundsExceededError) as caught:
        seen.extend(run)
    assert any(isinstance(e, DoneEvent) for e in seen)  # round 1 was streamed before the error
    assert not any(isinstance(e, ToolResultEvent) for e in seen)
    assert len(caught.value.result.completion.tool_calls) == 2
