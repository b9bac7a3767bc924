"""The SSE stream's shape, as recorded from Azure, and its agreement with the non-streamed form."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, accumulate, chat, sse_events, summarize, user
from .test_completions import TIME, WEATHER


def stream(
    http: httpx.Client, route: str = "openai_v1", include_usage: bool = False, **body: Any
) -> list[Any]:
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    headers = {"extra-parameters": "pass-through"} if route == "model_inference" and include_usage else None
    response = chat(http, route, headers=headers, stream=True, **body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response)


def chunks(events: list[Any]) -> list[dict[str, Any]]:
    """The delta chunks (choices not empty)."""
    return [e for e in events if e != "[DONE]" and e["choices"]]


def test_first_event_carries_only_prompt_filter_results(http: httpx.Client) -> None:
    first = stream(http)[0]
    assert first["choices"] == []
    assert (first["id"], first["model"], first["object"], first["created"]) == ("", "", "", 0)
    assert first["prompt_filter_results"][0]["prompt_index"] == 0


def test_stream_ends_with_finish_chunk_then_done(http: httpx.Client) -> None:
    events = stream(http)
    assert events[-1] == "[DONE]"
    final = events[-2]["choices"][0]
    assert final == {"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0}
    assert all("usage" not in e for e in events[:-1])


def test_deltas_are_chunks_with_the_same_id_and_role_only_first(http: httpx.Client) -> None:
    deltas = chunks(stream(http, messages=user("one two three")))
    assert len({c["id"] for c in deltas}) == 1
    assert deltas[0]["id"].endswith("_sidecar")
    assert all(
        c["object"] == "chat.completion.chunk" and c["model"] == "grok-4-1-fast-non-reasoning" for c in deltas
    )
    assert deltas[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in c["choices"][0]["delta"] for c in deltas[1:])


def test_content_arrives_word_by_word_with_content_filter_results(http: httpx.Client) -> None:
    deltas = chunks(stream(http, messages=user("one two three")))
    pieces = [c["choices"][0]["delta"]["content"] for c in deltas[:-1]]
    assert pieces == ["Echo: ", "one ", "two ", "three"]
    assert all(c["choices"][0]["content_filter_results"]["hate"]["filtered"] is False for c in deltas[:-1])
    assert all("finish_reason" not in c["choices"][0] for c in deltas[:-1])


def test_reasoning_deltas_come_before_content_deltas(http: httpx.Client) -> None:
    deltas = [c["choices"][0]["delta"] for c in chunks(stream(http, model="mini"))]
    kinds = [
        "reasoning" if "reasoning_content" in d else "content" if "content" in d else "other" for d in deltas
    ]
    assert kinds[0] == "reasoning"
    assert kinds.index("content") > 0
    assert "reasoning" not in kinds[kinds.index("content") :]
    assert "reasoning_content" in deltas[0]
    assert deltas[0]["role"] == "assistant"


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_usage_event_follows_the_finish_chunk_when_asked(http: httpx.Client, route: str) -> None:
    events = stream(http, route, include_usage=True, model="mini")
    usage_event = events[-2]
    assert usage_event["choices"] == []
    assert usage_event["id"] == chunks(events)[0]["id"]
    usage = usage_event["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] + reasoning
    assert "audio_prompt_tokens" not in usage  # recorded: only the non-streamed usage has it
    assert events[-3]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_stream_and_plain_reply_report_the_same_token_counts(http: httpx.Client, route: str) -> None:
    plain = chat(http, route, model="mini", messages=user("count")).json()["usage"]
    streamed = stream(http, route, include_usage=True, model="mini", messages=user("count"))[-2]["usage"]
    assert plain.pop("audio_prompt_tokens") == 0
    assert streamed == plain


def test_every_chunk_carries_a_system_fingerprint(http: httpx.Client) -> None:
    events = stream(http, include_usage=True, model="mini")
    fingerprints = {e["system_fingerprint"] for e in events[1:-1]}
    assert len(fingerprints) == 1
    assert fingerprints.pop().startswith("fp_")
    assert "system_fingerprint" not in events[0]  # the prompt-filter event, as recorded


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_tool_calls_stream_whole_one_call_per_delta_as_grok_sends_them(
    emu: FoundryEmulator, http: httpx.Client, route: str
) -> None:
    emu.reply(
        tool_calls=[{"name": "get_weather"}, {"name": "get_time", "arguments": {"zone": "Europe/Paris"}}]
    )
    tool_chunks = chunks(stream(http, route, tools=[WEATHER, TIME]))[:-1]
    first, second = (c["choices"][0] for c in tool_chunks)
    assert first["delta"]["role"] == "assistant"
    [call] = first["delta"]["tool_calls"]
    assert set(call) == {"index", "id", "type", "function"}
    assert (call["index"], call["id"], call["type"], call["function"]["name"]) == (
        0,
        "call_1",
        "function",
        "get_weather",
    )
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])  # type: ignore[index]
    assert second["delta"]["tool_calls"] == [
        {
            "index": 1,
            "id": "call_2",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"zone": "Europe/Paris"}'},
        }
    ]
    assert first["content_filter_results"] == second["content_filter_results"] == {}


@pytest.fixture(scope="module")
def fragmenting() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(
        api_key=API_KEY, deployments={"fast": "grok-4-1-fast-non-reasoning"}, tool_call_deltas="fragmented"
    ) as emulator:
        yield emulator


@pytest.fixture
def frag_http(fragmenting: FoundryEmulator) -> Iterator[httpx.Client]:
    fragmenting.reset()
    with httpx.Client(base_url=fragmenting.url, headers={"api-key": API_KEY}, timeout=10) as client:
        yield client


def test_fragmented_tool_call_deltas_send_id_and_name_first_then_argument_pieces(
    fragmenting: FoundryEmulator, frag_http: httpx.Client
) -> None:
    fragmenting.reply(tool_calls=[{"name": "get_weather"}])
    deltas = [
        c["choices"][0]["delta"]["tool_calls"][0] for c in chunks(stream(frag_http, tools=[WEATHER]))[:-1]
    ]
    header, *pieces = deltas
    assert header == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert len(pieces) >= 3
    assert all(set(p) == {"index", "function"} and set(p["function"]) == {"arguments"} for p in pieces)


def test_fragmented_parallel_tool_calls_interleave_by_index_and_reassemble(
    fragmenting: FoundryEmulator, frag_http: httpx.Client
) -> None:
    fragmenting.reply(
        tool_calls=[{"name": "get_weather"}, {"name": "get_time", "arguments": {"zone": "Europe/Paris"}}]
    )
    events = stream(frag_http, tools=[WEATHER, TIME])
    indexes = [c["choices"][0]["delta"]["tool_calls"][0]["index"] for c in chunks(events)[:-1]]
    assert indexes[:2] == [0, 1]
    assert any(a != b for a, b in itertools.pairwise(indexes[2:]))  # the argument pieces alternate
    result = accumulate(events)
    assert [c["name"] for c in result["tool_calls"]] == ["get_weather", "get_time"]
    assert result["tool_calls"][1]["arguments"] == '{"zone": "Europe/Paris"}'
    assert result["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
@pytest.mark.parametrize(
    ("script", "body"),
    [
        (None, {"model": "fast"}),
        (None, {"model": "mini", "messages": user("think about it")}),
        (None, {"tools": [WEATHER, TIME], "tool_choice": "required"}),
        ({"tool_calls": [{"name": "get_weather"}, {"name": "get_time"}]}, {"tools": [WEATHER, TIME]}),
        ({"text": "multi\nline  text ", "reasoning": "r1 r2", "finish_reason": "length"}, {}),
        (None, {"response_format": {"type": "json_object"}}),
        (None, {"max_tokens": 2, "messages": user("a b c d e f")}),
        ({"text": ""}, {}),
    ],
)
def test_streamed_and_non_streamed_forms_agree(
    emu: FoundryEmulator,
    http: httpx.Client,
    fragmenting: FoundryEmulator,
    frag_http: httpx.Client,
    route: str,
    script: dict[str, Any] | None,
    body: dict[str, Any],
) -> None:
    body = {"model": "fast", **body}
    if script is not None:
        emu.reply(**script, times=2)
    whole = summarize(chat(http, route, **body).json())
    streamed = accumulate(stream(http, route, **body))
    summaries = [whole, streamed]
    if body["model"] == "fast":  # the same answer with the tool calls in pieces
        if script is not None:
            fragmenting.reply(**script)
        summaries.append(accumulate(stream(frag_http, route, **body)))
    for summary in summaries:
        for call in summary["tool_calls"]:
            call.pop("id")  # ids are unique per call, so they differ between the two requests
    assert all(summary == whole for summary in summaries)


def test_events_are_separated_by_blank_lines_and_parse_as_json(http: httpx.Client) -> None:
    response = chat(http, stream=True)
    blocks = response.text.split("\n\n")
    assert blocks[-1] == ""
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks[:-1])


def test_a_scripted_reply_can_fragment_its_tool_calls_on_a_whole_call_emulator(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply(tool_calls=[{"name": "get_weather"}], tool_call_deltas="fragmented")
    emu.reply(tool_calls=[{"name": "get_weather"}])
    fragmented = [
        c["choices"][0]["delta"]["tool_calls"][0] for c in chunks(stream(http, tools=[WEATHER]))[:-1]
    ]
    whole = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks(stream(http, tools=[WEATHER]))[:-1]]
    assert len(fragmented) > 2
    assert fragmented[0]["function"]["arguments"] == ""
    [call] = whole
    assert call["function"]["arguments"] == "".join(d["function"]["arguments"] for d in fragmented)


def test_an_unknown_tool_call_form_in_a_script_is_refused(emu: FoundryEmulator) -> None:
    with pytest.raises(ValueError, match="tool_call_deltas"):
        emu.reply(tool_calls=[{"name": "f"}], tool_call_deltas="pieces")  # type: ignore[arg-type]
