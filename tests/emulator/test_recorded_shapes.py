"""The emulator against recorded Azure traffic for Grok: the same keys, the same JSON types, the same headers.

The verbatim recordings (foundry-wire-facts.md section 3) are of a grok-3-mini deployment, served here although
the model is retired (``serve_retired``). The shapes of section 6 are in ``tests/fixtures/grok_recorded_shapes.json``
(keys and types as recorded, values illustrative).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_azure.testing import Fault, FoundryEmulator

from .conftest import OPENAI_PATH, sse_events, user
from .test_completions import WEATHER

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = json.loads((FIXTURES / "grok_recorded_shapes.json").read_text(encoding="utf-8"))
KEY = "recorded-shapes-key"


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; a list by its first item (recorded lists hold one kind of item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "null" if value is None else type(value).__name__


def recorded_stream() -> list[Any]:
    text = (FIXTURES / "grok3mini_thinking_stream.sse").read_text(encoding="utf-8")
    payloads = [block.removeprefix("data: ") for block in text.strip().split("\n\n")]
    return [p if p == "[DONE]" else json.loads(p) for p in payloads]


@pytest.fixture(scope="module")
def recorded_emu() -> Iterator[FoundryEmulator]:
    deployments = {"grok-3-mini": "grok-3-mini", "fast": "grok-4-1-fast-non-reasoning"}
    with FoundryEmulator(api_key=KEY, deployments=deployments, serve_retired=True) as emulator:
        yield emulator


@pytest.fixture
def http(recorded_emu: FoundryEmulator) -> Iterator[httpx.Client]:
    recorded_emu.reset()
    with httpx.Client(base_url=recorded_emu.url, headers={"api-key": KEY}, timeout=10) as client:
        yield client


def ask(http: httpx.Client, **body: Any) -> httpx.Response:
    body = {"model": "grok-3-mini", "messages": user("Weather in Florence?"), **body}
    response = http.post(OPENAI_PATH, json=body)
    assert response.status_code == 200, response.text
    return response


# -- bodies ---------------------------------------------------------------------------------------------------


def test_a_tool_call_reply_has_the_shape_of_the_recorded_grok_3_mini_reply(
    recorded_emu: FoundryEmulator, http: httpx.Client
) -> None:
    recorded = json.loads((FIXTURES / "grok3mini_thinking_response.json").read_text(encoding="utf-8"))
    recorded_emu.reply(reasoning="First, the user is asking", tool_calls=[{"name": "weather"}])
    body = ask(http).json()
    assert shape(body) == shape(recorded)
    assert body["model"] == recorded["model"] == "grok-3-mini-high"
    assert body["choices"][0]["content_filter_results"] == {}


def test_a_text_reply_has_the_recorded_v1_shape(http: httpx.Client) -> None:
    recorded = RECORDED["v1_text_response"]["body"]
    body = ask(http).json()
    assert shape(body) == shape(recorded)
    assert body["choices"][0]["message"]["tool_calls"] is None
    assert body["choices"][0]["content_filter_results"] == recorded["choices"][0]["content_filter_results"]


@pytest.mark.parametrize("body", [RECORDED["v1_text_response"]["body"]], ids=["v1_text_response"])
def test_recorded_usage_adds_reasoning_on_top_of_completion_tokens(body: dict[str, Any]) -> None:
    # The fixtures follow the arithmetic the emulator is held to (288 + 27 + 294 = 609 in the verbatim one).
    for usage in (
        body["usage"],
        json.loads((FIXTURES / "grok3mini_thinking_response.json").read_text())["usage"],
    ):
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] + reasoning


def test_a_stream_has_the_shape_of_the_recorded_grok_3_mini_stream(http: httpx.Client) -> None:
    recorded = recorded_stream()
    events = sse_events(ask(http, stream=True, stream_options={"include_usage": True}))
    first, reasoning_chunk, finish, usage_event, done = recorded
    assert shape(events[0]) == shape(first)
    assert shape(events[1]) == shape(reasoning_chunk)
    assert shape(events[-3]) == shape(finish)
    assert shape(events[-2]) == shape(usage_event)
    assert events[-1] == done == "[DONE]"
    assert {e["model"] for e in events[1:-1]} == {"grok-3-mini-high"}


def test_a_streamed_tool_call_has_the_recorded_whole_call_shape(
    recorded_emu: FoundryEmulator, http: httpx.Client
) -> None:
    recorded = RECORDED["stream_whole_tool_call_chunk"]["chunk"]
    recorded_emu.reply(tool_calls=[{"name": "weather", "arguments": {"location": "Florence, Italy"}}])
    # A model that does not stream reasoning first, so the call's chunk is the first one and carries the role.
    events = sse_events(ask(http, model="fast", stream=True, tools=[WEATHER]))
    [tool_chunk] = [e for e in events[1:-1] if e["choices"] and "tool_calls" in e["choices"][0]["delta"]]
    assert shape(tool_chunk) == shape(recorded)


# -- headers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_carries_the_recorded_v1_headers(http: httpx.Client, stream: bool) -> None:
    expected = RECORDED["v1_reply_headers"]
    headers = ask(http, stream=stream).headers
    for name in expected["present"]:
        assert name in headers, name
    assert headers["x-ms-deployment-name"] == "grok-3-mini"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-ms-client-request-id"] == "Not-Set"  # httpx sends none
    if stream:
        assert headers["x-accel-buffering"] == "no"
    else:
        assert "x-accel-buffering" not in headers
    assert "x-request-id" not in headers


def test_the_client_request_id_is_echoed(http: httpx.Client) -> None:
    response = http.post(
        OPENAI_PATH,
        json={"model": "fast", "messages": user()},
        headers={"x-ms-client-request-id": "6f1d8c1e-0000-4000-8000-000000000001"},
    )
    assert response.headers["x-ms-client-request-id"] == "6f1d8c1e-0000-4000-8000-000000000001"


def test_rate_limit_counters_count_down_request_by_request(http: httpx.Client) -> None:
    remaining = [
        (int(h["x-ratelimit-remaining-requests"]), int(h["x-ratelimit-remaining-tokens"]))
        for h in (ask(http, model="fast").headers for _ in range(3))
    ]
    requests, tokens = zip(*remaining, strict=True)
    assert list(requests) == [999, 998, 997]
    assert tokens[0] > tokens[1] > tokens[2]


def test_a_content_filter_error_carries_the_recorded_v1_error_headers(
    recorded_emu: FoundryEmulator, http: httpx.Client
) -> None:
    expected = RECORDED["v1_error_headers"]
    recorded_emu.fault(Fault.content_filter())
    response = http.post(OPENAI_PATH, json={"model": "fast", "messages": user()})
    assert response.status_code == 400
    for name in expected["present"]:
        assert name in response.headers, name
    for name in expected["absent"]:
        assert name not in response.headers, name
    assert response.headers["x-ms-deployment-name"] == "fast"


def test_a_validation_error_reports_the_deployment_and_its_counters(http: httpx.Client) -> None:
    response = http.post(OPENAI_PATH, json={"model": "fast", "messages": user(), "temperature": 9})
    assert response.status_code == 400
    assert response.headers["x-ms-deployment-name"] == "fast"
    assert response.headers["x-ratelimit-remaining-requests"] == "999"
    assert "x-ms-error-code" not in response.headers


def test_an_error_before_any_deployment_names_none(http: httpx.Client) -> None:
    response = http.post(OPENAI_PATH, json={"model": "nowhere", "messages": user()})
    assert response.status_code == 404
    assert response.headers["apim-request-id"]
    assert not any(name.startswith(("x-ms-deployment", "x-ratelimit")) for name in response.headers)


def test_a_gateway_fault_carries_only_its_own_headers(
    recorded_emu: FoundryEmulator, http: httpx.Client
) -> None:
    recorded_emu.fault(Fault.server_error(503))
    response = http.post(OPENAI_PATH, json={"model": "fast", "messages": user()})
    assert response.status_code == 503
    assert "x-ms-deployment-name" not in response.headers
    assert "x-ratelimit-remaining-requests" not in response.headers
