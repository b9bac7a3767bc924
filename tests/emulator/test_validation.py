"""Request validation: the route's parameter list, then the model's rules from the catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from grok_azure.testing import FoundryEmulator

from .conftest import chat, user

ROUTES = ["openai_v1", "model_inference"]
PASS = {"extra-parameters": "pass-through"}


def reject(http: httpx.Client, route: str, **body: Any) -> dict[str, Any]:
    """Send a request that must fail validation; return its error object."""
    response = chat(http, route, headers=PASS if route == "model_inference" else None, **body)
    assert response.status_code in (400, 422), response.text
    error: dict[str, Any] = response.json()["error"]
    if route == "openai_v1":
        assert response.status_code == 400
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
    else:
        assert error["status"] == response.status_code
    return error


def unsupported(http: httpx.Client, route: str, param: str, **body: Any) -> str:
    """Send a request the model does not support; check the route's shape and return the specific message."""
    error = reject(http, route, **body)
    if route == "openai_v1":
        assert error["param"] == param
        return str(error["message"])
    assert error["code"] == "parameter_not_supported"
    assert error["message"] == "One of the parameters contain invalid values."
    assert error["detail"] == {"loc": ["body", param], "input": body[param.split("[")[0]]}
    [detail] = error["details"]
    assert detail["target"] == param
    return str(detail["message"])


