"""Requests the service rejects for the deployed model reach the caller as typed errors with its message.

The emulator applies each model's catalog rules as Foundry does. ``/openai/v1`` answers OpenAI's 400 body;
``/models`` answers the documented 422 ``parameter_not_supported`` body for an unsupported parameter or value,
with the specific reason in ``details``. Inputs that are wrong for every model are refused by the client
before anything is sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from grok_azure import APIStatusError, BadRequestError, RequestValidationError, UnprocessableEntityError
from grok_azure.testing import FoundryEmulator

from ._support import Driver, Target, open_driver, sent_body, user

pytestmark = pytest.mark.integration

UNSUPPORTED = [
    # (deployment, parameters, offending parameter, the service's reason)
    (
        "grok-4",
        {"reasoning_effort": "high"},
        "reasoning_effort",
        "does not support parameter reasoning_effort",
    ),
    (
        "reasoner",
        {"presence_penalty": 0.5},
        "presence_penalty",
        "does not support parameter presence_penalty",
    ),
    (
        "grok-4",
        {"frequency_penalty": 0.5},
        "frequency_penalty",
        "does not support parameter frequency_penalty",
    ),
    ("grok-4", {"stop": ["END"]}, "stop", "does not support parameter stop"),
    (
        "reasoner",
        {"reasoning_effort": "none"},
        "reasoning_effort",
        "Model grok-4.7 supports: 'low', 'medium', 'high', 'xhigh'",
    ),
    ("chat", {"n": 2}, "n", "does not support n > 1"),
]


def assert_unsupported(exc: APIStatusError, route: str, param: str, reason: str) -> None:
    if route == "openai_v1":
        assert isinstance(exc, BadRequestError)
        assert exc.status_code == 400
        assert exc.param == param
        assert reason in exc.message
    else:
        assert isinstance(exc, UnprocessableEntityError)
        assert exc.status_code == 422
        assert exc.code == "parameter_not_supported"
        # The route's generic message, then the specific reason from Azure's details list; the parameter from loc.
        assert exc.message.startswith("One of the parameters contain invalid values.")
        assert reason in exc.message
        assert exc.param == param
        body: Any = exc.body
        assert body["error"]["detail"]["loc"] == ["body", param]
        assert reason in body["error"]["details"][0]["message"]
    assert exc.request_id


@pytest.mark.parametrize(("deployment", "params", "param", "reason"), UNSUPPORTED)
async def test_parameter_the_model_does_not_support_is_a_typed_error_with_the_service_reason(
    chat: Driver,
    emu: FoundryEmulator,
    route: str,
    deployment: str,
    params: dict[str, Any],
    param: str,
    reason: str,
) -> None:
    with pytest.raises(APIStatusError) as caught:
        await chat.create(model=deployment, messages=user(), **params)

    assert_unsupported(caught.value, route, param, reason)
    assert emu.requests[-1].status == caught.value.status_code


async def test_unsupported_parameter_is_rejected_when_streaming_too(
    chat: Driver, emu: FoundryEmulator, route: str
) -> None:
    with pytest.raises(APIStatusError) as caught:
        await chat.stream(model="grok-4", messages=user(), reasoning_effort="low")

    assert_unsupported(caught.value, route, "reasoning_effort", "does not support parameter reasoning_effort")


async def test_image_input_to_a_text_only_model_is_rejected(
    chat: Driver, emu: FoundryEmulator, route: str
) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}]

    with pytest.raises(APIStatusError) as caught:
        await chat.create(model="coder", messages=messages)

    assert caught.value.status_code == (400 if route == "openai_v1" else 422)
    assert "Image inputs are not supported by model grok-code-fast-1" in str(caught.value.body)


async def test_max_tokens_above_the_model_limit_is_a_bad_request(
    chat: Driver, emu: FoundryEmulator, target: Target, route: str
) -> None:
    # The client refuses this itself (a stated limit; see test_model_checks.py): validate=False shows the service's
    # own answer.
    async with open_driver(chat.kind, **target.client_options(route), validate=False) as unchecked:
        with pytest.raises(BadRequestError) as caught:
            await unchecked.create(model="grok-4", messages=user(), max_tokens=9000)

    assert caught.value.status_code == 400
    assert caught.value.param == "max_tokens"
    assert "This model supports at most 8192 completion tokens" in caught.value.message


async def test_supported_reasoning_effort_is_accepted(chat: Driver, emu: FoundryEmulator) -> None:
    completion = await chat.create(model="reasoner", messages=user("hi"), reasoning_effort="low")

    assert completion.text == "Echo: hi"
    assert sent_body(emu)["reasoning_effort"] == "low"


async def test_unknown_extra_body_field_is_refused_by_openai_route_and_passed_through_on_models(
    chat: Driver, emu: FoundryEmulator, route: str
) -> None:
    request = {"model": "chat", "messages": user("hi"), "extra_body": {"search_mode": "off"}}
    if route == "openai_v1":
        with pytest.raises(BadRequestError) as caught:
            await chat.create(**request)
        assert caught.value.message == "Unrecognized request argument supplied: search_mode"
    else:
        completion = await chat.create(**request)
        assert completion.text == "Echo: hi"
    assert sent_body(emu)["search_mode"] == "off"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"temperature": 3.0}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
    ],
)
async def test_input_wrong_for_every_model_is_refused_before_sending(
    chat: Driver, emu: FoundryEmulator, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await chat.create(model="chat", messages=user(), **params)

    assert caught.value.param == param
    assert emu.requests == []
