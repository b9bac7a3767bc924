"""Review follow-up: inputs that escaped as raw errors, or went out as bad requests, are refused before sending."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, GrokClient, GrokError, RequestValidationError

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
HIDDEN = "hidden-credential-0123456789"

# (arguments of create(), the param the error must name)
BAD_CALLS: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": "user", "content": "bad \ud800 text"}]}, "messages[0].content"),
    (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "x\udfff"}]}]},
        "messages[0].content[0].text",
    ),
    ({"extra_body": {"x": {1, 2}}}, "extra_body.x"),
    ({"extra_body": {"x": b"bytes"}}, "extra_body.x"),
    ({"extra_body": {"x": object()}}, "extra_body.x"),
    ({"extra_body": {"x": float("nan")}}, "extra_body.x"),
    ({"extra_body": {"a": {"b": [1, float("inf")]}}}, "extra_body.a.b[1]"),
    ({"extra_body": {"a": {("tuple", "key"): 1}}}, "extra_body.a"),
    (
        {
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object", "maximum": float("nan")}},
                }
            ]
        },
        "tools[0].function.parameters",
    ),
    ({"extra_headers": [("x-a", "b")]}, "extra_headers"),
    ({"extra_headers": "x-a: b"}, "extra_headers"),
    ({"extra_query": "a=b"}, "extra_query"),
    ({"extra_query": [("a", "b")]}, "extra_query"),
    ({"extra_query": {"a": "b\r\nc"}}, "extra_query"),
    ({"extra_query": {"a": None}}, "extra_query"),
    ({"extra_query": {"a": object()}}, "extra_query"),
    ({"extra_query": {"a": float("nan")}}, "extra_query"),
    ({"extra_query": {"a": ["ok", None]}}, "extra_query"),
    ({"timeout": float("nan")}, "timeout"),
    ({"timeout": float("inf")}, "timeout"),
    ({"timeout": -1}, "timeout"),
    ({"timeout": httpx.Timeout(-1)}, "timeout"),
    ({"timeout": httpx.Timeout(5.0, read=float("nan"))}, "timeout"),
    ({"timeout": httpx.Timeout(5.0, connect=float("inf"))}, "timeout"),
]
IDS = [f"{param}-{index}" for index, (_, param) in enumerate(BAD_CALLS)]


def _call(arguments: dict[str, Any]) -> dict[str, Any]:
    return {"model": "grok-4", "messages": MESSAGES, **arguments}


@pytest.mark.parametrize(("arguments", "param"), BAD_CALLS, ids=IDS)
def test_bad_input_is_refused_before_sending(
    mock_api: respx.MockRouter, arguments: dict[str, Any], param: str
) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError) as info:
        client.chat.completions.create(**_call(arguments))
    assert info.value.param is not None
    assert info.value.param.startswith(param), info.value.param
    assert not route.called


@pytest.mark.parametrize(("arguments", "param"), BAD_CALLS, ids=IDS)
def test_bad_input_is_refused_before_streaming(
    mock_api: respx.MockRouter, arguments: dict[str, Any], param: str
) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, content=b"data: [DONE]\n\n")
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError) as info:
        for _ in client.chat.completions.create(**_call(arguments), stream=True):
            pass
    assert info.value.param is not None
    assert info.value.param.startswith(param)
    assert not route.called


@pytest.mark.parametrize(("arguments", "param"), BAD_CALLS, ids=IDS)
async def test_async_bad_input_is_refused_before_sending(
    mock_api: respx.MockRouter, arguments: dict[str, Any], param: str
) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(RequestValidationError) as info:
            await client.chat.completions.create(**_call(arguments))
    assert info.value.param is not None
    assert info.value.param.startswith(param)
    assert not route.called


def test_a_bad_query_value_is_not_quoted(mock_api: respx.MockRouter) -> None:
    # A query parameter may be a credential (a SAS signature): the error names it, never its value.
    mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError) as info:
        client.chat.completions.create(**_call({"extra_query": {"sig": HIDDEN + "\r\n"}}))
    assert HIDDEN not in str(info.value)
    assert "sig" in str(info.value)
    assert "control character" in str(info.value)


def test_bad_input_raised_from_a_thread_is_still_a_grok_error(mock_api: respx.MockRouter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(client.chat.completions.create, **_call(arguments)) for arguments, _ in BAD_CALLS[:8]
        ]
        errors = [future.exception() for future in futures]
    assert all(isinstance(error, RequestValidationError) for error in errors), errors
    assert not route.called


# --- what is valid still goes out -----------------------------------------------------------------------


def test_valid_unusual_input_is_sent_as_given(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    extra_body = {"nested": {"list": [1, 2.5, True, None, "é ☃ 𝄞"], "tuple": (1, 2)}, "n": 10**30}
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="grok-4",
            messages=[{"role": "user", "content": "non-ASCII is fine: é ☃ 𝄞 \U0001f600"}],
            extra_body=extra_body,
            extra_query={"a": 1, "b": ["x", "y"], "c": "plain", "d": 2.5},
            timeout=httpx.Timeout(5.0, pool=None),
        )
    sent = route.calls.last.request
    body = json.loads(sent.content)
    assert body["messages"][0]["content"] == "non-ASCII is fine: é ☃ 𝄞 \U0001f600"
    assert body["nested"] == {"list": [1, 2.5, True, None, "é ☃ 𝄞"], "tuple": [1, 2]}
    assert body["n"] == 10**30
    params = sent.url.params
    assert params.get_list("b") == ["x", "y"]
    assert (params["a"], params["c"], params["d"]) == ("1", "plain", "2.5")


async def test_async_valid_unusual_input_is_sent_as_given(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        completion = await client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "é"}], extra_body={"x": [1.5]}, timeout=3
        )
    assert completion.choices[0].message.content == "Hello!"
    assert json.loads(route.calls.last.request.content)["x"] == [1.5]


def test_the_error_is_usable_after_it_is_raised(mock_api: respx.MockRouter) -> None:
    # A refused call leaves the client working: the next, valid call goes out.
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        with pytest.raises(GrokError):
            client.chat.completions.create(**_call({"extra_body": {"x": {1}}}))
        assert client.chat.completions.create(**_call({})).choices[0].message.content == "Hello!"
    assert route.call_count == 1