def accept(http: httpx.Client, route: str, **body: Any) -> dict[str, Any]:
    response = chat(http, route, headers=PASS if route == "model_inference" else None, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# -- extra-parameters on /models and unknown arguments on /openai/v1 ---------------------------------------


@pytest.mark.parametrize("header", [None, "error", "ERROR"])
def test_models_route_rejects_extra_parameters_by_default_naming_them(
    http: httpx.Client, header: str | None
) -> None:
    headers = {} if header is None else {"extra-parameters": header}
    response = chat(http, "model_inference", headers=headers, n=1, stream_options=None, seed=3)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("Extra parameters ['n', 'stream_options'] are not allowed")
    assert "Set extra-parameters to 'pass-through'" in message


def test_models_route_drops_extra_parameters_when_asked_and_records_them(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    response = chat(
        http, "model_inference", headers={"extra-parameters": "drop"}, model="grok4", reasoning_effort="x"
    )
    assert response.status_code == 200  # grok-4 would reject reasoning_effort, but it never reaches the model
    [recorded] = emu.requests
    assert recorded.dropped_parameters == ("reasoning_effort",)
    assert recorded.json["reasoning_effort"] == "x"


def test_models_route_passes_extra_parameters_through_to_model_validation(http: httpx.Client) -> None:
    message = unsupported(http, "model_inference", "reasoning_effort", model="grok4", reasoning_effort="low")
    assert message == "Model grok-4 does not support parameter reasoning_effort."
    assert accept(http, "model_inference", model="mini", reasoning_effort="low")["model"] == "grok-3-mini"


def test_models_route_rejects_an_unknown_extra_parameters_mode(http: httpx.Client) -> None:
    response = chat(http, "model_inference", headers={"extra-parameters": "ignore"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "extra-parameters"


def test_spec_parameters_are_not_extra_on_the_models_route(http: httpx.Client) -> None:
    body = {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "seed": 1,
        "stream": False,
        "modalities": ["text"],
    }
    assert chat(http, "model_inference", **body).status_code == 200


def test_openai_route_rejects_unrecognized_arguments(http: httpx.Client) -> None:
    response = chat(http, search_parameters={"mode": "auto"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Unrecognized request argument supplied: search_parameters"
    response = chat(http, a=1, b=2)
    assert response.json()["error"]["message"] == "Unrecognized request arguments supplied: a, b"


# -- messages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("messages", "param", "code"),
    [
        ([], "messages", "empty_array"),
        ("hello", "messages", "invalid_type"),
        (["hello"], "messages[0]", "invalid_type"),
        ([{"content": "x"}], "messages[0].role", "missing_required_parameter"),
        ([{"role": "bot", "content": "x"}], "messages[0].role", "invalid_value"),
        ([{"role": "user"}], "messages[0].content", "missing_required_parameter"),
        ([{"role": "user", "content": 5}], "messages[0].content", "invalid_type"),
        ([{"role": "assistant"}], "messages[0].content", "missing_required_parameter"),
        ([{"role": "tool", "content": "42"}], "messages[0].tool_call_id", "missing_required_parameter"),
        ([{"role": "user", "content": [{"type": "audio"}]}], "messages[0].content[0].type", "invalid_value"),
        ([{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text", "missing_required_parameter"),
        ([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}], "messages[0].content[0].type", "invalid_value"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}], "messages[0].content[0].image_url.url", "missing_required_parameter"),
    ],
)  # fmt: skip
def test_malformed_messages_are_rejected(
    http: httpx.Client, route: str, messages: Any, param: str, code: str
) -> None:
    error = reject(http, route, messages=messages)
    assert error["param"] == param
    assert error["code"] == code


@pytest.mark.parametrize("route", ROUTES)
def test_missing_messages_are_rejected(http: httpx.Client, route: str) -> None:
    response = http.post(
        "/openai/v1/chat/completions"
        if route == "openai_v1"
        else "/models/chat/completions?api-version=2025-05-01",
        json={"model": "fast"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_required_parameter"


@pytest.mark.parametrize("route", ROUTES)
def test_valid_conversation_with_tool_round_trip_is_accepted(http: httpx.Client, route: str) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": [{"type": "text", "text": "really"}]},
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    body = accept(http, route, messages=messages)
    assert body["choices"][0]["message"]["content"] == "Tool results: 42"


@pytest.mark.parametrize("route", ROUTES)
def test_image_input_to_a_text_only_model_is_not_supported(http: httpx.Client, route: str) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}]
    error = reject(http, route, model="grok4", messages=messages)
    assert "Image inputs are not supported by model grok-4" in str(error)
    body = accept(http, route, model="fast", messages=messages)
    assert body["usage"]["prompt_tokens_details"]["image_tokens"] == 85


# -- sampling parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("temperature", 2.5, "decimal_above_max_value"),
        ("temperature", -0.1, "decimal_below_min_value"),
        ("temperature", "hot", "invalid_type"),
        ("top_p", 1.5, "decimal_above_max_value"),
        ("presence_penalty", 3, "decimal_above_max_value"),
        ("frequency_penalty", -3, "decimal_below_min_value"),
        ("max_tokens", 0, "integer_below_min_value"),
        ("max_tokens", 2.5, "invalid_type"),
    ],
)
def test_out_of_range_or_mistyped_parameters_are_rejected(
    http: httpx.Client, route: str, name: str, value: Any, code: str
) -> None:
    error = reject(http, route, **{name: value})
    assert (error["param"], error["code"]) == (name, code)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("temperature", [0, 1.5, 2])
def test_temperature_within_grok_range_is_accepted(
    http: httpx.Client, route: str, temperature: float
) -> None:
    accept(http, route, temperature=temperature)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("name", "value"), [("presence_penalty", 0.5), ("frequency_penalty", 0.0), ("stop", ["x"])]
)
def test_reasoning_models_reject_penalties_and_stop(
    http: httpx.Client, route: str, name: str, value: Any
) -> None:
    message = unsupported(http, route, name, model="grok4", **{name: value})
    assert message == f"Model grok-4 does not support parameter {name}."
    accept(http, route, model="fast", **{name: value})


@pytest.mark.parametrize("route", ROUTES)
def test_catalog_rejected_parameters_are_rejected(http: httpx.Client, route: str) -> None:
    with (
        FoundryEmulator(api_key="k", deployments={"g46": "grok-4.6"}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        message = unsupported(client, route, "logprobs", model="g46", logprobs=True)
    assert message == "Model grok-4.6 does not support parameter logprobs."


# -- reasoning effort, n, output limit, streaming options --------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_is_rejected_by_models_without_effort_values(http: httpx.Client, route: str) -> None:
    message = unsupported(http, route, "reasoning_effort", model="fast", reasoning_effort="low")
    assert message == "Model grok-4-1-fast-non-reasoning does not support parameter reasoning_effort."


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_value_must_be_one_the_model_accepts(http: httpx.Client, route: str) -> None:
    message = unsupported(http, route, "reasoning_effort", model="mini", reasoning_effort="xhigh")
    assert "Model grok-3-mini supports: 'low', 'high'" in message
    accept(http, route, model="g47", reasoning_effort="xhigh")


@pytest.mark.parametrize("route", ROUTES)
def test_more_than_one_choice_is_not_supported(http: httpx.Client, route: str) -> None:
    assert unsupported(http, route, "n", n=2) == "Model grok-4-1-fast-non-reasoning does not support n > 1."
    assert reject(http, route, n=0)["param"] == "n"
    accept(http, route, n=1)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens"])
def test_output_limit_above_the_model_maximum_is_rejected(http: httpx.Client, route: str, name: str) -> None:
    error = reject(http, route, model="grok4", **{name: 8193})
    assert error["message"].startswith(f"{name} is too large: 8193. This model supports at most 8192")
    accept(http, route, model="grok4", **{name: 8192})
    accept(http, route, model="g47", **{name: 1_000_000})  # no published output limit


@pytest.mark.parametrize("route", ROUTES)
def test_stream_options_without_stream_are_rejected(http: httpx.Client, route: str) -> None:
    error = reject(http, route, stream_options={"include_usage": True})
    assert error["param"] == "stream_options"


@pytest.mark.parametrize("route", ROUTES)
def test_non_boolean_stream_is_rejected(http: httpx.Client, route: str) -> None:
    assert reject(http, route, stream="yes")["param"] == "stream"


# -- tools and response formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("tools", "tool_choice", "param"),
    [
        ("f", None, "tools"),
        ([{"type": "retrieval"}], None, "tools[0]"),
        ([{"type": "function", "function": {"description": "no name"}}], None, "tools[0].function.name"),
        (None, "required", "tool_choice"),
        ([{"type": "function", "function": {"name": "f"}}], {"type": "function", "function": {"name": "g"}}, "tool_choice"),
        ([{"type": "function", "function": {"name": "f"}}], "sometimes", "tool_choice"),
    ],
)  # fmt: skip
def test_invalid_tools_or_tool_choice_are_rejected(
    http: httpx.Client, route: str, tools: Any, tool_choice: Any, param: str
) -> None:
    body: dict[str, Any] = {}
    if tools is not None:
        body["tools"] = tools
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    assert reject(http, route, **body)["param"] == param


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "yaml"}, "response_format.type"),
        ("json_object", "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema.name"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": []}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_invalid_response_format_is_rejected(
    http: httpx.Client, route: str, response_format: Any, param: str
) -> None:
    assert reject(http, route, response_format=response_format)["param"] == param


# -- context window ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_prompt_longer_than_the_context_window_is_context_length_exceeded(
    http: httpx.Client, route: str
) -> None:
    # grok-4-1-fast-non-reasoning: 128,000 tokens, counted as ~4 characters each.
    error = reject(http, route, messages=user("x" * 4 * 128_001))
    assert error["code"] == "context_length_exceeded"
    assert error["param"] == "messages"
    assert "maximum context length is 128000 tokens" in error["message"]


@pytest.mark.parametrize("route", ROUTES)
def test_prompt_just_inside_the_context_window_is_accepted(http: httpx.Client, route: str) -> None:
    body = accept(http, route, messages=user("x" * 4 * 127_990))
    assert body["usage"]["prompt_tokens"] <= 128_000
