"""The request each attempt sends, as built on the hot path: what httpx would have added, and nothing kept that
holds a secret. Through the public clients (respx), with a look at the URL cache where secrets are concerned."""

from __future__ import annotations

import httpx
import respx

from grok_azure import AsyncGrokClient, GrokClient
from grok_azure._wire import _TARGETS

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
SECRET = "sv=2024&sig=SECRET-signature-0123456789"


def _sent(route: respx.Route) -> httpx.Request:
    request: httpx.Request = route.calls.last.request
    return request


def test_host_and_content_length_are_sent_once(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    request = _sent(route)
    names = [name.lower() for name, _ in request.headers.raw]
    assert names.count(b"host") == 1
    assert names.count(b"content-length") == 1
    assert request.headers["host"] == "res.services.ai.azure.com"
    assert request.headers["content-length"] == str(len(request.content))


def test_a_host_header_of_the_callers_is_kept_and_not_doubled(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_headers={"Host": "front.door"}
        )
    request = _sent(route)
    assert [value for name, value in request.headers.raw if name.lower() == b"host"] == [b"front.door"]


def test_every_attempt_gets_its_own_retry_count_on_the_same_url(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(503, json={"error": {"message": "busy"}}),
            httpx.Response(200, json=completion_body()),
        ]
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=None) as client:
        client.with_options(max_retries=1).chat.completions.create(model="grok-4", messages=MESSAGES)
    first, second = (call.request for call in route.calls)
    assert first.url == second.url == CHAT_URL
    assert [first.headers["x-grok-azure-retry-count"], second.headers["x-grok-azure-retry-count"]] == [
        "0",
        "1",
    ]


def test_a_url_with_a_secret_query_is_not_kept(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    _TARGETS.clear()
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_query={"sig": SECRET})
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls[0].request.url.params["sig"] == SECRET  # sent as given
    assert not any(SECRET in str(key) for key in _TARGETS)
    assert len(_TARGETS) == 1  # the URL without the secret is


async def test_query_parameters_with_several_values_are_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(url__startswith=CHAT_URL).respond(200, json=completion_body())
    # respx mocks httpx's own transports, so the async client gets one (its default runs on aiohttp).
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        await client.chat.completions.create(
            model="grok-4", messages=MESSAGES, extra_query={"tag": ["a", "b"]}
        )
    assert _sent(route).url.params.get_list("tag") == ["a", "b"]
