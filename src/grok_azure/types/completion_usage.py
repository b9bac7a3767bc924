"""Token usage."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from ._base import GrokModel

__all__ = ["CompletionTokensDetails", "CompletionUsage", "PromptTokensDetails"]


class CompletionTokensDetails(GrokModel):
    """Breakdown of generated tokens."""

    reasoning_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    audio_tokens: int | None = None


class PromptTokensDetails(GrokModel):
    """Breakdown of prompt tokens."""

    cached_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    text_tokens: int | None = None


class CompletionUsage(GrokModel):
    """Token counts for one completion.

    On Azure grok-3-mini ``total_tokens`` is prompt + completion + reasoning, i.e. ``completion_tokens``
    excludes reasoning tokens; other models may count differently, so no total is recomputed here.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None

    @field_validator("prompt_tokens", "completion_tokens", "total_tokens", mode="before")
    @classmethod
    def _null_is_zero(cls, value: Any) -> Any:
        return 0 if value is None else value

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens, or 0 when the service did not report them."""
        details = self.completion_tokens_details
        return (details.reasoning_tokens or 0) if details is not None else 0

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens served from cache, or 0 when not reported."""
        details = self.prompt_tokens_details
        return (details.cached_tokens or 0) if details is not None else 0
