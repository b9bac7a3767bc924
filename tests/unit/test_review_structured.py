"""Hostile review of issue 9 (structured outputs): each test here failed against the working tree when written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from grok_azure import (
    AsyncGrokClient,
    GrokClient,
    GrokError,
    LengthFinishReasonError,
    UsageTracker,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Extract the city"}]


class City(BaseModel):
    name: str
    population: int


class Node(BaseModel):
    label: str
    children: list[Node] = []


class Maybe(BaseModel):
    name: str
    nickname: str | None = None


@pytest.fixture
def mock_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def body(content: str | None, finish_reason: str = "stop", tokens: int = 10) -> dict[str, Any]:
    out = completion_body(content)
    out["choices"][0]["finish_reason"] = finish_reason
    out["usage"] = {"prompt_tokens": tokens, "completion_tokens": 5, "total_tokens": tokens + 5}
    return out


def replies(mock_api: respx.MockRouter, *bodies: dict[str, Any]) -> respx.Route:
    return mock_api.post(CHAT_URL).mock(side_effect=[httpx.Response(200, json=b) for b in bodies])


def sent(route: respx.Route, index: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(route.calls[index].request.content)
    return data


# --- 1. a reply cut by the token limit during repairs loses the paid-for earlier attempts ------------------------


def test_length_error_during_repairs_carries_the_earlier_attempts(mock_api: respx.MockRouter) -> None:
    # Attempt 1 does not validate (paid), the repair is cut by max_tokens (paid): the error raised on the repair
    # carries the earlier attempts too, so a caller can account for every call.
    replies(mock_api, body('{"name": "Paris"}', tokens=100), body('{"name": "Par', "length", tokens=200))
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(LengthFinishReasonError) as caught,
    ):
        client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City, max_repairs=1)
    attempts = getattr(caught.value, "attempts", None)
    assert attempts is not None, "the rejected first attempt is lost"
    assert len(attempts) == 1
    assert attempts[0].completion.usage.prompt_tokens == 100


async def test_async_length_error_during_repairs_carries_the_earlier_attempts(
    mock_api: respx.MockRouter,
) -> None:
    replies(mock_api, body('{"name": "Paris"}', tokens=100), body('{"name": "Par', "length", tokens=200))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(LengthFinishReasonError) as caught:
            await client.chat.completions.parse(
                model="grok-4", messages=MESSAGES, response_format=City, max_repairs=1
            )
    attempts = getattr(caught.value, "attempts", None)
    assert attempts is not None
    assert len(attempts) == 1


# --- 2. parse() is not metered: usage not recorded, cost None, budget not charged ------------------------------
#
# parse() runs `self._client._execute(_metered_flow(call, meter))` with the flow generator as a temporary: once
# _execute returns, the generator is collected, its GeneratorExit hits `except BaseException: meter.release()`, and
# the reservation is closed before `_completion` records it. create() keeps `flow` in a local and is fine.


def test_parse_calls_are_recorded_by_the_usage_tracker_and_costed(mock_api: respx.MockRouter) -> None:
    replies(
        mock_api, body('{"name": "Paris"}', tokens=100), body('{"name": "P", "population": 1}', tokens=200)
    )
    tracker = UsageTracker()
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, usage=tracker) as client:
        parsed = client.chat.completions.parse(
            model="grok-4", messages=MESSAGES, response_format=City, max_repairs=1
        )
    assert parsed.total_tokens_all_attempts == 310  # held: the attempts' usage is kept
    assert tracker.totals().requests == 2, "parse() calls are not counted by the client's UsageTracker"
    assert tracker.totals().prompt_tokens == 300
    assert parsed.cost is not None  # create() of the same reply has a cost (grok-4 is priced in the catalog)


async def test_async_parse_calls_are_recorded_by_the_usage_tracker_and_costed(
    mock_api: respx.MockRouter,
) -> None:
    replies(mock_api, body('{"name": "P", "population": 1}', tokens=100))
    tracker = UsageTracker()
    async with AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, usage=tracker, http_client=httpx.AsyncClient()
    ) as client:
        parsed = await client.chat.completions.parse(model="grok-4", messages=MESSAGES, response_format=City)
    assert tracker.totals().requests == 1
    assert parsed.cost is not None


def test_parse_calls_are_charged_against_the_budget(mock_api: respx.MockRouter) -> None:
    # Each reply costs ~$0.00069 at the catalog's grok-4 price; a $0.001 budget allows one such call, not three.
    mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, json=body('{"name": "P", "population": 1}', tokens=120)) for _ in range(3)
        ]
    )
    tracker = UsageTracker(budget=0.001)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, usage=tracker) as client:
        for _ in range(3):
            try:
                client.chat.completions.parse(
                    model="grok-4", messages=MESSAGES, response_format=City, max_tokens=5
                )
            except GrokError:
                break
    assert tracker.spent > 0, "parse() spent nothing as far as the budget knows"
