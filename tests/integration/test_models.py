"""Deployments, checks, selection and usage end to end against the emulator, with both clients.

Every completion, streamed or not, carries its cost from the deployment's catalog price; the client's
:class:`UsageTracker` counts each call once (threads and tasks alike); a budget stops a call before it is sent
and a failed or abandoned call gives its hold back.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from grok_azure import (
    AsyncGrokClient,
    BadRequestError,
    BudgetExceededError,
    ContentFilterError,
    GrokClient,
    UnsupportedParameterError,
)

# Public names the lead re-exports from grok_azure (imported from their modules until then).
from grok_azure._catalog import load_catalog
from grok_azure._selection import ModelSelection
from grok_azure._usage import UsageTracker, cost_of
from grok_azure._warnings import GrokAzureWarning
from grok_azure.testing import Fault, FoundryEmulator

pytestmark = pytest.mark.integration

KEY = "models-emulator-key-0123456789"
# The emulator's deployments, and the same mapping on the client side (the emulator knows; the client is told).
DEPLOYMENTS = {"chat": "grok-4-1-fast-non-reasoning", "thinker": "grok-4.7"}
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Name a sea."}]
CHAT_PRICE = load_catalog().require("grok-4-1-fast-non-reasoning").price
THINKER_PRICE = load_catalog().require("grok-4.7").price


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        yield emu


@pytest.fixture
def emu(emulator: FoundryEmulator) -> FoundryEmulator:
    emulator.reset()
    return emulator


def options(emu: FoundryEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": emu.url,
        "api_key": KEY,
        "environ": {},
        "max_retries": 0,
        "deployment_models": DEPLOYMENTS,
        **extra,
    }


def test_a_completion_costs_its_usage_at_the_deployments_price(emu: FoundryEmulator) -> None:
    with GrokClient(**options(emu)) as client:
        completion = client.chat.completions.create(model="chat", messages=MESSAGES)
        totals = client.usage.totals()
    assert completion.usage is not None
    assert completion.cost == cost_of(completion.usage, CHAT_PRICE)
    assert completion.cost.total > 0
    assert totals.requests == 1
    assert totals.cost == pytest.approx(completion.cost.total)
    assert totals.prompt_tokens == completion.usage.prompt_tokens


async def test_the_async_client_costs_and_counts_the_same_way(emu: FoundryEmulator) -> None:
    async with AsyncGrokClient(**options(emu)) as client:
        completion = await client.chat.completions.create(
            model="thinker", messages=MESSAGES, reasoning_effort="low"
        )
        by_deployment = client.usage.by_deployment()
    assert completion.usage is not None
    assert completion.cost == cost_of(completion.usage, THINKER_PRICE)
    assert completion.cost.reasoning == pytest.approx(
        completion.usage.reasoning_tokens * THINKER_PRICE.output / 1e6
    )
    assert list(by_deployment) == ["thinker"]
    assert by_deployment["thinker"].reasoning_tokens == completion.usage.reasoning_tokens


def test_a_stream_read_in_a_plain_loop_is_counted_when_it_completes(emu: FoundryEmulator) -> None:
    with GrokClient(**options(emu)) as client:
        stream = client.chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert client.usage.totals().requests == 0
        for _chunk in stream:
            pass
        totals = client.usage.totals()
        final = stream.get_final_completion()
    assert totals.requests == 1
    assert final.usage is not None
    assert final.cost == cost_of(final.usage, CHAT_PRICE)
    assert totals.cost == pytest.approx(final.cost.total)


async def test_the_stream_helper_gives_its_final_completion_a_cost(emu: FoundryEmulator) -> None:
    async with AsyncGrokClient(**options(emu)) as client:
        async with client.chat.completions.stream(model="chat", messages=MESSAGES) as stream:
            texts = [text async for text in stream.text_stream]
            final = await stream.get_final_completion()
        assert client.usage.totals().requests == 1
    assert texts
    assert final.cost is not None
    assert final.usage is not None
    assert final.cost == cost_of(final.usage, CHAT_PRICE)


def test_an_unmapped_deployment_has_no_cost_but_is_counted(emu: FoundryEmulator) -> None:
    with GrokClient(**options(emu, deployment_models={})) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", GrokAzureWarning)
        completion = client.chat.completions.create(model="chat", messages=MESSAGES)
        totals = client.usage.totals()
    assert completion.cost is None
    assert (totals.requests, totals.unpriced_requests, totals.cost) == (1, 1, 0.0)


def test_a_budget_stops_a_call_before_it_is_sent(emu: FoundryEmulator) -> None:
    tracker = UsageTracker(budget=0.000_001)
    with GrokClient(**options(emu, usage=tracker)) as client:
        with pytest.raises(BudgetExceededError) as info:
            client.chat.completions.create(model="thinker", messages=MESSAGES, max_tokens=1000)
        manager = client.chat.completions.stream(model="thinker", messages=MESSAGES, max_tokens=1000)
        with pytest.raises(BudgetExceededError), manager:
            pass  # pragma: no cover - the budget refuses on entering
    assert info.value.budget == 0.000_001
    assert emu.requests == []
    assert tracker.reserved == 0.0


def test_clients_sharing_a_tracker_share_its_budget(emu: FoundryEmulator) -> None:
    tracker = UsageTracker(budget=1.0)
    with (
        GrokClient(**options(emu, usage=tracker)) as first,
        GrokClient(**options(emu, usage=tracker)) as second,
    ):
        first.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=50)
        second.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=50)
        assert first.usage is second.usage is tracker
    assert tracker.totals().requests == 2


def test_a_failed_call_gives_its_hold_back_and_records_nothing(emu: FoundryEmulator) -> None:
    tracker = UsageTracker(budget=1.0)
    emu.fault(Fault.content_filter())
    with GrokClient(**options(emu, usage=tracker)) as client, pytest.raises(ContentFilterError):
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=100)
    assert tracker.reserved == 0.0
    assert tracker.totals().requests == 0


async def test_an_abandoned_stream_gives_its_hold_back(emu: FoundryEmulator) -> None:
    tracker = UsageTracker(budget=1.0)
    emu.reply("one two three four five six", times=2)
    async with AsyncGrokClient(**options(emu, usage=tracker)) as client:
        stream = await client.chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, max_tokens=100
        )
        async for _chunk in stream:
            assert tracker.reserved > 0
            break
        await stream.close()
        assert tracker.reserved == 0.0
        assert tracker.totals().requests == 0
    with GrokClient(**options(emu, usage=tracker)) as sync_client:
        with sync_client.chat.completions.stream(model="chat", messages=MESSAGES, max_tokens=100) as events:
            next(iter(events))
        assert tracker.reserved == 0.0


def test_threads_and_tasks_count_every_call_once(emu: FoundryEmulator) -> None:
    tracker = UsageTracker(budget=10.0)
    calls = 12

    def sync_call(client: GrokClient) -> float:
        completion = client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=20)
        assert completion.cost is not None
        return completion.cost.total

    async def async_calls() -> list[float]:
        async with AsyncGrokClient(**options(emu, usage=tracker)) as client:
            done = await asyncio.gather(
                *(
                    client.chat.completions.create(model="thinker", messages=MESSAGES, max_tokens=20)
                    for _ in range(calls)
                )
            )
        return [c.cost.total for c in done if c.cost is not None]

    with GrokClient(**options(emu, usage=tracker)) as client, ThreadPoolExecutor(4) as pool:
        sync_costs = list(pool.map(lambda _: sync_call(client), range(calls)))
    async_costs = asyncio.run(async_calls())
    by_deployment = tracker.by_deployment()
    assert by_deployment["chat"].requests == calls
    assert by_deployment["thinker"].requests == calls
    assert tracker.totals().cost == pytest.approx(sum(sync_costs) + sum(async_costs))
    assert tracker.reserved == 0.0


def test_the_client_refuses_what_the_service_would_refuse(emu: FoundryEmulator) -> None:
    # grok-4.7 documents reasoning_effort low..xhigh: "minimal" is refused before sending; with validate=False the
    # emulated service answers it with its own 400.
    with GrokClient(**options(emu)) as client, pytest.raises(UnsupportedParameterError):
        client.chat.completions.create(model="thinker", messages=MESSAGES, reasoning_effort="minimal")
    assert emu.requests == []
    with GrokClient(**options(emu, validate=False)) as client, pytest.raises(BadRequestError):
        client.chat.completions.create(model="thinker", messages=MESSAGES, reasoning_effort="minimal")
    assert len(emu.requests) == 1


def test_auto_picks_a_deployment_and_the_emulator_serves_it(emu: FoundryEmulator) -> None:
    with GrokClient(**options(emu, auto_model=ModelSelection(prefer="context"))) as client:
        completion = client.chat.completions.create(model="auto", messages=MESSAGES)
        with client.chat.completions.stream(model="auto", messages=MESSAGES) as stream:
            final = stream.get_final_completion()
        by_deployment = client.usage.by_deployment()
    assert completion.cost is not None
    assert final.cost is not None
    assert [r.deployment for r in emu.requests] == ["thinker", "thinker"]
    assert by_deployment["thinker"].requests == 2
