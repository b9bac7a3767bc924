"""The emulated model's answers: echo, reasoning, usage, tool calls, structured output and scripts."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import jsonschema
import pytest

from grok_azure._catalog import load_catalog
from grok_azure.testing import FoundryEmulator, Reply

from .conftest import chat, user

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


def message_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["choices"][0]["message"]
    return result


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_default_reply_echoes_the_last_user_message(http: httpx.Client, route: str) -> None:
    messages = [*user("first"), {"role": "assistant", "content": "ok"}, *user("second")]
    assert message_of(chat(http, route, messages=messages))["content"] == "Echo: second"


def test_echo_reads_text_parts_of_multipart_content(http: httpx.Client) -> None:
    parts = [
        {"type": "text", "text": "a "},
        {"type": "image_url", "image_url": {"url": "u"}},
        {"type": "text", "text": "b"},
    ]
    assert message_of(chat(http, messages=[{"role": "user", "content": parts}]))["content"] == "Echo: a b"


def test_completion_carries_azure_extras(http: httpx.Client) -> None:
    body = chat(http).json()
    assert body["object"] == "chat.completion"
    assert body["id"].endswith("_sidecar")
    assert body["model"] == "grok-4-1-fast-non-reasoning"
    assert body["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    assert body["choices"][0]["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert body["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
@pytest.mark.parametrize("model", ["fast", "grok4", "mini"])
def test_grok_non_streamed_replies_have_no_system_fingerprint(
    http: httpx.Client, route: str, model: str
) -> None:
    body = chat(http, route, model=model).json()
    assert "system_fingerprint" not in body
    assert body["usage"]["audio_prompt_tokens"] == 0


def test_a_text_answer_is_annotated_with_every_category_including_protected_material(
    http: httpx.Client,
) -> None:
    filters = chat(http).json()["choices"][0]["content_filter_results"]
    not_detected = {"filtered": False, "detected": False}
    assert filters["protected_material_code"] == not_detected
    assert filters["protected_material_text"] == not_detected
    assert set(filters) == {
        "hate",
        "protected_material_code",
        "protected_material_text",
        "self_harm",
        "sexual",
        "violence",
    }


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_an_answer_that_only_calls_tools_has_empty_filter_results(http: httpx.Client, route: str) -> None:
    choice = chat(http, route, tools=[WEATHER], tool_choice="required").json()["choices"][0]
    assert choice["message"]["tool_calls"]
    assert choice["content_filter_results"] == {}


def test_text_beside_tool_calls_is_still_annotated(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.reply("Let me look.", tool_calls=[{"name": "get_time"}])
    filters = chat(http, tools=[TIME]).json()["choices"][0]["content_filter_results"]
    assert filters["protected_material_text"] == {"filtered": False, "detected": False}


@pytest.mark.parametrize("model", ["fast", "grok4", "mini", "g47"])
def test_usage_counts_reasoning_beside_completion_tokens_as_azure_does_for_grok(
    http: httpx.Client, model: str
) -> None:
    question = "a fairly long question " * 20
    usage = chat(http, model=model, messages=user(question)).json()["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] + reasoning
    # The answer alone ("Echo: " + the question, 4 characters a token), whatever the reasoning.
    assert usage["completion_tokens"] == math.ceil(len("Echo: " + question) / 4)
    assert usage["prompt_tokens"] > 100
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["prompt_tokens_details"]["text_tokens"] == usage["prompt_tokens"]


@pytest.mark.parametrize("model", ["grok4", "mini"])
def test_usage_convention_openai_counts_reasoning_inside_completion_tokens(model: str) -> None:
    deployments = {"grok4": "grok-4", "mini": "grok-3-mini"}
    bodies = {}
    for convention in ("grok", "openai"):
        with FoundryEmulator(
            api_key="k", deployments=deployments, serve_retired=True, usage_convention=convention
        ) as emulator:
            response = httpx.post(
                emulator.url + "/openai/v1/chat/completions",
                json={"model": model, "messages": user("count me")},
                headers={"api-key": "k"},
            )
            bodies[convention] = response.json()["usage"]
    grok, openai = bodies["grok"], bodies["openai"]
    reasoning = grok["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert openai["completion_tokens_details"]["reasoning_tokens"] == reasoning
    assert openai["completion_tokens"] == grok["completion_tokens"] + reasoning
    assert (
        openai["total_tokens"] == grok["total_tokens"] == grok["prompt_tokens"] + openai["completion_tokens"]
    )


def test_unknown_usage_convention_and_tool_call_form_are_refused() -> None:
    with pytest.raises(ValueError, match="usage_convention"):
        FoundryEmulator(usage_convention="azure")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tool_call_deltas"):
        FoundryEmulator(tool_call_deltas="pieces")  # type: ignore[arg-type]


def test_reasoning_models_count_reasoning_tokens(http: httpx.Client) -> None:
    reasoning = chat(http, model="grok4").json()["usage"]["completion_tokens_details"]["reasoning_tokens"]
    plain = chat(http, model="fast").json()["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert (reasoning > 0, plain) == (True, 0)


def test_only_models_returning_reasoning_content_send_it(http: httpx.Client) -> None:
    mini = message_of(chat(http, model="mini", messages=user("why?")))
    assert "why?" in mini["reasoning_content"]
    assert "reasoning_content" not in message_of(chat(http, model="grok4"))
    assert "reasoning_content" not in message_of(chat(http, model="fast"))
    # grok-4.7 reasons; whether Azure returns its reasoning_content is unconfirmed, so it is not sent.
    assert "reasoning_content" not in message_of(chat(http, model="g47"))


def test_max_tokens_truncates_the_content_with_finish_reason_length(http: httpx.Client) -> None:
    response = chat(http, messages=user("one two three four five six seven eight"), max_tokens=3)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "Echo: one tw"


# -- tool calls ----------------------------------------------------------------------------------------------


def test_offered_tools_are_not_called_unless_forced_or_scripted(http: httpx.Client) -> None:
    message = message_of(chat(http, tools=[WEATHER]))
    assert message["tool_calls"] is None  # recorded: Grok on /openai/v1 sends null, not an absent field
    assert message["content"] == "Echo: hello there"


def test_models_route_leaves_tool_calls_out_when_there_are_none(http: httpx.Client) -> None:
    assert "tool_calls" not in message_of(chat(http, "model_inference", tools=[WEATHER]))


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_required_tool_choice_calls_the_first_tool_with_valid_arguments(
    http: httpx.Client, route: str
) -> None:
    response = chat(http, route, tools=[WEATHER, TIME], tool_choice="required")
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"] == "call_1"
    assert call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])  # type: ignore[index]
    assert choice["message"]["content"] == ""


def test_named_tool_choice_calls_that_tool(http: httpx.Client) -> None:
    forced = {"type": "function", "function": {"name": "get_time"}}
    [call] = message_of(chat(http, tools=[WEATHER, TIME], tool_choice=forced))["tool_calls"]
    assert (call["function"]["name"], call["function"]["arguments"]) == ("get_time", "{}")


def test_tool_choice_none_never_calls(http: httpx.Client) -> None:
    assert message_of(chat(http, tools=[WEATHER], tool_choice="none"))["tool_calls"] is None


def test_tool_call_ids_are_unique_until_reset(emu: FoundryEmulator, http: httpx.Client) -> None:
    ids = [
        message_of(chat(http, tools=[TIME], tool_choice="required"))["tool_calls"][0]["id"] for _ in range(3)
    ]
    assert ids == ["call_1", "call_2", "call_3"]
    emu.reset()
    assert message_of(chat(http, tools=[TIME], tool_choice="required"))["tool_calls"][0]["id"] == "call_1"


def test_scripted_parallel_tool_calls_use_given_or_generated_arguments(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply(tool_calls=[{"name": "get_weather"}, {"name": "get_time", "arguments": {"tz": "UTC"}}])
    message = message_of(chat(http, tools=[WEATHER, TIME]))
    first, second = message["tool_calls"]
    jsonschema.validate(json.loads(first["function"]["arguments"]), WEATHER["function"]["parameters"])  # type: ignore[index]
    assert json.loads(second["function"]["arguments"]) == {"tz": "UTC"}
    assert (first["id"], second["id"]) == ("call_1", "call_2")


def test_scripted_tool_calls_are_returned_even_without_offered_tools(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply(tool_calls=[{"name": "ghost", "arguments": '{"raw": true}'}])
    [call] = message_of(chat(http))["tool_calls"]
    assert (call["function"]["name"], call["function"]["arguments"]) == ("ghost", '{"raw": true}')


# -- structured output ----------------------------------------------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 18},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 2},
        "address": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/address"}]},
        "kind": {"const": "person"},
    },
    "required": ["name", "age", "tags", "address", "kind"],
    "additionalProperties": False,
    "$defs": {
        "tag": {"type": "string", "enum": ["a", "b"]},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string", "pattern": ".*"}},
            "required": ["zip"],
        },
    },
}


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_json_schema_response_format_yields_content_valid_against_the_schema(
    http: httpx.Client, route: str
) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": PERSON, "strict": True},
    }
    content = message_of(chat(http, route, response_format=response_format))["content"]
    instance = json.loads(content)
    jsonschema.validate(instance, PERSON)
    assert instance["address"] is not None  # the non-null branch is preferred


def test_json_object_response_format_yields_a_json_object(http: httpx.Client) -> None:
    content = message_of(chat(http, response_format={"type": "json_object"}))["content"]
    assert json.loads(content) == {"reply": "Echo: hello there"}


# -- scripts ------------------------------------------------------------------------------------------------


def test_scripted_reply_wins_once_then_the_echo_returns(emu: FoundryEmulator, http: httpx.Client) -> None:
    scripted = emu.reply("scripted")
    assert isinstance(scripted, Reply)
    assert message_of(chat(http))["content"] == "scripted"
    assert message_of(chat(http))["content"] == "Echo: hello there"


def test_scripted_reply_with_times_applies_that_many_times_in_order(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply("a", times=2)
    emu.reply("b")
    assert [message_of(chat(http))["content"] for _ in range(4)] == ["a", "a", "b", "Echo: hello there"]


def test_scripted_reply_for_a_deployment_waits_for_that_deployment(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply("for grok4", deployment="grok4")
    assert message_of(chat(http, model="fast"))["content"] == "Echo: hello there"
    assert message_of(chat(http, model="grok4"))["content"] == "for grok4"


def test_scripted_reasoning_and_finish_reason_are_returned_literally(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply("partial", reasoning="thinking hard", finish_reason="length")
    choice = chat(http, model="fast").json()["choices"][0]
    assert choice["message"]["reasoning_content"] == "thinking hard"
    assert (choice["message"]["content"], choice["finish_reason"]) == ("partial", "length")


def test_rejected_requests_do_not_consume_scripted_replies(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.reply("kept")
    assert chat(http, temperature=9).status_code == 400
    assert message_of(chat(http))["content"] == "kept"


def test_reset_forgets_scripts_and_requests(emu: FoundryEmulator, http: httpx.Client) -> None:
    emu.reply("gone")
    chat(http)
    emu.reply("gone too")
    emu.reset()
    assert emu.requests == []
    assert message_of(chat(http))["content"] == "Echo: hello there"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tool_calls": [{"arguments": {}}]}, "name"),
        ({"tool_calls": [{"name": "f", "arguments": 3}]}, "arguments"),
        ({"finish_reason": "done"}, "finish_reason"),
    ],
)
def test_invalid_scripts_are_rejected(emu: FoundryEmulator, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        emu.reply(**kwargs)


# -- deployments of user catalog entries -------------------------------------------------------------------


def test_a_model_added_to_the_catalog_can_be_deployed_by_name() -> None:
    catalog = load_catalog().with_models({"id": "grok-5", "reasons": True, "context_window": 1_000_000})
    with FoundryEmulator(api_key="k", deployments={"next": "grok-5"}, catalog=catalog) as emulator:
        response = httpx.post(
            emulator.url + "/openai/v1/chat/completions",
            json={"model": "next", "messages": user("new model?")},
            headers={"api-key": "k"},
        )
    body = response.json()
    assert (response.status_code, body["model"]) == (200, "grok-5")
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert "reasoning_content" not in body["choices"][0]["message"]  # not stated: not sent


def test_a_spec_stating_reasoning_content_returns_it() -> None:
    spec = load_catalog().require("grok-4.7").with_facts(returns_reasoning_content=True)
    with FoundryEmulator(api_key="k", deployments={"thinker": spec}) as emulator:
        response = httpx.post(
            emulator.url + "/openai/v1/chat/completions",
            json={"model": "thinker", "messages": user("why?")},
            headers={"api-key": "k"},
        )
    message = response.json()["choices"][0]["message"]
    assert "why?" in message["reasoning_content"]
    assert response.json()["model"] == "grok-4.7"


def test_a_deployment_of_an_unknown_model_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown model 'grok-9'"):
        FoundryEmulator(deployments={"x": "grok-9"})
