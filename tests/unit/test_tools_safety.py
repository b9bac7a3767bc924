"""The tool runner's safety rules: bounded turns, unambiguous ids, credentials kept out of tool failures, no tool
outliving its run. Sync and async, through the public API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from azure.core.credentials import AzureKeyCredential

from grok_azure import (
    AsyncGrokClient,
    GrokClient,
    RequestValidationError,
    ToolCallError,
    ToolCallsRefusedError,
    tool,
)

from .conftest import ENDPOINT, KEY, completion_body
from .test_review_tools import calls_body
from .test_tools_runner import replies

MESSAGES = [{"role": "user", "content": "go"}]
TOKEN = "provider-token-0123456789abcdef"
HEADER_SECRET = "x-extra-secret-0123456789"
ran: list[int] = []


def adds(count: int) -> dict[str, Any]:
    return calls_body(*((f"call_{i}", "add", f'{{"a": {i}, "b": 1}}') for i in range(count)))


@tool
def add(a: int, b: int) -> int:
    ran.append(a)
    return a + b


@tool
def leaky(x: int) -> int:
    raise RuntimeError(f"nested client said: bad key {KEY}")


@tool
def plain_failure(x: int) -> int:
    raise ValueError("x is out of range")


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


# --- max_tool_calls_per_round -------------------------------------------------------------------------------------


def test_a_turn_over_the_bound_raises_with_the_transcript_and_runs_nothing(
    mock_api: respx.MockRouter,
) -> None:
    route = replies(mock_api, adds(3), completion_body("done"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallsRefusedError) as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add], max_tool_calls_per_round=2
        )
    assert caught.value.reason == "too_many_calls"
    assert "max_tool_calls_per_round=2" in str(caught.value)
    assert len(caught.value.result.completion.tool_calls) == 3  # the refused turn, unanswered
    assert [r.tool_calls for r in caught.value.result.rounds] == [()]
    assert caught.value.result.messages[-1]["role"] == "assistant"
    assert ran == []
    assert route.call_count == 1


async def test_async_a_turn_over_the_bound_raises_and_runs_nothing(mock_api: respx.MockRouter) -> None:
    route = replies(mock_api, adds(3), completion_body("done"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(ToolCallsRefusedError) as caught:
            await client.chat.completions.run_tools(
                model="grok-4", messages=MESSAGES, tools=[add], max_tool_calls_per_round=2
            )
    assert caught.value.reason == "too_many_calls"
    assert ran == []
    assert route.call_count == 1


def test_a_turn_at_the_bound_runs_every_call(mock_api: respx.MockRouter) -> None:
    route = replies(mock_api, adds(3), completion_body("done"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        result = client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add], max_tool_calls_per_round=3
        )
    assert result.text == "done"
    assert ran == [0, 1, 2]
    assert route.call_count == 2


def test_the_default_bound_lets_a_large_turn_run(mock_api: respx.MockRouter) -> None:
    replies(mock_api, adds(64), completion_body("done"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert len(result.tool_calls) == 64


def test_the_default_bound_refuses_a_larger_turn(mock_api: respx.MockRouter) -> None:
    replies(mock_api, adds(65), completion_body("done"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallsRefusedError):
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert ran == []


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "8", None])
def test_a_bad_bound_is_refused_before_anything_is_sent(mock_api: respx.MockRouter, bad: Any) -> None:
    route = replies(mock_api, completion_body("done"))
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add], max_tool_calls_per_round=bad
        )
    assert caught.value.param == "max_tool_calls_per_round"
    assert route.call_count == 0


# --- duplicate ids ------------------------------------------------------------------------------------------------


def test_duplicate_ids_are_refused_before_any_tool_runs(mock_api: respx.MockRouter) -> None:
    route = replies(
        mock_api,
        calls_body(("dup", "add", '{"a": 1, "b": 2}'), ("dup", "add", '{"a": 3, "b": 4}')),
        completion_body("ok"),
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallsRefusedError) as caught:
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert caught.value.reason == "duplicate_ids"
    assert "'dup'" in str(caught.value)
    assert ran == []
    assert route.call_count == 1


async def test_async_duplicate_ids_are_refused_before_any_tool_runs(mock_api: respx.MockRouter) -> None:
    route = replies(
        mock_api,
        calls_body(("dup", "add", '{"a": 1, "b": 2}'), ("dup", "add", '{"a": 3, "b": 4}')),
        completion_body("ok"),
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(ToolCallsRefusedError) as caught:
            await client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert caught.value.reason == "duplicate_ids"
    assert ran == []
    assert route.call_count == 1


# --- credentials in a tool's failure --------------------------------------------------------------------------------


def test_a_rotated_key_credential_is_scrubbed_from_a_tool_error(mock_api: respx.MockRouter) -> None:
    rotated = "rotated-key-0123456789abcdef"

    @tool
    def quotes_rotated(x: int) -> int:
        raise RuntimeError(f"denied for {rotated}")

    route = replies(mock_api, calls_body(("c1", "quotes_rotated", '{"x": 1}')), completion_body("ok"))
    credential = AzureKeyCredential("old-key-0123456789abcdef")
    with GrokClient(endpoint=ENDPOINT, api_key=credential) as client:
        credential.update(rotated)
        result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[quotes_rotated])
    assert rotated not in route.calls[1].request.content.decode()
    assert result.tool_calls[0].content == "RuntimeError: denied for [redacted]"


def test_a_bearer_token_is_scrubbed_from_a_tool_error(mock_api: respx.MockRouter) -> None:
    @tool
    def quotes_token(x: int) -> int:
        raise RuntimeError(f"token was {TOKEN}")

    route = replies(mock_api, calls_body(("c1", "quotes_token", '{"x": 1}')), completion_body("ok"))
    with GrokClient(endpoint=ENDPOINT, credential=lambda: TOKEN) as client:
        result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[quotes_token])
    assert TOKEN not in route.calls[1].request.content.decode()
    assert TOKEN not in result.tool_calls[0].content


async def test_async_a_secret_extra_header_is_scrubbed_from_a_tool_error(mock_api: respx.MockRouter) -> None:
    @tool
    async def quotes_header(x: int) -> int:
        raise RuntimeError(f"sent {HEADER_SECRET}")

    route = replies(mock_api, calls_body(("c1", "quotes_header", '{"x": 1}')), completion_body("ok"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        result = await client.chat.completions.run_tools(
            model="grok-4",
            messages=MESSAGES,
            tools=[quotes_header],
            extra_headers={"x-gateway-token": HEADER_SECRET},
        )
    assert HEADER_SECRET not in route.calls[1].request.content.decode()
    assert HEADER_SECRET not in result.tool_calls[0].content


def test_the_key_in_a_tool_error_is_redacted_not_dropped(mock_api: respx.MockRouter) -> None:
    route = replies(mock_api, calls_body(("c1", "leaky", '{"x": 1}')), completion_body("ok"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[leaky])
    tool_message = json.loads(route.calls[1].request.content)["messages"][-1]
    assert tool_message["content"] == "RuntimeError: nested client said: bad key [redacted]"


def test_a_tool_error_quoting_the_key_chains_a_scrubbed_stand_in(mock_api: respx.MockRouter) -> None:
    replies(mock_api, calls_body(("c1", "leaky", '{"x": 1}')))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallError) as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[leaky], on_tool_error="raise"
        )
    cause = caught.value.__cause__
    assert type(cause) is RuntimeError
    assert str(cause) == "nested client said: bad key [redacted]"
    assert cause.__traceback__ is None
    assert KEY not in str(caught.value)


def test_a_tool_error_without_credentials_chains_the_original_with_its_traceback(
    mock_api: respx.MockRouter,
) -> None:
    replies(mock_api, calls_body(("c1", "plain_failure", '{"x": 1}')))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallError) as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[plain_failure], on_tool_error="raise"
        )
    cause = caught.value.__cause__
    assert type(cause) is ValueError
    assert str(cause) == "x is out of range"
    assert cause.__traceback__ is not None  # the tool's own frames, for debugging


# --- no tool outlives its run ---------------------------------------------------------------------------------------


async def test_cancelling_an_async_run_cancels_its_running_tools(mock_api: respx.MockRouter) -> None:
    started = asyncio.Event()
    finished: list[str] = []
    cancelled: list[str] = []

    @tool
    async def slow(x: int) -> int:
        started.set()
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise
        finished.append("slow")
        return x

    replies(
        mock_api, calls_body(("c1", "slow", '{"x": 1}'), ("c2", "slow", '{"x": 2}')), completion_body("ok")
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        run = asyncio.create_task(
            client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[slow])
        )
        await started.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert cancelled == ["slow", "slow"]  # both were cancelled and awaited before the run ended
    assert finished == []


async def test_a_tool_exception_does_not_cancel_its_siblings(mock_api: respx.MockRouter) -> None:
    # An ordinary exception is the tool's outcome, reported back: the other calls of the round still finish.
    @tool
    async def fails(x: int) -> int:
        raise ValueError("nope")

    @tool
    async def slow_ok(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    replies(
        mock_api,
        calls_body(("c1", "fails", '{"x": 1}'), ("c2", "slow_ok", '{"x": 2}')),
        completion_body("ok"),
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        result = await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[fails, slow_ok]
        )
    assert [c.content for c in result.tool_calls] == ["ValueError: nope", "2"]
