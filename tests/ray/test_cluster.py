"""The Ray path end to end: Dataset.map_batches(GrokBatchProcessor) on a local Ray instance (two CPUs) against
the emulator, with one QuotaCoordinator shared by two workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("ray.data", reason='needs Ray Data: pip install "grok-azure[ray]"')

from grok_azure._batch._format import BatchResult
from grok_azure.ray import GrokBatchProcessor, QuotaCoordinator, QuotaSummary
from grok_azure.testing import Fault, FoundryEmulator

KEY = "ray-cluster-test-key-0123456789"
TOKEN = "fake-entra-token-for-the-ray-tests"


def rows(count: int, model: str = "grok-4") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"row-{i}",
            "method": "POST",
            "url": "/chat/completions",
            "body": {
                "model": model,
                "messages": [{"role": "user", "content": f"question {i}"}],
                "max_tokens": 16,
            },
        }
        for i in range(count)
    ]


def run(ray: Any, items: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    """The user's code: two actors, each with its own AsyncGrokClient, over the rows."""
    dataset = ray.data.from_items(items).map_batches(
        GrokBatchProcessor,
        fn_constructor_kwargs=kwargs,
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=max(1, len(items) // 2),
    )
    return list(dataset.take_all())


@pytest.fixture
def emulator() -> Iterator[FoundryEmulator]:
    # 300 requests a minute over 1-second windows: 5 requests a second.
    with FoundryEmulator(api_key=KEY, deployments={"grok-4": "grok-4", "down": "grok-4"}, rpm=300) as emu:
        yield emu


def test_results_keep_custom_id_and_the_output_shape(local_ray: Any, emulator: FoundryEmulator) -> None:
    results = run(local_ray, rows(6), endpoint=emulator.url, api_key=KEY)
    assert sorted(r["custom_id"] for r in results) == [f"row-{i}" for i in range(6)]
    for result in results:
        assert set(result) == {"id", "custom_id", "response", "error"}
        assert result["error"] is None
        assert result["response"]["status_code"] == 200
        line = BatchResult.from_line(json.dumps(result))  # exactly a batch output line
        assert line.ok
        assert line.custom_id == result["custom_id"]
        answer = result["response"]["body"]["choices"][0]["message"]["content"]
        assert result["custom_id"].replace("row-", "question ") in answer
    assert [r.status for r in emulator.requests].count(200) == 6


def test_two_workers_share_one_quota_through_the_coordinator(
    local_ray: Any, emulator: FoundryEmulator
) -> None:
    # Alone, each worker would send its six rows at once: more than the five a window admits.
    coordinator = QuotaCoordinator.remote(rpm=180)
    results = run(
        local_ray, rows(12), endpoint=emulator.url, api_key=KEY, coordinator=coordinator, concurrency=8
    )
    assert all(r["error"] is None for r in results)
    statuses = [r.status for r in emulator.requests]
    assert statuses.count(429) == 0
    assert statuses.count(200) == 12
    summary = local_ray.get(coordinator.summary.remote())
    assert isinstance(summary, QuotaSummary)
    assert (summary.calls, summary.failed, summary.attempts, summary.rate_limited) == (12, 0, 12, 0)
    assert summary.in_flight == 0
    assert summary.rpm == 180
    assert summary.prompt_tokens > 0
    assert summary.completion_tokens > 0
    assert summary.cost > 0
    assert summary.unpriced_calls == 0


def test_without_a_coordinator_the_workers_overrun_the_quota(
    local_ray: Any, emulator: FoundryEmulator
) -> None:
    # The contrast that shows what the coordinator is for: each worker assumes the quota is its own.
    results = run(local_ray, rows(12), endpoint=emulator.url, api_key=KEY, concurrency=8)
    assert sorted(r["custom_id"] for r in results) == sorted(f"row-{i}" for i in range(12))
    assert [r.status for r in emulator.requests].count(429) > 0


def test_the_coordinator_learns_of_429s_and_failures(local_ray: Any, emulator: FoundryEmulator) -> None:
    emulator.fault(Fault.server_error(500), times=3, deployment="down")
    emulator.fault(Fault.rate_limited(retry_after=0), deployment="grok-4")
    coordinator = QuotaCoordinator.remote(rpm=240, concurrency=4)
    items = rows(4) + rows(1, model="down")
    items[-1]["custom_id"] = "broken"
    results = {
        r["custom_id"]: r
        for r in run(
            local_ray,
            items,
            endpoint=emulator.url,
            api_key=KEY,
            coordinator=coordinator,
            client_options={"deployment_models": {"down": "grok-4"}},
        )
    }
    assert results["broken"]["error"]["code"] == "server_error"
    assert results["broken"]["response"]["status_code"] == 500
    assert all(results[f"row-{i}"]["error"] is None for i in range(4))  # the 429 was retried by the client
    summary = local_ray.get(coordinator.summary.remote())
    assert summary.calls == 5
    assert summary.failed == 1
    assert summary.rate_limited == 1
    assert summary.attempts == len(emulator.requests)  # every attempt reached the coordinator, retries too


def test_entra_id_credentials_are_built_in_each_actor(local_ray: Any) -> None:
    with FoundryEmulator(
        api_key=KEY, deployments={"grok-4": "grok-4"}, token_validator=lambda t: t == TOKEN
    ) as emu:
        results = run(
            local_ray,
            rows(4),
            endpoint=emu.url,
            # A () -> str token provider stands in for azure.identity.aio's credentials (same code path).
            credential_factory=lambda: lambda: TOKEN,
            client_options={"environ": {}},
        )
        assert all(r["error"] is None for r in results)
        assert {r.headers.get("authorization") for r in emu.requests} == {f"Bearer {TOKEN}"}
        assert all("api-key" not in r.headers for r in emu.requests)
