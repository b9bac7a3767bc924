"""The parameters of a chat completion request, and the one function that turns them into a wire body.

Both clients and every entry point (``create``, ``stream``) go through :func:`build_chat_body`, so a parameter is
validated, converted and named the same way everywhere. Anything a caller passes either reaches the body or is
rejected with a :class:`RequestValidationError` naming it; nothing is dropped on the way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ._convert import (
    normalize_messages,
    normalize_response_format,
    normalize_stop,
    normalize_tool_choice,
    normalize_tools,
)
from ._errors import RequestValidationError
from ._validate import check_header_mapping, check_json_body, check_query_mapping, check_timeout
from .types.chat_params import ChatParams, MessageLike

__all__ = ["REQUEST_OPTION_KEYS", "ChatParams", "MessageInput", "build_chat_body", "build_chat_request"]

MessageInput = MessageLike  # dicts, typed message objects, response messages, azure.ai.inference messages


REQUEST_OPTION_KEYS = frozenset(
    {"extra_body", "extra_headers", "extra_query", "timeout", "deadline", "stream_deadline"}
)
_KNOWN_KEYS = frozenset(ChatParams.__annotations__)

# (low, high) inclusive bounds; None = unbounded on that side.
_NUMBER_RANGES: dict[str, tuple[float | None, float | None]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_POSITIVE_INTS = ("max_tokens", "max_completion_tokens", "n")
_INT_RANGES: dict[str, tuple[int, int]] = {"top_logprobs": (0, 20)}


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestValidationError(f"{name} must be a finite number; got {value!r}", param=name)
    low, high = _NUMBER_RANGES[name]
    if (low is not None and value < low) or (high is not None and value > high):
        raise RequestValidationError(f"{name} must be between {low} and {high}; got {value!r}", param=name)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestValidationError(f"{name} must be an integer; got {value!r}", param=name)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise RequestValidationError(f"{name} must be {bound}; got {value!r}", param=name)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise RequestValidationError(f"{name} must be true or false; got {value!r}", param=name)


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise RequestValidationError(f"{name} must be a non-empty string; got {value!r}", param=name)


def build_chat_body(
    *, model: str, messages: Iterable[MessageInput], stream: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate and convert the caller's arguments into the JSON body of a chat completion request."""
    return build_chat_request(model=model, messages=messages, stream=stream, params=params)[0]


def build_chat_request(
    *, model: str, messages: Iterable[MessageInput], stream: bool, params: Mapping[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """:func:`build_chat_body`, and the body's encoding as the request sends it (see ``check_json_body``)."""
    if not params.keys() <= _KNOWN_KEYS:
        unknown = sorted(set(params) - _KNOWN_KEYS)
        if "stream" in unknown:  # parse(..., stream=True): extra_body would refuse it too
            raise RequestValidationError(
                "stream is not an argument of this method: to stream parsed output, use "
                "client.chat.completions.stream(..., response_format=...)",
                param="stream",
            )
        raise RequestValidationError(
            f"Unexpected argument(s) {', '.join(unknown)}: pass fields the SDK does not know in extra_body={{...}}",
            param=unknown[0],
        )
    _check_str("model", model)
    _check_bool("stream", stream)
    body: dict[str, Any] = {"model": model, "messages": normalize_messages(messages)}
    for name, value in params.items():
        if value is None or name in REQUEST_OPTION_KEYS:
            continue
        body[name] = _convert_param(name, value)
    if stream:
        body["stream"] = True
    elif "stream_options" in body:
        raise RequestValidationError("stream_options is only valid with stream=True", param="stream_options")
    if "top_logprobs" in body and not body.get("logprobs"):
        raise RequestValidationError("top_logprobs requires logprobs=True", param="top_logprobs")
    if "tool_choice" in body and "tools" not in body and body["tool_choice"] not in ("none", "auto"):
        raise RequestValidationError("tool_choice names a tool but no tools were given", param="tool_choice")
    extra_body = params.get("extra_body")
    if extra_body is not None:
        _merge_extra_body(body, extra_body)
    # Checked here so that bad input fails before anything is sent, as a RequestValidationError naming it, not
    # as a TypeError or UnicodeEncodeError from json.dumps, or as a request carrying NaN or a CR.
    encoded = check_json_body(body, extra_body)
    if params.get("timeout") is not None:
        check_timeout(params["timeout"])
    check_header_mapping(params.get("extra_headers"), "extra_headers")
    check_query_mapping(params.get("extra_query"))
    return body, encoded


def _convert_param(name: str, value: Any) -> Any:
    if name in _NUMBER_RANGES:
        _check_number(name, value)
        return value
    if name in _POSITIVE_INTS:
        _check_int(name, value, 1)
        return value
    if name in _INT_RANGES:
        _check_int(name, value, *_INT_RANGES[name])
        return value
    if name == "seed":
        _check_int(name, value, -(2**63), 2**63 - 1)
        return value
    if name in ("parallel_tool_calls", "logprobs"):
        _check_bool(name, value)
        return value
    if name in ("reasoning_effort", "user"):
        _check_str(name, value)
        return value
    if name == "tools":
        tools = normalize_tools(value)
        if not tools:
            raise RequestValidationError(
                "tools must not be empty; leave it out to offer no tools", param=name
            )
        return tools
    if name == "tool_choice":
        return normalize_tool_choice(value)
    if name == "response_format":
        return normalize_response_format(value)
    if name == "stop":
        return normalize_stop(value)
    if name == "stream_options":
        if not isinstance(value, Mapping):
            raise RequestValidationError("stream_options must be a mapping", param=name)
        return dict(value)
    raise AssertionError(f"unhandled parameter {name}")  # pragma: no cover - _KNOWN_KEYS guards this


def _merge_extra_body(body: dict[str, Any], extra_body: Mapping[str, Any]) -> None:
    if not isinstance(extra_body, Mapping):
        raise RequestValidationError("extra_body must be a mapping", param="extra_body")
    if "stream" in extra_body:
        # The client decides how to read the response from `stream`; smuggled in, it would be decoded wrongly.
        raise RequestValidationError("pass stream=True as an argument, not in extra_body", param="stream")
    clashes = sorted(key for key in extra_body if key in body)
    if clashes:
        raise RequestValidationError(
            f"{', '.join(clashes)} given both as an argument and in extra_body; pass it once",
            param=clashes[0],
        )
    body.update(extra_body)
