"""Turn what callers pass into wire JSON, or raise ``RequestValidationError`` (no I/O).

Accepted inputs are plain dicts, this package's typed objects, any pydantic model, and ``azure.ai.inference``
model objects. The azure package is recognised by duck typing (its models are ``MutableMapping``s with
``as_dict()``) and is never imported here, so users without it pay nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel

from ._errors import RequestValidationError
from ._validate import ONLY_STR
from .types.chat_completion import ChatCompletionMessage, ChatCompletionMessageToolCall
from .types.chat_params import (
    AssistantMessage,
    DeveloperMessage,
    MessageLike,
    SystemMessage,
    ToolMessage,
    UserMessage,
)

__all__ = [
    "normalize_messages",
    "normalize_response_format",
    "normalize_stop",
    "normalize_tool_choice",
    "normalize_tools",
]

_ROLES = ("system", "developer", "user", "assistant", "tool")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_IMAGE_DETAILS = ("auto", "low", "high")
_TOOL_CHOICES = ("none", "auto", "required")
_PART_TYPES_BY_ROLE = {
    "system": ("text",),
    "developer": ("text",),
    "user": ("text", "image_url"),
    "assistant": ("text", "refusal"),
    "tool": ("text",),
}
_MAX_STOP = 4
_TYPED_MESSAGES = (SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage)


def _fail(param: str, problem: str) -> RequestValidationError:
    return RequestValidationError(f"{param} {problem}", param=param)


def _is_azure_model(value: object) -> bool:
    return type(value).__module__.startswith("azure.ai.inference") and callable(
        getattr(value, "as_dict", None)
    )


# Exact types that need no conversion, and the two containers most messages are made of. Checked by identity
# first: the isinstance checks below (two of them against ABCs) cost a twentieth of a small async call.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Recursively convert models and mappings to plain JSON-like values."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    if kind is list:
        return [_plain(item) for item in value]
    if isinstance(value, (ChatCompletionMessage, ChatCompletionMessageToolCall)):
        return value.to_param()
    if _is_azure_model(value):
        return _plain(value.as_dict())
    if isinstance(value, _TYPED_MESSAGES):
        return value.to_dict()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _as_dict(value: object, param: str, what: str) -> dict[str, Any]:
    if isinstance(value, (str, bytes)):
        raise _fail(param, f"must be {what}, not a string")
    plain = _plain(value)
    if not isinstance(plain, dict):
        raise _fail(param, f"must be {what}, not {type(value).__name__}")
    return plain


def _as_list(value: object, param: str, what: str) -> list[Any]:
    if type(value) is list:  # most callers pass one: no checks against abstract classes needed
        return list(value)
    if isinstance(value, (str, bytes, Mapping, BaseModel)) or _is_azure_model(value):
        raise _fail(param, f"must be a list of {what}, not a single {type(value).__name__}")
    if not isinstance(value, Iterable):
        raise _fail(param, f"must be a list of {what}, not {type(value).__name__}")
    return list(value)


def _check_name(value: object, param: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise _fail(param, f"must be 1-64 letters, digits, '_' or '-', got {value!r}")


# --- messages ------------------------------------------------------------------------------------------


def _check_part(part: object, role: str, param: str) -> None:
    if not isinstance(part, dict):
        raise _fail(param, f"must be a content part dict, not {type(part).__name__}")
    allowed = _PART_TYPES_BY_ROLE[role]
    kind = part.get("type")
    if kind not in allowed:
        raise _fail(
            f"{param}.type", f"must be one of {', '.join(allowed)} for a {role} message, got {kind!r}"
        )
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _fail(f"{param}.text", "must be a string")
    if kind == "refusal" and not isinstance(part.get("refusal"), str):
        raise _fail(f"{param}.refusal", "must be a string")
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict):
            raise _fail(f"{param}.image_url", 'must be a dict like {"url": "https://..."}')
        url = image.get("url")
        if not isinstance(url, str) or not url.strip():
            raise _fail(f"{param}.image_url.url", "must be a non-empty string (an https or data: URL)")
        if "detail" in image and image["detail"] not in _IMAGE_DETAILS:
            raise _fail(f"{param}.image_url.detail", f"must be one of {', '.join(_IMAGE_DETAILS)}")


def _check_content(message: dict[str, Any], role: str, param: str) -> None:
    content = message.get("content")
    if content is None:
        if role == "assistant":
            if not message.get("tool_calls"):
                raise _fail(f"{param}.content", "is required when an assistant message has no tool_calls")
            return
        raise _fail(f"{param}.content", f"is required for a {role} message")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _fail(
            f"{param}.content", f"must be a string or a list of content parts, not {type(content).__name__}"
        )
    if not content:
        raise _fail(f"{param}.content", "must not be an empty list")
    for index, part in enumerate(content):
        _check_part(part, role, f"{param}.content[{index}]")


def _check_tool_calls(calls: object, param: str) -> None:
    if not isinstance(calls, list):
        raise _fail(param, "must be a list of tool calls")
    for index, call in enumerate(calls):
        where = f"{param}[{index}]"
        if not isinstance(call, dict):
            raise _fail(where, "must be a tool call dict")
        if not isinstance(call.get("id"), str) or not call["id"]:
            raise _fail(f"{where}.id", "must be a non-empty string")
        if call.get("type", "function") != "function":
            raise _fail(f"{where}.type", "must be 'function'")
        function = call.get("function")
        if not isinstance(function, dict):
            raise _fail(f"{where}.function", 'must be a dict like {"name": ..., "arguments": "{...}"}')
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise _fail(f"{where}.function.name", "must be a non-empty string")
        if not isinstance(function.get("arguments"), str):
            raise _fail(f"{where}.function.arguments", "must be a JSON-encoded string (use json.dumps)")


def _normalize_message(value: object, param: str) -> dict[str, Any]:
    message = _as_dict(value, param, "a message dict or message object")
    role = message.get("role")
    if role is None:
        raise _fail(f"{param}.role", "is required")
    if role not in _ROLES:
        raise _fail(f"{param}.role", f"must be one of {', '.join(_ROLES)}, got {role!r}")
    if "name" in message and not isinstance(message["name"], str):
        raise _fail(f"{param}.name", "must be a string")
    if role == "assistant":
        # Reasoning is output only: neither route's request schema has it, and resending costs prompt tokens.
        message.pop("reasoning_content", None)
        if message.get("tool_calls") is not None:
            _check_tool_calls(message["tool_calls"], f"{param}.tool_calls")
    if role == "tool" and (not isinstance(message.get("tool_call_id"), str) or not message["tool_call_id"]):
        raise _fail(f"{param}.tool_call_id", "is required for a tool message (the id of the call it answers)")
    _check_content(message, role, param)
    return message


def normalize_messages(messages: Iterable[MessageLike]) -> list[dict[str, Any]]:
    """Validate ``messages`` and return their wire form."""
    items = _as_list(messages, "messages", "messages")
    if not items:
        raise _fail("messages", "must contain at least one message")
    return [
        _plain_text_message(item) or _normalize_message(item, f"messages[{index}]")
        for index, item in enumerate(items)
    ]


# Roles whose plain-text message needs no check beyond its role (an assistant's drops reasoning_content, a tool's
# needs tool_call_id).
_PLAIN_ROLES = frozenset({"system", "developer", "user"})


def _plain_text_message(value: object) -> dict[str, Any] | None:
    """A copy of ``value`` when it is the commonest message, which every check passes and no conversion changes: a
    dict of strings with text content and a system, developer or user role; else None (the full path)."""
    if type(value) is not dict or type(value.get("content")) is not str:
        return None
    # Every value a str first: a role of another type (a list, unhashable) must not reach the set lookup.
    if not ONLY_STR.issuperset(map(type, value.values())) or value.get("role") not in _PLAIN_ROLES:
        return None
    return dict(value)


# --- tools ---------------------------------------------------------------------------------------------


def _check_function_definition(function: object, param: str) -> dict[str, Any]:
    if not isinstance(function, dict):
        raise _fail(param, 'must be a dict like {"name": ..., "parameters": {...}}')
    _check_name(function.get("name"), f"{param}.name")
    if "description" in function and not isinstance(function["description"], str):
        raise _fail(f"{param}.description", "must be a string")
    if "strict" in function and not isinstance(function["strict"], bool):
        raise _fail(f"{param}.strict", "must be a bool")
    if "parameters" in function:
        schema = function["parameters"]
        if not isinstance(schema, dict):
            raise _fail(f"{param}.parameters", "must be a JSON Schema dict (e.g. Model.model_json_schema())")
        if schema.get("type", "object") != "object":
            raise _fail(f"{param}.parameters.type", f"must be 'object', got {schema.get('type')!r}")
        try:
            json.dumps(schema, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise _fail(f"{param}.parameters", f"must be JSON-serialisable ({exc})") from None
    return function


def normalize_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Validate tool definitions; each must be ``{"type": "function", "function": {...}}``.

    An empty input gives ``[]``; callers should then omit ``tools`` from the request.
    """
    result: list[dict[str, Any]] = []
    for index, value in enumerate(_as_list(tools, "tools", "tool definitions")):
        param = f"tools[{index}]"
        tool = _as_dict(value, param, "a tool definition")
        if "function" not in tool and "name" in tool:
            raise _fail(
                param,
                'looks like a bare function definition; wrap it as {"type": "function", "function": {...}}',
            )
        if tool.get("type") != "function":
            raise _fail(f"{param}.type", f"must be 'function', got {tool.get('type')!r}")
        _check_function_definition(tool.get("function"), f"{param}.function")
        result.append(tool)
    return result


