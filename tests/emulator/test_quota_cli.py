"""``grok-azure emulator --rpm N --tpm N --quota-window S``, run in-process; requests are sent where the command
would block serving, and the quotas' clock is frozen so windows do not roll over mid-test."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from grok_azure._cli import main
from grok_azure._emulator import _quota
from grok_azure.testing import FoundryEmulator

from .conftest import API_KEY, OPENAI_PATH, user

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Response]:
    """Replies to three requests sent to deployment ``g`` while ``main(["emulator", ...])`` serves."""
    replies: list[httpx.Response] = []
    monkeypatch.setattr(_quota, "default_clock", lambda: 500.5)

    def serve_briefly(self: FoundryEmulator) -> None:
        with httpx.Client(base_url=self.url, headers={"api-key": API_KEY}, timeout=10) as http:
            body: dict[str, Any] = {"model": "g", "messages": user(), "max_tokens": 97}
            replies.extend(http.post(OPENAI_PATH, json=body) for _ in range(3))

    monkeypatch.setattr(FoundryEmulator, "serve_forever", serve_briefly)
    return replies


def run(*flags: str) -> int:
    return main(["emulator", "--api-key", API_KEY, "--deployment", "g=grok-4.7", *flags])


def test_rpm_limits_requests_per_window(served: list[httpx.Response], capsys: Capture) -> None:
    assert run("--rpm", "120") == 0  # 2 per 1 s window
    assert [r.status_code for r in served] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in served] == ["1", "0", "0"]
    assert served[2].headers["retry-after-ms"] == "500"
    assert "Quotas per deployment: 120 RPM, over 1 s windows." in capsys.readouterr().err


def test_tpm_and_a_ten_second_window(served: list[httpx.Response]) -> None:
    assert run("--tpm", "1200", "--quota-window", "10") == 0  # 200 tokens per window; 100 per request
    assert [r.status_code for r in served] == [200, 200, 429]
    assert served[0].headers["x-ratelimit-limit-tokens"] == "200"
    assert served[0].headers["x-ratelimit-reset-tokens"] == "10"  # 9.5 s, rounded up
    assert "exceeded token rate limit" in served[2].json()["error"]["message"]


def test_without_flags_nothing_is_refused(served: list[httpx.Response], capsys: Capture) -> None:
    assert run() == 0
    assert [r.status_code for r in served] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in served] == ["999", "998", "997"]
    assert "Quotas" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rpm", "0"], "expected a positive whole number, got '0'"),
        (["--rpm", "ten"], "expected a positive whole number, got 'ten'"),
        (["--tpm", "-5"], "expected a positive whole number, got '-5'"),
        (["--tpm", "1.5"], "expected a positive whole number, got '1.5'"),
        (["--quota-window", "5"], "invalid choice: 5"),
    ],
)
def test_bad_quota_flags_exit_2(capsys: Capture, flags: list[str], message: str) -> None:
    assert run(*flags) == 2
    assert message in capsys.readouterr().err
