"""Keys and Entra ID tokens, with Azure's 401 bodies, on every route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, MODELS_PATH, OPENAI_PATH, user

INVALID_KEY = "Access denied due to invalid subscription key or wrong API endpoint."
MISSING_KEY = "Access denied due to missing subscription key."
INVALID_TOKEN = "Unauthorized. Access token is missing, invalid, audience is incorrect"

ENDPOINTS = [
    ("POST", OPENAI_PATH),
    ("POST", MODELS_PATH),
    ("GET", "/openai/v1/models"),
    ("GET", "/models/info?api-version=2025-05-01&model=fast"),
]


@pytest.fixture(scope="module")
def entra() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(
        api_key=API_KEY,
        deployments={"fast": "grok-4-1-fast-non-reasoning"},
        token_validator=lambda t: t == "good",
    ) as emulator:
        yield emulator


def send(emu: FoundryEmulator, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = {"model": "fast", "messages": user()} if method == "POST" else None
    return httpx.request(method, emu.url + path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_api_key_header_is_accepted(entra: FoundryEmulator, method: str, path: str) -> None:
    assert send(entra, method, path, {"api-key": API_KEY}).status_code == 200


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_bearer_key_is_accepted(entra: FoundryEmulator, method: str, path: str) -> None:
    assert send(entra, method, path, {"authorization": f"Bearer {API_KEY}"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_bearer_token_accepted_by_the_validator_is_accepted(
    entra: FoundryEmulator, method: str, path: str
) -> None:
    assert send(entra, method, path, {"authorization": "Bearer good"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_credentials_get_the_missing_key_401(entra: FoundryEmulator, method: str, path: str) -> None:
    response = send(entra, method, path, {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "401"
    assert response.json()["error"]["message"].startswith(MISSING_KEY)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_wrong_api_key_gets_the_invalid_key_401(entra: FoundryEmulator, method: str, path: str) -> None:
    response = send(entra, method, path, {"api-key": "wrong"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "401", "message": response.json()["error"]["message"]}}
    assert response.json()["error"]["message"].startswith(INVALID_KEY)


def test_token_rejected_by_the_validator_gets_the_token_401(entra: FoundryEmulator) -> None:
    response = send(entra, "POST", OPENAI_PATH, {"authorization": "Bearer bad"})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith(INVALID_TOKEN)


def test_bearer_token_without_a_validator_is_rejected(emu: FoundryEmulator) -> None:
    response = send(emu, "POST", OPENAI_PATH, {"authorization": "Bearer some-entra-token"})
    assert response.status_code == 401


@pytest.mark.parametrize("value", [f"Basic {API_KEY}", "Bearer", API_KEY])
def test_malformed_authorization_header_is_rejected(entra: FoundryEmulator, value: str) -> None:
    assert send(entra, "POST", OPENAI_PATH, {"authorization": value}).status_code == 401


def test_wrong_api_key_wins_over_a_valid_bearer(entra: FoundryEmulator) -> None:
    headers = {"api-key": "wrong", "authorization": f"Bearer {API_KEY}"}
    assert send(entra, "POST", OPENAI_PATH, headers).status_code == 401


def test_both_headers_with_the_key_are_accepted_like_azure_ai_inference_sends_them(
    entra: FoundryEmulator,
) -> None:
    headers = {"api-key": API_KEY, "authorization": f"Bearer {API_KEY}"}
    assert send(entra, "POST", MODELS_PATH, headers).status_code == 200


def test_rejected_requests_are_recorded_but_repr_hides_credentials(entra: FoundryEmulator) -> None:
    entra.reset()
    send(entra, "POST", OPENAI_PATH, {"api-key": API_KEY + "-wrong"})
    [recorded] = entra.requests
    assert recorded.status == 401
    assert recorded.headers["api-key"] == API_KEY + "-wrong"
    assert API_KEY not in repr(recorded)
    assert "[redacted]" in repr(recorded)
