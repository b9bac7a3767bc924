"""Routing, api-version, deployments, model info, model list, response headers and recording."""

from __future__ import annotations

import uuid

import httpx
import pytest

from grok_azure.testing import FoundryEmulator

from .conftest import DEPLOYMENTS, MODELS_PATH, OPENAI_PATH, chat, user

RESOURCE_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("POST", "/openai/v1/completions"),
        ("POST", "/openai/deployments/fast/chat/completions?api-version=2024-10-21"),
        ("GET", OPENAI_PATH),
        ("DELETE", "/models/info?api-version=2025-05-01"),
    ],
)
def test_unknown_paths_and_methods_get_azure_404(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    assert response.json() == RESOURCE_NOT_FOUND


def test_unknown_paths_are_recorded_without_a_route(emu: FoundryEmulator, http: httpx.Client) -> None:
    http.get("/nowhere?x=1")
    [recorded] = emu.requests
    assert (recorded.path, recorded.route, recorded.status, recorded.query) == (
        "/nowhere",
        None,
        404,
        {"x": "1"},
    )


def test_models_route_without_api_version_gets_missing_api_version(http: httpx.Client) -> None:
    response = http.post("/models/chat/completions", json={"model": "fast", "messages": user()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"
    assert response.json()["error"]["message"] == (
        "The api-version query parameter (?api-version=) is required for all requests."
    )
    assert response.headers["x-ms-error-code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("path", ["/models/chat/completions", "/models/info"])
def test_models_route_with_unsupported_api_version_gets_resource_not_found(
    http: httpx.Client, path: str
) -> None:
    response = http.request(
        "POST" if "chat" in path else "GET",
        path + "?api-version=2023-01-01",
        json={"model": "fast", "messages": user()},
    )
    assert response.status_code == 404
    assert response.json() == RESOURCE_NOT_FOUND


@pytest.mark.parametrize("version", ["2025-04-01", "2025-05-01"])
def test_models_route_accepts_the_default_api_versions(http: httpx.Client, version: str) -> None:
    response = http.post(
        f"/models/chat/completions?api-version={version}", json={"model": "fast", "messages": user()}
    )
    assert response.status_code == 200


def test_custom_api_versions_replace_the_defaults() -> None:
    with FoundryEmulator(api_key="k", deployments={"d": "grok-4"}, api_versions=["2030-01-01"]) as emu:
        body = {"model": "d", "messages": user()}
        ok = httpx.post(
            emu.url + "/models/chat/completions?api-version=2030-01-01", json=body, headers={"api-key": "k"}
        )
        old = httpx.post(emu.url + MODELS_PATH, json=body, headers={"api-key": "k"})
    assert (ok.status_code, old.status_code) == (200, 404)


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
@pytest.mark.parametrize("model", ["nope", "grok-4", "GROK4"])
def test_body_model_must_be_a_deployment_name(http: httpx.Client, route: str, model: str) -> None:
    response = chat(http, route, model=model)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "DeploymentNotFound"
    assert error["message"].startswith("The API deployment for this resource does not exist.")


def test_openai_route_requires_a_model(http: httpx.Client) -> None:
    response = http.post(OPENAI_PATH, json={"messages": user()})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "you must provide a model parameter"


def test_models_route_without_model_is_ambiguous_with_several_deployments(http: httpx.Client) -> None:
    response = http.post(MODELS_PATH, json={"messages": user()})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"


def test_models_route_chat_can_select_the_deployment_by_header(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    response = http.post(MODELS_PATH, json={"messages": user()}, headers={"azureml-model-deployment": "g47"})
    assert response.json()["model"] == "grok-4.7"
    assert emu.requests[-1].deployment == "g47"


def test_models_route_without_model_uses_the_only_deployment() -> None:
    with FoundryEmulator(api_key="k", deployments={"only": "grok-4"}) as emu:
        response = httpx.post(emu.url + MODELS_PATH, json={"messages": user()}, headers={"api-key": "k"})
        assert response.json()["model"] == "grok-4"
        assert emu.requests[0].deployment == "only"


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
def test_invalid_json_body_is_a_400(http: httpx.Client, route: str, body: bytes) -> None:
    path = OPENAI_PATH if route == "openai_v1" else MODELS_PATH
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "could not parse the JSON body" in response.json()["error"]["message"]


@pytest.mark.parametrize("route", ["openai_v1", "model_inference"])
def test_json_body_that_is_not_an_object_is_a_400(http: httpx.Client, route: str) -> None:
    path = OPENAI_PATH if route == "openai_v1" else MODELS_PATH
    response = http.post(path, json=[{"model": "fast"}])
    assert response.status_code == 400


def test_model_info_selects_the_deployment_by_query_parameter(http: httpx.Client) -> None:
    response = http.get("/models/info?api-version=2025-05-01&model=grok4")
    assert response.json() == {
        "model_name": "grok-4",
        "model_type": "chat-completion",
        "model_provider_name": "xAI",
    }


def test_model_info_selects_the_deployment_by_header(http: httpx.Client) -> None:
    response = http.get("/models/info?api-version=2025-05-01", headers={"azureml-model-deployment": "g47"})
    assert response.json()["model_name"] == "grok-4.7"


def test_model_info_without_selection_is_ambiguous_with_several_deployments(http: httpx.Client) -> None:
    assert http.get("/models/info?api-version=2025-05-01").status_code == 400


def test_model_info_of_unknown_deployment_is_deployment_not_found(http: httpx.Client) -> None:
    response = http.get("/models/info?api-version=2025-05-01&model=nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"


def test_model_list_names_every_deployment_in_openai_list_shape(http: httpx.Client) -> None:
    body = http.get("/openai/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == list(DEPLOYMENTS)
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in body["data"])


def test_completion_responses_carry_azure_headers(http: httpx.Client) -> None:
    response = chat(http, headers={"x-ms-client-request-id": "abc-123"})
    headers = response.headers
    assert headers["x-ms-client-request-id"] == "abc-123"
    uuid.UUID(headers["apim-request-id"])
    assert headers["x-ms-region"] == "East US 2"
    assert headers["x-ms-deployment-name"] == "fast"
    # Quotas off: advisory counters from the documented Grok quota, charged on arrival with the estimate
    # ("hello there" is 3 tokens, plus the default 1,024 for a request without max_tokens).
    assert headers["x-ratelimit-limit-tokens"] == "400000"
    assert headers["x-ratelimit-remaining-tokens"] == str(400_000 - 3 - 1024)
    assert headers["x-ratelimit-limit-requests"] == "1000"
    assert headers["x-ratelimit-remaining-requests"] == "999"
    assert "x-ratelimit-reset-requests" not in headers


def test_models_route_errors_carry_request_ids_and_the_error_code_header(http: httpx.Client) -> None:
    response = chat(http, "model_inference", model="nope")
    assert response.headers["apim-request-id"] != response.headers["x-request-id"]
    assert response.headers["x-ms-error-code"] == "DeploymentNotFound"


def test_openai_route_errors_carry_the_request_id_without_error_code_or_x_request_id(
    http: httpx.Client,
) -> None:
    response = chat(http, model="nope")
    assert response.status_code == 404
    uuid.UUID(response.headers["apim-request-id"])
    assert "x-ms-error-code" not in response.headers
    assert "x-request-id" not in response.headers


def test_every_request_is_recorded_with_its_outcome(emu: FoundryEmulator, http: httpx.Client) -> None:
    chat(http, "model_inference", model="grok4", temperature=0.5)
    chat(http, model="nope")
    ok, missing = emu.requests
    assert (ok.method, ok.path, ok.route, ok.deployment, ok.status) == (
        "POST",
        "/models/chat/completions",
        "model_inference",
        "grok4",
        200,
    )
    assert ok.query == {"api-version": "2025-05-01"}
    assert ok.json["temperature"] == 0.5
    assert ok.body.startswith(b"{")
    assert ok.headers["content-type"] == "application/json"
    assert (missing.route, missing.deployment, missing.status) == ("openai_v1", None, 404)
