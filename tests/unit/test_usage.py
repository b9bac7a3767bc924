"""UsageTracker: per-deployment sums across threads and tasks, budgets, reservations (issue 8)."""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from grok_azure import BudgetExceededError, CompletionUsage, ConfigurationError, GrokError
from grok_azure._catalog import ModelSpec, Price, load_catalog
from grok_azure._usage import UsageTracker, cost_of, estimate_prompt_tokens, worst_case_cost
from grok_azure._warnings import GrokAzureWarning

M = 1_000_000
PRICE = Price(input=2.0, output=6.0, cached_input=0.5, confirmed=True, source="test meter")
SPEC = ModelSpec(id="grok-test", price=PRICE, max_output_tokens=1000, context_window=100_000)
OTHER = ModelSpec(
    id="grok-other", price=Price(input=0.2, output=0.5, source="list price"), max_output_tokens=1000
)
UNPRICED = ModelSpec(id="grok-new", max_output_tokens=1000)
UNBOUNDED = ModelSpec(id="grok-open", price=PRICE)  # no max_output_tokens
SECRET_PROMPT = "my card number is 4111-1111-1111-1111"
BODY: dict[str, Any] = {
    "model": "prod",
    "messages": [{"role": "user", "content": SECRET_PROMPT}],
    "max_tokens": 100,
}


def usage(prompt: int = 100, completion: int = 10, reasoning: int = 0, cached: int = 0) -> CompletionUsage:
    return CompletionUsage.model_validate(
        {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion + reasoning,  # Azure's convention
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_tokens_details": {"cached_tokens": cached},
        }
    )


def worst(body: Mapping[str, Any] = BODY, spec: ModelSpec = SPEC) -> float:
    estimate = worst_case_cost(spec, body)
    assert estimate is not None
    return estimate


# --- counting --------------------------------------------------------------------------------------------------


def test_record_sums_tokens_and_cost_per_deployment() -> None:
    tracker = UsageTracker()
    first = tracker.record("prod", SPEC, usage(prompt=288, completion=27, reasoning=294))
    second = tracker.record("prod", SPEC, usage(prompt=1000, completion=5, cached=600))
    tracker.record("cheap", OTHER, usage(prompt=10, completion=10))
    assert first is not None
    assert second is not None
    prod = tracker.by_deployment()["prod"]
    assert (prod.requests, prod.prompt_tokens, prod.cached_tokens) == (2, 1288, 600)
    assert (prod.output_tokens, prod.reasoning_tokens, prod.billed_output_tokens) == (32, 294, 326)
    assert prod.total_tokens == 1288 + 326
    assert prod.cost == pytest.approx(first.total + second.total, rel=1e-12)
    assert prod.cost_confirmed is True
    cheap = tracker.by_deployment()["cheap"]
    assert cheap.cost == pytest.approx((10 * 0.2 + 10 * 0.5) / M, rel=1e-12)
    assert cheap.cost_confirmed is False
    totals = tracker.totals()
    assert totals.requests == 3
    assert totals.cost == pytest.approx(prod.cost + cheap.cost, rel=1e-12)
    assert totals.cost_confirmed is False  # one price came from a secondary source
    assert tracker.spent == totals.cost


def test_openai_convention_usage_counts_the_same_tokens() -> None:
    tracker = UsageTracker()
    openai = CompletionUsage.model_validate(
        {"prompt_tokens": 288, "completion_tokens": 321, "total_tokens": 609,
         "completion_tokens_details": {"reasoning_tokens": 294}}
    )  # fmt: skip
    tracker.record("a", SPEC, usage(prompt=288, completion=27, reasoning=294))
    tracker.record("b", SPEC, openai)
    a, b = tracker.by_deployment()["a"], tracker.by_deployment()["b"]
    assert (a.output_tokens, a.reasoning_tokens, a.cost) == (b.output_tokens, b.reasoning_tokens, b.cost)


def test_unknown_model_or_price_counts_tokens_not_cost() -> None:
    tracker = UsageTracker()
    assert tracker.record("unmapped", None, usage(prompt=50, completion=5)) is None
    assert tracker.record("new", UNPRICED, usage(prompt=50, completion=5)) is None
    totals = tracker.totals()
    assert (totals.requests, totals.prompt_tokens, totals.output_tokens) == (2, 100, 10)
    assert (totals.cost, totals.unpriced_requests) == (0.0, 2)


