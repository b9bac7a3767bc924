"""Every example runs to completion against the embedded emulator (GROK_AZURE_ENDPOINT removed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 120
ANNOUNCEMENT = "GROK_AZURE_ENDPOINT is not set: using an embedded Foundry emulator at http://127.0.0.1:"


def run_example(name: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=EXAMPLES.parent,
        timeout=TIMEOUT,
        check=False,
    )


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED)


EXPECTED: dict[str, list[str]] = {
    "agent_tools.py": [
        'get_weather({"city": "Paris"}) -> {"city":"Paris","celsius":18.5,"sky":"clear"}',
        'distance_km({"origin": "Paris", "destination": "Oslo"}) -> 1840',
        'answer: Tool results: {"city":"Paris","celsius":18.5,"sky":"clear"}; 1840',
        "round 1: distance_km -> 1840",
        "2 rounds, 5 messages in the transcript",
    ],
    "quickstart.py": ["Echo: In two sentences, what is Azure AI Foundry?", "usage: ", "model grok-4.7"],
    "streaming_events.py": [
        "[reasoning]\nThe user asks about the weather in Paris",
        "[content]\nLet me look that up.",
        "#0 get_weather += ",
        "get_weather({'city': 'Paris'})",
        "[usage]",
        "finish_reason=tool_calls",
        'final tool call: get_weather({"city": "Paris"})',
    ],
    "entra_id.py": [
        "a fake Entra ID token",
        "credential: Echo: Say hello in French.",
        "token provider: Echo: Say hello in French.",
        "and no api-key: True",
        "https://ai.azure.com/.default",
    ],
    "batch_run.py": [
        "progress: 10/50",
        "done: 50, failed: 0",
        "rerun: 50 already done, nothing sent",
        ": Echo: Classify ticket",
    ],
    "async_concurrency.py": ["#0: Echo: Give one fun fact about the number 0", "20 answers in", "at most 5"],
    "errors.py": [
        "RateLimitError: quota used up, retry after 2.0 s",
        "ContentFilterError: prompt blocked, categories ['violence']",
        "InternalServerError: the service failed with 503",
        "StreamInterruptedError: the connection dropped; kept 'Echo: Tell me '",
        "StreamError: the service sent an error event (server_error)",
        "ok: Echo: Tell me a short story",
        "NotFoundError: DeploymentNotFound",
        "RequestValidationError: temperature is invalid",
    ],
    "extract_structured.py": [
        "parsed: Invoice example from example, 1 item(s)",
        "attempts: 1, tokens: ",
        "partial update(s), then Invoice",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_against_the_embedded_emulator(name: str) -> None:
    result = run_example(name)
    assert result.returncode == 0, result.stderr
    for expected in EXPECTED[name]:
        assert expected in result.stdout, f"{expected!r} missing from:\n{result.stdout}"
    assert "Traceback" not in result.stderr
    # entra_id.py starts its own token-checking emulator and says so on stdout instead.
    if name != "entra_id.py":
        assert ANNOUNCEMENT in result.stderr
