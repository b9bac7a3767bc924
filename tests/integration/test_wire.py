"""What the client puts on the wire, as the emulator recorded it, and what it never lets out (the key)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from grok_azure import (
    DEFAULT_MODEL_INFERENCE_API_VERSION,
    AsyncGrokClient,
    GrokClient,
    RateLimitError,
    StreamError,
)
from grok_azure.testing import Fault, FoundryEmulator

from ._support import Driver, Target, sent_body, user

pytestmark = pytest.mark.integration

CHAT_PATHS = {"openai_v1": "/openai/v1/chat/completions", "model_inference": "/models/chat/completions"}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
        },
    }
]


async def test_path_api_version_and_headers(
    chat: Driver, emu: FoundryEmulator, target: Target, route: str
) -> None:
    await chat.create(model="chat", messages=user())

    sent = emu.requests[-1]
    assert sent.path == CHAT_PATHS[route]
    if route == "model_inference":
        assert sent.query == {"api-version": DEFAULT_MODEL_INFERENCE_API_VERSION}
    else:
        assert sent.query == {}
    assert sent.headers["api-key"] == target.api_key
    assert "authorization" not in sent.headers
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"].startswith("grok-azure/")
    uuid.UUID(sent.headers["x-ms-client-request-id"])
    assert "extra-parameters" not in sent.headers, "a body within the /models spec needs no pass-through"


async def test_every_request_gets_its_own_client_request_id(chat: Driver, emu: FoundryEmulator) -> None:
    await chat.create(model="chat", messages=user())
    await chat.create(model="chat", messages=user())

    ids = {r.headers["x-ms-client-request-id"] for r in emu.requests}
    assert len(ids) == 2


async def test_body_carries_exactly_the_given_fields(chat: Driver, emu: FoundryEmulator) -> None:
    await chat.create(
        model="chat",
        messages=[{"role": "system", "content": "Be brief."}, *user("What time is it in Paris?")],
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        tools=TOOLS,
        tool_choice="auto",
        response_format="text",
        extra_headers={"x-test-header": "yes"},
    )

    sent = emu.requests[-1]
    assert sent.json == {
        "model": "chat",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What time is it in Paris?"},
        ],
        "max_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "tools": TOOLS,
        "tool_choice": "auto",
        "response_format": {"type": "text"},
    }
    assert sent.headers["x-test-header"] == "yes"


@pytest.mark.parametrize(
    ("params", "pass_through"),
    [
        ({"reasoning_effort": "low"}, True),
        ({"stream": True}, False),
        ({"stream": True, "stream_options": {"include_usage": True}}, True),
        ({"user": "tester-1"}, True),
        ({"extra_body": {"max_completion_tokens": 30}}, True),
        ({"max_tokens": 20, "temperature": 0.5}, False),
    ],
)
async def test_models_route_asks_for_pass_through_only_for_fields_outside_its_spec(
    chat: Driver, emu: FoundryEmulator, route: str, params: dict[str, Any], pass_through: bool
) -> None:
    if params.get("stream"):
        await chat.create_stream(
            model="reasoner", messages=user(), **{k: v for k, v in params.items() if k != "stream"}
        )
    else:
        await chat.create(model="reasoner", messages=user(), **params)

    sent = emu.requests[-1]
    assert sent.status == 200
    if route == "model_inference" and pass_through:
        assert sent.headers["extra-parameters"] == "pass-through"
    else:
        assert "extra-parameters" not in sent.headers
    assert sent.dropped_parameters == ()


async def test_stream_manager_asks_for_usage_and_pass_through_on_models(
    chat: Driver, emu: FoundryEmulator, route: str
) -> None:
    await chat.stream(model="chat", messages=user())

    sent = emu.requests[-1]
    assert sent_body(emu)["stream"] is True
    assert sent_body(emu)["stream_options"] == {"include_usage": True}
    assert sent.headers["accept"] == "text/event-stream"
    assert ("extra-parameters" in sent.headers) == (route == "model_inference")


async def test_client_api_version_and_extra_query_reach_the_url(target: Target, emu: FoundryEmulator) -> None:
    options = {**target.client_options("model_inference"), "api_version": "2025-04-01"}
    with GrokClient(**options) as client:
        client.chat.completions.create(model="chat", messages=user(), extra_query={"trace": "1"})
    async with AsyncGrokClient(**target.client_options("openai_v1"), api_version="preview") as aclient:
        await aclient.chat.completions.create(model="chat", messages=user())

    assert [r.query for r in emu.requests] == [
        {"api-version": "2025-04-01", "trace": "1"},
        {"api-version": "preview"},
    ]


async def test_default_headers_and_with_options_are_sent(
    target: Target, emu: FoundryEmulator, route: str
) -> None:
    with GrokClient(**target.client_options(route), default_headers={"x-team": "a"}) as client:
        client.with_options(default_headers={"x-run": "2"}).chat.completions.create(
            model="chat", messages=user()
        )
        client.chat.completions.create(model="chat", messages=user())

    first, second = emu.requests
    assert (first.headers["x-team"], first.headers["x-run"]) == ("a", "2")
    assert second.headers["x-team"] == "a"
    assert "x-run" not in second.headers


async def test_the_key_appears_in_no_log_record_and_no_exception(
    chat: Driver, emu: FoundryEmulator, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    key = target.api_key
    assert key is not None
    caught: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        await chat.create(model="chat", messages=user())
        await chat.stream(model="chat", messages=user())
        emu.fault(Fault.rate_limited())
        with pytest.raises(RateLimitError) as rate_limited:
            await chat.create(model="chat", messages=user())
        caught.append(rate_limited.value)
        emu.fault(Fault.error_event(after_chunks=2))
        with pytest.raises(StreamError) as stream_error:
            await chat.stream(model="chat", messages=user())
        caught.append(stream_error.value)

    assert caplog.records, "httpx logs each request; the check must have something to look at"
    for record in caplog.records:
        assert key not in record.getMessage()
        assert key not in repr(record.args)
    for exc in caught:
        assert key not in str(exc)
        assert key not in repr(exc)
        request = getattr(exc, "request", None)
        if request is not None:
            assert key not in repr(list(request.headers.items()))
    assert key not in repr(rate_limited.value.response.request.headers if rate_limited.value.response else "")
    assert emu.requests[0].headers["api-key"] == key  # it was sent, just never logged
    assert key not in repr(emu.requests[0])
