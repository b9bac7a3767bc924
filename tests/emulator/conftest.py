"""Shared fixtures and helpers for the emulator tests (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from grok_azure.testing import FoundryEmulator

API_KEY = "test-key-0123456789"
DEPLOYMENTS = {
    "grok4": "grok-4",  # always-on reasoning, no reasoning_content, rejects effort/penalties/stop
    # Retired on 2026-05-01, served here anyway (serve_retired): the only model with recorded Azure traffic
    # (reasoning_content, "grok-3-mini-high", low/high effort), which these tests hold the emulator to.
    "mini": "grok-3-mini",
    "fast": "grok-4-1-fast-non-reasoning",  # text+image, accepts penalties
    "g47": "grok-4.7",  # effort low..xhigh, no output limit
    "g46": "grok-4.6",  # the only stated rejections: presence/frequency penalties and logprobs
}
MODELS_PATH = "/models/chat/completions?api-version=2025-05-01"
OPENAI_PATH = "/openai/v1/chat/completions"
PATHS = {"openai_v1": OPENAI_PATH, "model_inference": MODELS_PATH}


@pytest.fixture(scope="module")
def emu() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=API_KEY, deployments=DEPLOYMENTS, serve_retired=True) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture
def http(emu: FoundryEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers={"api-key": API_KEY}, timeout=10) as client:
        yield client


def user(text: str = "hello there") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat(
    http: httpx.Client, route: str = "openai_v1", headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    body.setdefault("model", "fast")
    body.setdefault("messages", user())
    return http.post(PATHS[route], json=body, headers=headers)


def sse_events(response: httpx.Response) -> list[Any]:
    """Decoded data payloads of an SSE body; "[DONE]" stays a string."""
    text = response.text
    assert text.endswith("\n\n"), "every event must end with a blank line"
    events = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def accumulate(events: list[Any]) -> dict[str, Any]:
    """Fold stream chunks into content, reasoning, tool calls and finish reason (like a client would)."""
    content, reasoning, finish = "", "", None
    calls: dict[int, dict[str, str]] = {}
    for event in events:
        if event == "[DONE]":
            continue
        for choice in event["choices"]:
            delta = choice["delta"]
            content += delta.get("content", "")
            reasoning += delta.get("reasoning_content", "")
            for piece in delta.get("tool_calls", []):
                call = calls.setdefault(piece["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] += piece.get("id", "")
                call["name"] += piece.get("function", {}).get("name", "")
                call["arguments"] += piece.get("function", {}).get("arguments", "")
            finish = choice.get("finish_reason") or finish
    return {
        "content": content,
        "reasoning": reasoning or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish,
    }


def summarize(body: dict[str, Any]) -> dict[str, Any]:
    """The same summary as :func:`accumulate`, from a non-streamed completion."""
    choice = body["choices"][0]
    message = choice["message"]
    return {
        "content": message["content"],
        "reasoning": message.get("reasoning_content"),
        "tool_calls": [
            {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in message.get("tool_calls") or []  # null on /openai/v1, absent on /models
        ],
        "finish_reason": choice["finish_reason"],
    }
