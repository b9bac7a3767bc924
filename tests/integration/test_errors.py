"""Error responses end to end: each one reaches the caller as its own typed exception."""

from __future__ import annotations

import pytest

from grok_azure import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthExceededError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from grok_azure.testing import Fault, FoundryEmulator

from ._support import MAX_TOKENS, Driver, Target, open_driver, user

pytestmark = pytest.mark.integration

WRONG_KEY = "wrong-key-abcdefghijklmnop"


def assert_request_id(exc: APIStatusError) -> None:
    assert exc.request_id
    assert exc.request_id in str(exc)
    assert exc.headers.get("apim-request-id") == exc.request_id


async def test_unknown_deployment_is_not_found(chat: Driver) -> None:
    with pytest.raises(NotFoundError) as caught:
        await chat.create(model="no-such-deployment-xyz", messages=user(), max_tokens=MAX_TOKENS)

    assert caught.value.status_code == 404
    assert caught.value.code == "DeploymentNotFound"
    assert "deployment" in caught.value.message.lower()


async def test_unknown_deployment_is_not_found_when_streaming(chat: Driver) -> None:
    with pytest.raises(NotFoundError) as caught:
        await chat.stream(model="no-such-deployment-xyz", messages=user(), max_tokens=MAX_TOKENS)

    assert caught.value.code == "DeploymentNotFound"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_wrong_key_is_an_authentication_error_that_does_not_echo_the_key(
    target: Target, route: str, deployment: str, kind: str
) -> None:
    async with open_driver(kind, **{**target.client_options(route), "api_key": WRONG_KEY}) as chat:
        with pytest.raises(AuthenticationError) as caught:
            await chat.create(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    exc = caught.value
    assert exc.status_code == 401
    assert exc.message
    if target.emulator is not None:  # a key cannot be refreshed: no second attempt
        assert [r.status for r in target.emulator.requests] == [401]
    for text in (str(exc), repr(exc), str(exc.body), str(exc.request.headers if exc.request else "")):
        assert WRONG_KEY not in text


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_wrong_key_is_raised_when_a_stream_opens(
    target: Target, route: str, deployment: str, kind: str
) -> None:
    async with open_driver(kind, **{**target.client_options(route), "api_key": WRONG_KEY}) as chat:
        with pytest.raises(AuthenticationError) as caught:
            await chat.stream(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert caught.value.status_code == 401
    assert WRONG_KEY not in str(caught.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_unsupported_api_version_on_models_route_is_rejected(
    target: Target, deployment: str, kind: str
) -> None:
    options = {**target.client_options("model_inference"), "api_version": "1999-01-01"}
    async with open_driver(kind, **options) as chat:
        with pytest.raises((NotFoundError, BadRequestError)) as caught:
            await chat.create(model=deployment, messages=user(), max_tokens=MAX_TOKENS)

    assert caught.value.status_code in (400, 404)
    if target.emulated:
        assert isinstance(caught.value, NotFoundError)
        assert caught.value.message == "Resource not found"


@pytest.mark.parametrize(
    ("header", "retry_after", "expected"),
    [
        ("retry-after", 1.5, 2.0),  # whole seconds, rounded up by the service
        ("retry-after-ms", 1.5, 1.5),
        ("x-ms-retry-after-ms", 0.25, 0.25),
        (None, 3.0, 3.0),  # no header: "Please retry after 3 seconds" in the message
    ],
)
async def test_rate_limited_reports_retry_after_in_seconds(
    chat: Driver, emu: FoundryEmulator, header: str | None, retry_after: float, expected: float
) -> None:
    emu.fault(Fault.rate_limited(retry_after=retry_after, header=header))  # type: ignore[arg-type]

    with pytest.raises(RateLimitError) as caught:
        await chat.create(model="chat", messages=user())

    assert caught.value.status_code == 429
    assert caught.value.retry_after == expected
    assert "retry after" in caught.value.message.lower()
    assert caught.value.headers["x-ratelimit-remaining-requests"] == "0"
    assert_request_id(caught.value)


async def test_rate_limit_is_raised_when_a_stream_opens(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.rate_limited(retry_after=2, header="retry-after"))

    with pytest.raises(RateLimitError) as caught:
        await chat.stream(model="chat", messages=user())

    assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "html", "expected"),
    [
        (500, False, "The server had an error while processing your request. Sorry about that!"),
        (502, True, "502 Bad Gateway"),
        (503, False, "The service is temporarily unable to process your request. Please try again later."),
        (504, True, "504 Gateway Timeout"),
    ],
)
async def test_server_errors_are_internal_server_errors_with_a_short_message(
    chat: Driver, emu: FoundryEmulator, status: int, html: bool, expected: str
) -> None:
    emu.fault(Fault.server_error(status, html=html))

    with pytest.raises(InternalServerError) as caught:
        await chat.create(model="chat", messages=user())

    exc = caught.value
    assert exc.status_code == status
    assert exc.message.startswith(expected)
    assert len(exc.message) <= 201
    assert "<" not in exc.message  # a gateway's HTML page is reduced to its text
    assert_request_id(exc)


async def test_content_filter_rejection_carries_typed_filter_results(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.content_filter())

    with pytest.raises(ContentFilterError) as caught:
        await chat.create(model="chat", messages=user())

    exc = caught.value
    assert isinstance(exc, BadRequestError)
    assert exc.status_code == 400
    assert exc.code == "content_filter"
    assert exc.param == "prompt"
    assert exc.filtered_categories == ["violence"]
    assert exc.filter_results is not None
    assert exc.filter_results.violence is not None
    assert exc.filter_results.violence.severity == "medium"
    assert exc.filter_results.jailbreak is not None
    assert exc.filter_results.jailbreak.detected is False
    assert "content management policy" in exc.message
    assert_request_id(exc)


async def test_content_filter_rejection_is_raised_when_a_stream_opens(
    chat: Driver, emu: FoundryEmulator
) -> None:
    emu.fault(Fault.content_filter())

    with pytest.raises(ContentFilterError) as caught:
        await chat.stream(model="chat", messages=user())

    assert caught.value.filtered_categories == ["violence"]
    assert emu.requests[-1].status == 400


async def test_filtered_completion_is_a_result_not_an_exception(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply("one two three four five six")
    emu.fault(Fault.filtered_completion())

    completion = await chat.create(model="chat", messages=user())

    assert completion.content_filtered is True
    assert completion.finish_reason == "content_filter"
    assert completion.text == "one two three "
    choice_filter = completion.choices[0].content_filter_results
    assert choice_filter is not None
    assert choice_filter.filtered_categories == ["violence"]


async def test_filtered_completion_when_streaming(chat: Driver, emu: FoundryEmulator) -> None:
    emu.reply("one two three four five six")
    emu.fault(Fault.filtered_completion())

    texts, final = await chat.text_stream(model="chat", messages=user())

    assert "".join(texts) == "one two three "
    assert final.content_filtered is True
    assert final.finish_reason == "content_filter"


async def test_context_length_fault_is_a_context_length_error(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.context_length())

    with pytest.raises(ContextLengthExceededError) as caught:
        await chat.create(model="chat", messages=user())

    assert isinstance(caught.value, BadRequestError)
    assert caught.value.status_code == 400
    assert "maximum context length" in caught.value.message
    assert_request_id(caught.value)


async def test_a_prompt_longer_than_the_context_window_is_a_context_length_error(
    chat: Driver, emu: FoundryEmulator
) -> None:
    too_long = "word " * 110_000  # "chat": 128,000 tokens; the emulator counts 4 characters a token

    with pytest.raises(ContextLengthExceededError) as caught:
        await chat.create(model="chat", messages=user(too_long))

    assert "128000" in caught.value.message
    assert caught.value.param == "messages"


async def test_error_event_on_a_plain_request_is_a_server_error(chat: Driver, emu: FoundryEmulator) -> None:
    emu.fault(Fault.error_event(after_chunks=0, code="backend_overloaded", message="Try again soon."))

    with pytest.raises(InternalServerError) as caught:
        await chat.create(model="chat", messages=user())

    assert caught.value.code == "backend_overloaded"
    assert caught.value.message == "Try again soon."
    assert_request_id(caught.value)