def test_a_completion_without_usage_is_counted_as_unmetered() -> None:
    tracker = UsageTracker()
    assert tracker.record("prod", SPEC, None) is None
    summary = tracker.by_deployment()["prod"]
    assert (summary.requests, summary.unmetered_requests, summary.prompt_tokens, summary.cost) == (
        1,
        1,
        0,
        0.0,
    )


def test_summaries_are_frozen_snapshots() -> None:
    tracker = UsageTracker()
    tracker.record("prod", SPEC, usage())
    snapshot = tracker.by_deployment()
    totals = tracker.totals()
    tracker.record("prod", SPEC, usage())
    tracker.record("new", SPEC, usage())
    assert snapshot["prod"].requests == 1
    assert "new" not in snapshot
    assert totals.requests == 1
    with pytest.raises(TypeError):
        snapshot["x"] = totals  # type: ignore[index]
    with pytest.raises(AttributeError):
        totals.requests = 5  # type: ignore[misc]
    assert tracker.totals().requests == 3


def test_cost_total_does_not_depend_on_recording_order() -> None:
    usages = [usage(prompt=p, completion=p % 97, reasoning=p % 13, cached=p % 7) for p in range(1, 400)]
    forward, backward = UsageTracker(), UsageTracker()
    for item in usages:
        forward.record("prod", SPEC, item)
    for item in reversed(usages):
        backward.record("prod", SPEC, item)
    assert forward.totals() == backward.totals()  # exactly, float cost included
    assert forward.spent == pytest.approx(math.fsum(cost_of(u, PRICE).total for u in usages), rel=1e-12)


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    # Threads switch every microsecond instead of every 5 ms, so an unguarded update would lose counts here.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("frequent_switches")
def test_100_threads_recording_at_once_sum_exactly() -> None:
    tracker = UsageTracker()
    start = threading.Barrier(100)

    def work(index: int) -> None:
        start.wait()
        for step in range(50):
            tracker.record(
                f"dep-{index % 3}", SPEC, usage(prompt=index + 1, completion=step, reasoning=index % 5)
            )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = UsageTracker()  # the same records made by one thread
    for index in range(100):
        for step in range(50):
            expected.record(
                f"dep-{index % 3}", SPEC, usage(prompt=index + 1, completion=step, reasoning=index % 5)
            )
    assert tracker.totals() == expected.totals()
    assert tracker.totals().requests == 5000
    assert tracker.totals().prompt_tokens == 50 * sum(range(1, 101))
    assert dict(tracker.by_deployment()) == dict(expected.by_deployment())


async def test_200_asyncio_tasks_reserving_and_recording_sum_exactly() -> None:
    tracker = UsageTracker(budget=1_000.0)

    async def call(index: int) -> None:
        ticket = tracker.reserve(f"dep-{index % 4}", SPEC, BODY)
        await asyncio.sleep(0)  # every task holds a reservation while others reserve
        ticket.record(usage(prompt=index, completion=index % 11, reasoning=index % 3, cached=index % 5))

    await asyncio.gather(*(call(i) for i in range(200)))
    totals = tracker.totals()
    assert totals.requests == 200
    assert totals.prompt_tokens == sum(range(200))
    assert totals.cached_tokens == sum(i % 5 for i in range(200))
    assert totals.reasoning_tokens == sum(i % 3 for i in range(200))
    assert tracker.reserved == 0.0  # every hold given back exactly
    assert tracker.remaining == pytest.approx(1_000.0 - totals.cost, rel=1e-12)


# --- budgets ---------------------------------------------------------------------------------------------------


