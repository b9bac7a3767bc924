"""Release checks that run with the test suite: the README's install lines name extras the package declares,
and the wheel smoke test (scripts/smoke_test.py, run by .ci/run in a fresh venv) works and refuses a checkout."""

from __future__ import annotations

import importlib.metadata
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE_TEST = ROOT / "scripts" / "smoke_test.py"


def _install_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]


def test_every_extra_the_readme_installs_is_declared() -> None:
    named = set(re.findall(r"grok-azure\[([a-z]+)\]", _install_section()))
    named |= set(re.findall(r'-e "\.\[([a-z]+)\]"', _install_section()))
    declared = set(importlib.metadata.metadata("grok-azure").get_all("Provides-Extra") or [])
    assert {"emulator", "inference", "otel"} <= named
    assert named <= declared


def test_the_readme_says_the_package_is_not_on_pypi_yet() -> None:
    section = _install_section()
    assert "not on PyPI yet" in section
    assert "pip install -e ." in section
    assert "After the first release" in section


def test_the_package_declares_its_project_urls_and_python_floor() -> None:
    metadata = importlib.metadata.metadata("grok-azure")
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    assert metadata["Requires-Python"] == ">=3.10"


def test_the_smoke_test_refuses_a_grok_azure_imported_from_elsewhere(tmp_path: Path) -> None:
    # Run by the dev venv, it imports the checkout's grok_azure: not the venv it was told to check.
    done = subprocess.run(
        [sys.executable, "-I", str(SMOKE_TEST), "--venv", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "smoke test FAILED: grok_azure imported from the venv" in done.stderr


def test_the_smoke_test_calls_pass_against_this_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(SMOKE_TEST))["check_calls"]()  # not as __main__: only the definitions
    out = capsys.readouterr().out
    assert "ok: a call answers ('Echo: smoke')" in out
    assert "ok: a streamed call answers ('Echo: smoke')" in out
    assert "ok: an async call answers" in out
