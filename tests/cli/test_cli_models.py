"""``grok-azure models`` joins the catalog with your deployments; the commands print the SDK's warnings plainly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grok_azure._cli import main
from grok_azure.testing import FoundryEmulator

Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def no_mappings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GROK_AZURE_DEPLOYMENTS", "GROK_AZURE_DEPLOYMENTS_FILE", "GROK_AZURE_CATALOG"):
        monkeypatch.delenv(name, raising=False)


def rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("grok")}


def test_help_describes_the_deployments_it_lists(capsys: Capture) -> None:
    assert main(["models", "--help"]) == 0
    out = capsys.readouterr().out
    assert "later step" not in out
    assert "GROK_AZURE_DEPLOYMENTS" in out


def test_the_table_shows_the_deployments_of_each_model(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "prod=grok-4.7,fast=grok-4.1-fast-reasoning,prod-b=grok-4.7")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert "YOUR DEPLOYMENTS" in out
    assert table["grok-4.7"].rstrip().endswith("prod, prod-b")
    assert table["grok-4-1-fast-reasoning"].rstrip().endswith("fast")
    assert table["grok-4"].rstrip().endswith("-")
    assert "  prod -> grok-4.7 (GROK_AZURE_DEPLOYMENTS)" in out


def test_a_file_and_a_deployment_named_after_a_model_are_shown(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({"team-a": "grok-4.6"}))
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS_FILE", str(path))
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "grok-4")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "  team-a -> grok-4.6 (GROK_AZURE_DEPLOYMENTS_FILE)" in out
    assert "  grok-4 -> grok-4 (named after the model)" in out
    assert rows(out)["grok-4"].rstrip().endswith("grok-4")


def test_without_deployments_it_says_how_to_configure_them(capsys: Capture) -> None:
    assert main(["models"]) == 0
    assert "No deployments configured: set GROK_AZURE_DEPLOYMENTS" in capsys.readouterr().out


def test_json_lists_the_deployments(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "prod=grok-4.7")
    assert main(["models", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["deployments"] == [{"deployment": "prod", "model": "grok-4.7", "source": "environment"}]
    by_id = {model["id"]: model for model in document["models"]}
    assert by_id["grok-4.7"]["deployments"] == ["prod"]
    assert by_id["grok-4"]["deployments"] == []


def test_a_user_model_from_the_catalog_variable_gets_a_row(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [{"id": "grok-5", "context_window": 1000000}]}))
    monkeypatch.setenv("GROK_AZURE_CATALOG", str(path))
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "next=grok-5")
    assert main(["models"]) == 0
    assert rows(capsys.readouterr().out)["grok-5"].rstrip().endswith("next")


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [("prod=grok-4.77", "Did you mean"), ("prod", "expected NAME=MODEL")],
)
def test_a_bad_mapping_exits_2_with_the_reason(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, mapping: str, expected: str
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", mapping)
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: GROK_AZURE_DEPLOYMENTS")
    assert expected in err


# -- chat: warnings and checks ------------------------------------------------------------------------------


def test_chat_prints_the_unmapped_deployment_warning_as_one_plain_line(
    configured: FoundryEmulator, capsys: Capture
) -> None:
    assert main(["chat", "hi", "--no-stream"]) == 0
    err = capsys.readouterr().err
    assert "warning: Deployment 'my-grok' is not mapped to a catalog model" in err
    assert "GrokAzureWarning" not in err  # not Python's file:line format


def test_chat_with_a_mapped_deployment_has_no_warning(
    configured: FoundryEmulator, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "my-grok=grok-4.7")
    assert main(["chat", "hi", "--no-stream"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_chat_refuses_a_request_the_model_cannot_take_without_sending(
    configured: FoundryEmulator, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "my-grok=grok-4.7")
    assert main(["chat", "hi", "--reasoning-effort", "minimal"]) == 7
    err = capsys.readouterr().err
    assert "accepts reasoning_effort 'low', 'medium', 'high', 'xhigh'" in err
    assert "Nothing was sent" in err
    assert configured.requests == []


def test_a_reader_that_exits_early_ends_the_command_quietly() -> None:
    """``grok-azure models --json | true``: the pipe is closed before the command writes."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = subprocess.run(
            [sys.executable, "-m", "grok_azure", "models", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as a shell reports a command a closed pipe ended
