"""The SDK never follows a redirect: a 3xx raises RedirectError, even through a caller's follow_redirects client."""

from __future__ import annotations

import httpx
import pytest
import respx

from grok_azure import APIStatusError, AsyncGrokClient, GrokClient, RedirectError

from ._loopback import LoopbackServer, SeenRequest, json_response
from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
ELSEWHERE = "https://attacker.example/openai/v1/chat/completions"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_not_a_completion(mock_api: respx.MockRouter, status: int) -> None:
    # The body is a valid completion: before the fix, a 3xx was decoded as a success.
    mock_api.post(CHAT_URL).respond(status, json=completion_body(), headers={"location": ELSEWHERE})
    target = mock_api.post(ELSEWHERE).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RedirectError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.status_code == status
    assert info.value.location == ELSEWHERE
    assert isinstance(info.value, APIStatusError)
    assert "redirect" in str(info.value).lower()
    assert not target.called


def test_a_redirect_without_location_still_raises(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(304)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RedirectError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.location is None


def test_a_streamed_call_that_is_redirected_raises(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(307, headers={"location": ELSEWHERE}, content=b"data: [DONE]\n\n")
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RedirectError):
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass


def test_a_callers_follow_redirects_client_does_not_follow(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(307, headers={"location": ELSEWHERE})
    target = mock_api.post(ELSEWHERE).respond(200, json=completion_body())
    with httpx.Client(follow_redirects=True) as http:
        client = GrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http)
        with pytest.raises(RedirectError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        with pytest.raises(RedirectError), client.chat.completions.stream(model="grok-4", messages=MESSAGES):
            pass
    assert info.value.location == ELSEWHERE
    assert not target.called  # the key never went to the other host


async def test_async_follow_redirects_client_does_not_follow(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(308, headers={"location": ELSEWHERE})
    target = mock_api.post(ELSEWHERE).respond(200, json=completion_body())
    async with httpx.AsyncClient(follow_redirects=True) as http:
        client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http)
        with pytest.raises(RedirectError):
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not target.called


async def test_async_default_client_raises_on_redirect() -> None:
    def answer(request: SeenRequest) -> list[bytes]:
        return json_response(request, completion_body(), status=302, headers={"location": ELSEWHERE})

    with LoopbackServer(answer) as server:
        async with AsyncGrokClient(endpoint=server.url, api_key=KEY) as client:
            with pytest.raises(RedirectError) as info:
                await client.chat.completions.create(model="grok-4", messages=MESSAGES)
            with pytest.raises(RedirectError):
                async for _ in await client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True
                ):
                    pass
    assert info.value.location == ELSEWHERE
    assert len(server.requests) == 2