def test_worst_case_is_prompt_at_input_plus_max_tokens_at_output() -> None:
    prompt = estimate_prompt_tokens(BODY)
    assert worst() == pytest.approx((prompt * 2.0 + 100 * 6.0) / M, rel=1e-12)
    completion_cap = {**BODY, "max_completion_tokens": 300}
    assert worst(completion_cap) == pytest.approx((prompt * 2.0 + 300 * 6.0) / M, rel=1e-12)
    no_cap = {k: v for k, v in BODY.items() if k != "max_tokens"}
    assert worst(no_cap) == pytest.approx((prompt * 2.0 + 1000 * 6.0) / M, rel=1e-12)  # the model's maximum
    too_big = {**BODY, "max_tokens": 10**9}
    assert worst(too_big) == worst(no_cap)  # the model cannot produce more than its maximum
    three = {**BODY, "n": 3}
    assert worst(three) == pytest.approx((prompt * 2.0 + 300 * 6.0) / M, rel=1e-12)
    assert worst_case_cost(UNPRICED, BODY) is None
    assert worst_case_cost(None, BODY) is None
    assert worst_case_cost(UNBOUNDED, no_cap) is None
    assert worst_case_cost(UNBOUNDED, BODY) is not None


def test_a_call_that_would_exceed_the_budget_is_refused_before_sending() -> None:
    tracker = UsageTracker(budget=worst() / 2)
    with pytest.raises(BudgetExceededError) as info:
        tracker.reserve("prod", SPEC, BODY)
    error = info.value
    assert isinstance(error, GrokError)
    assert (error.budget, error.spent) == (worst() / 2, 0.0)
    assert error.estimate == pytest.approx(worst(), rel=1e-12)
    assert "'prod'" in str(error)
    assert "Nothing was sent" in str(error)
    assert SECRET_PROMPT not in str(error)
    assert SECRET_PROMPT not in repr(error)
    assert tracker.reserved == 0.0
    assert tracker.totals().requests == 0


def test_a_call_that_exactly_fits_the_budget_passes_and_holds_it() -> None:
    tracker = UsageTracker(budget=worst())
    ticket = tracker.reserve("prod", SPEC, BODY)
    assert tracker.reserved == pytest.approx(worst(), rel=1e-12)
    assert tracker.remaining == 0.0
    with pytest.raises(BudgetExceededError):
        tracker.reserve("prod", SPEC, BODY)  # the first call's worst case is still held
    ticket.release()
    assert tracker.reserved == 0.0
    tracker.reserve("prod", SPEC, BODY).release()  # fits again once the hold is given back


def test_record_replaces_the_hold_with_the_real_cost() -> None:
    tracker = UsageTracker(budget=1.0)
    ticket = tracker.reserve("prod", SPEC, BODY)
    cost = ticket.record(usage(prompt=10, completion=10))
    assert cost is not None
    assert cost.total == pytest.approx((10 * 2.0 + 10 * 6.0) / M, rel=1e-12)
    assert tracker.reserved == 0.0
    assert tracker.spent == cost.total
    assert tracker.remaining == pytest.approx(1.0 - cost.total, rel=1e-12)


def test_spending_past_the_budget_blocks_the_next_call() -> None:
    # A reasoning model can spend more than its worst case; the budget then stops new calls.
    tracker = UsageTracker(budget=worst() * 1.5)
    tracker.reserve("prod", SPEC, BODY).record(usage(prompt=100, completion=100, reasoning=900))
    assert tracker.spent > tracker.budget  # type: ignore[operator]
    assert tracker.remaining == 0.0
    with pytest.raises(BudgetExceededError) as info:
        tracker.reserve("prod", SPEC, BODY)
    assert info.value.spent == tracker.spent


def test_zero_budget_refuses_every_priced_call() -> None:
    tracker = UsageTracker(budget=0)
    with pytest.raises(BudgetExceededError):
        tracker.reserve("prod", SPEC, {**BODY, "max_tokens": 0})  # still the prompt


def test_no_budget_holds_nothing_and_never_refuses() -> None:
    tracker = UsageTracker()
    tickets = [tracker.reserve("prod", SPEC, {**BODY, "max_tokens": 10**9}) for _ in range(100)]
    assert all(ticket.estimate is None for ticket in tickets)
    assert tracker.reserved == 0.0
    assert tracker.remaining is None
    assert tracker.budget is None


@pytest.mark.parametrize("budget", [-1, -0.01, math.nan, math.inf, True, "5", [5]])
def test_invalid_budget_is_a_configuration_error(budget: Any) -> None:
    with pytest.raises(ConfigurationError, match="budget"):
        UsageTracker(budget=budget)


