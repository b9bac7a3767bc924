"""Large bodies and events are decoded in two steps (plain JSON values, a density check, then the models); what
comes out must be what decoding them straight to models gives, and what is refused must be refused alike."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from grok_azure._dense_json import DIRECT_DECODE_BYTES, validate_large
from grok_azure.types import ChatCompletion, ChatCompletionChunk

FILTERS = {
    name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")
}


def _call(index: int) -> dict[str, Any]:
    return {
        "id": f"call_{index:024d}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "day": index})},
    }


def _completion(choices: list[dict[str, Any]]) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "grok-4",
        "choices": choices,
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        "stop_reason": None,
    }
    return json.dumps(body).encode()


LARGE_ANSWERS = {
    "long text": _completion(
        [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "a, {b} [c] " * 20_000},
                "finish_reason": "stop",
            }
        ]
    ),
    "a thousand tool calls": _completion(
        [
            {
                "index": 0,
                "message": {"role": "assistant", "tool_calls": [_call(i) for i in range(1_000)]},
                "finish_reason": "tool_calls",
                "content_filter_results": FILTERS,
            }
        ]
    ),
    "128 choices": _completion(
        [
            {
                "index": i,
                "message": {"role": "assistant", "content": "x" * 500},
                "finish_reason": "stop",
                "content_filter_results": FILTERS,
            }
            for i in range(128)
        ]
    ),
}


@pytest.mark.parametrize("name", LARGE_ANSWERS)
def test_a_large_answer_decodes_as_it_would_straight_to_models(name: str) -> None:
    body = LARGE_ANSWERS[name]
    assert len(body) > DIRECT_DECODE_BYTES
    two_steps = validate_large(ChatCompletion, body)
    straight = ChatCompletion.model_validate_json(body)
    assert two_steps == straight
    assert two_steps.model_extra == straight.model_extra == {"stop_reason": None}
    assert two_steps.choices[-1].model_fields_set == straight.choices[-1].model_fields_set
    assert two_steps.model_dump_json() == straight.model_dump_json()


def test_a_large_chunk_decodes_as_it_would_straight_to_models() -> None:
    delta = {"role": "assistant", "tool_calls": [{"index": i, **_call(i)} for i in range(800)]}
    data = json.dumps({"id": "c", "choices": [{"index": 0, "delta": delta}], "model": "grok-4"})
    assert len(data) > DIRECT_DECODE_BYTES
    assert validate_large(ChatCompletionChunk, data) == ChatCompletionChunk.model_validate_json(data)


@pytest.mark.parametrize(
    ("where", "dense"),
    [
        ("choices", {"choices": [{}] * 40_000}),
        ("prompt filter results", {"choices": [], "prompt_filter_results": [{}] * 40_000}),
        ("tool calls", {"choices": [{"message": {"tool_calls": [{"id": "", "function": {}}] * 10_000}}]}),
        ("delta tool calls", {"choices": [{"delta": {"tool_calls": [{}] * 40_000}}]}),
    ],
)
def test_dense_lists_of_models_are_refused(where: str, dense: dict[str, Any]) -> None:
    data = json.dumps(dense, separators=(",", ":"))
    assert len(data) > DIRECT_DECODE_BYTES
    for model in (ChatCompletion, ChatCompletionChunk):
        with pytest.raises(pydantic.ValidationError, match="denser than any answer") as caught:
            validate_large(model, data)
        assert caught.value.errors()[0]["type"] == "too_dense"


def test_invalid_json_is_reported_as_it_is_when_small() -> None:
    large = LARGE_ANSWERS["long text"][:-1]
    with pytest.raises(pydantic.ValidationError) as straight:
        ChatCompletion.model_validate_json(b'{"choices": [')
    with pytest.raises(pydantic.ValidationError) as two_steps:
        validate_large(ChatCompletion, large)
    for caught in (straight, two_steps):
        error = caught.value.errors()[0]
        assert error["type"] == "json_invalid"
        assert error["msg"].startswith("Invalid JSON: EOF while parsing")


def test_a_large_body_that_is_not_an_object_is_no_completion() -> None:
    data = json.dumps(["x" * 100] * 1_000)
    assert len(data) > DIRECT_DECODE_BYTES
    with pytest.raises(pydantic.ValidationError) as caught:
        validate_large(ChatCompletion, data)
    assert caught.value.errors()[0]["type"] == "model_type"