def normalize_tool_choice(choice: object) -> str | dict[str, Any]:
    """``"none"``/``"auto"``/``"required"`` or ``{"type": "function", "function": {"name": ...}}``."""
    if isinstance(choice, Enum):  # azure's ChatCompletionsToolChoicePreset
        choice = choice.value
    if isinstance(choice, str):
        if choice.lower() not in _TOOL_CHOICES:
            raise _fail(
                "tool_choice",
                f"must be one of {', '.join(_TOOL_CHOICES)} or a named function, got {choice!r}",
            )
        return choice.lower()
    named = _as_dict(choice, "tool_choice", "a string or a named tool choice dict")
    if named.get("type", "function") != "function" or not isinstance(named.get("function"), dict):
        raise _fail("tool_choice", 'must look like {"type": "function", "function": {"name": "..."}}')
    _check_name(named["function"].get("name"), "tool_choice.function.name")
    return {"type": "function", "function": {"name": named["function"]["name"]}}


# --- response format and stop --------------------------------------------------------------------------


def _check_json_schema(spec: object, param: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise _fail(param, 'must be a dict like {"name": ..., "schema": {...}}')
    _check_name(spec.get("name"), f"{param}.name")
    if not isinstance(spec.get("schema"), dict):
        raise _fail(f"{param}.schema", "must be a JSON Schema dict")
    if "strict" in spec and not isinstance(spec["strict"], bool):
        raise _fail(f"{param}.strict", "must be a bool")
    if "description" in spec and not isinstance(spec["description"], str):
        raise _fail(f"{param}.description", "must be a string")
    return spec


def normalize_response_format(fmt: object) -> dict[str, Any]:
    """``"text"``, ``"json_object"``, a response-format dict, or an azure ``JsonSchemaFormat`` or format."""
    if isinstance(fmt, str):
        if fmt in ("text", "json_object"):
            return {"type": fmt}
        raise _fail("response_format", f"must be 'text', 'json_object' or a dict, got {fmt!r}")
    value = _as_dict(fmt, "response_format", "a string or a response format dict")
    if "type" not in value and "schema" in value:
        # azure's JsonSchemaFormat is the bare schema definition; the wire wants it wrapped.
        value = {"type": "json_schema", "json_schema": value}
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": _check_json_schema(value.get("json_schema"), "response_format.json_schema"),
        }
    raise _fail("response_format.type", f"must be 'text', 'json_object' or 'json_schema', got {kind!r}")


def normalize_stop(stop: str | Iterable[str]) -> str | list[str]:
    """A stop string, or a list of 1 to 4 non-empty stop strings."""
    if isinstance(stop, str):
        if not stop:
            raise _fail("stop", "must not be an empty string")
        return stop
    items = _as_list(stop, "stop", "strings")
    if not items:
        raise _fail("stop", "must not be an empty list")
    if len(items) > _MAX_STOP:
        raise _fail("stop", f"accepts at most {_MAX_STOP} sequences, got {len(items)}")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise _fail(f"stop[{index}]", f"must be a non-empty string, got {item!r}")
    return items
