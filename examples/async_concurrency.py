"""Many chats at once with AsyncGrokClient: asyncio.gather over 20 prompts, at most 5 in flight.

A semaphore keeps the number of concurrent requests under your deployment's limits; one client (one connection
pool) serves every request. Against your resource when GROK_AZURE_ENDPOINT is set, otherwise the emulator.

    python examples/async_concurrency.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

from grok_azure import AsyncGrokClient
from grok_azure.testing import foundry_target

REQUESTS = 20
CONCURRENCY = 5


async def ask(
    client: AsyncGrokClient, deployment: str, limit: asyncio.Semaphore, n: int
) -> tuple[str, float]:
    async with limit:
        started = time.perf_counter()
        completion = await client.chat.completions.create(
            model=deployment,
            messages=[
                {"role": "user", "content": f"Give one fun fact about the number {n}, in one sentence."}
            ],
        )
        return completion.text, time.perf_counter() - started


async def main() -> None:
    with foundry_target() as target:
        async with target.async_client() as client:
            limit = asyncio.Semaphore(CONCURRENCY)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(ask(client, target.deployment, limit, n) for n in range(REQUESTS))
            )
            elapsed = time.perf_counter() - started
    for n, (text, _) in enumerate(results[:3]):
        print(f"#{n}: {text}")
    latencies = [latency for _, latency in results]
    print(f"... {len(results)} answers in {elapsed:.2f} s with at most {CONCURRENCY} in flight")
    print(
        f"latency per request: median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
