"""Review follow-up: error bodies cost bounded memory, and no secret survives in an error's fields or excerpts."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
import respx

from grok_azure import (
    AsyncGrokClient,
    AuthenticationError,
    BadRequestError,
    CredentialError,
    GrokClient,
    InternalServerError,
    RedirectError,
    ResponseDecodeError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY

MESSAGES = [{"role": "user", "content": "Hi"}]
MIB = 1024 * 1024
# Tens of MB of tiny JSON values: decoded, each `[]` is a 56-byte list plus a pointer, ~20x the body.
HUGE_ERROR_BODY = b'{"error":{"message":"m","details":[' + b",".join([b"[]"] * (8 * MIB)) + b"]}}"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2VjcmV0"
SAS = "sv2024sigvalue0123456789"
CLIENT_SECRET = "abcSECRETdef0123456789"


def _async_client(**kwargs: object) -> AsyncGrokClient:
    # An httpx client of the caller's, so that respx sees the requests (the default transport is aiohttp).
    return AsyncGrokClient(endpoint=ENDPOINT, http_client=httpx.AsyncClient(), **kwargs)  # type: ignore[arg-type]


def _no_key_prefix(text: str) -> bool:
    """No run of 8 or more characters of the key (a cut that leaves the key's start is a leak too)."""
    return all(KEY[start : start + 8] not in text for start in range(len(KEY) - 7))


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def test_a_huge_error_body_is_mapped_without_decoding_it(mock_api: respx.MockRouter, traced: None) -> None:
    mock_api.post(CHAT_URL).respond(400, content=HUGE_ERROR_BODY)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        tracemalloc.reset_peak()
        with pytest.raises(BadRequestError) as info:
            client.chat.completions.create(model="grok-4", messages=MESSAGES)
        _, peak = tracemalloc.get_traced_memory()
    # Reading the body costs a couple of copies of it; decoding it as JSON cost ~40.
    assert peak < 5 * len(HUGE_ERROR_BODY), (
        f"peak {peak // MIB} MiB for a {len(HUGE_ERROR_BODY) // MIB} MiB body"
    )
    exc = info.value
    assert exc.status_code == 400
    assert isinstance(exc.body, str)
    assert len(exc.body) <= 201
    assert exc.body.startswith('{"error":{"message":"m"')
    assert len(str(exc)) < 400


async def test_async_huge_error_body_is_mapped_without_decoding_it(
    mock_api: respx.MockRouter, traced: None
) -> None:
    mock_api.post(CHAT_URL).respond(400, content=HUGE_ERROR_BODY)
    async with _async_client(api_key=KEY) as client:
        tracemalloc.reset_peak()
        with pytest.raises(BadRequestError) as info:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
        _, peak = tracemalloc.get_traced_memory()
    assert peak < 5 * len(HUGE_ERROR_BODY), (
        f"peak {peak // MIB} MiB for a {len(HUGE_ERROR_BODY) // MIB} MiB body"
    )
    assert isinstance(info.value.body, str)


def test_a_huge_error_body_that_echoes_the_key_is_scrubbed(mock_api: respx.MockRouter) -> None:
    body = (
        b'{"error":{"message":"bad key ' + KEY.encode() + b'","details":[' + b",".join([b"[]"] * MIB) + b"]}}"
    )
    mock_api.post(CHAT_URL).respond(401, content=body)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(AuthenticationError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == 401
    assert _no_key_prefix(str(exc))
    assert _no_key_prefix(repr(exc))
    assert _no_key_prefix(str(exc.body))


def test_a_small_json_error_body_is_still_decoded(mock_api: respx.MockRouter) -> None:
    # The cap must not cost the ordinary case its fields.
    mock_api.post(CHAT_URL).respond(
        400, json={"error": {"code": "bad_param", "message": "nope", "param": "top_p"}}
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(BadRequestError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.body == {"error": {"code": "bad_param", "message": "nope", "param": "top_p"}}
    assert (info.value.code, info.value.param, info.value.message) == ("bad_param", "top_p", "nope")


# --- excerpts are scrubbed before they are cut ----------------------------------------------------------


@pytest.mark.parametrize("before", [485, 490, 492])
def test_a_decode_error_excerpt_cut_inside_the_key_keeps_none_of_it(
    mock_api: respx.MockRouter, before: int
) -> None:
    # The key straddles the 500-character cut: cutting first left its first characters in the excerpt.
    mock_api.post(CHAT_URL).respond(200, content=b"x" * before + KEY.encode() + b" trailing text")
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    exc = info.value
    assert exc.body_excerpt.startswith("x" * 100)
    assert exc.body_excerpt.endswith("…")
    assert _no_key_prefix(exc.body_excerpt)
    assert _no_key_prefix(str(exc.body))
    assert _no_key_prefix(repr(exc))


async def test_async_decode_error_excerpt_cut_inside_the_key_keeps_none_of_it(
    mock_api: respx.MockRouter,
) -> None:
    mock_api.post(CHAT_URL).respond(200, content=b"x" * 491 + KEY.encode())
    async with _async_client(api_key=KEY) as client:
        with pytest.raises(ResponseDecodeError) as info:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert _no_key_prefix(info.value.body_excerpt)


@pytest.mark.parametrize("before", [185, 190, 192])
def test_an_html_error_excerpt_cut_inside_the_key_keeps_none_of_it(
    mock_api: respx.MockRouter, before: int
) -> None:
    page = f"<html><body><p>{'y' * before}{KEY} more words here</p></body></html>"
    mock_api.post(CHAT_URL).respond(502, content=page.encode(), headers={"content-type": "text/html"})
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, max_retries=0) as client,
        pytest.raises(InternalServerError) as info,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    exc = info.value
    assert exc.message.startswith("y" * 100)
    assert _no_key_prefix(exc.message)
    assert _no_key_prefix(str(exc.body))
    assert _no_key_prefix(str(exc))


def test_a_huge_html_error_keeps_a_short_scrubbed_excerpt(mock_api: respx.MockRouter) -> None:
    page = (
        "<html><body><h1>Bad gateway " + KEY + "</h1>" + "<p>filler</p>" * (3 * MIB // 12) + "</body></html>"
    ).encode()
    mock_api.post(CHAT_URL).respond(502, content=page)
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, max_retries=0) as client,
        pytest.raises(InternalServerError) as info,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.message.startswith("Bad gateway [redacted] filler")
    assert len(info.value.message) <= 201
    assert _no_key_prefix(str(info.value))


# --- redirects ------------------------------------------------------------------------------------------


def _redirect_to(mock_api: respx.MockRouter) -> str:
    location = f"https://elsewhere.example/openai/v1/chat/completions?api-key={KEY}&sig={SAS}&region=west"
    mock_api.post(CHAT_URL).respond(307, headers={"location": location})
    return location


def _assert_redirect_scrubbed(exc: RedirectError) -> None:
    assert exc.location is not None
    assert exc.location.startswith("https://elsewhere.example/openai/v1/chat/completions?")
    assert "region=west" in exc.location  # what is not secret stays, to tell the user where it pointed
    for text in (exc.location, str(exc), repr(exc), exc.headers["location"]):
        assert _no_key_prefix(text), text
        assert SAS not in text, text
    assert exc.response is not None
    assert SAS not in exc.response.headers["location"]
    assert _no_key_prefix(exc.response.headers["location"])


def test_a_redirect_location_carrying_the_key_is_scrubbed(mock_api: respx.MockRouter) -> None:
    _redirect_to(mock_api)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RedirectError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    _assert_redirect_scrubbed(info.value)


def test_a_streamed_redirect_location_is_scrubbed(mock_api: respx.MockRouter) -> None:
    _redirect_to(mock_api)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RedirectError) as info:
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass
    _assert_redirect_scrubbed(info.value)


async def test_async_redirect_location_is_scrubbed(mock_api: respx.MockRouter) -> None:
    _redirect_to(mock_api)
    async with _async_client(api_key=KEY) as client:
        with pytest.raises(RedirectError) as info:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    _assert_redirect_scrubbed(info.value)


# --- credential errors ----------------------------------------------------------------------------------


def _failing_provider() -> str:
    raise RuntimeError(
        f"refresh failed: Authorization: Bearer {JWT} was rejected; retry with token {JWT} "
        f"(client_secret={CLIENT_SECRET})"
    )


async def _failing_async_provider() -> str:
    _failing_provider()
    return ""


def _assert_credential_error_clean(exc: CredentialError) -> None:
    for text in (str(exc), repr(exc), exc.message, str(exc.__cause__)):
        assert JWT[:20] not in text, text
        assert CLIENT_SECRET not in text, text
    assert "refresh failed" in str(exc)  # the provider's explanation is still there, minus the token


def test_a_credential_error_does_not_quote_a_token_from_the_provider() -> None:
    with (
        GrokClient(endpoint=ENDPOINT, credential=_failing_provider) as client,
        pytest.raises(CredentialError) as info,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    _assert_credential_error_clean(info.value)


def test_a_streamed_call_credential_error_does_not_quote_a_token() -> None:
    with (
        GrokClient(endpoint=ENDPOINT, credential=_failing_provider) as client,
        pytest.raises(CredentialError) as info,
    ):
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass
    _assert_credential_error_clean(info.value)


async def test_async_credential_error_does_not_quote_a_token() -> None:
    async with _async_client(credential=_failing_async_provider) as client:
        with pytest.raises(CredentialError) as info:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    _assert_credential_error_clean(info.value)


# --- a decode failure's traceback -----------------------------------------------------------------------


def test_a_decode_error_rendered_with_locals_shows_no_echoed_key(mock_api: respx.MockRouter) -> None:
    from .test_secrets_walk import find_secret

    # A 200 that is not a completion and echoes the key: every frame's locals are rendered.
    mock_api.post(CHAT_URL).respond(
        200, json={"object": "chat.completion", "echo": f"your key {KEY} was used"}
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert _no_key_prefix(info.value.body_excerpt)
    assert find_secret(info.value, KEY) == []
