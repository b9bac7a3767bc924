"""Response models parse real Azure grok-3-mini payloads; typed message objects produce wire dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from grok_azure.types import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    CompletionUsage,
    ContentFilterResults,
    DeveloperMessage,
    PromptFilterResult,
    SystemMessage,
    ToolMessage,
    UserMessage,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _response() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "grok3mini_thinking_response.json").read_text())
    return data


def _stream_events() -> list[dict[str, Any]]:
    events = []
    for line in (FIXTURES / "grok3mini_thinking_stream.sse").read_text().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            events.append(json.loads(line[len("data: ") :]))
    return events


# --- the real non-streaming response ---------------------------------------------------------------


def test_real_response_parses_core_fields() -> None:
    completion = ChatCompletion.model_validate(_response())
    assert completion.id == "e6688144-8493-4d1a-b0b8-0a06d0515dd7_sidecar"
    assert completion.model == "grok-3-mini-high"
    assert completion.created == 1759350320
    assert completion.finish_reason == "tool_calls"
    assert completion.text == ""
    assert completion.reasoning is not None
    assert completion.reasoning.startswith("First, the user is asking")


def test_real_response_tool_call_is_typed() -> None:
    completion = ChatCompletion.model_validate(_response())
    [call] = completion.tool_calls
    assert call.id == "call_47156543"
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"location": "Florence, Italy"}


def test_real_response_unknown_fields_are_kept() -> None:
    completion = ChatCompletion.model_validate(_response())
    assert completion.choices[0].model_extra == {"stop_reason": None}
    assert completion.tool_calls[0].function.model_extra == {"call_id": None}
    assert completion.usage is not None
    assert completion.usage.model_extra == {"audio_prompt_tokens": 0, "num_sources_used": 0}


def test_real_response_round_trips_without_losing_fields() -> None:
    original = _response()
    dumped = ChatCompletion.model_validate(original).model_dump(mode="json", exclude_unset=True)
    assert dumped == original


def test_real_response_usage_properties() -> None:
    usage = ChatCompletion.model_validate(_response()).usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (288, 27, 609)
    assert usage.reasoning_tokens == 294
    assert usage.cached_tokens == 0


def test_real_response_prompt_filter_results_are_not_filtered() -> None:
    completion = ChatCompletion.model_validate(_response())
    assert completion.prompt_filter_results is not None
    results = completion.prompt_filter_results[0].content_filter_results
    assert results is not None
    assert results.hate is not None
    assert results.hate.severity == "safe"
    assert results.jailbreak is not None
    assert results.jailbreak.detected is False
    assert results.filtered is False
    assert completion.content_filtered is False


# --- the real stream -------------------------------------------------------------------------------


def test_first_stream_event_has_empty_identity_and_only_prompt_filters() -> None:
    first = ChatCompletionChunk.model_validate(_stream_events()[0])
    assert (first.id, first.model, first.object, first.created) == ("", "", "", 0)
    assert first.choices == []
    assert first.prompt_filter_results is not None
    assert first.prompt_filter_results[0].prompt_index == 0


def test_stream_reasoning_delta_parses() -> None:
    chunk = ChatCompletionChunk.model_validate(_stream_events()[1])
    assert chunk.object == "chat.completion.chunk"
    assert chunk.system_fingerprint == "fp_d33f0040b9"
    delta = chunk.choices[0].delta
    assert (delta.role, delta.reasoning_content, delta.content) == ("assistant", "First", None)


def test_stream_finish_event_has_empty_delta() -> None:
    chunk = ChatCompletionChunk.model_validate(_stream_events()[2])
    assert chunk.choices[0].finish_reason == "stop"
    assert chunk.choices[0].delta.model_dump(exclude_none=True) == {}


def test_stream_usage_event_has_no_choices_and_reasoning_tokens() -> None:
    chunk = ChatCompletionChunk.model_validate(_stream_events()[3])
    assert chunk.choices == []
    assert chunk.usage is not None
    assert chunk.usage.reasoning_tokens == 330
    assert chunk.usage.total_tokens == 673


def test_chunk_without_delta_gets_an_empty_delta() -> None:
    chunk = ChatCompletionChunk.model_validate({"choices": [{"index": 1}]})
    assert chunk.choices[0].index == 1
    assert chunk.choices[0].delta.content is None


def test_streamed_tool_call_fragment_parses() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {"choices": [{"delta": {"tool_calls": [{"index": 1, "function": {"arguments": '{"a"'}}]}}]}
    )
    [call] = chunk.choices[0].delta.tool_calls or []
    assert call.index == 1
    assert call.id is None
    assert call.function is not None
    assert call.function.arguments == '{"a"'


# --- properties and tolerance ----------------------------------------------------------------------


def test_empty_completion_properties_have_safe_defaults() -> None:
    completion = ChatCompletion.model_validate({})
    assert completion.text == ""
    assert completion.reasoning is None
    assert completion.tool_calls == []
    assert completion.finish_reason is None
    assert completion.content_filtered is False


def test_unknown_finish_reason_is_tolerated() -> None:
    completion = ChatCompletion.model_validate({"choices": [{"finish_reason": "end_turn", "message": {}}]})
    assert completion.finish_reason == "end_turn"


def test_content_filter_finish_reason_marks_completion_filtered() -> None:
    completion = ChatCompletion.model_validate(
        {"choices": [{"finish_reason": "stop"}, {"index": 1, "finish_reason": "content_filter"}]}
    )
    assert completion.content_filtered is True


def test_filtered_prompt_marks_completion_filtered() -> None:
    completion = ChatCompletion.model_validate(
        {"prompt_filter_results": [{"content_filter_results": {"violence": {"filtered": True}}}]}
    )
    assert completion.content_filtered is True


def test_usage_nulls_become_zero_and_missing_details_give_zero() -> None:
    usage = CompletionUsage.model_validate({"prompt_tokens": None, "completion_tokens": 3})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (0, 3, 0)
    assert usage.reasoning_tokens == 0
    assert usage.cached_tokens == 0


def test_usage_rejects_non_numeric_counts() -> None:
    with pytest.raises(ValidationError):
        CompletionUsage.model_validate({"prompt_tokens": "many"})


def test_tool_call_without_function_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ChatCompletionMessageToolCall.model_validate({"id": "c1"})


# --- content filter results ------------------------------------------------------------------------


def test_self_harm_hyphenated_spelling_is_accepted() -> None:
    results = ContentFilterResults.model_validate({"self-harm": {"filtered": True, "severity": "high"}})
    assert results.self_harm is not None
    assert results.self_harm.severity == "high"
    assert results.filtered_categories == ["self_harm"]


def test_filtered_categories_lists_only_filtered_ones_including_unknown() -> None:
    results = ContentFilterResults.model_validate(
        {
            "hate": {"filtered": True, "severity": "high"},
            "sexual": {"filtered": False, "severity": "safe"},
            "protected_material_code": {"filtered": True, "detected": True, "citation": {"URL": "x"}},
            "custom_blocklists": {"filtered": True, "details": []},
        }
    )
    assert results.filtered is True
    assert results.filtered_categories == ["hate", "protected_material_code", "custom_blocklists"]
    assert results.protected_material_code is not None
    assert results.protected_material_code.model_extra == {"citation": {"URL": "x"}}


def test_filter_error_is_parsed_and_does_not_count_as_filtered() -> None:
    results = ContentFilterResults.model_validate(
        {"error": {"code": "content_filter_error", "message": "The contents are not filtered"}}
    )
    assert results.error is not None
    assert results.error.code == "content_filter_error"
    assert results.filtered is False


def test_prompt_filter_result_defaults() -> None:
    result = PromptFilterResult.model_validate({})
    assert result.prompt_index == 0
    assert result.content_filter_results is None


# --- response message as input ---------------------------------------------------------------------


def test_response_message_to_param_drops_reasoning_refusal_and_extras() -> None:
    message = ChatCompletion.model_validate(_response()).choices[0].message
    assert message.to_param() == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_47156543",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"location":"Florence, Italy"}'},
            }
        ],
    }


def test_response_message_without_content_omits_it() -> None:
    message = ChatCompletionMessage.model_validate(
        {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    )
    assert "content" not in message.to_param()


# --- typed input messages --------------------------------------------------------------------------


def test_typed_messages_produce_wire_dicts() -> None:
    assert SystemMessage("be brief").to_dict() == {"role": "system", "content": "be brief"}
    assert DeveloperMessage("rules").to_dict() == {"role": "developer", "content": "rules"}
    assert UserMessage("hi", name="ann").to_dict() == {"role": "user", "content": "hi", "name": "ann"}
    assert ToolMessage("22C", "call_1").to_dict() == {
        "role": "tool",
        "content": "22C",
        "tool_call_id": "call_1",
    }
    assert AssistantMessage("done").to_dict() == {"role": "assistant", "content": "done"}


def test_user_message_with_image_part_round_trips() -> None:
    parts: list[Any] = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
    ]
    assert UserMessage(parts).to_dict() == {"role": "user", "content": parts}


def test_assistant_message_strips_response_extras_from_tool_calls() -> None:
    call = ChatCompletion.model_validate(_response()).tool_calls[0]
    wire = AssistantMessage(tool_calls=[call]).to_dict()
    assert wire["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": '{"location":"Florence, Italy"}',
    }


def test_assistant_message_needs_content_or_tool_calls() -> None:
    with pytest.raises(ValidationError, match="content or tool_calls"):
        AssistantMessage()


def test_user_message_rejects_malformed_part() -> None:
    with pytest.raises(ValidationError):
        UserMessage([{"type": "image_url", "image_url": "not-a-dict"}])  # type: ignore[typeddict-item]


def test_typed_messages_are_frozen() -> None:
    message = UserMessage("hi")
    with pytest.raises(ValidationError):
        message.content = "changed"  # type: ignore[misc]


def test_typed_messages_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        UserMessage.model_validate({"content": "hi", "contnet": "typo"})


def test_typed_message_validates_from_its_own_wire_dict() -> None:
    message = UserMessage.model_validate({"role": "user", "content": "hi"})
    assert message.to_dict() == {"role": "user", "content": "hi"}


def test_typed_message_rejects_a_different_role() -> None:
    with pytest.raises(ValidationError):
        UserMessage.model_validate({"role": "system", "content": "hi"})
