"""The pytest plugin's fixture, and that grok_azure and the plugin import nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import httpx

from grok_azure.testing import FoundryEmulator


def test_fixture_yields_a_started_default_emulator(foundry_emulator: FoundryEmulator) -> None:
    response = httpx.get(
        foundry_emulator.url + "/openai/v1/models", headers={"api-key": foundry_emulator.api_key}
    )
    assert response.status_code == 200
    assert "grok-4" in foundry_emulator.deployments


def test_fixture_is_fresh_per_test(foundry_emulator: FoundryEmulator) -> None:
    assert foundry_emulator.requests == []
    foundry_emulator.reply("left over")  # must not leak into other tests: the next one gets a new emulator


def test_fixture_is_fresh_per_test_again(foundry_emulator: FoundryEmulator) -> None:
    body = {"model": "grok-4", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(
        foundry_emulator.url + "/openai/v1/chat/completions",
        json=body,
        headers={"api-key": foundry_emulator.api_key},
    )
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"


def test_package_and_plugin_do_not_import_the_server_stack() -> None:
    code = (
        "import sys, grok_azure, grok_azure.testing._pytest_plugin\n"
        "heavy = sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
