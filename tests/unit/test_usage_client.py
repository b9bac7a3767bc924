"""Usage, cost and budgets through the clients, the way users call them (respx; no sockets)."""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, BadRequestError, BudgetExceededError, GrokClient
from grok_azure._catalog import load_catalog
from grok_azure._usage import UsageTracker, cost_of, worst_case_cost
from grok_azure._warnings import GrokAzureWarning

from ._loopback import LoopbackServer, json_response
from .conftest import CHAT_URL, ENDPOINT, FIXTURES, KEY, completion_body

MODEL = "grok-4-1-fast-reasoning"  # 0.20 / 0.50 USD per 1M tokens in the catalog
SPEC = load_catalog().require(MODEL)
PRICE = SPEC.price
DEPLOYMENTS = {"prod": MODEL}
RECORDED_STREAM = (FIXTURES / "grok3mini_thinking_stream.sse").read_bytes()  # usage 332 + 11 + 330 = 673
SSE = {"content-type": "text/event-stream"}
# What the client sends for create(model="prod", messages=[{"role": "user", "content": "hi"}], max_tokens=100).
SENT = {"model": "prod", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}


def worst() -> float:
    estimate = worst_case_cost(SPEC, SENT)
    assert estimate is not None
    return estimate


def create(client: GrokClient, max_tokens: int = 100) -> Any:
    return client.chat.completions.create(
        model="prod", messages=[{"role": "user", "content": "hi"}], max_tokens=max_tokens
    )


# --- completion.cost -------------------------------------------------------------------------------------------


def test_completion_cost_comes_from_the_deployment_model_price(mock_api: respx.MockRouter) -> None:
    # The response names another model ("grok-4"); the price is the deployment's model's, not the response's.
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS) as client:
        completion = create(client)
    assert PRICE is not None
    assert completion.usage is not None
    assert completion.cost == cost_of(completion.usage, PRICE)
    assert completion.cost.price == PRICE
    assert completion.cost.confirmed is False  # the catalog's price for this model is not from a meter
    assert client.usage.totals().cost == completion.cost.total


