"""The batch output's guards, through client.batches.run against the emulator: one run per output at a time, a
failed write leaves a resumable file, any JSON id can be written, an unusable output is a typed error."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grok_azure import BatchInputError, BatchOutputError, BatchResult, GrokAzureWarning, GrokClient
from grok_azure.testing import FoundryEmulator

pytestmark = pytest.mark.integration

KEY = "store-test-key-0123456789"
MODEL = "grok-4-1-fast-non-reasoning"


@pytest.fixture(scope="module")
def emulator() -> Any:
    with FoundryEmulator(api_key=KEY, deployments={"chat": MODEL}) as emu:
        yield emu


def requests(count: int, prefix: str = "id-") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"{prefix}{i}",
            "body": {"model": "chat", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(count)
    ]


def client(emulator: FoundryEmulator) -> GrokClient:
    return GrokClient(endpoint=emulator.url, api_key=KEY, deployment_models={"chat": MODEL}, max_retries=0)


def lines(path: Path) -> list[BatchResult]:
    return [BatchResult.from_line(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def test_a_second_run_on_an_output_in_use_is_refused(emulator: FoundryEmulator, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    # Another process holds the output (a run in progress); the lock dies with it.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, os, sys, time
                fd = os.open({str(output) + ".lock"!r}, os.O_RDWR | os.O_CREAT)
                fcntl.flock(fd, fcntl.LOCK_EX)
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        before = len(emulator.requests)
        with client(emulator) as c, pytest.raises(BatchOutputError, match="in use by another run"):
            c.batches.run(requests(3), output)
        assert len(emulator.requests) == before  # nothing was sent
    finally:
        holder.kill()
        holder.wait()
    # The holder died (as a killed run does): its lock went with it, and the run goes ahead.
    with client(emulator) as c:
        assert c.batches.run(requests(3), output).done == 3


def run_with_a_second_run_inside(emulator: FoundryEmulator, output: Path, second: Path) -> Any:
    """Run four requests into ``output``; once the first line is in, a second run into ``second`` must be refused.
    Returns the first run's summary."""
    seen: list[Any] = []
    with client(emulator) as c:

        def nested(progress: Any) -> None:
            if not seen:
                with pytest.raises(BatchOutputError, match="in use"):
                    c.batches.run(requests(2, "other-"), second)
                seen.append(progress)

        summary = c.batches.run(requests(4), output, on_progress=nested)
    assert seen
    return summary


