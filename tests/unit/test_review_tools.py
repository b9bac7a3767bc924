"""Hostile review of issue 9 (tools): each test here failed against the working tree when it was written.

Every test names the rule it checks; the report next to it says why it matters. Sync and async both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, GrokClient, GrokError, ToolCallError, tool

from .conftest import CHAT_URL, ENDPOINT, FIRST_EVENT, KEY, chunk, completion_body, sse
from .test_tools_runner import replies, sent

MESSAGES = [{"role": "user", "content": "go"}]
SSE_HEADERS = {"content-type": "text/event-stream"}
USAGE = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}

ran: list[str] = []


def calls_body(*calls: tuple[str, str, str]) -> dict[str, Any]:
    """A completion asking for ``calls`` (id, name, arguments) in one turn."""
    body = completion_body(None)
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
        for call_id, name, args in calls
    ]
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


@tool
def add(a: int, b: int) -> int:
    ran.append("add")
    return a + b


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


# --- 1. gateways that repeat the tool name in every fragment ----------------------------------------------------


def repeated_name_round() -> bytes:
    """One call whose arguments arrive in three fragments, each repeating id, type and name (as some gateways
    send them: every delta a full ``function`` object)."""
    pieces = ['{"a": 2,', ' "b"', ": 5}"]
    events: list[dict[str, Any] | str] = [FIRST_EVENT]
    for n, piece in enumerate(pieces):
        fragment = {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "add", "arguments": piece},
        }
        events.append(chunk(role="assistant" if n == 0 else None, tool_calls=[fragment]))
    events += [chunk(finish_reason="tool_calls"), USAGE, "[DONE]"]
    return sse(*events)


def answer_round(text: str = "7") -> bytes:
    return sse(FIRST_EVENT, chunk(text, role="assistant"), chunk(finish_reason="stop"), USAGE, "[DONE]")


def test_streamed_run_with_the_name_repeated_in_every_fragment_runs_the_tool(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, content=repeated_name_round(), headers=SSE_HEADERS),
            httpx.Response(200, content=answer_round(), headers=SSE_HEADERS),
        ]
    )
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add], stream=True) as run,
    ):
        result = run.get_final_result()
    record = result.tool_calls[0]
    assert record.name == "add", record.name  # not "addaddadd"
    assert record.ok, record.error
    assert ran == ["add"]
    assert sent(route, 1)["messages"][1]["tool_calls"][0]["function"]["name"] == "add"


async def test_async_streamed_run_with_the_name_repeated_in_every_fragment_runs_the_tool(
    mock_api: respx.MockRouter,
) -> None:
    mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, content=repeated_name_round(), headers=SSE_HEADERS),
            httpx.Response(200, content=answer_round(), headers=SSE_HEADERS),
        ]
    )
    async with (
        AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client,
        await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add], stream=True
        ) as run,
    ):
        result = await run.get_final_result()
    assert result.tool_calls[0].name == "add"
    assert result.tool_calls[0].ok
    assert ran == ["add"]


def test_plain_stream_with_the_name_repeated_in_every_fragment_keeps_the_name(
    mock_api: respx.MockRouter,
) -> None:
    # The accumulator itself (what stream().get_final_completion() and the runner both read).
    mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(200, content=repeated_name_round(), headers=SSE_HEADERS)
    )
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream,
    ):
        completion = stream.get_final_completion()
    call = completion.tool_calls[0]
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 2, "b": 5}


# --- 2. a model asking for 10,000 tool calls in one turn ---------------------------------------------------------

MANY = 10_000


def many_calls_body() -> dict[str, Any]:
    return calls_body(*((f"call_{i}", "add", '{"a": 1, "b": 1}') for i in range(MANY)))


def test_ten_thousand_tool_calls_in_one_turn_are_refused_not_run(mock_api: respx.MockRouter) -> None:
    # Memory and work must stay bounded whatever the server sends: 10,000 calls -> 10,000 tool runs, 10,000 tool
    # messages sent back (and kept in the transcript) is not bounded. Expected: a typed GrokError, few or no runs.
    route = replies(mock_api, many_calls_body(), completion_body("done"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(GrokError):
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert len(ran) < MANY
    assert route.call_count == 1


async def test_async_ten_thousand_tool_calls_in_one_turn_are_refused_not_run(
    mock_api: respx.MockRouter,
) -> None:
    # The async client would start 10,000 concurrent tasks (asyncio.gather, no limit).
    route = replies(mock_api, many_calls_body(), completion_body("done"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(GrokError):
            await client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    assert len(ran) < MANY
    assert route.call_count == 1


# --- 3. a tool that raises CancelledError: not swallowed, and its siblings are not leaked ------------------------


async def test_a_tool_raising_cancelled_error_does_not_leave_sibling_tools_running(
    mock_api: respx.MockRouter,
) -> None:
    finished: list[str] = []
    started = asyncio.Event()

    @tool
    async def slow(x: int) -> int:
        started.set()
        await asyncio.sleep(0.3)
        finished.append("slow")  # still running after run_tools returned: a leaked task
        return x

    @tool
    async def boom(x: int) -> int:
        await started.wait()
        raise asyncio.CancelledError

    replies(
        mock_api, calls_body(("c1", "slow", '{"x": 1}'), ("c2", "boom", '{"x": 2}')), completion_body("ok")
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(asyncio.CancelledError):  # held: not swallowed as a tool error
            await client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[slow, boom])
        await asyncio.sleep(0.5)
    assert finished == [], "a sibling tool kept running after run_tools had raised"


async def test_a_tool_raising_a_base_exception_does_not_leave_sibling_tools_running(
    mock_api: respx.MockRouter,
) -> None:
    class Abort(BaseException):
        pass

    finished: list[str] = []
    started = asyncio.Event()

    @tool
    async def slow(x: int) -> int:
        started.set()
        await asyncio.sleep(0.3)
        finished.append("slow")
        return x

    @tool
    async def abort(x: int) -> int:
        await started.wait()
        raise Abort

    replies(
        mock_api, calls_body(("c1", "slow", '{"x": 1}'), ("c2", "abort", '{"x": 2}')), completion_body("ok")
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(Abort):
            await client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[slow, abort])
        await asyncio.sleep(0.5)
    assert finished == [], "a sibling tool kept running after run_tools had raised"


# --- 4. closing a streamed run while its tools run: no further round ---------------------------------------------


def wait_round() -> bytes:
    """A streamed round asking for one call of the ``wait`` tool."""
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "wait", "arguments": '{"x": 1}'}}
    return sse(
        FIRST_EVENT,
        chunk(role="assistant", tool_calls=[call]),
        chunk(finish_reason="tool_calls"),
        USAGE,
        "[DONE]",
    )


def test_closing_a_tool_run_stream_from_another_thread_while_a_tool_runs_sends_no_more_rounds(
    mock_api: respx.MockRouter,
) -> None:
    # ToolRunStream.close() says "safe from another thread while one is iterating" and the module says "no more
    # rounds are sent". While the iterating thread is inside a tool, close() finds the generator running, closes the
    # (already finished) round-1 stream instead, and the run goes on to send round 2.
    in_tool = threading.Event()
    release = threading.Event()

    @tool
    def wait(x: int) -> int:
        in_tool.set()
        release.wait(5)
        return x

    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, content=wait_round(), headers=SSE_HEADERS),
            httpx.Response(200, content=answer_round(), headers=SSE_HEADERS),
        ]
    )
    errors: list[BaseException] = []
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        run = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[wait], stream=True)

        def consume() -> None:
            try:
                for _ in run:
                    pass
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=consume)
        worker.start()
        assert in_tool.wait(5)
        run.close()
        release.set()
        worker.join(5)
        assert not worker.is_alive()
    assert route.call_count == 1, f"{route.call_count} model calls: a round was sent after close()"
    assert all(isinstance(e, GrokError) for e in errors), errors


async def test_closing_an_async_tool_run_stream_from_another_task_while_a_tool_runs_sends_no_more_rounds(
    mock_api: respx.MockRouter,
) -> None:
    in_tool = asyncio.Event()
    release = asyncio.Event()

    @tool
    async def wait(x: int) -> int:
        in_tool.set()
        await release.wait()
        return x

    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, content=wait_round(), headers=SSE_HEADERS),
            httpx.Response(200, content=answer_round(), headers=SSE_HEADERS),
        ]
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        run = await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[wait], stream=True
        )

        async def consume() -> None:
            async for _ in run:
                pass

        task = asyncio.create_task(consume())
        await asyncio.wait_for(in_tool.wait(), 5)
        await run.close()
        release.set()
        with contextlib.suppress(GrokError):
            await asyncio.wait_for(task, 5)
    assert route.call_count == 1, f"{route.call_count} model calls: a round was sent after close()"


# --- 5. the client's api key never goes back to the model, nor into ToolCallError -------------------------------


@tool
def leaky(x: int) -> int:
    # A tool quoting a credential it was handed (a config dump, an auth failure of a nested client...).
    raise RuntimeError(f"auth failed with api-key {KEY}")


def test_the_api_key_in_a_tool_error_is_not_sent_to_the_model(mock_api: respx.MockRouter) -> None:
    route = replies(mock_api, calls_body(("c1", "leaky", '{"x": 1}')), completion_body("ok"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[leaky])
    assert KEY not in route.calls[1].request.content.decode()
    assert KEY not in result.tool_calls[0].content
    assert KEY not in repr(result)


async def test_async_the_api_key_in_a_tool_error_is_not_sent_to_the_model(mock_api: respx.MockRouter) -> None:
    route = replies(mock_api, calls_body(("c1", "leaky", '{"x": 1}')), completion_body("ok"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        await client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[leaky])
    assert KEY not in route.calls[1].request.content.decode()


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [item.__cause__, item.__context__]


def test_tool_call_error_and_its_chain_do_not_carry_the_api_key(mock_api: respx.MockRouter) -> None:
    replies(mock_api, calls_body(("c1", "leaky", '{"x": 1}')))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ToolCallError) as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[leaky], on_tool_error="raise"
        )
    for error in _chain(caught.value):
        assert KEY not in str(error), f"{type(error).__name__} in the chain quotes the api key"
        assert KEY not in repr(error.args)
    assert KEY not in caught.value.call.content
    assert KEY not in repr(caught.value.result)


# --- 6. duplicate tool-call ids: an ambiguous transcript must not be sent --------------------------------------


def test_duplicate_tool_call_ids_do_not_produce_two_results_for_one_id(mock_api: respx.MockRouter) -> None:
    # Two calls, one id: the runner sends two tool messages with tool_call_id "dup" (which one answers what?) and the
    # service rejects or mis-pairs them. Expected: a typed GrokError before round 2, or ids made unambiguous.
    route = replies(
        mock_api,
        calls_body(("dup", "add", '{"a": 1, "b": 2}'), ("dup", "add", '{"a": 3, "b": 4}')),
        completion_body("ok"),
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        try:
            client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
        except GrokError:
            assert route.call_count == 1
            return
    second = sent(route, 1)["messages"]
    ids = [m["tool_call_id"] for m in second if m["role"] == "tool"]
    assert len(ids) == len(set(ids)), f"tool messages share an id: {ids}"
