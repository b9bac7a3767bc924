"""The emulator's quotas over real HTTP on 127.0.0.1, with a fake clock so windows refill without sleeping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest

from grok_azure.testing import Fault, FoundryEmulator

from .conftest import API_KEY, MODELS_PATH, OPENAI_PATH, PATHS, user


class FakeClock:
    def __init__(self, now: float = 1000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start(clock: FakeClock) -> Iterator[Any]:
    """Start an emulator with deployments ``a`` and ``b`` and the given quota options; return it and a client."""
    running: list[FoundryEmulator] = []
    clients: list[httpx.Client] = []

    def run(**options: Any) -> tuple[FoundryEmulator, httpx.Client]:
        emulator = FoundryEmulator(
            api_key=API_KEY, deployments={"a": "grok-4.7", "b": "grok-4.7"}, clock=clock, **options
        ).start()
        running.append(emulator)
        client = httpx.Client(base_url=emulator.url, headers={"api-key": API_KEY}, timeout=10)
        clients.append(client)
        return emulator, client

    yield run
    for client in clients:
        client.close()
    for emulator in running:
        emulator.stop()


def send(http: httpx.Client, model: str = "a", route: str = "openai_v1", **body: Any) -> httpx.Response:
    return http.post(PATHS[route], json={"model": model, "messages": user(), **body})


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_counters_count_down_request_by_request(start: Any, route: str) -> None:
    _, http = start(rpm=600, tpm=600_000)  # per 1 s window: 10 requests, 10,000 tokens
    replies = [send(http, route=route, max_tokens=97) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in replies] == ["9", "8", "7"]
    # "hello there" is 3 tokens; with max_tokens=97 each request is charged 100 on arrival.
    assert [r.headers["x-ratelimit-remaining-tokens"] for r in replies] == ["9900", "9800", "9700"]
    for reply in replies:
        assert reply.headers["x-ratelimit-limit-requests"] == "10"
        assert reply.headers["x-ratelimit-limit-tokens"] == "10000"
        assert reply.headers["x-ratelimit-reset-requests"] == "1"
        assert reply.headers["x-ratelimit-reset-tokens"] == "1"


def test_streamed_replies_carry_the_counters_too(start: Any) -> None:
    _, http = start(rpm=120)
    with http.stream("POST", OPENAI_PATH, json={"model": "a", "messages": user(), "stream": True}) as reply:
        assert reply.headers["x-ratelimit-remaining-requests"] == "1"
        assert b"[DONE]" in reply.read()


@pytest.mark.parametrize(("route", "version"), [("openai_v1", "v1"), ("model_inference", "2025-05-01")])
def test_exhausted_request_quota_answers_azure_429_with_retry_headers(
    start: Any, route: str, version: str
) -> None:
    _, http = start(rpm=120)  # 2 per 1 s window; the clock is 0.75 s before the window ends
    assert [send(http, route=route).status_code for _ in range(2)] == [200, 200]
    refused = send(http, route=route)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers.get("x-ms-error-code") == (None if route == "openai_v1" else "429")
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["retry-after-ms"] == "750"
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] == "1"
    assert json.loads(refused.content) == {
        "error": {
            "code": "429",
            "message": (
                f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {version} "
                "have exceeded call rate limit of your current AIServices S0 pricing tier. Please retry "
                "after 1 seconds. Please contact Azure support service if you would like to further "
                "increase the default rate limit."
            ),
        }
    }


def test_the_window_refills_when_the_clock_moves_on(start: Any, clock: FakeClock) -> None:
    _, http = start(rpm=60, quota_window=10)  # 10 per 10 s window; this one ends at 1010
    assert {send(http).status_code for _ in range(10)} == {200}
    refused = send(http)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    assert refused.headers["retry-after-ms"] == "9750"
    clock.now = 1009.9
    assert send(http).status_code == 429
    clock.now = 1010.0
    refilled = send(http)
    assert refilled.status_code == 200
    assert refilled.headers["x-ratelimit-remaining-requests"] == "9"


def test_tokens_are_charged_from_max_tokens_on_arrival_not_from_usage(start: Any) -> None:
    _, http = start(tpm=60_000)  # 1,000 tokens per 1 s window
    first = send(http, max_tokens=900)
    assert first.status_code == 200
    assert first.json()["usage"]["completion_tokens"] < 900  # the answer is short, the charge is not
    assert first.headers["x-ratelimit-remaining-tokens"] == "97"
    refused = send(http, max_tokens=900)
    assert refused.status_code == 429
    assert "exceeded token rate limit" in refused.json()["error"]["message"]
    assert refused.headers["x-ratelimit-remaining-tokens"] == "97"
    assert refused.headers["retry-after"] == "1"
    small = send(http, max_completion_tokens=50)
    assert small.status_code == 200
    assert small.headers["x-ratelimit-remaining-tokens"] == "44"


def test_deployments_have_separate_quotas(start: Any) -> None:
    _, http = start(rpm=60)  # 1 per window, for each deployment
    assert send(http, "a").status_code == 200
    assert send(http, "a").status_code == 429
    other = send(http, "b")
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining-requests"] == "0"


def test_a_mapping_limits_only_the_named_deployment(start: Any) -> None:
    _, http = start(rpm={"a": 60})
    assert [send(http, "a").status_code for _ in range(2)] == [200, 429]
    unlimited = [send(http, "b") for _ in range(3)]
    assert {r.status_code for r in unlimited} == {200}
    assert [r.headers["x-ratelimit-remaining-requests"] for r in unlimited] == ["999", "998", "997"]
    assert "x-ratelimit-reset-requests" not in unlimited[0].headers


def test_without_quotas_counters_count_down_honestly(start: Any) -> None:
    _, http = start()
    replies = [send(http, max_tokens=7) for _ in range(3)]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in replies] == ["999", "998", "997"]
    assert [r.headers["x-ratelimit-remaining-tokens"] for r in replies] == ["399990", "399980", "399970"]
    assert {r.headers["x-ratelimit-limit-requests"] for r in replies} == {"1000"}


def test_validation_errors_are_charged_and_carry_the_counters(start: Any) -> None:
    _, http = start(rpm=120)
    rejected = send(http, temperature=5)
    assert rejected.status_code == 400
    assert rejected.headers["x-ratelimit-remaining-requests"] == "1"
    assert send(http).headers["x-ratelimit-remaining-requests"] == "0"


def test_unknown_deployment_is_not_charged_to_anyone(start: Any) -> None:
    _, http = start(rpm=60)
    missing = send(http, "nope")
    assert missing.status_code == 404
    assert not any(name.startswith("x-ratelimit") for name in missing.headers)
    assert send(http, "a").status_code == 200


def test_concurrent_requests_from_threads_never_exceed_the_quota(start: Any) -> None:
    _, http = start(rpm=300)  # 5 per window, and the fake clock stands still
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: send(http), range(24)))
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 19
    admitted = sorted(r.headers["x-ratelimit-remaining-requests"] for r in replies if r.status_code == 200)
    assert admitted == ["0", "1", "2", "3", "4"]


def test_concurrent_requests_from_asyncio_tasks_never_exceed_the_quota(start: Any) -> None:
    url = str(start(tpm=60_000)[1].base_url)  # 1,000 tokens per window: ten requests of 100 tokens

    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=url, headers={"api-key": API_KEY}, timeout=10) as client:
            body = {"model": "a", "messages": user(), "max_tokens": 97}
            replies = await asyncio.gather(*(client.post(OPENAI_PATH, json=body) for _ in range(25)))
        return [r.status_code for r in replies]

    statuses = asyncio.run(main())
    assert statuses.count(200) == 10
    assert statuses.count(429) == 15


def test_reset_empties_the_windows(start: Any) -> None:
    emu, http = start(rpm=60)
    assert [send(http).status_code for _ in range(2)] == [200, 429]
    emu.reset()
    assert send(http).status_code == 200


def test_the_official_openai_client_sees_a_rate_limit_error_with_the_headers(start: Any) -> None:
    emu, _ = start(rpm=60)
    with openai.OpenAI(base_url=emu.url + "/openai/v1", api_key=API_KEY, max_retries=0) as client:
        client.chat.completions.create(model="a", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="a", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after-ms"] == "750"
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize(
    ("options", "match"),
    [({"rpm": 0}, "rpm"), ({"tpm": {"zzz": 5}}, "unknown deployment"), ({"quota_window": 3}, "quota_window")],
)
def test_invalid_quota_options_fail_at_construction(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FoundryEmulator(api_key=API_KEY, deployments={"a": "grok-4.7"}, **options)


def test_models_route_429_also_counts(start: Any) -> None:
    _, http = start(rpm=60)
    assert http.post(MODELS_PATH, json={"model": "a", "messages": user()}).status_code == 200
    # Both routes charge the same deployment.
    assert send(http, "a").status_code == 429


def test_a_scripted_fault_answers_with_its_own_headers_only(start: Any) -> None:
    emu, http = start(rpm=600)
    emu.fault(Fault.rate_limited(header=None))
    throttled = send(http)
    # No reset header from the quota: a client must not find a wait the fault did not script.
    assert throttled.status_code == 429
    assert not any(name.startswith("x-ratelimit-reset") for name in throttled.headers)
    assert send(http).headers["x-ratelimit-remaining-requests"] == "8"  # the fault was charged


def test_a_quota_refusal_does_not_consume_the_scripted_fault(start: Any, clock: FakeClock) -> None:
    emu, http = start(rpm=60)
    assert send(http).status_code == 200
    emu.fault(Fault.server_error(503))
    assert send(http).status_code == 429
    clock.now += 1
    assert send(http).status_code == 503