def test_unmapped_deployment_has_no_cost_but_its_tokens_count(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", GrokAzureWarning)  # "not mapped to a catalog model"
        completion = create(client)
    assert completion.cost is None
    assert client.usage.totals().prompt_tokens == 5
    assert client.usage.totals().unpriced_requests == 1


def test_streamed_final_completion_has_the_cost_of_the_usage_event(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, content=RECORDED_STREAM, headers=SSE)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS) as client:
        with client.chat.completions.stream(
            model="prod", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
        summary = client.usage.by_deployment()["prod"]
    assert final.cost is not None
    assert final.cost.total == pytest.approx((332 * 0.2 + (11 + 330) * 0.5) / 1e6, rel=1e-12)
    assert (summary.prompt_tokens, summary.output_tokens, summary.reasoning_tokens) == (332, 11, 330)


def test_inline_stream_loop_is_counted_when_it_completes(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, content=RECORDED_STREAM, headers=SSE)
    tracker = UsageTracker(budget=1.0)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        finish = None
        for chunk in client.chat.completions.create(
            model="prod",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        ):
            if chunk.choices:
                finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"  # the loop read the answer; the usage event came after it
    assert tracker.totals().billed_output_tokens == 11 + 330
    assert tracker.reserved == 0.0


def test_a_stream_left_early_gives_its_hold_back(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, content=RECORDED_STREAM, headers=SSE)
    tracker = UsageTracker(budget=worst() * 1.5)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        with client.chat.completions.stream(
            model="prod", messages=[{"role": "user", "content": "hi"}], max_tokens=100
        ) as stream:
            for _ in stream:
                break
        assert tracker.reserved == 0.0
        assert tracker.totals().requests == 0  # no usage event arrived: nothing to count
        mock_api.post(CHAT_URL).respond(200, json=completion_body())
        create(client)  # would be refused if the abandoned stream still held its worst case
    assert tracker.totals().requests == 1


@pytest.mark.parametrize("budget", [None, 1.0])
def test_each_call_is_counted_once_with_or_without_a_budget(
    mock_api: respx.MockRouter, budget: float | None
) -> None:
    route = mock_api.post(CHAT_URL)
    route.side_effect = [
        httpx.Response(400, json={"error": {"code": "bad_request", "message": "no"}}),
        httpx.Response(200, json=completion_body()),
        httpx.Response(200, content=RECORDED_STREAM, headers=SSE),
        httpx.Response(200, content=RECORDED_STREAM, headers=SSE),
    ]
    tracker = UsageTracker(budget=budget)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        with pytest.raises(BadRequestError):
            create(client)  # failed: nothing counted
        assert tracker.totals().requests == 0
        completion = create(client)
        with client.chat.completions.stream(
            model="prod", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
            streamed = stream.get_final_completion()
            stream.close()  # closing a completed stream counts nothing more
        with client.chat.completions.stream(
            model="prod", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                break  # left early: no usage event, nothing counted
    totals = tracker.totals()
    assert totals.requests == 2
    assert completion.cost is not None
    assert streamed.cost is not None
    assert totals.cost == pytest.approx(completion.cost.total + streamed.cost.total)
    assert tracker.reserved == 0.0


# --- budgets ---------------------------------------------------------------------------------------------------


def test_budget_refuses_a_call_before_anything_is_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tracker = UsageTracker(budget=worst() * 0.9)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        with pytest.raises(BudgetExceededError) as info:
            create(client)
        assert route.call_count == 0
        assert info.value.estimate == pytest.approx(worst(), rel=1e-12)
        create(client, max_tokens=10)  # a smaller worst case fits
    assert route.call_count == 1


def test_a_failed_call_gives_its_hold_back(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL)
    route.side_effect = [
        httpx.Response(400, json={"error": {"code": "bad_request", "message": "no"}}),
        httpx.Response(200, json=completion_body()),
    ]
    tracker = UsageTracker(budget=worst() * 1.5)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        with pytest.raises(BadRequestError):
            create(client)
        assert tracker.reserved == 0.0
        completion = create(client)  # refused if the failed call still held its worst case
    assert completion.cost is not None
    assert tracker.spent == completion.cost.total


def test_one_tracker_shared_by_two_clients_enforces_one_budget(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tracker = UsageTracker(budget=worst() * 1.5)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as one,
        GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as two,
    ):
        create(one)
        create(two)
        assert one.usage is two.usage
    assert tracker.totals().requests == 2


# --- concurrency -----------------------------------------------------------------------------------------------


def test_100_threads_sharing_a_client_sum_exactly(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tracker = UsageTracker(budget=10.0)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=DEPLOYMENTS, usage=tracker) as client:
        start = threading.Barrier(100)
        costs: list[float] = []

        def work() -> None:
            start.wait()
            for _ in range(3):
                costs.append(create(client).cost.total)

        threads = [threading.Thread(target=work) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    totals = tracker.totals()
    assert (totals.requests, totals.prompt_tokens, totals.cached_tokens) == (300, 1500, 600)
    assert totals.cost == pytest.approx(sum(costs), rel=1e-12)
    assert len(costs) == 300
    assert tracker.reserved == 0.0


async def test_200_asyncio_tasks_sharing_a_client_sum_exactly(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tracker = UsageTracker(budget=10.0)
    async with AsyncGrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        deployment_models=DEPLOYMENTS,
        usage=tracker,
        http_client=httpx.AsyncClient(),  # respx intercepts httpx, not the default aiohttp transport
    ) as client:

        async def call() -> float:
            completion = await client.chat.completions.create(
                model="prod", messages=[{"role": "user", "content": "hi"}], max_tokens=100
            )
            assert completion.cost is not None
            return completion.cost.total

        costs = await asyncio.gather(*(call() for _ in range(200)))
    totals = tracker.totals()
    assert (totals.requests, totals.prompt_tokens, totals.reasoning_tokens) == (200, 1000, 200)
    assert totals.cost == pytest.approx(sum(costs), rel=1e-12)
    assert tracker.reserved == 0.0


async def test_async_budget_refuses_before_sending(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        deployment_models=DEPLOYMENTS,
        usage=UsageTracker(budget=0.0),
        http_client=httpx.AsyncClient(),
    ) as client:
        with pytest.raises(BudgetExceededError):
            await client.chat.completions.create(model="prod", messages=[{"role": "user", "content": "hi"}])
    assert route.call_count == 0


def test_a_used_up_budget_refuses_even_a_call_whose_cost_cannot_be_bounded(
    mock_api: respx.MockRouter,
) -> None:
    # grok-4.7 states no output limit: without max_tokens its worst case is unknown. It is let through while the
    # budget lasts, and once the budget is spent the next such call is refused before anything is sent.
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tracker = UsageTracker(budget=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GrokAzureWarning)
        with GrokClient(endpoint=ENDPOINT, api_key=KEY, usage=tracker) as client:
            client.chat.completions.create(model="grok-4.7", messages=[{"role": "user", "content": "hi"}])
            assert tracker.spent > 1e-7
            with pytest.raises(BudgetExceededError):
                client.chat.completions.create(model="grok-4.7", messages=[{"role": "user", "content": "hi"}])
    assert route.call_count == 1


def test_a_failover_pool_holds_the_worst_case_of_its_dearest_deployment(mock_api: respx.MockRouter) -> None:
    from grok_azure import Deployment

    cheap, dear = "https://cheap.services.ai.azure.com", "https://dear.services.ai.azure.com"
    mock_api.post(f"{cheap}/openai/v1/chat/completions").respond(200, json=completion_body())
    mock_api.post(f"{dear}/openai/v1/chat/completions").respond(200, json=completion_body())
    pool = [
        Deployment(cheap, api_key=KEY, deployment="fast", name="cheap"),
        Deployment(dear, api_key=KEY, deployment="big", name="dear"),
    ]
    models = {"fast": "grok-4-1-fast-reasoning", "big": "grok-4"}
    body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
    dearest = worst_case_cost(load_catalog().require("grok-4"), body)
    assert dearest is not None
    tracker = UsageTracker(budget=dearest * 0.99)  # room for the cheap one's worst case, not the dear one's
    with (
        GrokClient(deployments=pool, deployment_models=models, usage=tracker) as client,
        pytest.raises(BudgetExceededError) as caught,
    ):
        create(client)
    assert caught.value.estimate == pytest.approx(dearest, rel=0.05)
    assert len(mock_api.calls) == 0


def test_answers_without_usage_count_their_worst_case_against_the_budget() -> None:
    """A gateway that strips usage from its answers: the budget still stops the calls."""
    body = {k: v for k, v in completion_body().items() if k != "usage"}
    with LoopbackServer(lambda request: json_response(request, body)) as server:
        tracker = UsageTracker(budget=0.05)
        client = GrokClient(
            endpoint=server.url, api_key=KEY, usage=tracker, deployment_models={"grok-4": "grok-4"}
        )
        with (
            client,
            pytest.warns(GrokAzureWarning, match="without usage"),
            pytest.raises(BudgetExceededError),
        ):
            _until_refused(client)
        assert 1 <= len(server.requests) < 20
        assert tracker.spent > 0.0
        assert tracker.totals().unmetered_requests == len(server.requests)


def _until_refused(client: GrokClient) -> None:
    for _ in range(20):
        client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], max_tokens=1000
        )
