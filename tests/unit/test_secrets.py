"""Credentials stay out of exceptions, chained causes, tracebacks (capture_locals too) and reprs.

Calls go through the public API over respx (no sockets); :func:`assert_no_secret` walks everything reachable.
Secrets live in module constants, never in a test's locals, since the walk renders the test's own frame too.
"""

from __future__ import annotations

import builtins
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

import grok_azure
from grok_azure import (
    APIConnectionError,
    APIStatusError,
    AsyncGrokClient,
    AuthenticationError,
    ConfigurationError,
    GrokClient,
    GrokError,
    InternalServerError,
    RequestValidationError,
)
from grok_azure._secrets import RedactingRequest, is_secret_name, sanitized_cause
from grok_azure._wire import PreparedRequest

from .conftest import CHAT_URL, ENDPOINT, MODELS_CHAT_URL
from .test_secrets_walk import assert_no_secret, find_secret

KEY = "sk-custom-SECRET-key-0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.bearer-SECRET-token-part"
HEADER_SECRET = "default-header-SECRET-abcdef"
EXTRA_SECRET = "extra-header-SECRET-123456"
QUERY_SECRET = "query-sig-SECRET/+=987654"
PASSWORD = "url-password-SECRET-55555"
ALL = (KEY, TOKEN, HEADER_SECRET, EXTRA_SECRET, QUERY_SECRET)
MESSAGES = [{"role": "user", "content": "Hi"}]


def _echo_everything(request: httpx.Request) -> httpx.Response:
    """A 401 whose body and headers echo back every header and the query string, as some gateways do."""
    echoed = {"headers": dict(request.headers), "query": str(request.url.query)}
    return httpx.Response(
        401,
        json={
            "error": {"code": "Unauthorized", "message": f"rejected: {json.dumps(echoed)}"},
            "echo": echoed,
        },
        headers={"x-echo": json.dumps(echoed), "x-request-id": "r1"},
    )


