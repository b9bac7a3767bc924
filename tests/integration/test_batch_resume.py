"""client.batches.run against the emulator: a run killed (SIGKILL) or interrupted (SIGINT) at any moment and
started again loses no id and writes none twice; a batch over two deployments uses both."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from grok_azure import AsyncGrokClient, BatchResult, Deployment, GrokClient
from grok_azure.testing import Fault, FoundryEmulator

KEY = "batch-test-key-0123456789"
MODEL = "grok-4-1-fast-non-reasoning"
# Quotas high enough never to slow the run; the emulator still sends x-ratelimit-* headers the pacer reads.
RPM, TPM = 1_000_000, 1_000_000_000

# The batch as a user's script runs it: sync or async, exit 4 with the resume hint on Ctrl-C.
SCRIPT = """
import asyncio, sys
from grok_azure import AsyncGrokClient, BatchInterrupted, GrokClient
kind, url, key, source, output = sys.argv[1:6]
models = {"chat": "MODEL_ID"}
if kind == "sync":
    with GrokClient(endpoint=url, api_key=key, deployment_models=models, max_retries=0) as client:
        try:
            summary = client.batches.run(source, output, concurrency=4, grace=5.0)
        except BatchInterrupted as stop:
            print(stop, file=sys.stderr)
            sys.exit(4)
else:
    async def main():
        async with AsyncGrokClient(endpoint=url, api_key=key, deployment_models=models, max_retries=0) as client:
            return await client.batches.run(source, output, concurrency=4, grace=5.0)
    summary = asyncio.run(main())
print("done", summary.done, summary.failed, summary.skipped_already_done)
""".replace("MODEL_ID", MODEL)


def write_input(path: Path, count: int) -> Path:
    with path.open("w") as file:
        for i in range(count):
            body = {"model": "chat", "messages": [{"role": "user", "content": f"q{i}"}], "max_tokens": 5}
            file.write(
                json.dumps(
                    {"custom_id": f"id-{i}", "method": "POST", "url": "/chat/completions", "body": body}
                )
            )
            file.write("\n")
    return path


def start(kind: str, emulator: FoundryEmulator, source: Path, output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, kind, emulator.url, KEY, str(source), str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("GROK_AZURE_")},
    )


def ids_in(output: Path) -> Counter[str]:
    """custom_id -> lines holding it; a torn last line (no newline yet) is not a line."""
    text = output.read_text() if output.exists() else ""
    whole = text[: text.rfind("\n") + 1]
    return Counter(BatchResult.from_line(raw).custom_id for raw in whole.splitlines())


def wait_for_progress(
    process: subprocess.Popen[str], output: Path, written: int, timeout: float = 60.0
) -> None:
    """Until the run has written a line past the first ``written`` ones, or ended."""
    deadline = time.monotonic() + timeout
    while len(ids_in(output)) <= written and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"a run wrote nothing in {timeout:.0f} s")
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_killed_at_random_moments_then_resumed_loses_nothing_and_repeats_nothing(
    tmp_path: Path, kind: str
) -> None:
    count = 300
    source = write_input(tmp_path / "in.jsonl", count)
    output = tmp_path / "out.jsonl"
    chance = random.Random(f"kill-{kind}")
    partial_kills = 0
    with FoundryEmulator(api_key=KEY, deployments={"chat": MODEL}, rpm=RPM, tpm=TPM) as emulator:
        emulator.fault(Fault.slow_first_byte(0.01), times=10 * count)  # ~1 s of work for each run
        for _ in range(40):
            written = len(ids_in(output))
            process = start(kind, emulator, source, output)
            # Killed at a random moment once the run is at work: its start-up (importing the SDK) takes most of a
            # second on a loaded 2-core machine, and kills timed from the spawn then landed before any progress.
            wait_for_progress(process, output, written)
            try:
                process.wait(timeout=chance.uniform(0.0, 0.5))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                lines = ids_in(output)
                assert max(lines.values(), default=1) == 1, "an id was written twice"
                partial_kills += 0 < len(lines) < count
                continue
            assert process.returncode == 0, process.stderr.read()
            break
        else:
            pytest.fail("the batch never finished")
    assert partial_kills >= 1  # at least one kill landed mid-run, with results on disk
    lines = ids_in(output)
    assert set(lines) == {f"id-{i}" for i in range(count)}
    assert set(lines.values()) == {1}
    assert output.read_text().endswith("\n")
    assert all(BatchResult.from_line(raw).ok for raw in output.read_text().splitlines())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ctrl_c_stops_says_how_to_resume_and_the_rerun_finishes(tmp_path: Path, kind: str) -> None:
    count = 60
    source = write_input(tmp_path / "in.jsonl", count)
    output = tmp_path / "out.jsonl"
    with FoundryEmulator(api_key=KEY, deployments={"chat": MODEL}, rpm=RPM, tpm=TPM) as emulator:
        emulator.fault(Fault.slow_first_byte(0.1), times=count)
        process = start(kind, emulator, source, output)
        deadline = time.monotonic() + 30
        while len(ids_in(output)) < 8 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        if kind == "sync":  # BatchInterrupted, with the hint
            assert process.returncode == 4, stderr
            assert "run the batch again with the same output" in stderr
            assert str(output) in stderr
        else:  # asyncio.run turns the cancelled run into KeyboardInterrupt; the hint comes as a WARNING line
            assert process.returncode != 0, stderr
            assert "KeyboardInterrupt" in stderr, stderr
            assert "batch interrupted: " in stderr
            assert "run the batch again with the same output" in stderr
            assert str(output) in stderr
        written = ids_in(output)
        assert 8 <= len(written) < count
        assert set(written.values()) == {1}
        sent_before = len(emulator.requests)
        # The calls in flight had their grace period: each one sent before the stop was written.
        assert sent_before == len(written)
        rerun = start(kind, emulator, source, output)
        stdout, stderr = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, stderr
        assert stdout.split() == ["done", str(count), "0", str(len(written))]
        assert len(emulator.requests) == sent_before + count - len(written)  # nothing sent twice
    lines = ids_in(output)
    assert set(lines) == {f"id-{i}" for i in range(count)}
    assert set(lines.values()) == {1}


def two_deployments(emulator: FoundryEmulator) -> list[Deployment]:
    return [
        Deployment(emulator.url, api_key=KEY, deployment="east", name="east"),
        Deployment(emulator.url, api_key=KEY, deployment="west", name="west"),
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_batch_over_two_deployments_uses_both(tmp_path: Path, kind: str) -> None:
    count = 60
    source = write_input(tmp_path / "in.jsonl", count)
    output = tmp_path / "out.jsonl"
    models = {"east": MODEL, "west": MODEL}
    with FoundryEmulator(api_key=KEY, deployments=models, rpm=RPM, tpm=TPM) as emulator:
        if kind == "sync":
            with GrokClient(deployments=two_deployments(emulator), deployment_models=models) as client:
                summary = client.batches.run(source, output)
        else:
            async with AsyncGrokClient(
                deployments=two_deployments(emulator), deployment_models=models
            ) as aclient:
                summary = await aclient.batches.run(source, output)
        served = Counter(request.deployment for request in emulator.requests)
    assert (summary.done, summary.failed) == (count, 0)
    assert served["east"] > 0
    assert served["west"] > 0
    assert sum(served.values()) == count
    assert summary.prompt_tokens > 0
    assert summary.cost is not None
    assert summary.cost > 0
