"""The emulated model: one deterministic exchange, rendered as a completion or as Azure's stream chunks.

Both renderings come from the same :class:`Exchange`, so a streamed and a non-streamed answer to the same
request carry the same content, reasoning, tool calls, finish reason and token counts. The shapes follow
recorded Azure traffic for Grok (``foundry-wire-facts.md``, sections 3 and 6):

- usage, by default, as Azure reports it for Grok: ``completion_tokens`` excludes reasoning,
  ``completion_tokens_details.reasoning_tokens`` stands beside it and ``total_tokens`` is prompt + completion +
  reasoning (288 + 27 + 294 = 609 in the recording). ``usage_convention="openai"`` counts reasoning inside
  ``completion_tokens`` instead (total = prompt + completion), as the Grok 4.7 documentation describes;
- a non-streamed reply has no ``system_fingerprint``, ``usage.audio_prompt_tokens: 0`` and, on ``/openai/v1``,
  ``message.tool_calls: null`` when there are no calls; stream chunks carry ``system_fingerprint`` and the
  streamed usage event has no ``audio_prompt_tokens``;
- the choice's ``content_filter_results`` list hate, self_harm, sexual, violence, protected_material_code and
  protected_material_text for a text answer, and are ``{}`` for an answer that only calls tools;
- streamed tool calls arrive whole, one call per delta (id, type, name and complete arguments together), as Grok
  sends them; ``tool_call_deltas="fragmented"`` streams them as other gateways do (id and name first, then
  argument pieces);
- ``model`` is the served model's name, which can differ from the catalog id (``grok-3-mini`` answers as
  ``grok-3-mini-high``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._catalog import ModelSpec
from ._errors import Route
from ._schema_values import example_value
from ._state import Reply, ToolCallDeltas
from ._validation import ChatRequest, count_tokens

UsageConvention = Literal["grok", "openai"]
USAGE_CONVENTIONS: tuple[UsageConvention, ...] = ("grok", "openai")

_SAFE = {"filtered": False, "severity": "safe"}
_NOT_DETECTED = {"filtered": False, "detected": False}
# What a stream's content chunk carries (recorded: the four severity categories).
CHUNK_FILTER_SAFE: dict[str, Any] = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
# A non-streamed text answer adds the protected-material detectors (recorded, section 6).
CHOICE_FILTER_SAFE: dict[str, Any] = {
    "hate": _SAFE,
    "protected_material_code": _NOT_DETECTED,
    "protected_material_text": _NOT_DETECTED,
    "self_harm": _SAFE,
    "sexual": _SAFE,
    "violence": _SAFE,
}
CHOICE_FILTER_FILTERED: dict[str, Any] = {
    **CHOICE_FILTER_SAFE,
    "violence": {"filtered": True, "severity": "high"},
}
CHUNK_FILTER_FILTERED: dict[str, Any] = {
    **CHUNK_FILTER_SAFE,
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
# The name Azure answers in ``model`` when it is not the catalog id (recorded: a grok-3-mini deployment answers
# "grok-3-mini-high", with or without reasoning_effort). Other models answer their catalog id: no recording says
# otherwise.
SERVED_MODEL_NAMES: Mapping[str, str] = {"grok-3-mini": "grok-3-mini-high"}
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
    """What the "model" answers to one request, independent of how it is delivered.

    ``completion_tokens`` counts the visible answer (content and tool calls) only; ``reasoning_tokens`` the
    reasoning, returned or not. ``route`` decides the /models spec's extra usage field and whether an answer
    without tool calls says ``tool_calls: null``.
    """

    id: str
    created: int
    model: str
    system_fingerprint: str
    content: str
    reasoning: str | None  # returned as reasoning_content when not None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    filtered: bool
    route: Route
    prompt_tokens: int
    image_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    usage_convention: UsageConvention = "grok"


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
    usage_convention: UsageConvention = "grok",
) -> Exchange:
    """The answer of ``spec`` to ``request``: ``script`` when one is queued, else the default echo.

    Args:
        request: the validated request.
        spec: the deployed model; decides reasoning, ``reasoning_content`` and the served model name.
        script: a scripted reply, taken literally (its reasoning is returned even by a model that does not
            return ``reasoning_content``).
        filtered: cut the answer short with ``finish_reason="content_filter"``.
        next_call_id: the source of tool-call ids.
        route: the route the request came in on.
        usage_convention: how usage counts reasoning tokens (see the module docstring).
    """
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
    # Only a model the catalog states returns reasoning_content sends it (an unconfirmed flag is not acted on);
    # a model that reasons without returning it still counts its reasoning tokens.
    returned = (
        reasoning
        if (script is not None and script.reasoning is not None) or spec.reasoning_content_known is True
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
    return Exchange(
        id=f"{uuid.uuid4()}_sidecar",
        created=int(time.time()),
        model=SERVED_MODEL_NAMES.get(spec.id, spec.id),
        system_fingerprint="fp_" + hashlib.sha256(spec.id.encode()).hexdigest()[:10],
        content=content,
        reasoning=returned,
        tool_calls=calls,
        finish_reason=finish,
        filtered=filtered,
        route=route,
        prompt_tokens=request.prompt_tokens,
        image_tokens=request.image_tokens,
        completion_tokens=count_tokens(content) + sum(count_tokens(c.name + c.arguments) for c in calls),
        reasoning_tokens=count_tokens(reasoning) if reasoning else 0,
        usage_convention=usage_convention,
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


def usage_of(exchange: Exchange, *, streamed: bool) -> dict[str, Any]:
    """The ``usage`` object of ``exchange``: the non-streamed form, or the stream's usage event
    (``streamed=True``, which has no ``audio_prompt_tokens``, as recorded)."""
    reasoning = exchange.reasoning_tokens
    completion = exchange.completion_tokens
    if exchange.usage_convention == "openai":
        completion += reasoning
        total = exchange.prompt_tokens + completion
    else:
        total = exchange.prompt_tokens + completion + reasoning
    details: dict[str, Any] = {
        "accepted_prediction_tokens": 0,
        "audio_tokens": 0,
        "reasoning_tokens": reasoning,
        "rejected_prediction_tokens": 0,
    }
    if exchange.route == "model_inference":
        # The 2025-05-01 spec requires a breakdown total (audio + reasoning) in CompletionsUsageDetails.
        details["total_tokens"] = reasoning
    usage: dict[str, Any] = {} if streamed else {"audio_prompt_tokens": 0}
    usage.update(
        completion_tokens=completion,
        completion_tokens_details=details,
        num_sources_used=0,
        prompt_tokens=exchange.prompt_tokens,
        prompt_tokens_details={
            "audio_tokens": 0,
            "cached_tokens": 0,
            "image_tokens": exchange.image_tokens,
            "text_tokens": exchange.prompt_tokens - exchange.image_tokens,
        },
        total_tokens=total,
    )
    return usage


def choice_filter_results(exchange: Exchange) -> dict[str, Any]:
    """The non-streamed choice's annotation: ``{}`` for an answer that only calls tools (nothing to filter),
    every category otherwise."""
    if exchange.tool_calls and not exchange.content:
        return {}
    return CHOICE_FILTER_FILTERED if exchange.filtered else CHOICE_FILTER_SAFE


def completion_body(exchange: Exchange) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` body, with Azure's extras and without ``system_fingerprint``."""
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
    elif exchange.route == "openai_v1":
        # Recorded on /openai/v1. The /models spec types tool_calls as an array (not nullable) and no recording
        # of that route exists, so it keeps the spec's shape and leaves the field out.
        message["tool_calls"] = None
    choice = {
        "content_filter_results": choice_filter_results(exchange),
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
        "usage": usage_of(exchange, streamed=False),
    }