class FakeCredential:
    """A TokenCredential handing out TOKEN; no network, no DefaultAzureCredential probes."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class FakeAsyncCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)

    async def close(self) -> None:
        pass


# --- which names are secret ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "api-key",
        "Authorization",
        "Proxy-Authorization",
        "X-Custom-Key",
        "Ocp-Apim-Subscription-Key",
        "x-api-key",
        "X-Api-Token",
        "x-client-secret",
        "X-Signature",
        "sig",
        "password",
        "X-Ms-Credential",
        "Cookie",
        "access_token",
        "subscription-key",
        "code",
        "apikey",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "x-ms-client-request-id",
        "content-length",
        "content-type",
        "api-version",
        "user-agent",
        "accept",
        "extra-parameters",
        "x-request-id",
        "x-ms-region",
    ],
)
def test_names_that_stay_visible(name: str) -> None:
    assert not is_secret_name(name)


# --- a 401 that echoes everything, through the public API ----------------------------------------------------


@pytest.fixture
def echo_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(url__startswith=CHAT_URL).mock(side_effect=_echo_everything)
        router.post(url__startswith=MODELS_CHAT_URL).mock(side_effect=_echo_everything)
        yield router


def test_custom_key_header_is_redacted_and_scrubbed_from_echoing_401(echo_api: respx.MockRouter) -> None:
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_key_header="X-Custom-Key") as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert echo_api.calls.last.request.headers["X-Custom-Key"] == KEY  # it was sent
    exc = caught.value
    assert exc.request is not None
    assert exc.request.headers["X-Custom-Key"] == "[redacted]"
    assert exc.response is not None
    assert "[redacted]" in exc.response.text
    assert "[redacted]" in exc.message
    assert_no_secret(exc, KEY)


async def test_async_custom_key_header_is_redacted_and_scrubbed(echo_api: respx.MockRouter) -> None:
    async with AsyncGrokClient(
        endpoint=ENDPOINT, api_key=KEY, api_key_header="X-Custom-Key", http_client=httpx.AsyncClient()
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert_no_secret(caught.value, KEY)


def test_secret_named_default_and_extra_headers_and_query_are_hidden(echo_api: respx.MockRouter) -> None:
    with (
        GrokClient(
            endpoint=f"{ENDPOINT}/models", api_key=KEY, default_headers={"X-Default-Secret": HEADER_SECRET}
        ) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.chat.completions.create(
            model="grok-4",
            messages=MESSAGES,
            extra_headers={"X-Api-Token": EXTRA_SECRET, "X-Trace": "visible-trace"},
            extra_query={"sig": QUERY_SECRET, "tenant": "visible-tenant"},
        )
    exc = caught.value
    assert exc.request is not None
    # What is not secret stays there to debug with.
    assert exc.request.headers["x-trace"] == "visible-trace"
    assert exc.request.headers["x-ms-client-request-id"]
    assert exc.request.url.params["api-version"]
    assert exc.request.url.params["tenant"] == "visible-tenant"
    assert exc.request.headers["x-default-secret"] == "[redacted]"
    assert exc.request.url.params["sig"] == "[redacted]"
    assert_no_secret(exc, *ALL)


async def test_async_secret_named_extra_headers_and_query_are_hidden(echo_api: respx.MockRouter) -> None:
    async with AsyncGrokClient(
        endpoint=ENDPOINT,
        api_key=KEY,
        default_headers={"X-Default-Secret": HEADER_SECRET},
        http_client=httpx.AsyncClient(),
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.chat.completions.create(
                model="grok-4",
                messages=MESSAGES,
                extra_headers={"X-Api-Token": EXTRA_SECRET},
                extra_query={"sig": QUERY_SECRET},
            )
    assert_no_secret(caught.value, *ALL)


def test_stream_with_secret_extra_headers_hides_them(echo_api: respx.MockRouter) -> None:
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        for _ in client.chat.completions.create(
            model="grok-4", messages=MESSAGES, stream=True, extra_headers={"X-Api-Token": EXTRA_SECRET}
        ):
            pass
    assert_no_secret(caught.value, KEY, EXTRA_SECRET)


def test_stream_helper_with_secret_extra_query_hides_it(echo_api: respx.MockRouter) -> None:
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(AuthenticationError) as caught,
        client.chat.completions.stream(
            model="grok-4", messages=MESSAGES, extra_query={"sig": QUERY_SECRET}
        ) as stream,
    ):
        stream.get_final_completion()
    assert_no_secret(caught.value, KEY, QUERY_SECRET)


def test_bearer_token_is_redacted_and_scrubbed(echo_api: respx.MockRouter) -> None:
    with (
        GrokClient(endpoint=ENDPOINT, credential=FakeCredential()) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert echo_api.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert_no_secret(caught.value, TOKEN)


async def test_async_bearer_token_is_redacted_and_scrubbed(echo_api: respx.MockRouter) -> None:
    async with AsyncGrokClient(
        endpoint=ENDPOINT, credential=FakeAsyncCredential(), http_client=httpx.AsyncClient()
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert_no_secret(caught.value, TOKEN)


def test_connection_error_hides_key_in_exception_and_cause(mock_api: respx.MockRouter) -> None:
    # httpx attaches the request (real headers) to its exception; the message here even quotes the key.
    mock_api.post(CHAT_URL).mock(side_effect=httpx.ConnectError(f"refused while sending {KEY}"))
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_key_header="X-Custom-Key") as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_query={"sig": QUERY_SECRET})
    assert_no_secret(caught.value, KEY, QUERY_SECRET)


def test_timeout_hides_token(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with (
        GrokClient(endpoint=ENDPOINT, credential=FakeCredential()) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert_no_secret(caught.value, TOKEN)


# --- bad input: the typed error, and nothing of the value ---------------------------------------------------


def test_crlf_in_a_secret_extra_header_is_rejected_without_showing_it(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json={})
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.create(
            model="grok-4",
            messages=MESSAGES,
            extra_headers={"X-Api-Token": EXTRA_SECRET + "\r\nX-Evil: 1"},
        )
    assert not route.called
    assert_no_secret(caught.value, KEY, EXTRA_SECRET)


def test_key_with_trailing_newline_is_rejected_without_showing_it(mock_api: respx.MockRouter) -> None:
    # A key read from a file often ends in a newline; it is refused (at construction or at the call) unseen.
    route = mock_api.post(CHAT_URL).respond(200, json={})
    with pytest.raises(GrokError) as caught, GrokClient(endpoint=ENDPOINT, api_key=KEY + "\n") as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not route.called
    assert_no_secret(caught.value, KEY)


def test_invalid_parameter_with_secret_extra_headers_does_not_show_them(mock_api: respx.MockRouter) -> None:
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        client.chat.completions.create(
            model="grok-4",
            messages=MESSAGES,
            temperature=9.0,
            extra_headers={"X-Api-Token": EXTRA_SECRET},
        )
    assert_no_secret(caught.value, KEY, EXTRA_SECRET)


def test_missing_endpoint_does_not_render_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the key in the environment and no endpoint, the error's frames must not show os.environ.
    monkeypatch.delenv("GROK_AZURE_ENDPOINT", raising=False)
    monkeypatch.delenv("AZURE_INFERENCE_ENDPOINT", raising=False)
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    with pytest.raises(ConfigurationError) as caught:
        GrokClient()
    assert_no_secret(caught.value, KEY)


def test_endpoint_with_a_secret_in_its_query_is_rejected_without_showing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GrokClient(endpoint=f"{ENDPOINT}/openai/v1?sig={QUERY_SECRET}", api_key=KEY)
    assert "query" in str(caught.value)
    assert_no_secret(caught.value, QUERY_SECRET)


def test_endpoint_with_a_password_is_shown_without_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GrokClient(endpoint=f"https://user:{PASSWORD}@res.services.ai.azure.com/openai/v1?x=1", api_key=KEY)
    assert_no_secret(caught.value, PASSWORD)


# --- the exception classes themselves ------------------------------------------------------------------------


def test_status_error_scrubs_echo_from_headers_request_id_and_deep_body() -> None:
    deep: Any = KEY
    for _ in range(5000):  # deeper than the recursion limit: scrubbing must not recurse
        deep = [deep]
    request = httpx.Request("POST", CHAT_URL, headers={"X-Custom-Key": KEY})
    exc = APIStatusError(
        "no",
        status_code=500,
        request_id=KEY,
        headers={"x-request-id": KEY},
        body={"deep": deep},
        request=request,
    )
    assert exc.request_id == "[redacted]"
    assert exc.headers["x-request-id"] == "[redacted]"
    leaf = exc.body
    assert isinstance(leaf, dict)
    leaf = leaf["deep"]
    while isinstance(leaf, list):
        leaf = leaf[0]
    assert leaf == "[redacted]"


def test_kept_response_scrubs_body_headers_and_drops_set_cookie() -> None:
    request = httpx.Request("POST", CHAT_URL, headers={"api-key": KEY})
    response = httpx.Response(
        500,
        content=f"echo {KEY}".encode(),
        headers={"x-echo": KEY, "set-cookie": "session=abcdefghijkl"},
        request=request,
    )
    exc = InternalServerError("x", status_code=500, response=response)
    assert exc.response is not None
    assert exc.response.text == "echo [redacted]"
    assert exc.response.headers["x-echo"] == "[redacted]"
    assert exc.response.headers["set-cookie"] == "[redacted]"
    assert_no_secret(exc, KEY, "session=abcdefghijkl")


def test_url_password_is_redacted_from_the_kept_request() -> None:
    request = httpx.Request("POST", f"https://user:{PASSWORD}@res.services.ai.azure.com/x")
    exc = APIConnectionError(f"failed for {PASSWORD}", request=request)
    assert exc.request is not None
    assert exc.request.url.host == "res.services.ai.azure.com"
    assert_no_secret(exc, PASSWORD)


# --- sanitized_cause ----------------------------------------------------------------------------------------


def test_sanitized_cause_keeps_type_and_message_but_not_request_chain_or_traceback() -> None:
    request = httpx.Request("POST", CHAT_URL, headers={"X-Custom-Key": KEY})
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            raise httpx.ReadError(f"reset while sending {KEY}", request=request) from None
    except httpx.ReadError as exc:
        clone = sanitized_cause(exc)
    assert type(clone) is httpx.ReadError
    assert str(clone) == "reset while sending [redacted]"
    assert clone.__traceback__ is None
    assert clone.__cause__ is None
    assert clone.__context__ is None
    with pytest.raises((RuntimeError, AttributeError)):  # no request attached
        clone.request  # noqa: B018
    assert_no_secret(clone, KEY)


def test_sanitized_cause_uses_the_request_it_is_given() -> None:
    request = httpx.Request("POST", CHAT_URL, params={"sig": QUERY_SECRET})
    clone = sanitized_cause(httpx.LocalProtocolError(f"bad value {QUERY_SECRET}"), request)
    assert QUERY_SECRET not in str(clone)


def test_sanitized_cause_scrubs_credential_shapes_it_was_not_told_about() -> None:
    message = f"GET https://h/x?api-version=1&sig={QUERY_SECRET}&x=1 with Bearer {TOKEN}"
    clone = sanitized_cause(httpx.ConnectError(message))
    assert "api-version=1" in str(clone)
    assert_no_secret(clone, QUERY_SECRET, TOKEN)


def _raise_with_secret_local() -> None:
    credential_headers = {"api-key": KEY}  # noqa: F841 - a frame local the original traceback would render
    raise ClientAuthenticationError("no identity found")


def test_sanitized_cause_does_not_capture_exc_info_into_azure_errors() -> None:
    # azure-core's AzureError.__init__ stores sys.exc_info(): re-running it inside the except block would keep
    # the original exception and its traceback (with the frame above) on the copy.
    try:
        _raise_with_secret_local()
    except ClientAuthenticationError as exc:
        exc.detail = KEY  # type: ignore[attr-defined]
        clone = sanitized_cause(exc)
    assert isinstance(clone, ClientAuthenticationError)
    assert "no identity found" in str(clone)
    assert_no_secret(clone, KEY)


class _NeedsKeywords(Exception):
    def __init__(self, *, status: int, secret: str) -> None:
        super().__init__(f"status {status}")
        self.secret = secret


class _BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


class _StrNeedsInit(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"detail: {self.detail}"


@pytest.mark.parametrize(
    "exc",
    [
        _NeedsKeywords(status=500, secret=KEY),
        _BrokenStr(KEY),
        _StrNeedsInit("visible"),
        ConnectionRefusedError(111, "Connection refused"),
        *([builtins.ExceptionGroup("many", [ValueError(KEY)])] if sys.version_info >= (3, 11) else []),
        KeyboardInterrupt(),
        UnicodeEncodeError("ascii", KEY + "é", len(KEY), len(KEY) + 1, "ordinal not in range"),
    ],
)
def test_sanitized_cause_handles_any_exception(exc: BaseException) -> None:
    request = httpx.Request("POST", CHAT_URL, headers={"api-key": KEY})
    clone = sanitized_cause(exc, request)
    assert isinstance(clone, BaseException)
    assert clone.__traceback__ is None
    assert not vars(clone)
    str(clone), repr(clone)  # renderable
    assert_no_secret(clone, KEY)


def test_sanitized_cause_keeps_readable_text_for_str_needing_init() -> None:
    clone = sanitized_cause(_StrNeedsInit("visible"))
    assert "visible" in str(clone)


# --- reprs: what capture_locals renders, and the client ---------------------------------------------------


def test_prepared_request_repr_hides_secret_headers_and_query() -> None:
    prepared = PreparedRequest(
        "POST",
        CHAT_URL,
        params={"sig": QUERY_SECRET, "api-version": "2025-05-01"},
        headers={"X-Api-Token": EXTRA_SECRET, "x-ms-client-request-id": "rid-1"},
    )
    text = repr(prepared)
    assert "2025-05-01" in text
    assert "rid-1" in text
    assert QUERY_SECRET not in text
    assert EXTRA_SECRET not in text


def test_built_request_repr_hides_query_and_headers() -> None:
    prepared = PreparedRequest("POST", CHAT_URL, params={"sig": QUERY_SECRET, "api-version": "v1"})
    request = prepared.build({"X-Custom-Key": KEY})
    assert isinstance(request, RedactingRequest)
    assert request.headers["X-Custom-Key"] == KEY  # what is sent is untouched
    assert request.url.params["sig"] == QUERY_SECRET
    for text in (repr(request), repr(request.headers)):
        assert KEY not in text
        assert QUERY_SECRET not in text
    assert "api-version=v1" in repr(request)


def test_client_repr_never_shows_credentials_or_secret_headers() -> None:
    clients = [
        GrokClient(endpoint=ENDPOINT, api_key=KEY, default_headers={"X-Default-Secret": HEADER_SECRET}),
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_key_header="X-Custom-Key"),
        GrokClient(endpoint=ENDPOINT, credential=FakeCredential()),
    ]
    for client in clients:
        with client:
            client._auth.headers() if hasattr(client._auth, "headers") else None  # a token is cached now
            copy = client.with_options(default_headers={"X-Api-Token": EXTRA_SECRET})
            for text in (repr(client), repr(copy), str(client)):
                assert not [s for s in (KEY, TOKEN, HEADER_SECRET, EXTRA_SECRET) if s in text]


def test_only_the_reviewed_modules_write_log_records() -> None:
    # Log records come from the logging hook (_logging.py), a hook's failure (_hooks.py) and the emulator's request
    # log; every line there is covered by tests/unit/test_logging.py. A log call anywhere else must be reviewed for
    # secrets (and added here): this test points at it.
    package = Path(grok_azure.__file__).parent
    reviewed = {"_logging.py", "_hooks.py", "_runner.py"}  # _runner: an interrupted batch's resume hint
    emit = re.compile(r"\b(?:logging|\w*log\w*)\.(?:debug|info|warning|warn|error|exception|critical|log)\(")
    calls = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if "testing" not in path.parts and "_emulator" not in path.parts and path.name not in reviewed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if emit.search(line)
    ]
    assert calls == []


def test_find_secret_reports_a_leak_through_the_public_api(echo_api: respx.MockRouter) -> None:
    # The check is not vacuous here: the request that was really sent holds the key.
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_key_header="X-Custom-Key") as client,
        pytest.raises(AuthenticationError),
    ):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    sent = echo_api.calls.last.request
    assert find_secret(httpx.ReadError("x", request=sent), KEY)