@pytest.mark.usefixtures("frequent_switches")
def test_racing_threads_cannot_overspend_the_budget() -> None:
    # Room for exactly 10 worst cases; 100 threads reserve at once: exactly 10 get through.
    tracker = UsageTracker(budget=worst() * 10.5)
    start = threading.Barrier(100)
    granted: list[object] = []
    refused: list[BudgetExceededError] = []

    def call() -> None:
        start.wait()
        try:
            granted.append(tracker.reserve("prod", SPEC, BODY))
        except BudgetExceededError as error:
            refused.append(error)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(granted), len(refused)) == (10, 90)
    assert tracker.reserved == pytest.approx(worst() * 10, rel=1e-9)


def test_unknown_price_passes_with_one_warning_per_deployment() -> None:
    tracker = UsageTracker(budget=0.0)
    with pytest.warns(GrokAzureWarning, match="cannot enforce its budget on deployment 'new'") as caught:
        ticket = tracker.reserve("new", UNPRICED, BODY)
    assert "no price" in str(caught[0].message)
    assert SECRET_PROMPT not in str(caught[0].message)
    assert ticket.estimate is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.reserve("new", UNPRICED, BODY).record(usage())  # once per deployment: no second warning
    with pytest.warns(GrokAzureWarning, match="'unmapped'.*not in the catalog"):
        tracker.reserve("unmapped", None, BODY)
    with pytest.warns(GrokAzureWarning, match="bounds its output"):
        tracker.reserve("open", UNBOUNDED, {"messages": BODY["messages"]})
    with pytest.warns(GrokAzureWarning):  # a new tracker warns again
        UsageTracker(budget=1.0).reserve("new", UNPRICED, BODY)
    assert tracker.totals().unpriced_requests == 1
    assert tracker.totals().prompt_tokens == 100


def test_unknown_price_without_a_budget_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        UsageTracker().reserve("new", UNPRICED, BODY).record(usage())


# --- reservations ----------------------------------------------------------------------------------------------


def test_a_failed_call_releases_its_hold_in_a_with_block() -> None:
    tracker = UsageTracker(budget=worst())

    def failing_call() -> None:
        with tracker.reserve("prod", SPEC, BODY):
            raise TimeoutError("the service did not answer")

    with pytest.raises(TimeoutError):
        failing_call()
    assert tracker.reserved == 0.0
    assert tracker.totals().requests == 0
    with tracker.reserve("prod", SPEC, BODY) as ticket:  # the budget is whole again
        ticket.record(usage())
    assert tracker.totals().requests == 1


def test_settling_twice_counts_once() -> None:
    tracker = UsageTracker(budget=1.0)
    ticket = tracker.reserve("prod", SPEC, BODY)
    first = ticket.record(usage(prompt=10))
    assert ticket.record(usage(prompt=999)) is first  # the first result; nothing added
    ticket.release()  # after record: a no-op
    with ticket:
        pass
    assert ticket.settled
    assert tracker.totals().requests == 1
    assert tracker.totals().prompt_tokens == 10
    released = tracker.reserve("prod", SPEC, BODY)
    released.release()
    released.release()
    assert released.record(usage()) is None  # released first: the late record is ignored
    assert tracker.totals().requests == 1
    assert tracker.reserved == 0.0


def test_failover_records_on_the_deployment_that_answered() -> None:
    tracker = UsageTracker(budget=1.0)
    ticket = tracker.reserve("primary", SPEC, BODY)
    cost = ticket.record(usage(prompt=10, completion=10), deployment="backup", spec=OTHER)
    assert cost is not None
    assert cost.price == OTHER.price
    assert list(tracker.by_deployment()) == ["backup"]
    assert tracker.reserved == 0.0


