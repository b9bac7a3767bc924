"""Endpoint normalisation, route detection, scopes, http refusal and environment resolution."""

from __future__ import annotations

import pytest

from grok_azure import ConfigurationError
from grok_azure._endpoint import (
    AI_FOUNDRY_SCOPE,
    COGNITIVE_SERVICES_SCOPE,
    is_loopback,
    resolve_endpoint,
    scope_for_host,
)


@pytest.mark.parametrize(
    ("given", "route", "base"),
    [
        ("https://res.services.ai.azure.com", "openai_v1", "https://res.services.ai.azure.com/openai/v1"),
        ("https://res.services.ai.azure.com/", "openai_v1", "https://res.services.ai.azure.com/openai/v1"),
        ("https://res.openai.azure.com", "openai_v1", "https://res.openai.azure.com/openai/v1"),
        (
            "https://res.services.ai.azure.com/openai/v1",
            "openai_v1",
            "https://res.services.ai.azure.com/openai/v1",
        ),
        (
            "https://res.services.ai.azure.com/openai/v1/",
            "openai_v1",
            "https://res.services.ai.azure.com/openai/v1",
        ),
        (
            "https://res.services.ai.azure.com/openai/v1/chat/completions",
            "openai_v1",
            "https://res.services.ai.azure.com/openai/v1",
        ),
        (
            "https://res.services.ai.azure.com/models",
            "model_inference",
            "https://res.services.ai.azure.com/models",
        ),
        (
            "https://res.services.ai.azure.com/models/chat/completions",
            "model_inference",
            "https://res.services.ai.azure.com/models",
        ),
        (
            "https://res.services.ai.azure.com/api/models",
            "model_inference",
            "https://res.services.ai.azure.com/api/models",
        ),
        ("  https://res.services.ai.azure.com  ", "openai_v1", "https://res.services.ai.azure.com/openai/v1"),
    ],
)
def test_endpoint_forms_normalise_to_a_route_base(given: str, route: str, base: str) -> None:
    endpoint = resolve_endpoint(given, environ={})
    assert endpoint.route == route
    assert endpoint.base_url == base
    assert endpoint.chat_completions_url == base + "/chat/completions"


def test_resource_root_with_model_inference_route_uses_models_path() -> None:
    endpoint = resolve_endpoint("https://res.services.ai.azure.com", "model_inference", environ={})
    assert endpoint.base_url == "https://res.services.ai.azure.com/models"


def test_gateway_url_with_named_route_is_the_route_base() -> None:
    endpoint = resolve_endpoint("https://apim.azure-api.net/foundry/grok", "openai_v1", environ={})
    assert endpoint.base_url == "https://apim.azure-api.net/foundry/grok"
    assert endpoint.chat_completions_url == "https://apim.azure-api.net/foundry/grok/chat/completions"


def test_gateway_url_ending_in_models_is_detected_without_a_route() -> None:
    endpoint = resolve_endpoint("https://apim.azure-api.net/grok/models", environ={})
    assert endpoint.route == "model_inference"


def test_gateway_url_without_route_asks_for_one() -> None:
    with pytest.raises(ConfigurationError, match="route="):
        resolve_endpoint("https://apim.azure-api.net/foundry", environ={})


def test_unknown_path_on_a_foundry_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="root URL"):
        resolve_endpoint("https://res.services.ai.azure.com/something", environ={})


def test_route_contradicting_the_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="model_inference route"):
        resolve_endpoint("https://res.services.ai.azure.com/models", "openai_v1", environ={})


def test_unknown_route_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="route must be one of"):
        resolve_endpoint("https://res.services.ai.azure.com", "responses", environ={})


def test_deployment_scoped_url_is_refused_with_advice() -> None:
    with pytest.raises(ConfigurationError, match="model="):
        resolve_endpoint(
            "https://res.openai.azure.com/openai/deployments/grok-4/chat/completions", environ={}
        )


@pytest.mark.parametrize(
    "bad",
    [
        "res.services.ai.azure.com",
        "ftp://res.services.ai.azure.com",
        "https://",
        "https://res.x.com/?api-version=1",
    ],
)
def test_malformed_endpoints_are_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        resolve_endpoint(bad, environ={})


def test_plain_http_is_refused_for_remote_hosts() -> None:
    with pytest.raises(ConfigurationError, match="clear text"):
        resolve_endpoint("http://res.services.ai.azure.com", environ={})


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:9000", "[::1]:7000", "127.5.6.7"])
def test_plain_http_is_allowed_on_loopback(host: str) -> None:
    endpoint = resolve_endpoint(f"http://{host}", environ={})
    assert endpoint.base_url == f"http://{host}/openai/v1"


@pytest.mark.parametrize(("host", "loopback"), [("localhost", True), ("::1", True), ("10.0.0.1", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "scope"),
    [
        ("res.services.ai.azure.com", AI_FOUNDRY_SCOPE),
        ("res.openai.azure.com", COGNITIVE_SERVICES_SCOPE),
        ("RES.CognitiveServices.Azure.com", COGNITIVE_SERVICES_SCOPE),
        ("apim.azure-api.net", AI_FOUNDRY_SCOPE),
    ],
)
def test_scope_follows_the_host(host: str, scope: str) -> None:
    assert scope_for_host(host) == scope


def test_endpoint_comes_from_grok_azure_env_var_first() -> None:
    env = {
        "GROK_AZURE_ENDPOINT": "https://a.services.ai.azure.com",
        "AZURE_INFERENCE_ENDPOINT": "https://b.x.com/models",
    }
    assert resolve_endpoint(None, environ=env).host == "a.services.ai.azure.com"


def test_azure_inference_endpoint_is_the_fallback() -> None:
    endpoint = resolve_endpoint(
        None, environ={"AZURE_INFERENCE_ENDPOINT": "https://b.services.ai.azure.com/models"}
    )
    assert endpoint.route == "model_inference"


def test_blank_env_var_counts_as_unset() -> None:
    env = {"GROK_AZURE_ENDPOINT": "  ", "AZURE_INFERENCE_ENDPOINT": "https://b.services.ai.azure.com"}
    assert resolve_endpoint(None, environ=env).host == "b.services.ai.azure.com"


def test_no_endpoint_anywhere_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="GROK_AZURE_ENDPOINT"):
        resolve_endpoint(None, environ={})
