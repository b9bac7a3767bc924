"""Streaming chunks (``chat.completion.chunk``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import GrokModel
from .completion_usage import CompletionUsage
from .content_filter import ContentFilterResults, PromptFilterResult

__all__ = [
    "ChatCompletionChunk",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
]


class ChoiceDeltaToolCallFunction(GrokModel):
    """A fragment of a streamed function call; ``arguments`` arrives in pieces to concatenate."""

    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(GrokModel):
    """A fragment of one tool call; ``index`` says which call it extends."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDelta(GrokModel):
    """What one chunk adds to a choice's message."""

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChunkChoice(GrokModel):
    """One choice within a chunk."""

    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None
    content_filter_results: ContentFilterResults | None = None


class ChatCompletionChunk(GrokModel):
    """One streamed event.

    Azure's first event carries only ``prompt_filter_results`` with ``id``/``model``/``object`` empty,
    ``created`` 0 and no choices; the usage event (with ``stream_options.include_usage``) has no choices.
    """

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    prompt_filter_results: list[PromptFilterResult] | None = None