def test_reservations_shared_between_threads_and_tasks() -> None:
    # One tracker used by a sync client's threads and an async client's tasks at the same time.
    tracker = UsageTracker(budget=100.0)

    def thread_calls() -> None:
        for _ in range(200):
            tracker.reserve("sync", SPEC, BODY).record(usage(prompt=3))

    async def task_calls() -> None:
        async def one() -> None:
            with tracker.reserve("async", SPEC, BODY) as ticket:
                await asyncio.sleep(0)
                ticket.record(usage(prompt=5))

        await asyncio.gather(*(one() for _ in range(200)))

    threads = [threading.Thread(target=thread_calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    asyncio.run(task_calls())
    for thread in threads:
        thread.join()
    summary = tracker.by_deployment()
    assert (summary["sync"].prompt_tokens, summary["async"].prompt_tokens) == (4 * 200 * 3, 200 * 5)
    assert tracker.reserved == 0.0


def test_repr_shows_money_not_prompts() -> None:
    tracker = UsageTracker(budget=2.5)
    ticket = tracker.reserve("prod", SPEC, BODY)
    assert "budget=$2.500000" in repr(tracker)
    assert "open" in repr(ticket)
    assert SECRET_PROMPT not in repr(tracker) + repr(ticket)


# --- the prompt estimate ---------------------------------------------------------------------------------------


def test_estimate_counts_utf8_bytes_per_message() -> None:
    one = {"messages": [{"role": "user", "content": "x" * 400}]}
    assert estimate_prompt_tokens(one) == 3 + 4 + math.ceil((4 + 400) / 4)
    accented = {"messages": [{"role": "user", "content": "é" * 400}]}  # 2 bytes each
    assert estimate_prompt_tokens(accented) == 3 + 4 + math.ceil((4 + 800) / 4)
    two = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}
    assert estimate_prompt_tokens(two) == 3 + 2 * 4 + math.ceil((6 + 8 + 4 + 2) / 4)
    assert estimate_prompt_tokens({}) == 3


def test_estimate_grows_with_the_prompt_and_tracks_real_counts_roughly() -> None:
    # The recorded grok-3-mini request had 288 prompt tokens; English text is ~4 bytes per token.
    text = "The quick brown fox jumps over the lazy dog. " * 100  # ~1000 tokens for real tokenizers
    estimate = estimate_prompt_tokens({"messages": [{"role": "user", "content": text}]})
    assert 900 <= estimate <= 1400
    longer = estimate_prompt_tokens({"messages": [{"role": "user", "content": text * 2}]})
    assert longer > estimate


def test_images_count_a_fixed_amount_not_their_base64() -> None:
    data_url = "data:image/png;base64," + "A" * 4_000_000
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ]
    }
    estimate = estimate_prompt_tokens(body)
    assert 256 < estimate < 300


def test_tools_schemas_and_tool_call_arguments_count() -> None:
    base = {"messages": [{"role": "user", "content": "weather?"}]}
    tool = {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Current weather for a city " * 20,
            "parameters": {"type": "object", "properties": {"image_url": {"type": "string"}}},
        },
    }
    with_tools = estimate_prompt_tokens({**base, "tools": [tool]})
    assert with_tools > estimate_prompt_tokens(base) + 100
    history = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}" * 200}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny " * 100},
        ]
    }
    # 400 bytes of arguments and 600 of tool output: about 250 tokens on top of the overheads.
    assert 250 < estimate_prompt_tokens(history) < 300
    schema = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object", "title": "y" * 400}},
    }
    assert estimate_prompt_tokens({**base, "response_format": schema}) > estimate_prompt_tokens(base) + 100


def test_estimate_never_fails_on_odd_bodies() -> None:
    deep: Any = "leaf"
    for _ in range(20_000):
        deep = [deep]
    assert estimate_prompt_tokens({"messages": [{"role": "user", "content": deep}]}) >= 3
    assert estimate_prompt_tokens({"messages": [{"role": "user", "content": "\ud800 lone surrogate"}]}) > 3
    assert estimate_prompt_tokens({"messages": "not a list", "tools": None}) == 3
    assert estimate_prompt_tokens({"messages": [{"role": "user", "content": None, "n": 1.5}]}) == 3 + 4 + 1


def test_packaged_catalog_prices_give_a_worst_case() -> None:
    spec = load_catalog().require("grok-4-1-fast-non-reasoning")
    assert worst_case_cost(spec, BODY) is not None


@pytest.mark.parametrize("budget", [None, 10.0])
def test_a_calls_meter_records_once_and_repeats_its_first_cost(budget: float | None) -> None:
    import httpx

    from grok_azure._call_models import Meter

    spec = load_catalog().require("grok-4")
    tracker = UsageTracker(budget=budget)
    body = {"model": "prod", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
    response = httpx.Response(200)
    meter = Meter(tracker, {None: ("prod", spec)}, body)
    meter.reserve()
    first = meter.settle(CompletionUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15), response)
    again = meter.settle(
        CompletionUsage(prompt_tokens=1_000, completion_tokens=500, total_tokens=1_500), response
    )
    meter.release()
    assert first is not None
    assert again is first
    assert tracker.totals().requests == 1
    assert tracker.totals().prompt_tokens == 10
    released = Meter(tracker, {None: ("prod", spec)}, body)
    released.reserve()
    released.release()  # the call failed: nothing is recorded, even if it is settled later
    assert (
        released.settle(CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2), response)
        is None
    )
    assert tracker.totals().requests == 1
    assert tracker.reserved == 0.0


