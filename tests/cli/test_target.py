"""``foundry_target``: the configured endpoint, or an embedded emulator for the block."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grok_azure import APIConnectionError, ConfigurationError, NotFoundError
from grok_azure._auth import KeyAuth, SyncTokenAuth
from grok_azure._catalog import load_catalog
from grok_azure.testing._target import DEFAULT_EMULATED_DEPLOYMENT, foundry_target

from .conftest import KEY

Capture = pytest.CaptureFixture[str]
HI = [{"role": "user", "content": "hi"}]
ENDPOINT = "https://res.services.ai.azure.com"


def test_configured_endpoint_is_used_as_is(capsys: Capture) -> None:
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_API_KEY": KEY, "GROK_AZURE_DEPLOYMENT": "prod-grok"}
    with foundry_target(environ=env) as target:
        assert (target.endpoint, target.api_key, target.deployment) == (ENDPOINT, KEY, "prod-grok")
        assert not target.emulated
        assert target.emulator is None
    assert capsys.readouterr().err == ""


def test_deployment_argument_wins_over_the_environment() -> None:
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_DEPLOYMENT": "from-env"}
    with foundry_target(deployment="from-arg", environ=env) as target:
        assert target.deployment == "from-arg"


def test_configured_endpoint_without_deployment_is_a_configuration_error() -> None:
    with (
        pytest.raises(ConfigurationError, match="set GROK_AZURE_DEPLOYMENT"),
        foundry_target(environ={"GROK_AZURE_ENDPOINT": ENDPOINT}),
    ):
        pass


def test_no_key_means_entra_id_even_with_a_stray_key_in_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROK_AZURE_API_KEY", "stray-key-0123456789")
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_DEPLOYMENT": "d"}
    with foundry_target(environ=env) as target:
        assert target.api_key is None
        with target.client(credential=lambda: "token") as client:
            assert isinstance(client._auth, SyncTokenAuth)


def test_key_target_builds_key_clients() -> None:
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_API_KEY": KEY, "GROK_AZURE_DEPLOYMENT": "d"}
    with foundry_target(environ=env) as target, target.client() as client:
        assert isinstance(client._auth, KeyAuth)
        assert client.endpoint.base_url == f"{ENDPOINT}/openai/v1"


def test_repr_hides_the_key() -> None:
    env = {"GROK_AZURE_ENDPOINT": ENDPOINT, "GROK_AZURE_API_KEY": KEY, "GROK_AZURE_DEPLOYMENT": "d"}
    with foundry_target(environ=env) as target:
        assert KEY not in repr(target)


def test_unset_endpoint_starts_an_emulator_for_the_block_and_announces_it(capsys: Capture) -> None:
    with foundry_target(environ={}) as target:
        assert target.emulated
        assert target.deployment == DEFAULT_EMULATED_DEPLOYMENT
        assert target.endpoint.startswith("http://127.0.0.1:")
        with target.client() as client:
            completion = client.chat.completions.create(model=target.deployment, messages=HI)
        assert completion.text == "Echo: hi"
    err = capsys.readouterr().err
    assert err == f"GROK_AZURE_ENDPOINT is not set: using an embedded Foundry emulator at {target.endpoint}\n"
    with target.client(timeout=5) as client, pytest.raises(APIConnectionError):
        client.chat.completions.create(model=target.deployment, messages=HI)


def test_announce_false_is_silent(capsys: Capture) -> None:
    with foundry_target(environ={}, announce=False):
        pass
    assert capsys.readouterr().err == ""


def test_emulated_target_exposes_the_emulator_for_scripting() -> None:
    with foundry_target(environ={}, announce=False) as target:
        assert target.emulator is not None
        target.emulator.reply("scripted")
        with target.client() as client:
            assert client.chat.completions.create(model=target.deployment, messages=HI).text == "scripted"


def test_emulated_target_deploys_a_current_model_asked_for_by_alias() -> None:
    with foundry_target(deployment="grok-4.1-fast-reasoning", environ={}, announce=False) as target:
        with target.client() as client:
            completion = client.chat.completions.create(model="grok-4.1-fast-reasoning", messages=HI)
        assert completion.model == "grok-4-1-fast-reasoning"


def test_emulated_target_answers_404_for_an_unknown_deployment() -> None:
    with (
        foundry_target(deployment="not-deployed", environ={}, announce=False) as target,
        target.client() as client,
        pytest.raises(NotFoundError),
    ):
        client.chat.completions.create(model=target.deployment, messages=HI)


def test_default_emulated_deployment_is_a_current_ga_reasoning_model() -> None:
    spec = load_catalog().get(DEFAULT_EMULATED_DEPLOYMENT)
    assert spec is not None
    assert spec.id == DEFAULT_EMULATED_DEPLOYMENT  # deployed by the emulator under its own id
    assert spec.status == "ga"
    assert spec.reasons


async def test_async_client_reaches_the_emulator() -> None:
    with foundry_target(environ={}, announce=False) as target:
        async with target.async_client() as client:
            completion = await client.chat.completions.create(model=target.deployment, messages=HI)
        assert completion.text == "Echo: hi"


def test_missing_emulator_extra_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "grok_azure._emulator._emulator", None)
    with (
        pytest.raises(ConfigurationError, match=r"pip install 'grok-azure\[emulator\]'"),
        foundry_target(environ={}),
    ):
        pass


def test_importing_the_module_does_not_import_the_emulator_server() -> None:
    code = (
        "import sys, grok_azure.testing._target\n"
        "loaded = [m for m in ('starlette', 'uvicorn') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
