"""A chat request checked against the deployed model's rules, as the service checks it.

Model rules come from the catalog (``grok_azure._catalog``): reasoning effort, parameters a model rejects,
input modalities, structured output, function calling, context window and output limit. Only a *stated* fact
refuses a request: a rejection or limit that no source confirms (the entry's ``unconfirmed``) lets the request
through, because the emulator must not turn the catalog's guesses into errors Azure may never send;
``strict=True`` (``FoundryEmulator(enforce_unconfirmed=True)``) enforces them too, as xAI's own API does, to test
what a client does when a guess turns out right. Tokens are counted as one per four characters, plus a small
fixed overhead per message and 85 per image.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._catalog import ModelSpec
from ._errors import Rejection, Route, bad_request, context_length_exceeded, unsupported

_ROLES = ("system", "assistant", "user", "tool", "developer")
_MESSAGE_OVERHEAD = 3
IMAGE_TOKENS = 85


def count_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    parameters: Any


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request, reduced to what the emulator's "model" needs."""

    messages: tuple[Mapping[str, Any], ...]
    stream: bool
    include_usage: bool
    tools: tuple[ToolSpec, ...]
    tool_choice: str  # "auto", "none", "required" or "function" (then forced_tool is set)
    forced_tool: str | None
    response_format: str  # "text", "json_object" or "json_schema"
    response_schema: Any
    max_tokens: int | None
    prompt_tokens: int
    image_tokens: int


def validate_chat(
    route: Route, body: Mapping[str, Any], spec: ModelSpec, *, strict: bool = False
) -> ChatRequest:
    """Check ``body`` against the service's and the model's rules; raise a Rejection on the first problem.

    Args:
        route: the route the request came in on (it shapes the error bodies).
        body: the request body.
        spec: the deployed model.
        strict: enforce the model's unconfirmed facts as well as its stated ones.
    """
    check = _Checker(route, spec, strict)
    messages = check.messages(body.get("messages"))
    check.model_rejections(body)
    check.number(body, "temperature", 0, 2)
    check.number(body, "top_p", 0, 1)
    check.number(body, "presence_penalty", -2, 2)
    check.number(body, "frequency_penalty", -2, 2)
    check.reasoning_effort(body.get("reasoning_effort"))
    check.choices(body.get("n"))
    max_tokens = check.max_tokens(body)
    stream, include_usage = check.streaming(body)
    tools, tool_choice, forced = check.tools(body.get("tools"), body.get("tool_choice"))
    response_format, schema = check.response_format(body.get("response_format"))
    prompt_tokens, image_tokens = _prompt_tokens(messages, body.get("tools"))
    window = spec.context_window
    if window is not None and check.enforces("context_window") and prompt_tokens > window:
        raise context_length_exceeded(route, window, prompt_tokens)
    return ChatRequest(
        messages, stream, include_usage, tools, tool_choice, forced, response_format, schema, max_tokens,
        prompt_tokens, image_tokens,
    )  # fmt: skip


def _prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Any) -> tuple[int, int]:
    text_tokens, images = _MESSAGE_OVERHEAD, 0
    for message in messages:
        text_tokens += _MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):
            text_tokens += count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    images += 1
                else:
                    text_tokens += count_tokens(str(part.get("text", "")))
        if message.get("tool_calls"):
            text_tokens += count_tokens(json.dumps(message["tool_calls"]))
    if tools:
        text_tokens += count_tokens(json.dumps(tools))
    return text_tokens + images * IMAGE_TOKENS, images * IMAGE_TOKENS


