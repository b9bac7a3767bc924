"""``python -m grok_azure`` is the ``grok-azure`` command, as users run it from a shell."""

from __future__ import annotations

import os
import subprocess
import sys

from grok_azure.testing import FoundryEmulator

from .conftest import KEY

TIMEOUT = 60


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    return subprocess.run(
        [sys.executable, "-m", "grok_azure", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=TIMEOUT,
        check=False,
    )


def test_help_and_version_exit_0() -> None:
    assert "usage: grok-azure" in _run("--help").stdout
    version = _run("--version")
    assert version.returncode == 0
    assert version.stdout.strip()


def test_a_chat_against_the_emulator_streams_its_answer() -> None:
    with FoundryEmulator(api_key=KEY, deployments={"grok-4.7": "grok-4.7"}) as emulator:
        env = {"GROK_AZURE_ENDPOINT": emulator.url, "GROK_AZURE_API_KEY": KEY}
        result = _run("chat", "--model", "grok-4.7", "Hello from python -m", env=env)
    assert result.returncode == 0, result.stderr
    assert "Echo: Hello from python -m" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_bad_usage_exits_2_without_a_traceback() -> None:
    result = _run("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
