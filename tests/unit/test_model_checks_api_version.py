"""A dated api-version on the /openai/v1 route is refused when configured (the service would answer 400).

The recorded answer: ``400 "api-version query parameter is not allowed when using /v1 path"``. Undated values
(``preview``, ``latest``) stay legal on v1, and the /models route keeps its dated versions.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from grok_azure import AsyncGrokClient, ConfigurationError, Deployment, GrokClient

from .conftest import CHAT_URL, ENDPOINT, KEY, MODELS_CHAT_URL, completion_body

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("version", ["2024-10-21", "2025-04-01-preview", "2025-05-01"])
def test_a_dated_api_version_on_v1_is_refused_with_the_fix(version: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        GrokClient(endpoint=ENDPOINT, api_key=KEY, api_version=version, environ={})
    message = str(info.value)
    assert f"api_version={version!r}" in message
    assert "api-version query parameter is not allowed when using /v1 path" in message
    assert "route='model_inference'" in message
    assert KEY not in message


def test_the_async_client_refuses_it_too() -> None:
    with pytest.raises(ConfigurationError, match="/openai/v1"):
        AsyncGrokClient(endpoint=f"{ENDPOINT}/openai/v1", api_key=KEY, api_version="2024-10-21", environ={})


@pytest.mark.parametrize("version", ["preview", "latest"])
def test_an_undated_api_version_on_v1_is_sent(mock_api: respx.MockRouter, version: str) -> None:
    route = mock_api.post(CHAT_URL).respond(200, json=completion_body())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, api_version=version, environ={}) as client:
        client.chat.completions.create(model="grok-4.7", messages=MESSAGES)
    assert route.calls.last.request.url.params["api-version"] == version


def test_a_dated_api_version_on_the_models_route_is_sent(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(MODELS_CHAT_URL).respond(200, json=completion_body())
    with GrokClient(
        endpoint=f"{ENDPOINT}/models", api_key=KEY, api_version="2025-04-01", environ={}
    ) as client:
        client.chat.completions.create(model="grok-4.7", messages=MESSAGES)
        client.with_options(api_version="2024-05-01-preview").chat.completions.create(
            model="grok-4.7", messages=MESSAGES
        )
    assert [call.request.url.params["api-version"] for call in route.calls] == [
        "2025-04-01",
        "2024-05-01-preview",
    ]


def test_with_options_refuses_a_dated_version_on_v1() -> None:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, environ={}) as client:
        with pytest.raises(ConfigurationError, match="not allowed when using /v1 path"):
            client.with_options(api_version="2024-10-21")
        assert client.with_options(api_version="preview").api_version == "preview"


def test_a_deployment_with_a_dated_version_on_v1_is_refused() -> None:
    pool = [
        Deployment(endpoint=f"{ENDPOINT}/models", api_key=KEY, api_version="2025-04-01", name="models"),
        Deployment(
            endpoint="https://west.services.ai.azure.com", api_key=KEY, api_version="2024-10-21", name="w"
        ),
    ]
    with pytest.raises(ConfigurationError) as info:
        GrokClient(deployments=pool, environ={})
    assert "Deployment 'w' api_version='2024-10-21'" in str(info.value)


def test_the_clients_version_is_refused_for_a_v1_deployment_without_its_own() -> None:
    pool = [Deployment(endpoint="https://west.services.ai.azure.com", api_key=KEY)]
    with pytest.raises(ConfigurationError, match="api_version='2025-04-01'"):
        GrokClient(deployments=pool, api_version="2025-04-01", environ={})


async def test_a_pool_mixing_routes_sends_each_its_own_version(mock_api: respx.MockRouter) -> None:
    models = mock_api.post(MODELS_CHAT_URL).respond(503)
    west = mock_api.post("https://west.services.ai.azure.com/openai/v1/chat/completions").respond(
        200, json=completion_body()
    )
    pool = [
        Deployment(
            endpoint=f"{ENDPOINT}/models", api_key=KEY, api_version="2025-04-01", name="models", weight=1e6
        ),
        Deployment(endpoint="https://west.services.ai.azure.com", api_key=KEY, name="west", weight=1e-6),
    ]
    async with AsyncGrokClient(deployments=pool, environ={}, http_client=httpx.AsyncClient()) as client:
        completion = await client.chat.completions.create(model="grok-4.7", messages=MESSAGES)
    assert completion.served_by == "west"
    assert "api-version" not in west.calls.last.request.url.params
    if models.called:
        assert models.calls.last.request.url.params["api-version"] == "2025-04-01"
