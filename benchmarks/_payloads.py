"""Canned request and response payloads shaped like Azure AI Foundry's Grok traffic.

Shared by the loopback server (which serves the bytes) and the harness (which sends the request and checks
that every client decoded the same answer), so the two can never disagree.
"""

from __future__ import annotations

import json
from typing import Any

API_KEY = "bench-key-not-a-secret"
MODEL = "grok-4"
OPENAI_PATH = "/openai/v1/chat/completions"
MODELS_PATH = "/models/chat/completions"
STREAM_EVENTS = 5_000

# Typed loosely: each SDK under test wants its own message type for the same JSON.
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "In two sentences, why do HTTP clients pool connections?"},
]
REQUEST: dict[str, Any] = {"model": MODEL, "messages": MESSAGES}
STREAM_REQUEST: dict[str, Any] = {
    **REQUEST,
    "stream": True,
    "stream_options": {"include_usage": True},
}

ANSWER = (
    "Opening a TCP connection (and a TLS session on top of it) costs several round trips, so clients keep "
    "finished connections in a pool and reuse them for the next request to the same host. This removes the "
    "handshake latency from every call after the first and caps how many sockets a busy program holds open."
)

_SAFE = {"filtered": False, "severity": "safe"}
_CONTENT_FILTER = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
_PROMPT_FILTER = [
    {
        "prompt_index": 0,
        "content_filter_results": {**_CONTENT_FILTER, "jailbreak": {"filtered": False, "detected": False}},
    }
]
_ID = "e6688144-8493-4d1a-b0b8-0a06d0515dd7_sidecar"
_CREATED = 1759350320
_FINGERPRINT = "fp_d33f0040b9"


def _usage(completion_tokens: int) -> dict[str, Any]:
    return {
        "audio_prompt_tokens": 0,
        "completion_tokens": completion_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "num_sources_used": 0,
        "prompt_tokens": 31,
        "prompt_tokens_details": {
            "audio_tokens": 0,
            "cached_tokens": 0,
            "image_tokens": 0,
            "text_tokens": 31,
        },
        "total_tokens": 31 + completion_tokens,
    }


def _dumps(obj: Any) -> bytes:
    # Azure sends compact JSON; matching it keeps per-chunk parse cost realistic.
    return json.dumps(obj, separators=(",", ":")).encode()


def completion_body() -> bytes:
    """A non-streaming chat completion with the extra fields Azure adds (filters, stop_reason, sidecar id)."""
    return _dumps(
        {
            "choices": [
                {
                    "content_filter_results": _CONTENT_FILTER,
                    "finish_reason": "stop",
                    "index": 0,
                    "logprobs": None,
                    "message": {"content": ANSWER, "refusal": None, "role": "assistant"},
                    "stop_reason": None,
                }
            ],
            "created": _CREATED,
            "id": _ID,
            "model": MODEL,
            "object": "chat.completion",
            "prompt_filter_results": _PROMPT_FILTER,
            "system_fingerprint": _FINGERPRINT,
            "usage": _usage(58),
        }
    )


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "choices": choices,
        "created": _CREATED,
        "id": _ID,
        "model": MODEL,
        "object": "chat.completion.chunk",
        "system_fingerprint": _FINGERPRINT,
        **extra,
    }


def stream_events(total: int = STREAM_EVENTS) -> list[bytes]:
    """``total`` JSON data events then ``[DONE]``, each a complete ``data: ...\\n\\n`` SSE event.

    The events are: Azure's prompt-filter event (empty choices, blank id), ``total - 3`` content deltas
    carrying content filter results, the finish chunk, and the usage chunk.
    """
    if total < 4:
        raise ValueError("a realistic stream needs at least 4 events")
    words = ANSWER.split(" ")
    events = [
        _dumps(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": _PROMPT_FILTER,
            }
        )
    ]
    for i in range(total - 3):
        delta: dict[str, Any] = {"content": (" " if i else "") + words[i % len(words)]}
        if i == 0:
            delta["role"] = "assistant"
        choice = {
            "content_filter_results": _CONTENT_FILTER,
            "delta": delta,
            "finish_reason": None,
            "index": 0,
            "logprobs": None,
        }
        events.append(_dumps(_chunk([choice])))
    finish = {
        "content_filter_results": {},
        "delta": {},
        "finish_reason": "stop",
        "index": 0,
        "logprobs": None,
    }
    events.append(_dumps(_chunk([finish])))
    events.append(_dumps(_chunk([], usage=_usage(total - 3))))
    events.append(b"[DONE]")
    return [b"data: " + event + b"\n\n" for event in events]
