"""The static types promise nothing the runtime refuses, and the runtime stays as lenient as before.

tests/typing/chat_params_accepted.py is the file of correct calls mypy must accept (tests/unit/test_typing.py);
here the same functions run against a mocked endpoint, so every form the types accept is also sent. The rest
checks that the stricter types changed no runtime decision: values outside the static types but accepted before
(a reasoning effort no source ruled out, untyped dicts, azure enums, tuples) are still sent unchanged.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx
from azure.ai.inference import models as azure_models

from grok_azure import AsyncGrokClient, GrokClient, RequestValidationError
from grok_azure.types import ChatCompletionMessage

from .conftest import CHAT_URL, ENDPOINT, FIRST_EVENT, KEY, chunk, completion_body, sse

ACCEPTED_PATH = Path(__file__).parent.parent / "typing" / "chat_params_accepted.py"


def _load_accepted() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_params_accepted", ACCEPTED_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ACCEPTED = _load_accepted()


def _answer(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("stream"):
        body = sse(FIRST_EVENT, chunk("Hi", role="assistant"), chunk(finish_reason="stop"), "[DONE]")
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=completion_body())


@pytest.fixture
def chat_route(mock_api: respx.MockRouter) -> respx.Route:
    return mock_api.post(CHAT_URL).mock(side_effect=_answer)


def _requests_made_by(function: Any) -> int:
    # The accepted file makes one request per `client.chat.completions.` and uses no loops (its docstring says so).
    return inspect.getsource(function).count("client.chat.completions.")


def _bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


@pytest.mark.parametrize("name", ["sync_create", "sync_stream"])
def test_every_statically_accepted_sync_call_is_sent(chat_route: respx.Route, name: str) -> None:
    function = getattr(ACCEPTED, name)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        function(client)
    assert chat_route.call_count == _requests_made_by(function) > 0
    assert all(body["model"] == "m" and body["messages"] for body in _bodies(chat_route))


@pytest.mark.parametrize("name", ["async_create", "async_stream"])
async def test_every_statically_accepted_async_call_is_sent(chat_route: respx.Route, name: str) -> None:
    function = getattr(ACCEPTED, name)
    async with (
        httpx.AsyncClient() as http,
        AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http) as client,
    ):
        await function(client)
    assert chat_route.call_count == _requests_made_by(function) > 0


def test_none_means_not_sent(chat_route: respx.Route) -> None:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Hi"}],
            temperature=None,
            tools=None,
            tool_choice=None,
            response_format=None,
            reasoning_effort=None,
            stop=None,
            extra_body=None,
            extra_headers=None,
            extra_query=None,
        )
    assert set(_bodies(chat_route)[0]) == {"model", "messages"}


def test_tuples_where_the_types_say_sequence_are_sent_as_lists(chat_route: respx.Route) -> None:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": ({"type": "text", "text": "Hi"},)}],
            stop=("END", "STOP"),
        )
    body = _bodies(chat_route)[0]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["stop"] == ["END", "STOP"]


# --- the runtime did not get stricter with the types ------------------------------------------------------


def test_a_reasoning_effort_outside_the_literal_is_still_sent(chat_route: respx.Route) -> None:
    # No source rules "minimal" out for every Grok model; the server decides, not the SDK.
    effort: Any = "minimal"
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], reasoning_effort=effort
        )
    assert _bodies(chat_route)[0]["reasoning_effort"] == "minimal"


def test_untyped_code_keeps_working(chat_route: respx.Route) -> None:
    # A plain list of plain dicts (what untyped code and JSON-loaded histories hold), azure's enum preset and
    # a response message all still convert, although only some of them fit the static types.
    messages: Any = json.loads('[{"role": "user", "content": "Hi"}]')
    tools: Any = [{"type": "function", "function": {"name": "f"}}]
    history: Any = [*messages, ChatCompletionMessage(content="Hello"), {"role": "user", "content": "Again"}]
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="m", messages=messages, tools=tools, tool_choice="AUTO")
        client.chat.completions.create(
            model="m",
            messages=history,
            tools=tools,
            tool_choice=azure_models.ChatCompletionsToolChoicePreset.REQUIRED,
        )
    first, second = _bodies(chat_route)
    assert first["tool_choice"] == "auto"
    assert second["tool_choice"] == "required"
    assert second["messages"][1] == {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"tool_choice": 42}, "tool_choice"),
        ({"response_format": 3.14}, "response_format"),
        ({"reasoning_effort": ""}, "reasoning_effort"),
        ({"messages": [{"role": "usr", "content": "Hi"}]}, "messages[0].role"),
        ({"tools": [{"name": "f"}]}, "tools[0]"),
    ],
)
def test_the_issue_examples_are_still_refused_at_runtime_for_untyped_callers(
    chat_route: respx.Route, kwargs: dict[str, Any], param: str
) -> None:
    # The type checker catches these first; code it does not check still gets a typed error and sends nothing.
    arguments: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], **kwargs}
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.create(model="m", **arguments)
    assert caught.value.param == param
    assert not chat_route.called
