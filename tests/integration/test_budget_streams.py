"""A budget counts openai-style streamed calls too: ``create(stream=True)`` asks for the usage the budget needs and
keeps the usage-only chunk it did not ask for from the caller's loop (against the emulator, both clients)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from grok_azure import AsyncGrokClient, BudgetExceededError, GrokAzureWarning, GrokClient, UsageTracker
from grok_azure.testing import FoundryEmulator

KEY = "budget-stream-key-0123456789"
DEPLOYMENTS = {"grok-4": "grok-4"}
MESSAGES = [{"role": "user", "content": "write a long essay"}]
KINDS = ("sync", "async")


def stream_all(kind: str, emu: FoundryEmulator, usage: UsageTracker, calls: int, **params: Any) -> list[Any]:
    """Run ``calls`` streamed creates the way openai users write them (until the budget refuses one); every
    chunk the caller's loop saw."""
    seen: list[Any] = []
    if kind == "sync":
        with GrokClient(endpoint=emu.url, api_key=KEY, usage=usage) as client:
            for _ in range(calls):
                for chunk in client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True, **params
                ):
                    seen.append(chunk)
        return seen

    async def run() -> None:
        async with AsyncGrokClient(endpoint=emu.url, api_key=KEY, usage=usage) as client:
            for _ in range(calls):
                stream = await client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True, **params
                )
                async for chunk in stream:
                    seen.append(chunk)

    asyncio.run(run())
    return seen


@pytest.mark.parametrize("kind", KINDS)
def test_a_budget_stops_openai_style_streamed_calls(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        emu.reply("word " * 4000, times=100)  # about 4,000 output tokens: about $0.11 at grok-4's price
        usage = UsageTracker(budget=0.50)
        with pytest.raises(BudgetExceededError):
            stream_all(kind, emu, usage, 20, max_tokens=8000)
        sent = len(emu.requests)
        assert 1 < sent < 20  # refused once the streams' real costs used the budget up
        assert usage.spent > 0.3
        assert usage.totals().unmetered_requests == 0
        assert all(r.json["stream_options"] == {"include_usage": True} for r in emu.requests)


@pytest.mark.parametrize("kind", KINDS)
def test_the_usage_chunk_the_sdk_asked_for_is_not_in_the_callers_loop(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        chunks = stream_all(kind, emu, UsageTracker(budget=100.0), 1)
    assert chunks
    # Azure's first chunk may carry only prompt_filter_results (no choices either): that one is the service's.
    assert not any(chunk.usage is not None and not chunk.choices for chunk in chunks)
    assert chunks[-1].choices


@pytest.mark.parametrize("kind", KINDS)
def test_a_caller_who_asks_for_usage_gets_its_chunk(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        chunks = stream_all(kind, emu, UsageTracker(budget=100.0), 1, stream_options={"include_usage": True})
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_budget_the_request_is_sent_as_given(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        stream_all(kind, emu, UsageTracker(), 1)
        assert "stream_options" not in emu.requests[0].json


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_asked_without_usage_counts_its_worst_case_against_the_budget(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        usage = UsageTracker(budget=0.50)
        with (
            pytest.warns(GrokAzureWarning, match="answered a call without usage"),
            pytest.raises(BudgetExceededError),
        ):
            stream_all(kind, emu, usage, 20, max_tokens=8000, stream_options={"include_usage": False})
        assert 1 <= len(emu.requests) < 20  # refused once the worst cases used the budget up
        assert usage.spent > 0.0
        assert usage.totals().cost == 0.0  # the totals hold what the service reported: nothing
        assert usage.totals().unmetered_requests == len(emu.requests)