class _Checker:
    def __init__(self, route: Route, spec: ModelSpec, strict: bool) -> None:
        self.route = route
        self.spec = spec
        self.strict = strict

    def enforces(self, fact: str) -> bool:
        """Whether a limit ``fact`` of the catalog refuses requests: when stated, or always when strict."""
        return self.strict or self.spec.is_stated(fact)

    def rejects(self, param: str) -> bool:
        verdict = self.spec.knows_rejects(param)
        return verdict is True or (self.strict and verdict is None)

    def invalid(self, message: str, param: str | None, code: str | None = "invalid_value") -> Rejection:
        return bad_request(self.route, message, code=code, param=param)

    def not_supported(
        self, message: str, param: str, value: Any, code: str = "unsupported_value"
    ) -> Rejection:
        return unsupported(self.route, message, param=param, value=value, code=code)

    def messages(self, value: Any) -> tuple[Mapping[str, Any], ...]:
        if value is None:
            raise self.invalid(
                "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
            )
        if not isinstance(value, list):
            raise self.invalid(
                f"Invalid type for 'messages': expected an array, but got {type(value).__name__} instead.",
                "messages",
                "invalid_type",
            )
        if not value:
            raise self.invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
                "array instead.",
                "messages",
                "empty_array",
            )
        for index, message in enumerate(value):
            self.message(index, message)
        return tuple(value)

    def message(self, index: int, message: Any) -> None:
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise self.invalid(f"Invalid type for '{where}': expected an object.", where, "invalid_type")
        role = message.get("role")
        if role is None:
            raise self.invalid(
                f"Missing required parameter: '{where}.role'.", f"{where}.role", "missing_required_parameter"
            )
        if role not in _ROLES:
            raise self.invalid(
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', and "
                "'developer'.",
                f"{where}.role",
            )
        content = message.get("content")
        if content is None and not (role == "assistant" and message.get("tool_calls")):
            raise self.invalid(
                f"Missing required parameter: '{where}.content'.",
                f"{where}.content",
                "missing_required_parameter",
            )
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise self.invalid(
                f"Missing required parameter: '{where}.tool_call_id'.",
                f"{where}.tool_call_id",
                "missing_required_parameter",
            )
        if isinstance(content, list):
            for part_index, part in enumerate(content):
                self.content_part(f"{where}.content[{part_index}]", role, part)
        elif content is not None and not isinstance(content, str):
            raise self.invalid(
                f"Invalid type for '{where}.content': expected a string or an array of content parts.",
                f"{where}.content",
                "invalid_type",
            )

    def content_part(self, where: str, role: str, part: Any) -> None:
        kind = part.get("type") if isinstance(part, dict) else None
        allowed = ("text", "image_url") if role == "user" else ("text",)
        if kind not in allowed:
            names = " and ".join(f"'{a}'" for a in allowed)
            raise self.invalid(f"Invalid value: '{kind}'. Supported values are: {names}.", f"{where}.type")
        if kind == "text" and not isinstance(part.get("text"), str):
            raise self.invalid(
                f"Missing required parameter: '{where}.text'.", f"{where}.text", "missing_required_parameter"
            )
        if kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise self.invalid(
                    f"Missing required parameter: '{where}.image_url.url'.",
                    f"{where}.image_url.url",
                    "missing_required_parameter",
                )
            if "image" not in self.spec.input_modalities and self.enforces("input_modalities"):
                raise self.not_supported(
                    f"Image inputs are not supported by model {self.spec.id}.", where, "image_url"
                )

    def model_rejections(self, body: Mapping[str, Any]) -> None:
        for name in sorted(self.spec.rejected_parameters):
            if name == "reasoning_effort":
                continue  # checked with its values, by reasoning_effort()
            value = body.get(name)
            if value is None or (self.spec.knows_rejects(name) is True and _neutral(name, value)):
                continue  # a stated rejection (grok-4.6, [P4]) was seen only for non-default values
            if self.rejects(name):
                raise self.not_supported(
                    f"Model {self.spec.id} does not support parameter {name}.",
                    name,
                    body[name],
                    "unsupported_parameter",
                )

    def number(self, body: Mapping[str, Any], name: str, low: float, high: float) -> None:
        value = body.get(name)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.invalid(f"Invalid type for '{name}': expected a decimal.", name, "invalid_type")
        if value < low:
            raise self.invalid(
                f"Invalid '{name}': decimal below minimum value. Expected a value >= {low}, but got {value} "
                "instead.",
                name,
                "decimal_below_min_value",
            )
        if value > high:
            raise self.invalid(
                f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but got {value} "
                "instead.",
                name,
                "decimal_above_max_value",
            )

    def reasoning_effort(self, value: Any) -> None:
        if value is None:
            return
        if self.rejects("reasoning_effort"):
            raise self.not_supported(
                f"Model {self.spec.id} does not support parameter reasoning_effort.",
                "reasoning_effort",
                value,
                "unsupported_parameter",
            )
        if not isinstance(value, str):
            raise self.invalid(
                "Invalid type for 'reasoning_effort': expected a string.", "reasoning_effort", "invalid_type"
            )
        # Refused only when a stated list of values leaves it out (any list, when strict); an undocumented value
        # may well work.
        listed = self.spec.effort_values
        if self.spec.knows_accepts_effort(value) is False or (self.strict and listed and value not in listed):
            accepted = ", ".join(f"'{v}'" for v in self.spec.effort_values)
            raise self.not_supported(
                f"Invalid value for reasoning_effort: {value!r}. Model {self.spec.id} supports: {accepted}.",
                "reasoning_effort",
                value,
            )

    def choices(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.invalid(f"Invalid 'n': expected an integer >= 1, but got {value!r}.", "n")
        if value > 1:
            raise self.not_supported(f"Model {self.spec.id} does not support n > 1.", "n", value)

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        limit = None
        for name in ("max_tokens", "max_completion_tokens"):
            value = body.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.invalid(f"Invalid type for '{name}': expected an integer.", name, "invalid_type")
            if value < 1:
                raise self.invalid(
                    f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} "
                    "instead.",
                    name,
                    "integer_below_min_value",
                )
            most = self.spec.max_output_tokens
            if most is not None and value > most and self.enforces("max_output_tokens"):
                raise self.invalid(
                    f"{name} is too large: {value}. This model supports at most {most} completion tokens, "
                    f"whereas you provided {value}.",
                    name,
                )
            limit = value if limit is None else min(limit, value)
        return limit

    def streaming(self, body: Mapping[str, Any]) -> tuple[bool, bool]:
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise self.invalid("Invalid type for 'stream': expected a boolean.", "stream", "invalid_type")
        options = body.get("stream_options")
        if options is None:
            return bool(stream), False
        if not stream:
            raise self.invalid(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
            )
        if not isinstance(options, dict):
            raise self.invalid(
                "Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type"
            )
        return True, options.get("include_usage") is True

    def tools(self, tools: Any, choice: Any) -> tuple[tuple[ToolSpec, ...], str, str | None]:
        specs: list[ToolSpec] = []
        if tools is not None:
            if not isinstance(tools, list):
                raise self.invalid("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
            if tools and not self.spec.function_calling and self.enforces("function_calling"):
                raise self.not_supported(f"Model {self.spec.id} does not support tools.", "tools", tools)
            for index, tool in enumerate(tools):
                function = tool.get("function") if isinstance(tool, dict) else None
                if (
                    not isinstance(tool, dict)
                    or tool.get("type") != "function"
                    or not isinstance(function, dict)
                ):
                    raise self.invalid(
                        f"Invalid 'tools[{index}]': expected a function tool.", f"tools[{index}]"
                    )
                if not isinstance(function.get("name"), str) or not function["name"]:
                    raise self.invalid(
                        f"Missing required parameter: 'tools[{index}].function.name'.",
                        f"tools[{index}].function.name",
                        "missing_required_parameter",
                    )
                specs.append(ToolSpec(function["name"], function.get("parameters", {"type": "object"})))
        if choice is None:
            return tuple(specs), "auto", None
        if choice in ("auto", "none", "required"):
            if choice == "required" and not specs:
                raise self.invalid(
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                    "tool_choice",
                )
            return tuple(specs), choice, None
        name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        if not isinstance(name, str):
            raise self.invalid(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
        if name not in {s.name for s in specs}:
            raise self.invalid(
                f"Invalid 'tool_choice': no function named '{name}' in 'tools'.", "tool_choice"
            )
        return tuple(specs), "function", name

    def response_format(self, value: Any) -> tuple[str, Any]:
        if value is None:
            return "text", None
        kind = value.get("type") if isinstance(value, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            raise self.invalid(
                f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object' and 'json_schema'.",
                "response_format.type",
            )
        assert isinstance(value, dict)
        if kind == "json_object" and self.spec.json_object is False and self.enforces("json_object"):
            raise self.not_supported(
                f"Model {self.spec.id} does not support response_format json_object.",
                "response_format",
                "json_object",
            )
        if kind != "json_schema":
            return kind, None
        if self.spec.json_schema is False and self.enforces("json_schema"):
            raise self.not_supported(
                f"Model {self.spec.id} does not support response_format json_schema.",
                "response_format",
                "json_schema",
            )
        definition = value.get("json_schema")
        if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
            raise self.invalid(
                "Missing required parameter: 'response_format.json_schema.name'.",
                "response_format.json_schema.name",
                "missing_required_parameter",
            )
        schema = definition.get("schema", {})
        if not isinstance(schema, dict):
            raise self.invalid(
                "Invalid type for 'response_format.json_schema.schema': expected an object.",
                "response_format.json_schema.schema",
                "invalid_type",
            )
        return kind, schema


# Azure refused grok-4.6's penalties and logprobs only at non-default values ([P4] in the catalog's references).
_NEUTRAL: dict[str, tuple[object, ...]] = {
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logprobs": (False,),
}


def _neutral(name: str, value: object) -> bool:
    neutral = _NEUTRAL.get(name)
    return neutral is not None and type(value) in (int, float, bool) and value in neutral