def stream_events(
    exchange: Exchange, include_usage: bool, tool_call_deltas: ToolCallDeltas = "whole"
) -> list[dict[str, Any]]:
    """Every SSE event of the streamed form, in order, without the final ``[DONE]``.

    Args:
        exchange: the answer to stream.
        include_usage: end with the usage event (the request asked ``stream_options.include_usage``).
        tool_call_deltas: ``"whole"`` (Grok: each call complete in one delta) or ``"fragmented"`` (id and name
            first, then the arguments in pieces).
    """
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
        deltas.append(({"content": piece}, CHUNK_FILTER_SAFE))
    if tool_call_deltas == "whole":
        calls = _whole_tool_call_deltas(exchange.tool_calls)
    else:
        calls = _fragmented_tool_call_deltas(exchange.tool_calls)
    deltas.extend(({"tool_calls": [d]}, {}) for d in calls)
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
    events.append(chunk({}, CHUNK_FILTER_FILTERED if exchange.filtered else {}, exchange.finish_reason))
    if include_usage:
        events.append({"choices": [], **base, "usage": usage_of(exchange, streamed=True)})
    return events


def _whole_tool_call_deltas(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """One delta per call with everything in it, as Grok streams tool calls."""
    return [
        {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(calls)
    ]


def _fragmented_tool_call_deltas(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
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