@pytest.mark.skipif(os.name != "posix", reason="flock semantics")
def test_two_runs_in_one_process_on_one_output_are_refused(emulator: FoundryEmulator, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    summary = run_with_a_second_run_inside(emulator, output, output)
    assert summary.done == 4
    assert sorted(r.custom_id for r in lines(output)) == [
        f"id-{i}" for i in range(4)
    ]  # never two runs' lines


def test_a_failed_write_cuts_the_partial_line_and_the_run_resumes(
    emulator: FoundryEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out.jsonl"
    real_write = os.write
    failures = [0]

    def full_disk(fd: int, data: Any) -> int:
        if (
            bytes(data[:6]) == b'{"id":'
            and failures[0] == 0
            and output.exists()
            and output.stat().st_size > 0
        ):
            failures[0] += 1
            real_write(fd, bytes(data[: len(data) // 2]))  # half the line reached the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with client(emulator) as c, pytest.raises(BatchOutputError, match="could not be written") as info:
        c.batches.run(requests(6), output, concurrency=1)
    assert info.value.errno == errno.ENOSPC
    assert output.read_bytes().endswith(b"\n")  # no partial line left behind
    written = lines(output)
    assert written  # what was written before stays
    monkeypatch.setattr(os, "write", real_write)
    with client(emulator) as c:
        summary = c.batches.run(requests(6), output)
    assert summary.skipped_already_done == len(written)
    ids = [r.custom_id for r in lines(output)]
    assert sorted(ids) == sorted(f"id-{i}" for i in range(6))  # all there, none twice


def test_an_id_with_a_lone_surrogate_is_written_and_read_back(
    emulator: FoundryEmulator, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    # Legal JSON: an escaped lone surrogate (UTF-8 cannot encode it).
    source.write_text(
        '{"custom_id": "x\\ud800", "body": {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}}\n'
    )
    with client(emulator) as c:
        assert c.batches.run(source, output).done == 1
        again = c.batches.run(source, output)
    assert again.skipped_already_done == 1
    assert [r.custom_id for r in lines(output)] == ["x\ud800"]
    assert json.loads(output.read_text())["custom_id"] == "x\ud800"


def test_an_output_that_is_a_directory_is_a_typed_error(emulator: FoundryEmulator, tmp_path: Path) -> None:
    before = len(emulator.requests)
    with client(emulator) as c, pytest.raises(BatchOutputError) as info:
        c.batches.run(requests(1), tmp_path)
    assert info.value.errno is not None
    assert len(emulator.requests) == before  # nothing was sent


def test_a_rewrite_left_by_a_killed_retry_is_cleaned_up(emulator: FoundryEmulator, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    stale = tmp_path / "out.jsonl.4242.tmp"
    stale.write_text("half a rewrite")
    unrelated = tmp_path / "other.jsonl.1.tmp"
    unrelated.write_text("not ours")
    with client(emulator) as c:
        assert c.batches.run(requests(1), output).done == 1
    assert not stale.exists()
    assert unrelated.exists()


@pytest.mark.parametrize(
    "content",
    [
        b'{"custom_id":"only","method":"POST","url":"/chat/completions","body":{"model":"chat","messages":[]}}',
        b'{"setting": "important"}',  # json.dump writes no final newline
    ],
    ids=["the input itself", "a JSON document"],
)
def test_a_one_line_file_that_is_no_output_is_refused_untouched(
    emulator: FoundryEmulator, tmp_path: Path, content: bytes
) -> None:
    output = tmp_path / "given-as-output.jsonl"
    output.write_bytes(content)
    before = len(emulator.requests)
    with client(emulator) as c, pytest.raises(BatchInputError, match="not a batch output"):
        c.batches.run(requests(1), output)
    assert output.read_bytes() == content  # a torn write would be cut back; this is no line of the store's
    assert len(emulator.requests) == before


def test_a_torn_last_line_of_the_stores_own_is_still_cut_back(
    emulator: FoundryEmulator, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    with client(emulator) as c:
        c.batches.run(requests(2), output)
    whole = output.read_bytes()
    output.write_bytes(whole + b'{"id":"batch_req_torn","custom_id":"id-')  # killed mid-write
    with client(emulator) as c:
        summary = c.batches.run(requests(3), output)
    assert summary.done == 3
    assert sorted(r.custom_id for r in lines(output)) == ["id-0", "id-1", "id-2"]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and flock")
def test_a_second_run_through_a_symbolic_link_is_refused(emulator: FoundryEmulator, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(output)
    run_with_a_second_run_inside(emulator, output, link)
    assert sorted(r.custom_id for r in lines(output)) == [f"id-{i}" for i in range(4)]


def test_retry_failed_keeps_the_failed_lines_of_other_inputs(
    emulator: FoundryEmulator, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    missing = {"model": "no-such-deployment", "messages": [{"role": "user", "content": "q"}]}
    first = [{"custom_id": "a1", "body": missing}, {"custom_id": "a3", "body": missing}]
    with client(emulator) as c:
        assert c.batches.run(first, output).failed == 2
        again = [{"custom_id": "a1", "body": requests(1)[0]["body"]}, *requests(1, "b")]
        with pytest.warns(GrokAzureWarning, match="not in this input"):
            summary = c.batches.run(again, output, retry_failed=True)
    assert summary.done == 2
    kept = {r.custom_id: r.ok for r in lines(output)}
    assert kept == {"a3": False, "a1": True, "b0": True}  # a3 is another input's: its line stays as it was


@pytest.mark.parametrize("value", [False, None, True])
def test_a_body_with_any_stream_field_is_refused_plainly(
    emulator: FoundryEmulator, tmp_path: Path, value: object
) -> None:
    line = {"custom_id": "s", "body": {**requests(1)[0]["body"], "stream": value}}
    with client(emulator) as c, pytest.raises(BatchInputError, match="body has a stream field"):
        c.batches.run([line], tmp_path / "out.jsonl")


def test_the_summary_counts_reasoning_among_the_generated_tokens(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    with FoundryEmulator(api_key=KEY, deployments={"thinker": "grok-4.7"}) as emu:
        emu.reply("An answer.", reasoning="Some thinking first.")
        line = {
            "custom_id": "r",
            "body": {"model": "thinker", "messages": [{"role": "user", "content": "q"}]},
        }
        with GrokClient(endpoint=emu.url, api_key=KEY, deployment_models={"thinker": "grok-4.7"}) as c:
            summary = c.batches.run([line], output)
    usage = lines(output)[0].response["body"]["usage"]  # type: ignore[index]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert summary.completion_tokens == usage["completion_tokens"] + reasoning  # what the cost was counted on
