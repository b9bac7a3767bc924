"""No Entra ID token: ``grok-azure`` explains the failure once (azure-identity's own warning stays off stderr)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from grok_azure._cli import main
from grok_azure.testing import FoundryEmulator

Capture = pytest.CaptureFixture[str]

# A ChainedTokenCredential of credentials that find no identity: azure-identity's real failure path (message and
# WARNING log), without DefaultAzureCredential's probes.
NO_IDENTITY = textwrap.dedent(
    """
    import sys
    import azure.identity
    from azure.identity import ChainedTokenCredential, CredentialUnavailableError

    class Quiet:
        def close(self): pass
        def __enter__(self): return self
        def __exit__(self, *exc_info): pass

    class NoManagedIdentity(Quiet):
        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError(message="No managed identity endpoint found.")
        get_token_info = get_token

    class NoCli(Quiet):
        def get_token(self, *scopes, **kwargs):
            raise CredentialUnavailableError(message="Please run 'az login' to set up an account")
        get_token_info = get_token

    azure.identity.DefaultAzureCredential = lambda: ChainedTokenCredential(NoManagedIdentity(), NoCli())
    from grok_azure._cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_IDENTITY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "SYSTEMROOT": "", "NO_COLOR": "1", **env},
    )


@pytest.mark.parametrize("command", ["chat", "ping"])
def test_no_identity_is_explained_once_with_exit_3(command: str, emu: FoundryEmulator) -> None:
    env = {"GROK_AZURE_ENDPOINT": emu.url, "GROK_AZURE_DEPLOYMENT": "my-grok"}
    result = run_cli(command, *(["hi"] if command == "chat" else []), env=env)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("No managed identity endpoint found.") == 1
    assert result.stderr.count("Please run 'az login' to set up an account") == 1
    assert "GROK_AZURE_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert "the service rejected" not in result.stderr  # nothing was sent, so no 401 hint


def test_chat_with_a_failing_credential_sends_nothing(
    emu: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    import azure.identity
    from azure.core.exceptions import ClientAuthenticationError

    class NoIdentity:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            raise ClientAuthenticationError(message="DefaultAzureCredential failed to retrieve a token")

        def close(self) -> None:
            pass

    emu.reset()
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", NoIdentity)
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", emu.url)
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "my-grok")
    assert main(["chat", "hi"]) == 3
    err = capsys.readouterr().err
    assert err.count("DefaultAzureCredential failed to retrieve a token") == 1
    assert "az login" in err
    assert emu.requests == []
