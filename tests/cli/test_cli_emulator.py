"""``grok-azure emulator``: argument errors in-process, and a real foreground process over a pipe."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from grok_azure._cli import main

from .conftest import KEY

Capture = pytest.CaptureFixture[str]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("no-equals-sign", "expected NAME=MODEL"),
        ("=grok-4", "expected NAME=MODEL"),
        ("mine=grok-9000", "Unknown Grok model 'grok-9000'"),
    ],
)
def test_emulator_rejects_bad_deployments_with_exit_2(capsys: Capture, argument: str, message: str) -> None:
    assert main(["emulator", "--deployment", argument]) == 2
    assert message in capsys.readouterr().err


def test_emulator_rejects_a_deployment_named_twice(capsys: Capture) -> None:
    assert main(["emulator", "--deployment", "a=grok-4", "--deployment", "a=grok-4.7"]) == 2
    assert "given twice" in capsys.readouterr().err


def test_emulator_rejects_fault_rate_outside_0_1(capsys: Capture) -> None:
    assert main(["emulator", "--fault-rate", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_emulator_port_in_use_exits_2(capsys: Capture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def _command() -> list[str]:
    script = Path(sys.executable).with_name("grok-azure" + (".exe" if os.name == "nt" else ""))
    return [str(script)] if script.exists() else [sys.executable, "-m", "grok_azure._cli"]


def test_emulator_subprocess_prints_url_and_key_serves_and_stops_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    argv = [*_command(), "emulator", "--port", "0", "--api-key", KEY, "--deployment", "g=grok-4.7"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        url = lines.get(timeout=30)
        assert url.startswith("http://127.0.0.1:")
        assert lines.get(timeout=5) == KEY
        response = httpx.post(
            f"{url}/openai/v1/chat/completions",
            headers={"api-key": KEY},
            json={"model": "g", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=20)
        if os.name == "posix":
            assert returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
