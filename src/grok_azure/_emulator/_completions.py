"""The emulated model: one deterministic exchange, rendered as a completion or as Azure's stream chunks.

Both renderings come from the same :class:`Exchange`, so a streamed and a non-streamed answer to the same
request carry the same content, reasoning, tool calls and finish reason. Usage follows the OpenAI
convention: reasoning tokens are counted inside ``completion_tokens`` and
``total_tokens == prompt_tokens + completion_tokens``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._catalog import ModelSpec
from ._errors import Route
from ._schema_values import example_value
from ._state import Reply
from ._validation import ChatRequest, count_tokens

_SAFE = {"filtered": False, "severity": "safe"}
CHOICE_FILTER_SAFE: dict[str, Any] = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
CHOICE_FILTER_FILTERED: dict[str, Any] = {
    **CHOICE_FILTER_SAFE,
    "violence": {"filtered": True, "severity": "high"},
}
PROMPT_FILTER_RESULTS: list[dict[str, Any]] = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            "hate": _SAFE,
            "jailbreak": {"filtered": False, "detected": False},
            "self_harm": _SAFE,
            "sexual": _SAFE,
            "violence": _SAFE,
        },
    }
]
_WORDS = re.compile(r"\S+\s*|\s+")
_ARGUMENT_PIECE = 12
_ECHO_LIMIT = 2000


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Exchange:
    """What the "model" answers to one request, independent of how it is delivered."""

    id: str
    created: int
    model: str
    system_fingerprint: str
    content: str
    reasoning: str | None  # returned as reasoning_content when not None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: dict[str, Any]
    filtered: bool


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return ""


def default_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """``Echo: <last user message>``, or ``Tool results: ...`` right after tool messages."""
    trailing_tools: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing_tools.insert(0, message_text(message))
    if trailing_tools:
        return "Tool results: " + "; ".join(trailing_tools)
    for message in reversed(messages):
        if message.get("role") == "user":
            return "Echo: " + message_text(message)[:_ECHO_LIMIT]
    return "Echo: "


def build_exchange(
    request: ChatRequest,
    spec: ModelSpec,
    script: Reply | None,
    *,
    filtered: bool,
    next_call_id: Callable[[], str],
    route: Route,
) -> Exchange:
    calls = _tool_calls(request, script, next_call_id)
    if script is not None and script.text is not None:
        content = script.text
    elif calls:
        content = ""
    elif request.response_format == "json_schema":
        content = json.dumps(example_value(request.response_schema))
    elif request.response_format == "json_object":
        content = json.dumps({"reply": default_text(request.messages)})
    else:
        content = default_text(request.messages)
    reasoning = script.reasoning if script is not None else None
    if reasoning is None and spec.reasons:
        reasoning = (
            f"The request ends with: {message_text(request.messages[-1])[:200]!r}. Answer it directly."
        )
    returned = (
        reasoning
        if (script is not None and script.reasoning is not None) or spec.returns_reasoning_content
        else None
    )
    finish = script.finish_reason if script is not None else None
    if finish is None:
        finish = "tool_calls" if calls else "stop"
        if request.max_tokens is not None and count_tokens(content) > request.max_tokens:
            content, finish = content[: request.max_tokens * 4], "length"
    if filtered:
        words = _WORDS.findall(content)
        content, calls, finish = "".join(words[: len(words) // 2]), (), "content_filter"
    completion = count_tokens(content) + sum(count_tokens(c.name + c.arguments) for c in calls)
    reasoning_tokens = count_tokens(reasoning) if reasoning else 0
    return Exchange(
        id=f"{uuid.uuid4()}_sidecar",
        created=int(time.time()),
        model=spec.id,
        system_fingerprint="fp_" + hashlib.sha256(spec.id.encode()).hexdigest()[:10],
        content=content,
        reasoning=returned,
        tool_calls=calls,
        finish_reason=finish,
        usage=_usage(request, completion + reasoning_tokens, reasoning_tokens, route),
        filtered=filtered,
    )


def _tool_calls(
    request: ChatRequest, script: Reply | None, next_call_id: Callable[[], str]
) -> tuple[ToolCall, ...]:
    schemas = {tool.name: tool.parameters for tool in request.tools}
    if script is not None and script.tool_calls:
        calls = []
        for call in script.tool_calls:
            arguments = call.get("arguments")
            if arguments is None:
                arguments = example_value(schemas.get(call["name"], {"type": "object"}))
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append(ToolCall(next_call_id(), call["name"], text))
        return tuple(calls)
    if not request.tools or request.tool_choice not in ("required", "function"):
        return ()
    name = request.forced_tool or request.tools[0].name
    return (ToolCall(next_call_id(), name, json.dumps(example_value(schemas[name]))),)


def _usage(request: ChatRequest, completion: int, reasoning: int, route: Route) -> dict[str, Any]:
    details: dict[str, Any] = {
        "accepted_prediction_tokens": 0,
        "audio_tokens": 0,
        "reasoning_tokens": reasoning,
        "rejected_prediction_tokens": 0,
    }
    if route == "model_inference":
        # The 2025-05-01 spec requires a breakdown total (audio + reasoning) in CompletionsUsageDetails.
        details["total_tokens"] = reasoning
    return {
        "completion_tokens": completion,
        "completion_tokens_details": details,
        "num_sources_used": 0,
        "prompt_tokens": request.prompt_tokens,
        "prompt_tokens_details": {
            "audio_tokens": 0,
            "cached_tokens": 0,
            "image_tokens": request.image_tokens,
            "text_tokens": request.prompt_tokens - request.image_tokens,
        },
        "total_tokens": request.prompt_tokens + completion,
    }


def completion_body(exchange: Exchange) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` body, with Azure's extras."""
    message: dict[str, Any] = {"content": exchange.content}
    if exchange.reasoning is not None:
        message["reasoning_content"] = exchange.reasoning
    message.update(refusal=None, role="assistant")
    if exchange.tool_calls:
        message["tool_calls"] = [
            {
                "function": {"arguments": c.arguments, "call_id": None, "name": c.name},
                "id": c.id,
                "type": "function",
            }
            for c in exchange.tool_calls
        ]
    choice = {
        "content_filter_results": CHOICE_FILTER_FILTERED if exchange.filtered else CHOICE_FILTER_SAFE,
        "finish_reason": exchange.finish_reason,
        "index": 0,
        "logprobs": None,
        "message": message,
        "stop_reason": None,
    }
    return {
        "choices": [choice],
        "created": exchange.created,
        "id": exchange.id,
        "model": exchange.model,
        "object": "chat.completion",
        "prompt_filter_results": PROMPT_FILTER_RESULTS,
        "system_fingerprint": exchange.system_fingerprint,
        "usage": exchange.usage,
    }