# --- calls without a budget: counted in batches, priced when read ---------------------------------------------


def _meter_call(tracker: UsageTracker, call_usage: CompletionUsage, spec: ModelSpec | None = SPEC) -> Any:
    """One call's bookkeeping as the client does it: reserve, then settle with the usage the service sent."""
    import httpx

    from grok_azure._call_models import Meter

    meter = Meter(tracker, {None: ("prod", spec)}, BODY)
    meter.reserve()
    return meter.settle(call_usage, httpx.Response(200))


@pytest.mark.parametrize("calls", [1, 63, 64, 65, 150])
def test_calls_without_a_budget_read_exactly_whenever_the_totals_are_read(calls: int) -> None:
    tracker, eager = UsageTracker(), UsageTracker()
    for n in range(calls):
        each = usage(prompt=100 + n, completion=10 + n, reasoning=n % 3, cached=n % 7)
        _meter_call(tracker, each)
        eager.record("prod", SPEC, each)
        if n in (0, calls // 2):  # a read in the middle folds what is pending so far
            assert tracker.totals() == eager.totals()
    assert tracker.totals() == eager.totals()
    assert tracker.by_deployment() == eager.by_deployment()
    assert tracker.spent == eager.spent
    assert repr(tracker) == repr(eager)


def test_unpriced_and_unmetered_calls_without_a_budget_are_counted() -> None:
    tracker = UsageTracker()
    assert _meter_call(tracker, usage(prompt=7), spec=UNPRICED) is None
    assert _meter_call(tracker, None) is None  # type: ignore[arg-type]  # the service sent no usage
    totals = tracker.totals()
    assert (totals.requests, totals.unpriced_requests, totals.unmetered_requests) == (2, 1, 1)
    assert totals.prompt_tokens == 7


def test_changing_the_usage_after_the_call_changes_neither_its_count_nor_its_cost() -> None:
    tracker = UsageTracker()
    sent = usage(prompt=288, completion=27, reasoning=294)
    pending = _meter_call(tracker, sent)
    expected = cost_of(usage(prompt=288, completion=27, reasoning=294), PRICE)
    sent.prompt_tokens = 10**9  # the caller edits the completion it got back
    assert sent.completion_tokens_details is not None
    sent.completion_tokens_details.reasoning_tokens = 0
    assert pending.resolve() == expected
    assert tracker.totals().prompt_tokens == 288
    assert (tracker.totals().output_tokens, tracker.totals().reasoning_tokens) == (27, 294)
    assert tracker.spent == pytest.approx(expected.total, rel=1e-12)


def test_threads_recording_without_a_budget_while_others_read_sum_exactly() -> None:
    tracker = UsageTracker()
    start = threading.Barrier(9)
    reads: list[int] = []

    def call() -> None:
        start.wait()
        for _ in range(500):
            _meter_call(tracker, usage(prompt=3, completion=2))

    def read() -> None:
        start.wait()
        for _ in range(200):
            reads.append(tracker.totals().requests)

    threads = [threading.Thread(target=call) for _ in range(8)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = tracker.totals()
    assert (totals.requests, totals.prompt_tokens, totals.output_tokens) == (4000, 12_000, 8000)
    assert reads == sorted(reads)  # a read never goes back: nothing is counted twice or lost on the way
    assert tracker.spent == pytest.approx(
        4000 * cost_of(usage(prompt=3, completion=2), PRICE).total, rel=1e-9
    )


def test_deployments_are_listed_in_order_of_first_use_however_they_were_recorded() -> None:
    tracker = UsageTracker()
    _meter_call(tracker, usage(prompt=1))  # "prod", counted in a batch
    tracker.record("other", OTHER, usage(prompt=2))  # counted at once
    assert list(tracker.by_deployment()) == ["prod", "other"]
