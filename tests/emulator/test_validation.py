"""Request validation: the route's parameter list, then the model's rules from the catalog.

Only facts a source states refuse a request; the catalog's unconfirmed ones (most parameter rejections come
from xAI's documentation, not Azure's) let it through unless the emulator enforces them
(``enforce_unconfirmed=True``, the ``strict`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from grok_azure._catalog import load_catalog
from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, DEPLOYMENTS, chat, user

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


@pytest.fixture(scope="module")
def strict_emu() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(
        api_key=API_KEY, deployments=DEPLOYMENTS, serve_retired=True, enforce_unconfirmed=True
    ) as emulator:
        yield emulator


@pytest.fixture
def strict(strict_emu: FoundryEmulator) -> Iterator[httpx.Client]:
    """A client of an emulator that also enforces the catalog's unconfirmed rules."""
    with httpx.Client(base_url=strict_emu.url, headers={"api-key": API_KEY}, timeout=10) as client:
        yield client


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
    assert response.status_code == 200  # the unknown value never reaches the model
    [recorded] = emu.requests
    assert recorded.dropped_parameters == ("reasoning_effort",)
    assert recorded.json["reasoning_effort"] == "x"


def test_models_route_passes_extra_parameters_through_to_model_validation(http: httpx.Client) -> None:
    message = unsupported(
        http, "model_inference", "reasoning_effort", model="g47", reasoning_effort="minimal"
    )
    assert message == (
        "Invalid value for reasoning_effort: 'minimal'. Model grok-4.7 supports: 'low', 'medium', 'high', 'xhigh'."
    )
    assert accept(http, "model_inference", model="g47", reasoning_effort="low")["model"] == "grok-4.7"


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
    error = reject(http, route, model="grok4", messages=messages)  # stated: grok-4 takes text only
    assert "Image inputs are not supported by model grok-4" in str(error)
    body = accept(http, route, model="fast", messages=messages)
    assert body["usage"]["prompt_tokens_details"]["image_tokens"] == 85


@pytest.mark.parametrize("route", ROUTES)
def test_unconfirmed_modalities_let_images_through(route: str) -> None:
    spec = (
        load_catalog()
        .require("grok-4")
        .with_facts(input_modalities=["text"], unconfirmed=["input_modalities"])
    )
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}]
    with (
        FoundryEmulator(api_key="k", deployments={"guess": spec}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        accept(client, route, model="guess", messages=messages)


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
def test_unconfirmed_rejections_of_penalties_and_stop_let_the_request_through(
    http: httpx.Client, route: str, name: str, value: Any
) -> None:
    # grok-4's rejections come from xAI's documentation only: Azure may or may not apply them.
    assert load_catalog().require("grok-4").knows_rejects(name) is None
    accept(http, route, model="grok4", **{name: value})
    accept(http, route, model="fast", **{name: value})


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("name", "value"), [("presence_penalty", 0.5), ("frequency_penalty", 0.0), ("stop", ["x"])]
)
def test_enforce_unconfirmed_rejects_what_xai_documents(
    strict: httpx.Client, route: str, name: str, value: Any
) -> None:
    message = unsupported(strict, route, name, model="grok4", **{name: value})
    assert message == f"Model grok-4 does not support parameter {name}."
    accept(strict, route, model="fast", **{name: value})


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("name", "value"), [("presence_penalty", 0.5), ("frequency_penalty", 0.1), ("logprobs", True)]
)
def test_stated_rejections_are_rejected(http: httpx.Client, route: str, name: str, value: Any) -> None:
    message = unsupported(http, route, name, model="g46", **{name: value})
    assert message == f"Model grok-4.6 does not support parameter {name}."


@pytest.mark.parametrize("route", ROUTES)
def test_a_rejection_unconfirmed_on_its_own_lets_the_request_through(http: httpx.Client, route: str) -> None:
    # grok-4.6's penalties are stated, its stop only inferred ("rejected_parameters.stop" is unconfirmed).
    assert load_catalog().require("grok-4.6").knows_rejects("stop") is None
    accept(http, route, model="g46", stop=["x"])


# -- reasoning effort, n, output limit, streaming options --------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_rejected_only_by_xai_documentation_is_let_through(
    http: httpx.Client, strict: httpx.Client, route: str
) -> None:
    accept(http, route, model="grok4", reasoning_effort="low")
    message = unsupported(strict, route, "reasoning_effort", model="grok4", reasoning_effort="low")
    assert message == "Model grok-4 does not support parameter reasoning_effort."


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_on_a_model_without_documented_values_is_let_through(
    http: httpx.Client, strict: httpx.Client, route: str
) -> None:
    accept(http, route, model="fast", reasoning_effort="low")
    accept(strict, route, model="fast", reasoning_effort="low")  # nothing recorded to enforce


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_value_outside_a_stated_list_is_rejected(http: httpx.Client, route: str) -> None:
    message = unsupported(http, route, "reasoning_effort", model="g47", reasoning_effort="minimal")
    assert "Model grok-4.7 supports: 'low', 'medium', 'high', 'xhigh'" in message
    accept(http, route, model="g47", reasoning_effort="xhigh")


@pytest.mark.parametrize("route", ROUTES)
def test_reasoning_effort_value_outside_an_unconfirmed_list_is_let_through_unless_enforced(
    http: httpx.Client, strict: httpx.Client, route: str
) -> None:
    # grok-3-mini's low/high come from xAI's documentation.
    accept(http, route, model="mini", reasoning_effort="xhigh")
    message = unsupported(strict, route, "reasoning_effort", model="mini", reasoning_effort="xhigh")
    assert "Model grok-3-mini supports: 'low', 'high'" in message


@pytest.mark.parametrize("route", ROUTES)
def test_a_reasoning_effort_that_is_not_a_string_is_invalid(http: httpx.Client, route: str) -> None:
    error = reject(http, route, model="g47", reasoning_effort=3)
    assert (error["param"], error["code"]) == ("reasoning_effort", "invalid_type")


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


@pytest.mark.parametrize("route", ROUTES)
def test_an_unconfirmed_context_window_or_output_limit_refuses_nothing(route: str) -> None:
    spec = (
        load_catalog()
        .require("grok-4")
        .with_facts(
            context_window=1000, max_output_tokens=10, unconfirmed=["context_window", "max_output_tokens"]
        )
    )
    with (
        FoundryEmulator(api_key="k", deployments={"guess": spec}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        accept(client, route, model="guess", messages=user("x" * 4 * 2000), max_tokens=50)
    with (
        FoundryEmulator(api_key="k", deployments={"guess": spec}, enforce_unconfirmed=True) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": "k"}) as client,
    ):
        assert reject(client, route, model="guess", max_tokens=50)["param"] == "max_tokens"
        assert reject(client, route, model="guess", messages=user("x" * 4 * 2000))["code"] == (
            "context_length_exceeded"
        )