def stream_events(exchange: Exchange, include_usage: bool) -> list[dict[str, Any]]:
    """Every SSE event of the streamed form, in order, without the final ``[DONE]``."""
    base = {
        "created": exchange.created,
        "id": exchange.id,
        "model": exchange.model,
        "object": "chat.completion.chunk",
        "system_fingerprint": exchange.system_fingerprint,
    }

    def chunk(delta: dict[str, Any], filters: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"content_filter_results": filters, "delta": delta}
        if finish is not None:
            choice["finish_reason"] = finish
        choice["index"] = 0
        return {"choices": [choice], **base}

    deltas: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for piece in _WORDS.findall(exchange.reasoning or ""):
        deltas.append(({"reasoning_content": piece}, {}))
    for piece in _WORDS.findall(exchange.content):
        deltas.append(({"content": piece}, CHOICE_FILTER_SAFE))
    deltas.extend(({"tool_calls": [d]}, {}) for d in _tool_call_deltas(exchange.tool_calls))
    if not deltas:
        deltas.append(({"content": ""}, {}))
    deltas[0] = ({"role": "assistant", **deltas[0][0]}, deltas[0][1])
    events: list[dict[str, Any]] = [
        {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": PROMPT_FILTER_RESULTS,
        }
    ]
    events.extend(chunk(delta, filters) for delta, filters in deltas)
    events.append(chunk({}, CHOICE_FILTER_FILTERED if exchange.filtered else {}, exchange.finish_reason))
    if include_usage:
        events.append({"choices": [], **base, "usage": exchange.usage})
    return events


def _tool_call_deltas(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """Id and name first, then the arguments in pieces; parallel calls take turns, told apart by index."""
    pieces = [
        [c.arguments[i : i + _ARGUMENT_PIECE] for i in range(0, len(c.arguments), _ARGUMENT_PIECE)]
        for c in calls
    ]
    deltas: list[dict[str, Any]] = [
        {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": ""}}
        for i, c in enumerate(calls)
    ]
    for step in range(max((len(p) for p in pieces), default=0)):
        for index, call_pieces in enumerate(pieces):
            if step < len(call_pieces):
                deltas.append({"index": index, "function": {"arguments": call_pieces[step]}})
    return deltas
