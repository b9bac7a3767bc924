"""Shared helpers for respx-based unit tests (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

ENDPOINT = "https://res.services.ai.azure.com"
CHAT_URL = f"{ENDPOINT}/openai/v1/chat/completions"
MODELS_CHAT_URL = f"{ENDPOINT}/models/chat/completions"
KEY = "sk-test-SECRET-key-0123456789"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def completion_body(content: str = "Hello!", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "abc_sidecar",
        "object": "chat.completion",
        "created": 1759350320,
        "model": "grok-4",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
                "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
            }
        ],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 3,
            "total_tokens": 8,
            "completion_tokens_details": {"reasoning_tokens": 1},
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }
    body.update(overrides)
    return body


def sse(*events: dict[str, Any] | str, line_end: str = "\n") -> bytes:
    """Serialise events as an SSE body; strings are sent as-is (e.g. "[DONE]")."""
    out = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        out.append(f"data: {data}{line_end}{line_end}")
    return "".join(out).encode()


def chunk(
    content: str | None = None,
    *,
    reasoning: str | None = None,
    finish_reason: str | None = None,
    role: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    index: int = 0,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    choice: dict[str, Any] = {"index": index, "delta": delta, "content_filter_results": {}}
    if finish_reason:
        choice["finish_reason"] = finish_reason
    return {
        "id": "s1_sidecar",
        "object": "chat.completion.chunk",
        "created": 1759350330,
        "model": "grok-4",
        "choices": [choice],
    }


FIRST_EVENT: dict[str, Any] = {
    "choices": [],
    "created": 0,
    "id": "",
    "model": "",
    "object": "",
    "prompt_filter_results": [
        {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}
    ],
}


@pytest.fixture
def mock_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router
