"""The gen_ai semantic-convention attributes of a chat call, read from its request body and its completion.

Names follow the OpenTelemetry GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/,
now kept in open-telemetry/semantic-conventions-genai). They are spelled out here rather than imported from
``opentelemetry-semantic-conventions``: that package is not a dependency of ``opentelemetry-api``, and its gen_ai
names are marked as moved.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..types.chat_completion import ChatCompletion

__all__ = ["PROVIDER", "input_messages", "output_messages", "request_attributes", "response_attributes"]

# Azure AI Foundry Models serve Grok on both routes (``/openai/v1`` and ``/models``): the service is Azure AI
# Inference's, not Azure OpenAI's (OpenAI's own models) nor xAI's API (api.x.ai). The model shows in
# gen_ai.request.model and gen_ai.response.model.
PROVIDER = "azure.ai.inference"

# Numeric request body fields -> attribute; each set only when the body has the field.
_NUMBERS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}
_JSON_FORMATS = frozenset({"json_object", "json_schema"})


def request_attributes(body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """The request parameters of ``body`` as span attributes (only those the caller set).

    Args:
        body: the request body the call sends.
        stream: whether the call streams.
    """
    # Only a stream is marked: absent means not streamed, and each attribute costs the SDK a validation.
    attributes: dict[str, Any] = {"gen_ai.request.stream": True} if stream else {}
    for field, value in body.items():  # a body has a few keys: walking them beats looking up every parameter
        name = _NUMBERS.get(field)
        if name is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[name] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = tuple(stop)
    count = body.get("n")
    if isinstance(count, int) and not isinstance(count, bool) and count != 1:  # semconv: only when not 1
        attributes["gen_ai.request.choice.count"] = count
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind == "text" or kind in _JSON_FORMATS:
            attributes["gen_ai.output.type"] = "json" if kind in _JSON_FORMATS else "text"
    return attributes


def response_attributes(completion: ChatCompletion) -> dict[str, Any]:
    """The response model, id, finish reasons and token usage of ``completion`` as span attributes.

    ``gen_ai.usage.output_tokens`` counts every generated token, the answer and the reasoning
    (:attr:`~grok_azure.CompletionUsage.billed_output_tokens`), right under either reasoning-token convention;
    the reasoning share is ``gen_ai.usage.reasoning.output_tokens`` when the service reports it.

    Args:
        completion: the call's completion (a stream's accumulated one).
    """
    attributes: dict[str, Any] = {
        "gen_ai.response.finish_reasons": tuple([c.finish_reason or "" for c in completion.choices]),
    }
    if completion.model:
        attributes["gen_ai.response.model"] = completion.model
    if completion.id:
        attributes["gen_ai.response.id"] = completion.id
    usage = completion.usage
    if usage is not None:
        attributes["gen_ai.usage.input_tokens"] = max(usage.prompt_tokens, 0)
        if usage.completion_tokens_details is not None and (reasoning := usage.reasoning_tokens):
            attributes["gen_ai.usage.output_tokens"] = usage.billed_output_tokens
            attributes["gen_ai.usage.reasoning.output_tokens"] = reasoning
        else:  # no reasoning reported: billed_output_tokens is the completion's count, without its arithmetic
            attributes["gen_ai.usage.output_tokens"] = max(usage.completion_tokens, 0)
        if usage.prompt_tokens_details is not None and (cached := usage.cached_tokens):
            attributes["gen_ai.usage.cache_read.input_tokens"] = cached
    return attributes


def input_messages(body: Mapping[str, Any]) -> str:
    """``gen_ai.input.messages``: the request's messages as semconv JSON (role and parts)."""
    messages = body.get("messages")
    if not isinstance(messages, (list, tuple)):
        return "[]"
    return _dumps([_input_message(m) for m in messages if isinstance(m, Mapping)])


def output_messages(completion: ChatCompletion) -> str:
    """``gen_ai.output.messages``: one message per choice, with its finish reason, as semconv JSON."""
    out = []
    for choice in completion.choices:
        message = choice.message
        parts: list[dict[str, Any]] = []
        if message.reasoning_content:
            parts.append({"type": "reasoning", "content": message.reasoning_content})
        if message.content:
            parts.append({"type": "text", "content": message.content})
        for call in message.tool_calls or ():
            parts.append(_tool_call(call.id, call.function.name, call.function.arguments))
        out.append({"role": message.role, "parts": parts, "finish_reason": choice.finish_reason or ""})
    return _dumps(out)


def _input_message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = str(message.get("role", ""))
    content = message.get("content")
    parts: list[dict[str, Any]]
    if role == "tool":
        parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"), "response": content}]
    else:
        parts = _content_parts(content)
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            function = call.get("function")
            function = function if isinstance(function, Mapping) else {}
            parts.append(_tool_call(call.get("id"), function.get("name"), function.get("arguments")))
    out: dict[str, Any] = {"role": role, "parts": parts}
    if isinstance(message.get("name"), str):
        out["name"] = message["name"]
    return out


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, (list, tuple)):
        return []
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text":
            parts.append({"type": "text", "content": part.get("text")})
        else:  # an image or other media: its type only, never its bytes (a data: URL can be megabytes)
            parts.append({"type": str(part.get("type", "unknown"))})
    return parts


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # model-written JSON may be invalid: keep the text as sent
            arguments = json.loads(arguments)
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
