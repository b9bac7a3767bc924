"""Retired models, retired api-versions, and a dated api-version on /openai/v1, answered as Azure does.

A retired model's deployment answers 404 ``Resource not found`` (Azure's recorded answer for a retired Azure OpenAI
model; unconfirmed for Grok); a retired ``/models`` api-version answers 400 ``BadRequest`` "API version not
supported" (unconfirmed); a dated api-version on ``/openai/v1`` answers the recorded 400.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from grok_azure._catalog import load_catalog
from grok_azure.testing import FoundryEmulator

from .conftest import MODELS_PATH, OPENAI_PATH, user

KEY = "retirement-key"
RETIRED = [spec.id for spec in load_catalog().models if not spec.is_current]
RESOURCE_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}
V1_MESSAGE = "api-version query parameter is not allowed when using /v1 path"


@pytest.fixture(scope="module")
def emu() -> Iterator[FoundryEmulator]:
    deployments = {"old": "grok-3-mini", "new": "grok-4-1-fast-reasoning", **{m: m for m in RETIRED}}
    with FoundryEmulator(api_key=KEY, deployments=deployments) as emulator:
        yield emulator


@pytest.fixture
def http(emu: FoundryEmulator) -> Iterator[httpx.Client]:
    emu.reset()
    with httpx.Client(base_url=emu.url, headers={"api-key": KEY}, timeout=10) as client:
        yield client


def test_the_catalog_has_retired_models_to_test() -> None:
    assert {"grok-3", "grok-3-mini", "grok-4-fast-reasoning", "grok-4-fast-non-reasoning"} <= set(RETIRED)


@pytest.mark.parametrize("path", [OPENAI_PATH, MODELS_PATH])
@pytest.mark.parametrize("model", RETIRED)
def test_every_retired_model_answers_an_error(http: httpx.Client, path: str, model: str) -> None:
    response = http.post(path, json={"model": model, "messages": user()})
    assert response.status_code == 404
    assert response.json() == RESOURCE_NOT_FOUND


@pytest.mark.parametrize("path", [OPENAI_PATH, MODELS_PATH])
def test_a_retired_deployment_refuses_streams_too_and_is_recorded(
    emu: FoundryEmulator, http: httpx.Client, path: str
) -> None:
    response = http.post(path, json={"model": "old", "messages": user(), "stream": True})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    [recorded] = emu.requests
    assert (recorded.deployment, recorded.status) == ("old", 404)


def test_a_retired_deployment_consumes_no_script_and_its_replacement_still_answers(
    emu: FoundryEmulator, http: httpx.Client
) -> None:
    emu.reply("scripted")
    assert http.post(OPENAI_PATH, json={"model": "old", "messages": user()}).status_code == 404
    answer = http.post(OPENAI_PATH, json={"model": "new", "messages": user()}).json()
    assert answer["choices"][0]["message"]["content"] == "scripted"


def test_model_info_of_a_retired_deployment_is_an_error(http: httpx.Client) -> None:
    response = http.get("/models/info?api-version=2025-05-01&model=old")
    assert response.status_code == 404


def test_a_retired_deployment_is_still_listed(http: httpx.Client) -> None:
    # The deployment exists on the resource; only inference fails.
    assert "old" in [m["id"] for m in http.get("/openai/v1/models").json()["data"]]


def test_serve_retired_answers_as_before_the_retirement() -> None:
    with FoundryEmulator(api_key=KEY, deployments={"old": "grok-3-mini"}, serve_retired=True) as emulator:
        response = httpx.post(
            emulator.url + OPENAI_PATH, json={"model": "old", "messages": user()}, headers={"api-key": KEY}
        )
    assert response.status_code == 200
    assert response.json()["model"] == "grok-3-mini-high"


def test_default_deployments_are_current_models_only() -> None:
    emulator = FoundryEmulator()
    assert set(emulator.deployments) == {spec.id for spec in load_catalog().current()}
    assert not set(emulator.deployments) & set(RETIRED)


# -- api-versions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/models/chat/completions"), ("GET", "/models/info")],
)
def test_a_retired_models_api_version_answers_api_version_not_supported(
    http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(
        method, path + "?api-version=2024-05-01-preview&model=new", json={"model": "new", "messages": user()}
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "BadRequest", "message": "API version not supported"}}
    assert response.headers["x-ms-error-code"] == "BadRequest"


def test_an_unknown_models_api_version_is_still_resource_not_found(http: httpx.Client) -> None:
    response = http.post("/models/chat/completions?api-version=2031-01-01", json={"model": "new"})
    assert (response.status_code, response.json()) == (404, RESOURCE_NOT_FOUND)


def test_retired_api_versions_can_be_configured() -> None:
    with FoundryEmulator(
        api_key=KEY,
        deployments={"d": "grok-4"},
        api_versions=["2025-05-01"],
        retired_api_versions=["2025-04-01"],
    ) as emulator:
        retired = httpx.post(
            emulator.url + "/models/chat/completions?api-version=2025-04-01",
            json={"model": "d", "messages": user()},
            headers={"api-key": KEY},
        )
        old_default = httpx.post(
            emulator.url + "/models/chat/completions?api-version=2024-05-01-preview",
            json={"model": "d", "messages": user()},
            headers={"api-key": KEY},
        )
    assert retired.status_code == 400
    assert (old_default.status_code, old_default.json()) == (404, RESOURCE_NOT_FOUND)


@pytest.mark.parametrize("version", ["2024-10-21", "2025-04-01-preview", "v1", "latest"])
@pytest.mark.parametrize(("method", "path"), [("POST", OPENAI_PATH), ("GET", "/openai/v1/models")])
def test_an_api_version_on_openai_v1_answers_the_recorded_400(
    emu: FoundryEmulator, http: httpx.Client, version: str, method: str, path: str
) -> None:
    response = http.request(
        method, path, params={"api-version": version}, json={"model": "new", "messages": user()}
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "BadRequest", "message": V1_MESSAGE}}
    assert emu.requests[-1].status == 400


@pytest.mark.parametrize("params", [{}, {"api-version": "preview"}])
def test_openai_v1_without_api_version_or_with_preview_is_served(
    http: httpx.Client, params: dict[str, str]
) -> None:
    response = http.post(OPENAI_PATH, params=params, json={"model": "new", "messages": user()})
    assert response.status_code == 200


def test_the_v1_api_version_check_comes_after_auth(emu: FoundryEmulator) -> None:
    response = httpx.post(
        emu.url + OPENAI_PATH + "?api-version=2024-10-21",
        json={"model": "new", "messages": user()},
        headers={"api-key": "wrong"},
    )
    assert response.status_code == 401
