"""``chat.completions.run_tools`` over respx: rounds, parallel calls, errors, max_rounds, sync and async."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from grok_azure import (
    AsyncGrokClient,
    GrokClient,
    RequestValidationError,
    ToolCallError,
    ToolRoundsExceededError,
    tool,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "What is the weather in Paris and Oslo?"}]


def calls_body(*calls: tuple[str, str | dict[str, Any]], tokens: int = 7) -> dict[str, Any]:
    """A completion asking for ``calls`` (name, arguments) in one turn."""
    tool_calls = [
        {
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
        }
        for index, (name, args) in enumerate(calls)
    ]
    body = completion_body(None)
    body["choices"][0]["message"]["tool_calls"] = tool_calls
    body["choices"][0]["finish_reason"] = "tool_calls"
    body["usage"] = {"prompt_tokens": tokens, "completion_tokens": 2, "total_tokens": tokens + 2}
    return body


def replies(mock_api: respx.MockRouter, *bodies: dict[str, Any]) -> respx.Route:
    return mock_api.post(CHAT_URL).mock(side_effect=[httpx.Response(200, json=body) for body in bodies])


def sent(route: respx.Route, index: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


class Forecast(BaseModel):
    city: str
    celsius: float


ran: list[str] = []


@tool
def get_weather(city: str) -> Forecast:
    """The weather in a city."""
    ran.append(f"weather:{city}")
    return Forecast(city=city, celsius=21.5)


@tool
def add(a: int, b: int) -> int:
    ran.append("add")
    return a + b


@tool
def fail(reason: str) -> str:
    ran.append("fail")
    raise ValueError(f"cannot do it: {reason}")


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


@pytest.fixture
def client() -> Iterator[GrokClient]:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as c:
        yield c


def test_parallel_calls_run_and_their_results_go_back_in_order(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    route = replies(
        mock_api,
        calls_body(
            ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"}), ("add", {"a": 1, "b": 2})
        ),
        completion_body("Paris 21.5, Oslo 21.5"),
    )
    result = client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[get_weather, add], temperature=0.2
    )
    assert result.text == "Paris 21.5, Oslo 21.5"
    assert ran == ["weather:Paris", "weather:Oslo", "add"]
    first, second = sent(route, 0), sent(route, 1)
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather", "add"]
    assert first["temperature"] == second["temperature"] == 0.2
    assert second["messages"][0] == MESSAGES[0]
    assert second["messages"][1]["role"] == "assistant"
    assert len(second["messages"][1]["tool_calls"]) == 3
    assert second["messages"][2:] == [
        {"role": "tool", "tool_call_id": "call_0", "content": '{"city":"Paris","celsius":21.5}'},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"city":"Oslo","celsius":21.5}'},
        {"role": "tool", "tool_call_id": "call_2", "content": "3"},
    ]
    # The transcript: every message, every call with its output, each round's usage.
    assert result.messages[:5] == second["messages"]
    assert result.messages[5] == {"role": "assistant", "content": "Paris 21.5, Oslo 21.5"}
    assert [r.number for r in result.rounds] == [1, 2]
    assert [c.output for c in result.tool_calls] == [
        Forecast(city="Paris", celsius=21.5),
        Forecast(city="Oslo", celsius=21.5),
        3,
    ]
    assert all(c.ok for c in result.tool_calls)
    assert result.rounds[1].tool_calls == ()
    assert result.rounds[0].usage is not None
    assert result.rounds[0].usage.prompt_tokens == 7
    assert result.completion.text == result.text


def test_a_plain_function_is_made_a_tool(mock_api: respx.MockRouter, client: GrokClient) -> None:
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    route = replies(mock_api, calls_body(("multiply", {"a": 6, "b": 7})), completion_body("42"))
    result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[multiply])
    assert result.tool_calls[0].content == "42"
    assert sent(route, 0)["tools"][0]["function"]["description"] == "Multiply two numbers."


def test_a_failing_tool_is_reported_to_the_model_without_traceback(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    route = replies(mock_api, calls_body(("fail", {"reason": "no"})), completion_body("Sorry"))
    result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[fail])
    record = result.tool_calls[0]
    assert record.error_kind == "tool_error"
    assert not record.ok
    assert record.output is None
    assert record.content == record.error == "ValueError: cannot do it: no"
    assert sent(route, 1)["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": record.content,
    }
    assert "Traceback" not in route.calls[1].request.content.decode()


def test_credentials_in_a_tool_error_are_scrubbed(mock_api: respx.MockRouter, client: GrokClient) -> None:
    @tool
    def fetch(url: str) -> str:
        raise ConnectionError(
            "GET https://user:hunter2@example.com/?sig=SECRETSIG failed; Bearer abc.def.ghi"
        )

    route = replies(mock_api, calls_body(("fetch", {"url": "x"})), completion_body("ok"))
    client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[fetch])
    sent_text = route.calls[1].request.content.decode()
    assert "hunter2" not in sent_text
    assert "SECRETSIG" not in sent_text
    assert "abc.def.ghi" not in sent_text
    assert "ConnectionError: GET https://user:" in sent_text


def test_on_tool_error_raise_raises_with_the_cause_and_the_transcript(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    route = replies(mock_api, calls_body(("fail", {"reason": "no"}), ("add", {"a": 1, "b": 1})))
    with pytest.raises(ToolCallError, match="cannot do it: no") as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[fail, add], on_tool_error="raise"
        )
    error = caught.value
    assert isinstance(error.__cause__, ValueError)
    assert error.call.name == "fail"
    assert error.call.error_kind == "tool_error"
    assert ran == ["fail", "add"]  # the round ran to its end: every call is in the transcript
    assert [c.name for c in error.result.tool_calls] == ["fail", "add"]
    assert error.result.messages[-1]["role"] == "tool"
    assert route.call_count == 1  # nothing more was sent


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"a": 1, "b": "two"}, "Invalid arguments for add: b: Input should be a valid integer"),
        ({"a": 1}, "Invalid arguments for add: b: Field required"),
        ({"a": 1, "b": 2, "c": 3}, "Invalid arguments for add: c: Extra inputs are not permitted"),
        ('{"a": 1, "b": ', "Invalid arguments for add: Invalid JSON"),
    ],
)
def test_invalid_arguments_are_reported_and_the_tool_does_not_run(
    mock_api: respx.MockRouter, client: GrokClient, arguments: Any, expected: str
) -> None:
    route = replies(mock_api, calls_body(("add", arguments)), completion_body("ok"))
    result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add])
    record = result.tool_calls[0]
    assert record.error_kind == "invalid_arguments"
    assert record.content.startswith(expected)
    assert "errors.pydantic.dev" not in record.content
    assert ran == []
    assert sent(route, 1)["messages"][-1]["content"] == record.content


def test_invalid_arguments_raise_before_any_tool_of_the_round_runs(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    replies(mock_api, calls_body(("get_weather", {"city": "Paris"}), ("add", {"a": "x", "b": 1})))
    with pytest.raises(ToolCallError, match="Invalid arguments for add") as caught:
        client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[get_weather, add], on_tool_error="raise"
        )
    assert ran == []
    assert caught.value.call.error_kind == "invalid_arguments"
    assert type(caught.value.__cause__).__name__ == "ValidationError"


@pytest.mark.parametrize("mode", ["report", "raise"])
def test_an_unknown_tool_is_reported_never_raised(
    mock_api: respx.MockRouter, client: GrokClient, mode: Any
) -> None:
    route = replies(
        mock_api, calls_body(("delete_everything", {}), ("add", {"a": 2, "b": 2})), completion_body("ok")
    )
    result = client.chat.completions.run_tools(
        model="grok-4", messages=MESSAGES, tools=[add], on_tool_error=mode
    )
    unknown, known = result.tool_calls
    assert unknown.error_kind == "unknown_tool"
    assert unknown.name == "delete_everything"
    assert unknown.content == "Unknown tool 'delete_everything': the available tools are add"
    assert known.content == "4"
    assert sent(route, 1)["messages"][-2]["content"] == unknown.content


def test_a_result_that_cannot_be_json_encoded_is_a_tool_error(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    @tool
    def opaque() -> object:
        return object()

    replies(mock_api, calls_body(("opaque", {})), completion_body("ok"))
    result = client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[opaque])
    assert result.tool_calls[0].error_kind == "tool_error"
    assert "could not be encoded as JSON" in result.tool_calls[0].content


def test_max_rounds_raises_with_the_transcript_and_does_not_run_the_last_calls(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    route = replies(mock_api, *[calls_body(("add", {"a": n, "b": 1})) for n in range(3)])
    with pytest.raises(ToolRoundsExceededError, match="max_rounds=2") as caught:
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add], max_rounds=2)
    assert route.call_count == 2
    assert ran == ["add"]  # round 1's call; round 2's was not run
    result = caught.value.result
    assert caught.value.max_rounds == 2
    assert [len(r.tool_calls) for r in result.rounds] == [1, 0]
    assert result.completion.tool_calls[0].function.arguments == '{"a": 1, "b": 1}'


def test_tool_choice_steers_the_first_round_only(mock_api: respx.MockRouter, client: GrokClient) -> None:
    route = replies(mock_api, calls_body(("add", {"a": 1, "b": 1})), completion_body("2"))
    client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[add], tool_choice="required")
    assert sent(route, 0)["tool_choice"] == "required"
    assert "tool_choice" not in sent(route, 1)
    assert sent(route, 1)["tools"] == sent(route, 0)["tools"]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"max_rounds": 0}, "max_rounds"),
        ({"max_rounds": True}, "max_rounds"),
        ({"on_tool_error": "ignore"}, "on_tool_error"),
        ({"n": 2}, "n"),
        ({"tools": []}, "tools"),
        ({"tools": "add"}, "tools"),
        ({"tools": [add.to_param()]}, "tools[0]"),
        ({"tools": [add, tool(name="add")(add.function)]}, "tools[1]"),
        ({"temperature": 9}, "temperature"),
        ({"messages": [{"role": "usr", "content": "x"}]}, None),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(
    mock_api: respx.MockRouter, client: GrokClient, kwargs: dict[str, Any], param: str | None
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    arguments: dict[str, Any] = {"model": "grok-4", "messages": MESSAGES, "tools": [add], **kwargs}
    with pytest.raises(RequestValidationError) as caught:
        client.chat.completions.run_tools(**arguments)
    if param is not None:
        assert caught.value.param == param
    with pytest.raises(RequestValidationError):
        client.chat.completions.run_tools(stream=True, **arguments)  # a streamed run checks up front too
    assert route.call_count == 0


def test_the_sync_client_refuses_an_async_tool_before_sending(
    mock_api: respx.MockRouter, client: GrokClient
) -> None:
    @tool
    async def lookup(key: str) -> str:
        return key

    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with pytest.raises(RequestValidationError, match="'lookup' is async: run it with AsyncGrokClient"):
        client.chat.completions.run_tools(model="grok-4", messages=MESSAGES, tools=[lookup])
    assert route.call_count == 0


# --- async ---------------------------------------------------------------------------------------------


async def test_async_tools_of_one_round_run_concurrently(mock_api: respx.MockRouter) -> None:
    # Each tool waits for the other to have started: run one after the other, the first would time out.
    started = {"paris": asyncio.Event(), "oslo": asyncio.Event()}

    @tool
    async def slow_weather(city: str) -> str:
        started[city].set()
        other = "oslo" if city == "paris" else "paris"
        await asyncio.wait_for(started[other].wait(), timeout=5)
        return f"sunny in {city}"

    route = replies(
        mock_api,
        calls_body(("slow_weather", {"city": "paris"}), ("slow_weather", {"city": "oslo"})),
        completion_body("Both sunny"),
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        result = await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[slow_weather]
        )
    assert [c.content for c in result.tool_calls] == ["sunny in paris", "sunny in oslo"]
    assert [m["content"] for m in sent(route, 1)["messages"][2:]] == ["sunny in paris", "sunny in oslo"]
    assert result.text == "Both sunny"


async def test_async_client_runs_sync_and_async_tools_and_reports_failures(
    mock_api: respx.MockRouter,
) -> None:
    @tool
    async def broken(x: int) -> int:
        raise KeyError("missing")

    route = replies(
        mock_api,
        calls_body(("add", {"a": 2, "b": 3}), ("broken", {"x": 1}), ("ghost", {})),
        completion_body("done"),
    )
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        result = await client.chat.completions.run_tools(
            model="grok-4", messages=MESSAGES, tools=[add, broken]
        )
    assert [c.error_kind for c in result.tool_calls] == [None, "tool_error", "unknown_tool"]
    assert [m["content"] for m in sent(route, 1)["messages"][2:]] == [
        "5",
        "KeyError: 'missing'",
        "Unknown tool 'ghost': the available tools are add, broken",
    ]


async def test_async_raise_mode_and_max_rounds(mock_api: respx.MockRouter) -> None:
    @tool
    async def broken(x: int) -> int:
        raise RuntimeError("down")

    replies(mock_api, calls_body(("broken", {"x": 1})), calls_body(("add", {"a": 1, "b": 1})))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(ToolCallError, match="RuntimeError: down") as caught:
            await client.chat.completions.run_tools(
                model="grok-4", messages=MESSAGES, tools=[broken], on_tool_error="raise"
            )
        assert isinstance(caught.value.__cause__, RuntimeError)
        with pytest.raises(ToolRoundsExceededError):
            await client.chat.completions.run_tools(
                model="grok-4", messages=MESSAGES, tools=[add], max_rounds=1
            )
    assert ran == []
