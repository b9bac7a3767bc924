"""GrokClient / AsyncGrokClient over respx: URLs, headers, bodies, errors, options, lifecycle."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import httpx
import pytest
import respx
from azure.core.credentials import AzureKeyCredential

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AsyncGrokClient,
    AuthenticationError,
    ChatCompletion,
    ConfigurationError,
    GrokClient,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    UserMessage,
)
from grok_azure._wire import connection_error

from .conftest import CHAT_URL, ENDPOINT, KEY, MODELS_CHAT_URL, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_create_posts_to_openai_v1_route_without_api_version(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = client.chat.completions.create(model="grok-4", messages=MESSAGES)
    request = route.calls.last.request
    assert request.url.params.get("api-version") is None
    assert request.headers["api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("grok-azure/")
    assert request.headers["x-ms-client-request-id"]
    assert "extra-parameters" not in request.headers
    assert sent_json(route) == {"model": "grok-4", "messages": MESSAGES}
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "Hello!"
    assert completion.text == "Hello!"


def test_model_inference_route_sends_default_api_version(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=f"{ENDPOINT}/models", api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, temperature=0.2)
    request = route.calls.last.request
    assert request.url.params["api-version"] == "2025-05-01"
    assert "extra-parameters" not in request.headers


def test_model_inference_route_api_version_is_overridable(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=f"{ENDPOINT}/models", api_key=KEY, api_version="2025-04-01") as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls.last.request.url.params["api-version"] == "2025-04-01"


@pytest.mark.parametrize(
    "extra",
    [{"reasoning_effort": "high"}, {"stream_options": {"include_usage": True}}, {"extra_body": {"foo": 1}}],
)
def test_model_inference_route_passes_through_fields_outside_the_spec(
    mock_api: respx.MockRouter, extra: dict[str, Any]
) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    stream = "stream_options" in extra
    if stream:
        route.respond(200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"})
    with GrokClient(endpoint=f"{ENDPOINT}/models", api_key=KEY) as client:
        result = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=stream, **extra)
        if stream:
            result.close()  # type: ignore[union-attr]
    assert route.calls.last.request.headers["extra-parameters"] == "pass-through"


def test_openai_route_never_sends_extra_parameters_header(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, reasoning_effort="low")
    assert "extra-parameters" not in route.calls.last.request.headers


def test_explicit_api_version_on_openai_route_is_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, api_version="preview") as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls.last.request.url.params["api-version"] == "preview"


def test_every_parameter_reaches_the_body(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        client.chat.completions.create(
            model="my-grok",
            messages=[UserMessage(content="Hi")],
            max_tokens=100,
            max_completion_tokens=90,
            temperature=0.5,
            top_p=0.9,
            n=1,
            reasoning_effort="high",
            tools=tools,
            tool_choice="auto",
            parallel_tool_calls=False,
            response_format={"type": "json_object"},
            seed=42,
            stop=["END"],
            presence_penalty=0.1,
            frequency_penalty=-0.1,
            logprobs=True,
            top_logprobs=2,
            user="u1",
            extra_body={"search_parameters": None, "custom": [1]},
        )
    body = sent_json(route)
    assert body["model"] == "my-grok"
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    expected = {
        "max_tokens": 100,
        "max_completion_tokens": 90,
        "temperature": 0.5,
        "top_p": 0.9,
        "n": 1,
        "reasoning_effort": "high",
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "seed": 42,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": -0.1,
        "logprobs": True,
        "top_logprobs": 2,
        "user": "u1",
        "search_parameters": None,
        "custom": [1],
    }
    for key, value in expected.items():
        assert body[key] == value, key


def test_extra_headers_and_query_are_sent_and_win(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=f"{ENDPOINT}/models", api_key=KEY, default_headers={"x-team": "a"}) as client:
        client.chat.completions.create(
            model="grok-4",
            messages=MESSAGES,
            reasoning_effort="low",
            extra_headers={"extra-parameters": "drop", "x-trace": "1"},
            extra_query={"foo": "bar"},
        )
    request = route.calls.last.request
    assert request.headers["extra-parameters"] == "drop"
    assert request.headers["x-trace"] == "1"
    assert request.headers["x-team"] == "a"
    assert request.url.params["foo"] == "bar"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"temperature": 3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"n": 1.5}, "n"),
        ({"seed": "x"}, "seed"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"reasoning_effort": ""}, "reasoning_effort"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": []}, "tools"),
        ({"extra_body": {"temperature": 1}, "temperature": 1}, "temperature"),
        ({"temprature": 1}, "temprature"),
        ({"extra_body": {"stream": True}}, "stream"),
        ({"extra_body": {"model": "other"}}, "model"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_bad_arguments_raise_before_anything_is_sent(
    mock_api: respx.MockRouter, kwargs: dict[str, Any], param: str
) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES, **kwargs)
    assert info.value.param == param
    assert not route.called


@pytest.mark.parametrize("model", ["", "   ", None, 4])
def test_model_must_be_a_deployment_name(mock_api: respx.MockRouter, model: Any) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RequestValidationError):
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert not route.called


def test_non_json_success_body_is_a_decode_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, text="<html>gateway says hi</html>")
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.status_code == 200


def test_json_that_is_not_a_completion_is_a_decode_error(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=[1, 2, 3])
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(ResponseDecodeError):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)


def test_connect_error_is_wrapped(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=httpx.ConnectError("refused"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(APIConnectionError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("x")]
)
def test_timeouts_are_api_timeout_errors(mock_api: respx.MockRouter, exc: Exception) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=exc)
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(APITimeoutError):
        client.chat.completions.create(model="grok-4", messages=MESSAGES)


def test_per_request_timeout_reaches_the_transport(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, timeout=30) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.extensions["timeout"]["read"] == 30
        client.chat.completions.create(model="grok-4", messages=MESSAGES, timeout=httpx.Timeout(5.0))
        assert route.calls.last.request.extensions["timeout"]["read"] == 5.0
        client.with_options(timeout=7).chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.extensions["timeout"]["read"] == 7
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.extensions["timeout"]["read"] == 30


def test_with_options_shares_the_pool_and_only_the_original_closes_it() -> None:
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    copy = client.with_options(timeout=3, default_headers={"x-a": "1"})
    assert copy._http is client._http
    assert copy.default_headers == {"x-a": "1"}
    assert client.default_headers == {}
    copy.close()
    assert not client._http.is_closed
    client.close()
    assert client._http.is_closed


def test_injected_http_client_is_not_closed() -> None:
    http = httpx.Client()
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http):
        pass
    assert not http.is_closed
    http.close()


def test_client_reads_endpoint_and_key_from_environment(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_API_KEY": KEY}
    with GrokClient(environ=env) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls.last.request.headers["api-key"] == KEY


def test_client_falls_back_to_azure_inference_env_names(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    env = {"AZURE_INFERENCE_ENDPOINT": f"{ENDPOINT}/models", "AZURE_INFERENCE_CREDENTIAL": KEY}
    with GrokClient(environ=env) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls.last.request.headers["api-key"] == KEY


def test_missing_endpoint_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GROK_AZURE_ENDPOINT"):
        GrokClient(api_key=KEY, environ={})


def test_key_never_appears_in_repr_or_logs(
    mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).respond(401, json={"error": {"code": "401", "message": "Access denied"}})
    caplog.set_level(logging.DEBUG)
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    assert KEY not in repr(client)
    assert "redacted" in repr(client)
    with pytest.raises(AuthenticationError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    client.close()
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in caplog.text


def test_rotated_key_credential_is_used_on_the_next_request(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    credential = AzureKeyCredential("old-key")
    with GrokClient(endpoint=ENDPOINT, api_key=credential) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.headers["api-key"] == "old-key"
        credential.update("new-key")
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.headers["api-key"] == "new-key"


def test_key_credential_passed_as_credential_is_a_key(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, credential=AzureKeyCredential(KEY)) as client:  # type: ignore[arg-type]
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert route.calls.last.request.headers["api-key"] == KEY


def test_api_key_header_is_configurable_for_apim(mock_api: respx.MockRouter) -> None:
    url = "https://apim.azure-api.net/grok/chat/completions"
    route = mock_api.post(url).respond(200, json=completion_body())
    with GrokClient(
        endpoint="https://apim.azure-api.net/grok",
        route="openai_v1",
        api_key=KEY,
        api_key_header="Ocp-Apim-Subscription-Key",
    ) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    headers = route.calls.last.request.headers
    assert headers["ocp-apim-subscription-key"] == KEY
    assert "api-key" not in headers


def test_key_and_credential_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, credential=lambda: "token")


def test_empty_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        GrokClient(endpoint=ENDPOINT, api_key="  ")


async def test_async_client_posts_the_same_request(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body("async!"))
    async with AsyncGrokClient(
        endpoint=f"{ENDPOINT}/models", api_key=KEY, http_client=httpx.AsyncClient()
    ) as client:
        completion = await client.chat.completions.create(
            model="grok-4", messages=MESSAGES, reasoning_effort="low"
        )
    request = route.calls.last.request
    assert request.headers["api-key"] == KEY
    assert request.headers["extra-parameters"] == "pass-through"
    assert request.url.params["api-version"] == "2025-05-01"
    assert completion.text == "async!"


async def test_async_client_maps_connection_errors(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(APITimeoutError):
            await client.chat.completions.create(model="grok-4", messages=MESSAGES)


async def test_async_client_validates_before_sending(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    async with AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=httpx.AsyncClient()) as client:
        with pytest.raises(RequestValidationError):
            await client.chat.completions.create(model="grok-4", messages=[])
    assert not route.called


def test_default_async_client_runs_over_aiohttp() -> None:
    from grok_azure._aiohttp_transport import AiohttpTransport

    client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY)
    assert isinstance(client._http._transport, AiohttpTransport)


def _mapped(exc: httpx.TransportError, cause: BaseException) -> httpx.TransportError:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "timeout"),
    [
        (httpx.ReadTimeout("x"), True),
        (httpx.ConnectError("x"), False),
        # httpx-aiohttp reports a server hang-up as ConnectTimeout; it is a connection error, not a timeout.
        (_mapped(httpx.ConnectTimeout("x"), aiohttp.ServerDisconnectedError()), False),
        (_mapped(httpx.ReadTimeout("x"), aiohttp.SocketTimeoutError()), True),
    ],
)
def test_only_real_timeouts_become_api_timeout_errors(exc: httpx.TransportError, timeout: bool) -> None:
    error = connection_error(exc, None)
    assert isinstance(error, APIConnectionError)
    assert isinstance(error, APITimeoutError) is timeout


def test_injected_http_client_keeps_its_event_hooks(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(200, json=completion_body())
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: seen.append(str(request.url))]})
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, http_client=http) as client:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert seen == [CHAT_URL]
    http.close()


def test_default_client_responses_know_their_request(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).respond(429, json={"error": {"code": "429", "message": "slow down"}})
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client, pytest.raises(RateLimitError) as info:
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert info.value.request is not None
    assert info.value.request.url == CHAT_URL


def test_with_options_api_version_applies_to_the_copy_only(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=f"{ENDPOINT}/models", api_key=KEY) as client:
        client.with_options(api_version="2025-04-01").chat.completions.create(
            model="grok-4", messages=MESSAGES
        )
        assert route.calls.last.request.url.params["api-version"] == "2025-04-01"
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert route.calls.last.request.url.params["api-version"] == "2025-05-01"


async def test_async_with_options_shares_the_pool_and_credential() -> None:
    client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY)
    copy = client.with_options(timeout=2)
    assert copy._http is client._http
    assert copy._auth is client._auth
    assert copy.timeout.read == 2
    await copy.close()
    assert not client._http.is_closed
    await client.close()
    assert client._http.is_closed
