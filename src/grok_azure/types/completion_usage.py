"""Token usage."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import field_validator

from ._base import GrokModel

__all__ = ["CompletionTokensDetails", "CompletionUsage", "PromptTokensDetails", "UsageConvention"]

# How ``completion_tokens`` relates to ``reasoning_tokens``; see CompletionUsage.convention.
UsageConvention: TypeAlias = Literal["reasoning_separate", "reasoning_included", "no_reasoning", "unknown"]
# ``(prompt, completion, total, reasoning, cached)`` as sent, a missing detail as 0 (see usage_counts).
UsageCounts: TypeAlias = tuple[int, int, int, int, int]


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
    """Token counts for one completion, exactly as the service sent them.

    Two conventions exist for reasoning tokens, and which one each Grok model follows on Azure is not documented:
    recorded Azure traffic for grok-3-mini has ``completion_tokens`` **excluding** reasoning, with
    ``total_tokens = prompt + completion + reasoning`` (288 + 27 + 294 = 609), while OpenAI's convention (and
    Microsoft's grok-4.7 page) counts reasoning **inside** ``completion_tokens`` (``total = prompt +
    completion``). :attr:`convention` tells them apart from the numbers, and :attr:`output_tokens`,
    :attr:`billed_output_tokens` and :attr:`uncached_prompt_tokens` are right under either; the raw fields are
    never rewritten.
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
        # Negative counts (a broken gateway) are read as 0 so no cost can go negative.
        return max(details.reasoning_tokens or 0, 0) if details is not None else 0

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens served from cache, or 0 when not reported."""
        details = self.prompt_tokens_details
        return max(details.cached_tokens or 0, 0) if details is not None else 0

    @property
    def convention(self) -> UsageConvention:
        """How these numbers count reasoning tokens, read from the numbers themselves.

        ``"reasoning_separate"``: ``total_tokens == prompt + completion + reasoning`` (Azure's recorded Grok
        traffic), or reasoning exceeds ``completion_tokens`` so it cannot be inside it.
        ``"reasoning_included"``: ``total_tokens == prompt + completion`` with reasoning reported (OpenAI's).
        ``"no_reasoning"``: no reasoning tokens reported, so both conventions give the same numbers.
        ``"unknown"``: reasoning reported but the total matches neither (e.g. no total was sent).
        """
        return usage_convention(
            self.prompt_tokens, self.completion_tokens, self.total_tokens, self.reasoning_tokens
        )

    @property
    def output_tokens(self) -> int:
        """Tokens of the visible answer (content and tool calls), reasoning excluded, under either convention."""
        return billed_split(usage_counts(self))[2]

    @property
    def billed_output_tokens(self) -> int:
        """Every generated token billed at the output price: the answer plus the reasoning.

        When the :attr:`convention` is ``"unknown"`` reasoning is counted on top of ``completion_tokens`` (the
        convention recorded from Azure): if the service meant the other one, this over-counts, never under-counts.
        """
        return self.output_tokens + self.reasoning_tokens

    @property
    def uncached_prompt_tokens(self) -> int:
        """Prompt tokens billed at the full input price: ``prompt_tokens`` minus the cached ones."""
        return billed_split(usage_counts(self))[0]


def usage_convention(prompt: int, completion: int, total: int, reasoning: int) -> UsageConvention:
    """:attr:`CompletionUsage.convention` of these counts (``reasoning`` already read as at least 0)."""
    if reasoning == 0:
        return "no_reasoning"
    prompt, completion = max(prompt, 0), max(completion, 0)
    if total == prompt + completion + reasoning or reasoning > completion:
        return "reasoning_separate"
    if total == prompt + completion:
        return "reasoning_included"
    return "unknown"


def billed_split(counts: UsageCounts) -> tuple[int, int, int, int]:
    """How ``counts`` are billed: ``(uncached prompt, cached prompt, output, reasoning)``. Negative counts (a broken
    gateway) read as 0, cached tokens are never more than the prompt, and the output leaves reasoning out under
    either convention (see :attr:`CompletionUsage.convention`). The one rule for the properties, the tracker and
    the cost."""
    prompt, completion, total, reasoning, cached = counts
    prompt, completion, reasoning = max(prompt, 0), max(completion, 0), max(reasoning, 0)
    cached = min(max(cached, 0), prompt)
    if usage_convention(prompt, completion, total, reasoning) == "reasoning_included":
        completion -= reasoning
    return prompt - cached, cached, completion, reasoning


def usage_counts(usage: CompletionUsage) -> UsageCounts:
    """The numbers every count derived from ``usage`` comes from, read once: a snapshot that arithmetic done later
    (a tracker folding what it recorded, a cost priced when first read) uses instead of the model, which the caller
    may change in the meantime."""
    completion = usage.completion_tokens_details
    prompt = usage.prompt_tokens_details
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        (completion.reasoning_tokens or 0) if completion is not None else 0,
        (prompt.cached_tokens or 0) if prompt is not None else 0,
    )
