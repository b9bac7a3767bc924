"""Caller input becomes wire JSON, or a RequestValidationError that names the offending path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.inference import models as azure_models
from azure.ai.inference.models import _models as azure_private_models
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from grok_azure._convert import (
    normalize_messages,
    normalize_response_format,
    normalize_stop,
    normalize_tool_choice,
    normalize_tools,
)
from grok_azure._errors import RequestValidationError
from grok_azure.types import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionMessage,
    DeveloperMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
)

TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": "{}"},
}


def _rejects(param: str, func: Any, value: Any) -> RequestValidationError:
    with pytest.raises(RequestValidationError) as info:
        func(value)
    assert info.value.param == param
    assert param in str(info.value)
    return info.value


# --- messages: accepted forms ----------------------------------------------------------------------


def test_plain_dicts_pass_through_unchanged() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ]
    assert normalize_messages(messages) == messages


def test_input_dicts_are_not_mutated() -> None:
    message = {"role": "assistant", "content": "x", "reasoning_content": "thoughts"}
    normalize_messages([message])
    assert message["reasoning_content"] == "thoughts"


def test_typed_message_objects_are_converted() -> None:
    assert normalize_messages(
        [
            SystemMessage("s"),
            DeveloperMessage("d"),
            UserMessage("u"),
            AssistantMessage("a"),
            ToolMessage("t", "call_1"),
        ]
    ) == [
        {"role": "system", "content": "s"},
        {"role": "developer", "content": "d"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
        {"role": "tool", "content": "t", "tool_call_id": "call_1"},
    ]


def test_response_message_is_accepted_without_reasoning() -> None:
    completion = ChatCompletion.model_validate(
        {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": "",
                        "reasoning_content": "long thoughts",
                        "refusal": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}", "call_id": None},
                            }
                        ],
                    }
                }
            ]
        }
    )
    [wire] = normalize_messages([completion.choices[0].message])
    assert wire == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }


def test_reasoning_content_in_assistant_dict_is_dropped() -> None:
    [wire] = normalize_messages([{"role": "assistant", "content": "x", "reasoning_content": "r"}])
    assert wire == {"role": "assistant", "content": "x"}


def test_response_tool_call_objects_inside_a_dict_are_converted() -> None:
    call = ChatCompletionMessage.model_validate(
        {"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}", "call_id": None}}]}
    ).tool_calls
    [wire] = normalize_messages([{"role": "assistant", "tool_calls": call}])
    assert wire["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]


def test_any_pydantic_model_is_dumped_without_nones() -> None:
    class OtherMessage(BaseModel):
        role: str
        content: str
        name: str | None = None

    assert normalize_messages([OtherMessage(role="user", content="hi")]) == [
        {"role": "user", "content": "hi"}
    ]


def test_azure_inference_messages_are_converted() -> None:
    messages = [
        azure_models.SystemMessage("s"),
        azure_models.DeveloperMessage("d"),
        azure_models.UserMessage(
            [
                azure_models.TextContentItem(text="look"),
                azure_models.ImageContentItem(
                    image_url=azure_models.ImageUrl(
                        url="https://x/y.png", detail=azure_models.ImageDetailLevel.HIGH
                    )
                ),
            ]
        ),
        azure_models.AssistantMessage(
            tool_calls=[
                azure_models.ChatCompletionsToolCall(
                    id="c1", function=azure_models.FunctionCall(name="f", arguments="{}")
                )
            ]
        ),
        azure_models.ToolMessage("r", tool_call_id="c1"),
    ]
    assert normalize_messages(messages) == [
        {"role": "system", "content": "s"},
        {"role": "developer", "content": "d"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}, "type": "function"}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "r"},
    ]


def test_generator_of_messages_is_accepted() -> None:
    def gen() -> Iterator[dict[str, Any]]:
        yield {"role": "user", "content": "hi"}

    assert normalize_messages(gen()) == [{"role": "user", "content": "hi"}]


def test_empty_string_content_is_allowed() -> None:
    assert normalize_messages([{"role": "user", "content": ""}]) == [{"role": "user", "content": ""}]


def test_data_url_image_is_accepted() -> None:
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"}}
    assert normalize_messages([{"role": "user", "content": [part]}])[0]["content"] == [part]


def test_assistant_refusal_part_is_accepted() -> None:
    message = {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}
    assert normalize_messages([message]) == [message]


# --- messages: rejections --------------------------------------------------------------------------


def test_string_instead_of_list_is_rejected() -> None:
    _rejects("messages", normalize_messages, "hello")


def test_single_dict_instead_of_list_is_rejected() -> None:
    exc = _rejects("messages", normalize_messages, {"role": "user", "content": "hi"})
    assert "single" in str(exc)


def test_single_typed_message_instead_of_list_is_rejected() -> None:
    _rejects("messages", normalize_messages, UserMessage("hi"))


def test_non_iterable_is_rejected() -> None:
    _rejects("messages", normalize_messages, 42)


def test_empty_messages_are_rejected() -> None:
    _rejects("messages", normalize_messages, [])


def test_string_item_is_rejected() -> None:
    _rejects("messages[1]", normalize_messages, [{"role": "user", "content": "a"}, "b"])


def test_unsupported_item_type_is_rejected() -> None:
    _rejects("messages[0]", normalize_messages, [("user", "hi")])


def test_missing_role_is_rejected() -> None:
    _rejects("messages[0].role", normalize_messages, [{"content": "hi"}])


def test_unknown_role_is_rejected_with_the_index() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "bot", "content": "c"},
    ]
    exc = _rejects("messages[2].role", normalize_messages, messages)
    assert "'bot'" in str(exc)


def test_non_string_name_is_rejected() -> None:
    _rejects("messages[0].name", normalize_messages, [{"role": "user", "content": "a", "name": 3}])


@pytest.mark.parametrize("role", ["system", "developer", "user", "tool"])
def test_missing_content_is_rejected(role: str) -> None:
    _rejects("messages[0].content", normalize_messages, [{"role": role, "tool_call_id": "c"}])


def test_assistant_without_content_or_tool_calls_is_rejected() -> None:
    _rejects("messages[0].content", normalize_messages, [{"role": "assistant"}])


def test_non_string_non_list_content_is_rejected() -> None:
    _rejects("messages[0].content", normalize_messages, [{"role": "user", "content": 42}])


def test_empty_parts_list_is_rejected() -> None:
    _rejects("messages[0].content", normalize_messages, [{"role": "user", "content": []}])


def test_part_that_is_not_a_dict_is_rejected() -> None:
    _rejects("messages[0].content[0]", normalize_messages, [{"role": "user", "content": ["hi"]}])


def test_image_part_in_system_message_is_rejected() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://x"}}
    _rejects("messages[0].content[0].type", normalize_messages, [{"role": "system", "content": [part]}])


def test_unknown_part_type_is_rejected() -> None:
    part = {"type": "input_audio", "input_audio": {}}
    _rejects("messages[0].content[0].type", normalize_messages, [{"role": "user", "content": [part]}])


def test_text_part_without_text_is_rejected() -> None:
    _rejects(
        "messages[0].content[0].text", normalize_messages, [{"role": "user", "content": [{"type": "text"}]}]
    )


def test_refusal_part_without_string_is_rejected() -> None:
    message = {"role": "assistant", "content": [{"type": "refusal", "refusal": None}]}
    _rejects("messages[0].content[0].refusal", normalize_messages, [message])


def test_image_url_as_plain_string_is_rejected() -> None:
    part = {"type": "image_url", "image_url": "https://x"}
    _rejects("messages[0].content[0].image_url", normalize_messages, [{"role": "user", "content": [part]}])


def test_image_url_without_url_is_rejected() -> None:
    part = {"type": "image_url", "image_url": {"url": "  "}}
    _rejects(
        "messages[0].content[0].image_url.url", normalize_messages, [{"role": "user", "content": [part]}]
    )


def test_image_detail_outside_enum_is_rejected() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://x", "detail": "ultra"}}
    _rejects(
        "messages[0].content[0].image_url.detail", normalize_messages, [{"role": "user", "content": [part]}]
    )


def test_tool_message_without_tool_call_id_is_rejected() -> None:
    _rejects("messages[0].tool_call_id", normalize_messages, [{"role": "tool", "content": "r"}])


def test_tool_calls_not_a_list_is_rejected() -> None:
    _rejects("messages[0].tool_calls", normalize_messages, [{"role": "assistant", "tool_calls": CALL}])


@pytest.mark.parametrize(
    ("call", "param"),
    [
        ("c1", "messages[0].tool_calls[0]"),
        ({**CALL, "id": ""}, "messages[0].tool_calls[0].id"),
        ({**CALL, "type": "code"}, "messages[0].tool_calls[0].type"),
        ({"id": "c1", "function": "f"}, "messages[0].tool_calls[0].function"),
        ({"id": "c1", "function": {"arguments": "{}"}}, "messages[0].tool_calls[0].function.name"),
        (
            {"id": "c1", "function": {"name": "f", "arguments": {"a": 1}}},
            "messages[0].tool_calls[0].function.arguments",
        ),
    ],
)
def test_malformed_tool_call_is_rejected(call: Any, param: str) -> None:
    _rejects(param, normalize_messages, [{"role": "assistant", "tool_calls": [call]}])


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"messages\[0\]\.role"):
        normalize_messages([{"content": "x"}])


# --- tools -----------------------------------------------------------------------------------------


def test_tool_dicts_pass_through() -> None:
    assert normalize_tools([TOOL]) == [TOOL]


def test_empty_tools_give_empty_list() -> None:
    assert normalize_tools([]) == []


def test_azure_tool_definition_is_converted() -> None:
    tool = azure_models.ChatCompletionsToolDefinition(
        function=azure_models.FunctionDefinition(
            name="get_weather", description="Weather for a city", parameters=TOOL["function"]["parameters"]
        )
    )
    assert normalize_tools([tool]) == [TOOL]


def test_function_without_parameters_is_accepted() -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    assert normalize_tools([tool]) == [tool]


def test_single_tool_instead_of_list_is_rejected() -> None:
    _rejects("tools", normalize_tools, TOOL)


def test_bare_function_definition_is_rejected_with_a_hint() -> None:
    exc = _rejects("tools[0]", normalize_tools, [TOOL["function"]])
    assert '"type": "function"' in str(exc)


def test_non_function_tool_type_is_rejected() -> None:
    _rejects("tools[0].type", normalize_tools, [{"type": "web_search", "function": {"name": "x"}}])


def test_tool_without_function_is_rejected() -> None:
    _rejects("tools[0].function", normalize_tools, [{"type": "function"}])


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dots.not.ok", None])
def test_invalid_function_name_is_rejected(name: Any) -> None:
    _rejects("tools[0].function.name", normalize_tools, [{"type": "function", "function": {"name": name}}])


def test_longest_valid_function_name_is_accepted() -> None:
    assert normalize_tools([{"type": "function", "function": {"name": "a-_9" * 16}}])


def test_non_dict_parameters_is_rejected() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": "{}"}}
    _rejects("tools[0].function.parameters", normalize_tools, [tool])


def test_non_object_parameters_schema_is_rejected() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}
    _rejects("tools[0].function.parameters.type", normalize_tools, [tool])


def test_unserialisable_parameters_are_rejected() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "enum": {1, 2}}}}
    _rejects("tools[0].function.parameters", normalize_tools, [tool])


def test_non_string_description_is_rejected() -> None:
    tool = {"type": "function", "function": {"name": "f", "description": 3}}
    _rejects("tools[0].function.description", normalize_tools, [tool])


def test_non_bool_strict_is_rejected() -> None:
    tool = {"type": "function", "function": {"name": "f", "strict": "yes"}}
    _rejects("tools[0].function.strict", normalize_tools, [tool])


# --- tool_choice -----------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["none", "auto", "required", "AUTO"])
def test_preset_tool_choice_strings(choice: str) -> None:
    assert normalize_tool_choice(choice) == choice.lower()


def test_named_tool_choice_dict() -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    assert normalize_tool_choice(choice) == choice


def test_azure_tool_choice_preset() -> None:
    assert normalize_tool_choice(azure_models.ChatCompletionsToolChoicePreset.REQUIRED) == "required"


def test_azure_named_tool_choice() -> None:
    choice = azure_models.ChatCompletionsNamedToolChoice(
        function=azure_models.ChatCompletionsNamedToolChoiceFunction(name="get_weather")
    )
    assert normalize_tool_choice(choice) == {"type": "function", "function": {"name": "get_weather"}}


def test_unknown_tool_choice_string_is_rejected() -> None:
    _rejects("tool_choice", normalize_tool_choice, "always")


def test_tool_choice_with_wrong_shape_is_rejected() -> None:
    _rejects("tool_choice", normalize_tool_choice, {"name": "get_weather"})


def test_tool_choice_with_invalid_name_is_rejected() -> None:
    _rejects(
        "tool_choice.function.name", normalize_tool_choice, {"type": "function", "function": {"name": "a b"}}
    )


def test_tool_choice_of_wrong_type_is_rejected() -> None:
    _rejects("tool_choice", normalize_tool_choice, 1)


# --- response_format -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "json_object"])
def test_response_format_strings(kind: str) -> None:
    assert normalize_response_format(kind) == {"type": kind}


@pytest.mark.parametrize("kind", ["text", "json_object"])
def test_response_format_simple_dicts(kind: str) -> None:
    assert normalize_response_format({"type": kind}) == {"type": kind}


def test_json_schema_dict_is_kept() -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True, "description": "d"},
    }
    assert normalize_response_format(fmt) == fmt


def test_azure_json_schema_format_is_wrapped() -> None:
    fmt = azure_models.JsonSchemaFormat(name="city", schema={"type": "object"}, description="d", strict=True)
    assert normalize_response_format(fmt) == {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": {"type": "object"}, "description": "d", "strict": True},
    }


def test_azure_response_format_objects_are_converted() -> None:
    assert normalize_response_format(azure_private_models.ChatCompletionsResponseFormatText()) == {
        "type": "text"
    }
    assert normalize_response_format(azure_private_models.ChatCompletionsResponseFormatJsonObject()) == {
        "type": "json_object"
    }
    wrapped = azure_private_models.ChatCompletionsResponseFormatJsonSchema(
        json_schema=azure_models.JsonSchemaFormat(name="n", schema={"type": "object"})
    )
    assert normalize_response_format(wrapped) == {
        "type": "json_schema",
        "json_schema": {"name": "n", "schema": {"type": "object"}},
    }


def test_json_schema_string_is_rejected() -> None:
    _rejects("response_format", normalize_response_format, "json_schema")


def test_unknown_response_format_type_is_rejected() -> None:
    _rejects("response_format.type", normalize_response_format, {"type": "yaml"})


def test_json_schema_without_definition_is_rejected() -> None:
    _rejects("response_format.json_schema", normalize_response_format, {"type": "json_schema"})


def test_json_schema_without_name_is_rejected() -> None:
    fmt = {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}
    _rejects("response_format.json_schema.name", normalize_response_format, fmt)


def test_json_schema_without_schema_is_rejected() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "n"}}
    _rejects("response_format.json_schema.schema", normalize_response_format, fmt)


def test_json_schema_with_non_bool_strict_is_rejected() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": {}, "strict": 1}}
    _rejects("response_format.json_schema.strict", normalize_response_format, fmt)


def test_json_schema_with_non_string_description_is_rejected() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": {}, "description": 1}}
    _rejects("response_format.json_schema.description", normalize_response_format, fmt)


def test_response_format_of_wrong_type_is_rejected() -> None:
    _rejects("response_format", normalize_response_format, 3)


# --- stop ------------------------------------------------------------------------------------------


def test_stop_string_is_kept() -> None:
    assert normalize_stop("END") == "END"


def test_stop_tuple_becomes_list() -> None:
    assert normalize_stop(("a", "b", "c", "d")) == ["a", "b", "c", "d"]


def test_empty_stop_string_is_rejected() -> None:
    _rejects("stop", normalize_stop, "")


def test_empty_stop_list_is_rejected() -> None:
    _rejects("stop", normalize_stop, [])


def test_more_than_four_stop_sequences_are_rejected() -> None:
    _rejects("stop", normalize_stop, ["a", "b", "c", "d", "e"])


@pytest.mark.parametrize("item", ["", 3, None])
def test_bad_stop_item_is_rejected(item: Any) -> None:
    _rejects("stop[1]", normalize_stop, ["ok", item])


# --- azure.ai.inference stays optional -------------------------------------------------------------


def test_convert_does_not_import_azure_inference() -> None:
    code = textwrap.dedent(
        """
        import sys
        from grok_azure._convert import normalize_messages, normalize_tools, normalize_response_format
        normalize_messages([{"role": "user", "content": "hi"}])
        normalize_tools([{"type": "function", "function": {"name": "f"}}])
        normalize_response_format("json_object")
        loaded = sorted(name for name in sys.modules if name.startswith("azure.ai.inference"))
        print(loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


# --- the shortcut for plain-text messages --------------------------------------------------------------------

_ANY_VALUE = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.sampled_from(["system", "developer", "user", "assistant", "tool", "robot", ""]),
    st.just([{"type": "text", "text": "hi"}]),
    st.just(["user"]),
    st.just({"nested": "dict"}),
)
_MESSAGE_DICTS = st.dictionaries(
    st.sampled_from(["role", "content", "name", "tool_call_id", "reasoning_content", "extra", "tool_calls"]),
    _ANY_VALUE,
    max_size=5,
)


@settings(max_examples=500, deadline=None)
@given(message=_MESSAGE_DICTS)
def test_the_plain_message_shortcut_agrees_with_the_full_checks(message: dict[str, Any]) -> None:
    from grok_azure._convert import _normalize_message, _plain_text_message

    fast = _plain_text_message(message)
    if fast is None:
        return
    assert fast == _normalize_message(message, "messages[0]")  # the full path accepts it and makes the same
    assert fast is not message  # a copy: the caller's dict can change after the call


def test_plain_messages_take_the_shortcut() -> None:
    from grok_azure._convert import _plain_text_message

    assert _plain_text_message({"role": "user", "content": "hi", "name": "ann"}) == {
        "role": "user",
        "content": "hi",
        "name": "ann",
    }
    assert (
        _plain_text_message({"role": "assistant", "content": "hi"}) is None
    )  # reasoning_content is dropped there
    assert (
        _plain_text_message({"role": ["user"], "content": "hi"}) is None
    )  # an unhashable role: the full path says
    assert _plain_text_message({"role": "user"}) is None  # no content: the full path says it is required
