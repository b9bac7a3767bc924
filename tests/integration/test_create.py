"""Non-streamed completions over real HTTP, on both routes, with both clients."""

from __future__ import annotations

import pytest

from grok_azure import ChatCompletion, CompletionUsage
from grok_azure.testing import FoundryEmulator
from grok_azure.types import ChatCompletionMessage
from grok_azure.types.content_filter import ContentFilterResults, ContentFilterSeverityResult

from ._support import (
    MAX_TOKENS,
    PROMPT,
    Driver,
    Target,
    assert_finished_with_text,
    assert_usage_consistent,
    user,
)

pytestmark = pytest.mark.integration


async def test_create_returns_a_typed_completion_with_text(
    chat: Driver, target: Target, deployment: str
) -> None:
    completion = await chat.create(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert isinstance(completion, ChatCompletion)
    assert completion.id
    assert completion.object == "chat.completion"
    assert completion.created > 0
    assert completion.model
    assert len(completion.choices) == 1
    assert isinstance(completion.choices[0].message, ChatCompletionMessage)
    assert completion.choices[0].message.role == "assistant"
    assert_finished_with_text(completion)
    if target.emulated:
        assert completion.text == f"Echo: {PROMPT}"
        assert completion.finish_reason == "stop"


async def test_usage_adds_up(chat: Driver, target: Target, deployment: str) -> None:
    completion = await chat.create(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert isinstance(completion.usage, CompletionUsage)
    assert_usage_consistent(completion.usage, emulated=target.emulated)


async def test_reasoning_deployment_returns_reasoning_content_and_tokens(
    chat: Driver, target: Target, reasoner: str
) -> None:
    completion = await chat.create(model=reasoner, messages=user(), max_tokens=MAX_TOKENS)

    assert isinstance(completion.reasoning, str)
    assert completion.reasoning.strip()
    assert completion.choices[0].message.reasoning_content == completion.reasoning
    assert completion.usage is not None
    assert completion.usage.reasoning_tokens > 0
    assert_usage_consistent(completion.usage, emulated=target.emulated)


async def test_filter_results_are_typed(chat: Driver, target: Target, deployment: str) -> None:
    completion = await chat.create(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    if target.emulated:  # Azure sends them for every Grok deployment, but only the emulator guarantees them
        assert completion.prompt_filter_results
        assert completion.choices[0].content_filter_results is not None
    for result in completion.prompt_filter_results or []:
        assert isinstance(result.prompt_index, int)
        assert isinstance(result.content_filter_results, ContentFilterResults)
        assert result.content_filter_results.filtered is False
    choice_filter = completion.choices[0].content_filter_results
    if choice_filter is not None:
        assert isinstance(choice_filter, ContentFilterResults)
        assert choice_filter.filtered_categories == []
    assert completion.content_filtered is False


async def test_emulator_filter_results_carry_each_category(chat: Driver, emu: FoundryEmulator) -> None:
    completion = await chat.create(model="chat", messages=user())

    assert completion.prompt_filter_results is not None
    prompt_filter = completion.prompt_filter_results[0].content_filter_results
    assert prompt_filter is not None
    assert prompt_filter.jailbreak is not None
    assert prompt_filter.jailbreak.detected is False
    choice_filter = completion.choices[0].content_filter_results
    assert choice_filter is not None
    for category in (
        choice_filter.hate,
        choice_filter.self_harm,
        choice_filter.sexual,
        choice_filter.violence,
    ):
        assert isinstance(category, ContentFilterSeverityResult)
        assert category.severity == "safe"


async def test_azure_extra_fields_are_kept_not_rejected(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply("Calling.", tool_calls=[{"name": "lookup", "arguments": {"q": "sea"}}])

    completion = await chat.create(model="chat", messages=user())

    # Fields outside the OpenAI schema that Azure sends: stop_reason, call_id, num_sources_used, text_tokens.
    assert completion.choices[0].model_extra == {"stop_reason": None}
    assert completion.tool_calls[0].function.model_extra == {"call_id": None}
    assert completion.usage is not None
    assert completion.usage.model_extra is not None
    assert completion.usage.model_extra["num_sources_used"] == 0
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.text_tokens == completion.usage.prompt_tokens
    assert completion.id.endswith("_sidecar")


async def test_emulator_answers_the_deployed_model_name(chat: Driver, emu: FoundryEmulator) -> None:
    completion = await chat.create(model="reasoner", messages=user())

    assert completion.model == "grok-4.7"
    assert completion.system_fingerprint is None  # Grok sends it on stream chunks only
