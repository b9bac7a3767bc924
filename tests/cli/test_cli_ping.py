"""``grok-azure ping``: one OK line per check, and the first failure explained with its exit code."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import respx
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from grok_azure import AI_FOUNDRY_SCOPE
from grok_azure import _cli as cli
from grok_azure._cli import main
from grok_azure.testing import Fault, FoundryEmulator

from .conftest import KEY

Capture = pytest.CaptureFixture[str]


def test_ping_reports_each_check_ok(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["ping"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["OK", "endpoint"],
        ["OK", "dns"],
        ["OK", "auth"],
        ["OK", "deployment"],
    ]
    assert configured.requests[-1].json["max_tokens"] == 1


def test_ping_without_endpoint_exits_2(capsys: Capture) -> None:
    assert main(["ping", "--model", "d"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("FAIL  endpoint")
    assert "No endpoint configured: set GROK_AZURE_ENDPOINT" in captured.err


def test_ping_without_deployment_exits_2(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.delenv("GROK_AZURE_DEPLOYMENT")
    assert main(["ping"]) == 2
    assert "--model NAME or set GROK_AZURE_DEPLOYMENT" in capsys.readouterr().err


def test_ping_dns_failure_exits_6(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setenv("GROK_AZURE_ENDPOINT", "https://no-such-resource.services.ai.azure.com")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert main(["ping", "--model", "d"]) == 6
    captured = capsys.readouterr()
    assert "FAIL  dns" in captured.out
    assert "Cannot resolve no-such-resource.services.ai.azure.com" in captured.err


def test_ping_wrong_key_exits_3(
    configured: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("GROK_AZURE_API_KEY", "wrong-key-0123456789")
    assert main(["ping"]) == 3
    captured = capsys.readouterr()
    assert "FAIL  deployment" in captured.out
    assert "rejected the API key" in captured.err


def test_ping_unknown_deployment_exits_4(configured: FoundryEmulator, capsys: Capture) -> None:
    assert main(["ping", "--model", "nope"]) == 4
    assert "no deployment named 'nope'" in capsys.readouterr().err


def test_ping_rate_limited_exits_5(configured: FoundryEmulator, capsys: Capture) -> None:
    # Longer than RetryPolicy.max_server_wait (60 s): the client gives up at once instead of waiting.
    configured.fault(Fault.rate_limited(retry_after=90, header="retry-after-ms"))
    assert main(["ping"]) == 5
    assert "retry after 90 s" in capsys.readouterr().err


def test_ping_unreachable_exits_6(monkeypatch: pytest.MonkeyPatch, capsys: Capture, closed_port: int) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    assert main(["ping", "--model", "d"]) == 6


def test_ping_server_error_exits_8(configured: FoundryEmulator, capsys: Capture) -> None:
    configured.fault(Fault.server_error(502, html=True), times=3)  # the first try and both retries
    assert main(["ping"]) == 8


def test_ping_permission_denied_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setenv("GROK_AZURE_ENDPOINT", "https://localhost")
    monkeypatch.setenv("GROK_AZURE_API_KEY", KEY)
    body = {
        "error": {"code": "PermissionDenied", "message": "Principal does not have access to API/Operation."}
    }
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://localhost/openai/v1/chat/completions").respond(403, json=body)
        assert main(["ping", "--model", "d"]) == 3
    assert "Cognitive Services User" in capsys.readouterr().err


class FakeCredential:
    def __init__(self, token: str | None) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        if self.token is None:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")
        return AccessToken(self.token, 2_000_000_000)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def entra_emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[FoundryEmulator]:
    with FoundryEmulator(
        deployments={"my-grok": "grok-4.7"}, token_validator=lambda token: token == "good-token"
    ) as emulator:
        monkeypatch.setenv("GROK_AZURE_ENDPOINT", emulator.url)
        monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "my-grok")
        yield emulator


def use_credential(monkeypatch: pytest.MonkeyPatch, credential: FakeCredential) -> None:
    monkeypatch.setattr(cli, "default_sync_credential", lambda: credential)


def test_ping_with_entra_id_acquires_a_token_for_the_scope(
    entra_emu: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    credential = FakeCredential("good-token")
    use_credential(monkeypatch, credential)
    assert main(["ping"]) == 0
    assert f"Entra ID token for {AI_FOUNDRY_SCOPE}" in capsys.readouterr().out
    assert credential.scopes[0] == (AI_FOUNDRY_SCOPE,)
    assert entra_emu.requests[-1].headers["authorization"] == "Bearer good-token"
    assert credential.closed


def test_ping_rejected_token_exits_3_and_names_the_scope(
    entra_emu: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    use_credential(monkeypatch, FakeCredential("token-for-another-audience"))
    assert main(["ping"]) == 3
    err = capsys.readouterr().err
    assert f"requested for the scope {AI_FOUNDRY_SCOPE}" in err
    assert "token-for-another-audience" not in err


def test_ping_without_a_token_exits_3_and_suggests_az_login(
    entra_emu: FoundryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    use_credential(monkeypatch, FakeCredential(None))
    assert main(["ping"]) == 3
    captured = capsys.readouterr()
    assert "FAIL  auth" in captured.out
    assert "az login" in captured.err
    assert entra_emu.requests == []
