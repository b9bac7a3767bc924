"""``grok-azure batch``: in-process runs with ``main([...])`` against the emulator, and a real process for Ctrl-C
and the terminal bar."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grok_azure import BatchResult
from grok_azure._cli import main
from grok_azure.testing import Fault, FoundryEmulator

from .conftest import KEY, Terminal

Capture = pytest.CaptureFixture[str]


def write_input(
    path: Path, count: int, *, model: str | None = None, bad: frozenset[int] = frozenset()
) -> Path:
    """``count`` requests ``r0``... (no model in the body unless ``model``); lines in ``bad`` go to a deployment
    the emulator does not have (a 404: a failed line)."""
    with path.open("w") as file:
        for n in range(count):
            body: dict[str, object] = {
                "messages": [{"role": "user", "content": f"ticket {n}"}],
                "max_tokens": 8,
            }
            if n in bad:
                body["model"] = "no-such-deployment"
            elif model is not None:
                body["model"] = model
            request = {"custom_id": f"r{n}", "method": "POST", "url": "/chat/completions", "body": body}
            file.write(json.dumps(request) + "\n")
    return path


def results(path: Path) -> list[BatchResult]:
    return [BatchResult.from_line(line) for line in path.read_text().splitlines()]


def chat_requests(emu: FoundryEmulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/chat/completions"))


# -- outcomes and exit codes --------------------------------------------------------------------------------


def test_all_done_exits_0_writes_every_line_and_prints_the_summary(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 12), tmp_path / "out.jsonl"
    assert main(["batch", str(source), "--output", str(output)]) == 0
    lines = results(output)
    assert sorted(r.custom_id for r in lines) == sorted(f"r{n}" for n in range(12))
    assert all(r.ok and r.response is not None and r.response["status_code"] == 200 for r in lines)
    answers = {r.custom_id: (r.response or {})["body"]["choices"][0]["message"]["content"] for r in lines}
    assert answers["r3"] == "Echo: ticket 3"
    out, err = capsys.readouterr()
    assert "requests  12" in out
    assert "done      12" in out
    assert "failed    0" in out
    assert "not done  0" in out
    assert f"output    {output}" in out
    assert "all 12 requests done" in err


def test_failed_lines_exit_10_with_their_codes_and_the_retry_command(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 10, bad=frozenset({2, 7})), tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(output), "--concurrency", "3"]) == 10
    failed = {r.custom_id: r.error for r in results(output) if not r.ok}
    assert set(failed) == {"r2", "r7"}
    assert all(error is not None and error["code"] == "not_found" for error in failed.values())
    out, err = capsys.readouterr()
    assert "failed    2 (not_found 2)" in out
    assert "done      8" in out
    assert "2 of 10 lines failed" in err
    assert f"grok-azure batch {source} --output {output} --concurrency 3 --retry-failed" in err


def test_retry_failed_runs_only_the_failed_lines_again(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 6), tmp_path / "out.jsonl"
    configured.fault(Fault.content_filter(), times=2)  # a 400: not retried, two failed lines
    assert main(["batch", str(source), "-o", str(output), "--concurrency", "1"]) == 10
    assert sum(not r.ok for r in results(output)) == 2

    configured.reset()
    assert main(["batch", str(source), "-o", str(output)]) == 10  # a plain rerun leaves failed lines alone
    assert chat_requests(configured) == 0

    capsys.readouterr()
    assert main(["batch", str(source), "-o", str(output), "--retry-failed"]) == 0
    assert chat_requests(configured) == 2
    lines = results(output)
    assert sorted(r.custom_id for r in lines) == [f"r{n}" for n in range(6)]  # one line per id
    assert all(r.ok for r in lines)
    shown = capsys.readouterr().out
    assert (
        "requests  6 (4 already in the output)" in shown
    )  # 2 failed lines were among them: not "done" earlier
    assert "done      6\n" in shown


def test_model_flag_beats_the_environment_and_a_line_naming_its_model_keeps_it(
    configured: FoundryEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENT", "no-such-deployment")
    source = write_input(tmp_path / "in.jsonl", 3, bad=frozenset({1}))  # r1 names no-such-deployment
    assert main(["batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--model", "my-grok"]) == 10
    sent = sorted(
        (r.json or {})["model"] for r in configured.requests if r.path.endswith("/chat/completions")
    )
    assert sent == ["my-grok", "my-grok", "no-such-deployment"]


# -- bad input: exit 2, nothing sent ------------------------------------------------------------------------


def test_a_repeated_custom_id_exits_2_naming_both_lines_and_sends_nothing(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source = write_input(tmp_path / "in.jsonl", 3)
    source.write_text(source.read_text() + source.read_text().splitlines()[1] + "\n")  # r1 again, line 4
    assert main(["batch", str(source), "-o", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "r1" in err
    assert "2" in err
    assert "line 4" in err
    assert "nothing was sent" in err
    assert chat_requests(configured) == 0
    assert not (tmp_path / "out.jsonl").exists()


def test_a_missing_input_exits_2(configured: FoundryEmulator, tmp_path: Path, capsys: Capture) -> None:
    assert main(["batch", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert "cannot read the batch input" in capsys.readouterr().err


def test_an_output_that_is_not_a_batch_output_exits_2_untouched(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source = write_input(tmp_path / "in.jsonl", 2)
    assert main(["batch", str(source), "-o", str(source)]) == 2  # the input given as the output by mistake
    assert "error:" in capsys.readouterr().err
    assert chat_requests(configured) == 0
    assert len(source.read_text().splitlines()) == 2


def test_an_output_in_a_missing_directory_exits_2(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source = write_input(tmp_path / "in.jsonl", 1)
    assert main(["batch", str(source), "-o", str(tmp_path / "no" / "out.jsonl")]) == 2
    assert "cannot be created: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["batch", "in.jsonl"],  # no --output
        ["batch", "in.jsonl", "-o", "o.jsonl", "--concurrency", "0"],
        ["batch", "in.jsonl", "-o", "o.jsonl", "--rpm", "-5"],
        ["batch", "in.jsonl", "-o", "o.jsonl", "--tpm", "lots"],
        ["batch", "in.jsonl", "-o", "o.jsonl", "--grace", "-1"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: Capture) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_without_an_endpoint_an_embedded_emulator_answers(tmp_path: Path, capsys: Capture) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 3), tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(output)]) == 0
    assert all(r.ok for r in results(output))
    assert len(results(output)) == 3
    assert "using an embedded Foundry emulator" in capsys.readouterr().err


# -- progress -----------------------------------------------------------------------------------------------


def test_progress_is_plain_lines_at_each_tenth_when_stderr_is_not_a_terminal(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "my-grok=grok-4.7")  # a known model: a known price
    source = write_input(tmp_path / "in.jsonl", 20, bad=frozenset({5}))
    assert main(["batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--concurrency", "1"]) == 10
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("batch: ")]
    assert "\r" not in "".join(lines)
    assert len(lines) >= 10  # one at least per tenth of the batch
    assert lines[-1].startswith("batch: 100% 20/20  done 19  failed 1")
    assert "/s" in lines[-1]
    assert "tok" in lines[-1]
    assert "$" in lines[-1]
    assert "ETA" in lines[-1]


def test_progress_is_one_bar_redrawn_in_place_on_a_terminal(
    configured: FoundryEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROK_AZURE_DEPLOYMENTS", "my-grok=grok-4.7")
    terminal = Terminal(tty=True)
    monkeypatch.setattr(sys, "stderr", terminal)
    source = write_input(tmp_path / "in.jsonl", 8, bad=frozenset({5}))  # its deployment is warned about
    assert main(["batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--concurrency", "1"]) == 10
    text = terminal.getvalue()
    assert text.startswith("\r[")
    # The warning clears the bar and takes a line of its own; the bar is drawn again below it.
    assert "\r\x1b[Kwarning: Deployment 'no-such-deployment' is not mapped" in text
    bar = text.split("\n")[1]
    assert bar.startswith("\r[")
    assert "\x1b[K" in bar
    assert bar.rsplit("\r", 1)[-1].startswith("[" + "=" * 24 + "] 100% 8/8  done 7  failed 1")
    assert "batch: " not in text  # no plain lines on a terminal


# -- a real process: Ctrl-C, resume, the terminal bar -------------------------------------------------------


def _env(emu: FoundryEmulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK_AZURE_", "AZURE_INFERENCE_"))}
    env.update(GROK_AZURE_ENDPOINT=emu.url, GROK_AZURE_API_KEY=KEY, GROK_AZURE_DEPLOYMENT="my-grok")
    return env


def interrupted_run(
    emu: FoundryEmulator, source: Path, output: Path, sig: signal.Signals, *flags: str
) -> tuple[int, str, str]:
    """Run the command in a real process, send ``sig`` once two lines are written; its exit code, out and err."""
    argv = [sys.executable, "-m", "grok_azure._cli", "batch", str(source), "-o", str(output), *flags]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(emu))
    try:
        deadline = time.monotonic() + 30
        while not (output.exists() and output.read_text().count("\n") >= 2):
            assert proc.poll() is None, "the command ended before writing a line"
            assert time.monotonic() < deadline, "no line written"
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    return proc.returncode, out, err


def test_ctrl_c_exits_130_with_the_resume_command_and_a_rerun_finishes(
    configured: FoundryEmulator, tmp_path: Path, capsys: Capture
) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 20), tmp_path / "out.jsonl"
    configured.fault(Fault.slow_first_byte(0.4), times=100)  # about 4 s for the whole batch
    code, out, err = interrupted_run(
        configured, source, output, signal.SIGINT, "--concurrency", "2", "--grace", "5"
    )
    assert code == 130, err
    resume = (
        f"To resume (the ids already written are skipped):\n  grok-azure batch {source} --output {output} "
    )
    assert resume in err
    assert "--grace 5" in err
    assert "--retry-failed" not in err
    written = results(output)
    assert 2 <= len(written) < 20
    assert all(r.ok for r in written)
    assert "not done" in out

    configured.reset()
    capsys.readouterr()
    assert main(["batch", str(source), "-o", str(output)]) == 0
    ids = [r.custom_id for r in results(output)]
    assert sorted(ids) == sorted(f"r{n}" for n in range(20))  # nothing lost, nothing twice
    assert chat_requests(configured) == 20 - len(written)


def test_sigterm_stops_the_batch_resumably_too(configured: FoundryEmulator, tmp_path: Path) -> None:
    source, output = write_input(tmp_path / "in.jsonl", 10), tmp_path / "out.jsonl"
    configured.fault(Fault.slow_first_byte(0.3), times=100)
    code, _, err = interrupted_run(configured, source, output, signal.SIGTERM, "--concurrency", "1")
    assert code == 130, err
    assert "To resume" in err
    assert len(results(output)) < 10


def test_the_bar_on_a_real_terminal(configured: FoundryEmulator, tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.jsonl", 5)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_azure._cli", "batch", str(source), "-o", str(tmp_path / "out.jsonl")],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=_env(configured),
    )
    os.close(secondary)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 20)
            assert ready, "the command went quiet"
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        os.close(primary)
    assert b"\r[" in seen
    assert b"] 100% 5/5  done 5  failed 0" in seen
    assert b"\x1b[K" in seen
    assert proc.stdout is not None
    assert b"requests  5" in proc.stdout.read()
