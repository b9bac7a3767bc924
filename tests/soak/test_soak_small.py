"""The fault soak, small: the documented command (``python benchmarks/soak.py``) on a few hundred calls.

It runs in a child process, as users run it, so the file descriptors and threads it counts are its own and
not pytest's. The full soak (thousands of calls) is documented in docs/soak.md. Two sabotaged runs prove the
checks can fail: content altered on the wire must be reported as wrong, and a client left open must be reported
as leaking connections and file descriptors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "benchmarks" / "soak.py"
KINDS = {"sync plain", "sync stream", "async plain", "async stream"}
ERROR_NAMES = {
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "InternalServerError",
    "RateLimitError",
    "StreamInterruptedError",
    "StreamError",
}


def soak(*args: str, timeout: float = 90) -> tuple[int, dict[str, Any], str]:
    """Run the soak script; return its exit status, its JSON summary and its whole output."""
    done = subprocess.run(
        [sys.executable, str(SOAK), "--json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON summary; output:\n{output}"
    return done.returncode, json.loads(lines[-1]), output


@pytest.fixture(scope="module")
def small() -> tuple[int, dict[str, Any], str]:
    # More calls in flight than the defaults, so calls waiting out a retry-after overlap and the run stays short.
    return soak("--calls", "300", "--seed", "7", "--fault-rate", "0.4", "--threads", "16", "--tasks", "64")


def test_small_soak_passes_with_nothing_lost(small: tuple[int, dict[str, Any], str]) -> None:
    code, summary, output = small
    assert code == 0, output
    assert summary["calls"] == 300
    # Every call ended as the exact completion or a typed GrokError; none overran, hung or leaked.
    assert set(summary["outcomes"]) <= {"ok"} | ERROR_NAMES, summary["outcomes"]
    assert summary["overruns"] == 0
    assert summary["leaks"] == {"fds": 0, "connections": 0, "threads": []}
    # Sync and async, streamed and not, all ran, and each kind had successes.
    assert set(summary["table"]["ok"]) == KINDS


def test_small_soak_meets_every_kind_of_fault(small: tuple[int, dict[str, Any], str]) -> None:
    _, summary, output = small
    chaos = summary["chaos"]
    for action in (
        "429 retry-after",
        "429 retry-after-ms",
        "429 x-ms-retry-after-ms",
        "429 retry-after http-date",
        "429 reset-tokens only",
        "500",
        "503",
        "502 html",
        "reset",
        "slow first byte",
        "slow first byte past read timeout",
        "drop mid-body",
        "stall mid-body",
        "drip past the deadline",
    ):
        assert chaos.get(action, 0) > 0, (action, output)
    # Without retries (the client before failover), faults visibly end calls in each family of typed error.
    if not summary["client"]["failover"]:
        assert {"RateLimitError", "InternalServerError", "APITimeoutError"} <= set(summary["outcomes"])


def test_small_soak_retried_calls_and_hit_the_deadline(small: tuple[int, dict[str, Any], str]) -> None:
    _, summary, _ = small
    assert summary["retries"]["ok"]
    assert summary["retries"]["calls_sent_again"] > 0
    # Bodies that drip in past the deadline end at it (the latency's top is the deadline, not the drip's end).
    assert summary["latency"]["max"] <= summary["budget_seconds"]
    assert summary["chaos"]["drip past the deadline"] > 0


def test_small_soak_with_failover_mostly_succeeds(small: tuple[int, dict[str, Any], str]) -> None:
    _, summary, _ = small
    if not summary["client"]["failover"]:
        pytest.skip("this client has no deployments= yet: each call goes to one endpoint, without retries")
    # With retries and a second deployment, most calls survive a 40% fault rate: one endpoint per client with the
    # same retries (`--legacy`) keeps about 91% of these calls; what is lost is mostly streams that failed after
    # their first event (final by design) and calls whose every retry met a fault. Failover measured 90-92% on
    # this seed; the bar sits well below that because the pool's choices vary from run to run and a flaky suite
    # teaches people to ignore it. The full soak (docs/soak.md) is where the ratio is judged.
    assert summary["ok"] >= 0.7 * summary["calls"], (summary["outcomes"], summary["first_of_each"])
    assert set(summary["served_by"]) == {"east", "west"}


def test_soak_reports_content_altered_on_the_wire() -> None:
    code, summary, output = soak("--calls", "60", "--seed", "3", "--modes", "sync", "--sabotage", "corrupt")
    assert code == 1, output
    assert summary["outcomes"].get("wrong content", 0) > 0
    assert "soak: FAIL" in output


def test_soak_reports_a_client_left_open() -> None:
    code, summary, output = soak(
        "--calls", "60", "--seed", "3", "--modes", "sync", "--sabotage", "unclosed", "--settle", "0.5"
    )
    assert code == 1, output
    assert summary["leaks"]["connections"] > 0
    assert summary["leaks"]["fds"] > 0


@pytest.mark.skipif(
    not os.environ.get("GROK_AZURE_SOAK_FULL"),
    reason="timing-based (threads deliberately stuck past a watchdog); flaky on a loaded 2-core machine, so it runs "
    "with GROK_AZURE_SOAK_FULL=1 (docs/soak.md)",
)
def test_soak_reports_calls_that_hang() -> None:
    # Clients without timeouts or deadline, and stalls that last an hour: the watchdog must call them hangs,
    # and the soak must still end (its hung calls abandoned) instead of hanging itself.
    code, summary, output = soak(
        *("--calls", "60", "--seed", "3", "--modes", "sync", "--fault-rate", "0.6"),
        *("--deadline", "1", "--grace", "0.5", "--watchdog", "1", "--sabotage", "hang", "--settle", "0.5"),
        timeout=60,
    )
    assert code == 1, output
    assert summary["outcomes"].get("hang", 0) > 0


def test_soak_reports_clients_without_their_deadline() -> None:
    # Bodies drip in past the deadline, each piece within the read timeout: only the deadline ends those calls.
    code, summary, output = soak(
        *("--calls", "120", "--seed", "7", "--fault-rate", "0.4", "--threads", "16", "--tasks", "64"),
        *("--sabotage", "no-deadline"),
    )
    assert code == 1, output
    assert summary["overruns"] > 0


def test_soak_reports_clients_that_never_retry() -> None:
    code, summary, output = soak(
        *("--calls", "120", "--seed", "7", "--fault-rate", "0.4", "--threads", "16", "--tasks", "64"),
        *("--sabotage", "no-retries"),
    )
    assert code == 1, output
    assert summary["retries"]["calls_sent_again"] == 0
    assert not summary["retries"]["ok"]
    assert summary["retries"]["retryable_faults"] > 0


def test_a_status_error_of_another_class_than_its_status_fails_the_soak() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _soak_calls import CallSpec, _judge
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from grok_azure import APIStatusError, InternalServerError, RateLimitError

    spec = CallSpec(1, "sync", False, "soak-call-1 alpha")
    mistyped = APIStatusError("Error code: 429", status_code=429)
    assert _judge(spec, None, mistyped, "")[0] == "wrong error type: APIStatusError for 429"
    assert _judge(spec, None, RateLimitError("Error code: 429", status_code=429), "")[0] == "RateLimitError"
    assert (
        _judge(spec, None, InternalServerError("Error code: 502", status_code=502), "")[0]
        == "InternalServerError"
    )
    assert _judge(spec, None, APIStatusError("Error code: 408", status_code=408), "")[0] == "APIStatusError"
