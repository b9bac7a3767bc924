"""Headers httpx could not send are refused with RequestValidationError before anything is sent."""

from __future__ import annotations

import httpx
import pytest
import respx
from azure.core.credentials import AzureKeyCredential

from grok_azure import AsyncGrokClient, GrokClient, RequestValidationError

from .conftest import CHAT_URL, ENDPOINT, KEY, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]
BAD_VALUES = [
    pytest.param(f"{KEY}\r\nx-injected: 1", id="crlf"),
    pytest.param(f"{KEY}\n", id="lf"),
    pytest.param(f"{KEY}\x00", id="nul"),
    pytest.param(f"{KEY}-clé", id="non-ascii"),
]


@pytest.mark.parametrize("key", BAD_VALUES)
def test_a_key_that_cannot_be_sent_is_refused_at_construction(key: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        GrokClient(endpoint=ENDPOINT, api_key=key)
    assert info.value.param == "api_key"
    assert KEY not in str(info.value)  # the message never quotes the value


@pytest.mark.parametrize("key", BAD_VALUES)
def test_a_bad_key_credential_is_refused_by_the_async_client_too(key: str) -> None:
    with pytest.raises(RequestValidationError, match="api_key"):
        AsyncGrokClient(endpoint=ENDPOINT, credential=AzureKeyCredential(key))


@pytest.mark.parametrize("name", ["X-Custom Key", "X-Key\r\n", "X-Schlüssel", ""])
def test_a_bad_key_header_name_is_refused(name: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_key_header=name)
    assert info.value.param == "api_key_header"


@pytest.mark.parametrize(
    "headers",
    [
        {"x-trace": "a\r\nb"},
        {"x-trace": "naïve"},
        {"x trace": "ok"},
        {"x-trace\n": "ok"},
        {"x-trace": 5},
    ],
)
def test_bad_default_headers_are_refused_at_construction_and_in_with_options(
    mock_api: respx.MockRouter, headers: dict[str, object]
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with pytest.raises(RequestValidationError) as info:
        GrokClient(endpoint=ENDPOINT, api_key=KEY, default_headers=headers)  # type: ignore[arg-type]
    assert info.value.param == "default_headers"
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError, match="default_headers"),
    ):
        client.with_options(default_headers=headers)  # type: ignore[arg-type]
    assert not route.called


@pytest.mark.parametrize("value", ["a\r\nb", "naïve", "tab\tis fine but bell \x07 is not"])
def test_bad_extra_headers_are_refused_per_call_and_nothing_is_sent(
    mock_api: respx.MockRouter, value: str
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        with pytest.raises(RequestValidationError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_headers={"x-a": value})
        assert info.value.param == "extra_headers"
        with pytest.raises(RequestValidationError):
            for _ in client.chat.completions.create(
                model="grok-4", messages=MESSAGES, stream=True, extra_headers={"x-a": value}
            ):
                pass
        # Good headers still work on the same client, tabs and spaces included.
        client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_headers={"x-a": "b\tc d"})
    assert route.call_count == 1


def test_a_key_credential_rotated_to_a_bad_value_is_refused_at_send_time(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = AzureKeyCredential(KEY)
    with GrokClient(endpoint=ENDPOINT, credential=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        credential.update(f"{KEY}\r\nx-evil: 1")
        with pytest.raises(RequestValidationError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.param == "credential"
    assert KEY not in str(info.value)
    assert route.call_count == 1


async def test_async_rotated_key_and_extra_headers_are_refused(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = AzureKeyCredential(KEY)
    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=credential, http_client=httpx.AsyncClient()
    ) as c:
        with pytest.raises(RequestValidationError, match="extra_headers"):
            await c.chat.completions.create(model="grok-4", messages=MESSAGES, extra_headers={"x": "é"})
        credential.update("clé-rotated-0123456789")
        with pytest.raises(RequestValidationError, match="non-ASCII"):
            await c.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called


def test_a_token_with_a_line_break_is_refused(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with (
        GrokClient(endpoint=ENDPOINT, credential=lambda: "tok\r\nen-0123456789") as client,
        pytest.raises(RequestValidationError, match=r"line feed|carriage return"),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called
