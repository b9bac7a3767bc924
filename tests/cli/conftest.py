"""Fixtures for the ``grok-azure`` command tests: a clean environment and a Foundry emulator with a known key."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator

import pytest

from grok_azure.testing import FoundryEmulator

KEY = "cli-test-key-0123456789"
DEPLOYMENTS = {"my-grok": "grok-4.7", "mini": "grok-3-mini"}
ENV_VARS = (
    "GROK_AZURE_ENDPOINT",
    "AZURE_INFERENCE_ENDPOINT",
    "GROK_AZURE_API_KEY",
    "AZURE_INFERENCE_CREDENTIAL",
    "GROK_AZURE_DEPLOYMENT",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real endpoint configured in the developer's shell."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def emu() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.fixture
def configured(emu: FoundryEmulator, monkeypatch: pytest.MonkeyPatch) -> FoundryEmulator:
    """The environment points at ``emu`` with its key and the ``my-grok`` deployment."""
    emu.reset()
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", emu.url)
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "my-grok")
    return emu


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Terminal(io.StringIO):
    """A stdout that claims to be a TTY and records every write and flush."""

    def __init__(self, tty: bool = True) -> None:
        super().__init__()
        self.tty = tty
        self.calls: list[str | None] = []  # the text of each write; None for a flush

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)

    def flush(self) -> None:
        self.calls.append(None)
        super().flush()
