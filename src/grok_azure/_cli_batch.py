"""``grok-azure batch``: run a JSONL batch through :meth:`GrokClient.batches.run` with progress and a summary.

Progress goes to stderr (a bar redrawn in place on a terminal, plain periodic lines otherwise); the summary table
to stdout. The exit code tells "all done", "done with failed lines" and "interrupted, resumable" apart; codes 3
and 4 already mean authentication and not found for every subcommand, so the batch outcomes take 10 and 130.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ._batch._format import BatchInputError, BatchOutputError, BatchResult
from ._batch._summary import BatchInterrupted, BatchProgress, BatchSummary
from ._cli import _bounded, _model_settings, _positive_int, _sigterm_interrupts
from ._cli_output import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, format_table
from ._client import GrokClient
from ._endpoint import API_KEY_ENV_VARS, ENDPOINT_ENV_VARS, first_env
from ._target import DEPLOYMENT_ENV_VAR, foundry_target

__all__ = ["EXIT_FAILED_LINES", "EXIT_RESUMABLE", "add_batch_command", "run_batch"]

EXIT_FAILED_LINES = 10  # every line is written, some as failed
EXIT_RESUMABLE = EXIT_INTERRUPTED  # 130: stopped (Ctrl-C, SIGTERM) before every line was written
DEFAULT_CONCURRENCY = 16
DEFAULT_GRACE = 10.0

BATCH_EXIT_CODES_HELP = f"""\
exit codes:
  0    every request done
  {EXIT_FAILED_LINES}   every request written, some as failed lines (--retry-failed runs them again)
  {EXIT_RESUMABLE}  interrupted (Ctrl-C, SIGTERM): run the printed command to resume
  2    bad input or output file, bad arguments, no endpoint configured
  1    unexpected error"""

_BAR_WIDTH = 24
_BAR_INTERVAL = 0.1  # seconds between redraws of the terminal bar
_LINE_INTERVAL = 5.0  # seconds between plain progress lines (one also at every tenth of the batch)

_grace = _bounded(0.0, math.inf, "a number of seconds >= 0")


def add_batch_command(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """Add ``batch`` with ``command(name, summary, description)``, the parser factory of ``build_parser``."""
    batch = command(
        "batch",
        "run a JSONL batch of chat completions, resumably, within the quota",
        "Send every request of INPUT (OpenAI / Azure batch JSONL: custom_id, method, url, body) through "
        "chat.completions and write one result line per request to OUTPUT as each completes. Run the same "
        "command again after a crash or Ctrl-C: the ids already in OUTPUT are skipped. GROK_AZURE_ENDPOINT "
        "unset means an embedded emulator (answers are echoes).",
    )
    batch.epilog = (
        f"{batch.epilog.partition('exit codes:')[0]}{BATCH_EXIT_CODES_HELP}" if batch.epilog else None
    )
    batch.add_argument("input", metavar="INPUT.jsonl", help="the requests, one JSON object per line")
    batch.add_argument(
        "-o", "--output", required=True, metavar="OUT.jsonl", help="the results: created, or resumed"
    )
    batch.add_argument(
        "--model",
        metavar="DEPLOYMENT",
        help="deployment for lines whose body names no model (default: GROK_AZURE_DEPLOYMENT)",
    )
    batch.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"most calls in flight (default: {DEFAULT_CONCURRENCY}; lowered after 429s, then recovered)",
    )
    batch.add_argument(
        "--rpm",
        type=_positive_int,
        metavar="N",
        help="the deployment's requests per minute (default: learned)",
    )
    batch.add_argument(
        "--tpm", type=_positive_int, metavar="N", help="the deployment's tokens per minute (default: learned)"
    )
    batch.add_argument(
        "--retry-failed", action="store_true", help="run the lines that failed in an earlier run again"
    )
    batch.add_argument(
        "--grace",
        type=_grace,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help=f"how long Ctrl-C waits for calls in flight (default: {DEFAULT_GRACE:g})",
    )
    batch.set_defaults(handler=run_batch)


# -- the command --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _batch_client(model: str | None) -> Iterator[tuple[GrokClient, str | None]]:
    """The client and the default deployment: the configured endpoint (a deployment is optional: lines may name
    theirs), or an embedded emulator when ``GROK_AZURE_ENDPOINT`` is unset (it says so on stderr)."""
    model = model or os.environ.get(DEPLOYMENT_ENV_VAR, "").strip() or None
    endpoint = first_env(ENDPOINT_ENV_VARS, os.environ)
    if endpoint is None:
        with foundry_target(deployment=model) as target, target.client(environ=_model_settings()) as client:
            yield client, target.deployment
        return
    key = first_env(API_KEY_ENV_VARS, os.environ)  # None: Entra ID (DefaultAzureCredential)
    with GrokClient(endpoint=endpoint, api_key=key, environ=_model_settings()) as client:
        yield client, model


def run_batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The ``batch`` handler: run, report, and return the exit code (after Ctrl-C it exits the process)."""
    progress = ProgressReporter(err, tty=_isatty(err))
    try:
        with (
            _sigterm_interrupts(),
            progress.clear_for_warnings(),
            _batch_client(args.model) as (client, model),
        ):
            try:
                summary = client.batches.run(
                    args.input,
                    args.output,
                    model=model,
                    concurrency=args.concurrency,
                    rpm=args.rpm,
                    tpm=args.tpm,
                    retry_failed=args.retry_failed,
                    grace=args.grace,
                    on_progress=progress.update,
                )
            except KeyboardInterrupt as stop:
                progress.finish()
                # The runner's abandoned calls may still hold threads: report and leave now, without closing.
                interrupted = stop.summary if isinstance(stop, BatchInterrupted) else None
                _exit_now(_report_interrupted(args, interrupted, out, err), out, err)
    except BatchInputError as exc:
        progress.finish()
        print(f"error: {exc}", file=err)
        print("nothing was sent; fix the file and run the command again", file=err, flush=True)
        return EXIT_USAGE
    except BatchOutputError as exc:  # in use by another run, cannot be created, a write failed (cut back)
        progress.finish()
        print(f"error: {exc}", file=err, flush=True)
        return EXIT_USAGE
    progress.finish()
    return _report_finished(args, summary, out, err)


def _exit_now(code: int, out: TextIO, err: TextIO) -> None:
    """Leave the process at once: threads stuck in calls the runner abandoned would block a normal exit (every
    line written is already fsynced)."""
    out.flush()
    err.flush()
    os._exit(code)


def _report_finished(args: argparse.Namespace, summary: BatchSummary, out: TextIO, err: TextIO) -> int:
    if summary.interrupted or summary.remaining:
        return _report_interrupted(args, summary, out, err)
    print(summary_table(summary), file=out, flush=True)
    if summary.failed:
        print(
            f"{summary.failed} of {summary.total} lines failed; to run them again:\n"
            f"  {resume_command(args, retry_failed=True)}",
            file=err,
            flush=True,
        )
        return EXIT_FAILED_LINES
    print(f"all {summary.total} requests done: {summary.output}", file=err, flush=True)
    return EXIT_OK


def _report_interrupted(
    args: argparse.Namespace, summary: BatchSummary | None, out: TextIO, err: TextIO
) -> int:
    if summary is not None:
        print(summary_table(summary), file=out, flush=True)
    left = "" if summary is None else f" {summary.remaining} of {summary.total} requests are not done;"
    print(
        f"interrupted:{left} every line written is kept. To resume (the ids already written are skipped):\n"
        f"  {resume_command(args, retry_failed=False)}",
        file=err,
        flush=True,
    )
    return EXIT_RESUMABLE


def resume_command(args: argparse.Namespace, *, retry_failed: bool) -> str:
    """The command line that runs this batch again (a resume leaves out ``--retry-failed``: the lines it was
    retrying lost their old failed line, so they run anyway)."""
    parts = ["grok-azure", "batch", args.input, "--output", args.output]
    if args.model:
        parts += ["--model", args.model]
    if args.concurrency != DEFAULT_CONCURRENCY:
        parts += ["--concurrency", str(args.concurrency)]
    for flag, value in (("--rpm", args.rpm), ("--tpm", args.tpm)):
        if value is not None:
            parts += [flag, str(value)]
    if args.grace != DEFAULT_GRACE:
        parts += ["--grace", f"{args.grace:g}"]
    if retry_failed:
        parts.append("--retry-failed")
    return shlex.join(parts)


# -- what is printed ----------------------------------------------------------------------------------------


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def duration(seconds: float | None) -> str:
    """``48s``, ``3m05s``, ``2h07m``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def dollars(cost: float | None) -> str:
    """USD, with cents' fractions for small sums; ``-`` when no price is known."""
    if cost is None:
        return "-"
    return f"${cost:,.2f}" if cost >= 10 else f"${cost:.4f}"


def progress_text(progress: BatchProgress) -> str:
    """One progress line: finished/total, done, failed, rate, tokens, cost, ETA."""
    finished = progress.done + progress.failed
    share = finished / progress.total if progress.total else 1.0
    tokens = progress.prompt_tokens + progress.completion_tokens
    return (
        f"{share:4.0%} {finished}/{progress.total}  done {progress.done}  failed {progress.failed}  "
        f"{progress.rate:.1f}/s  {tokens:,} tok  {dollars(progress.cost)}  ETA {duration(progress.eta)}"
    )


class ProgressReporter:
    """Turns ``on_progress`` snapshots into a bar redrawn with ``\\r`` (a terminal, at most every 0.1 s) or plain
    lines (every 5 s and at every tenth of the batch).

    Args:
        stream: where progress goes (stderr).
        tty: draw the bar (True) or print plain lines.
        clock: monotonic seconds.
    """

    def __init__(self, stream: TextIO, *, tty: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._tty = tty
        self._clock = clock
        self._last_at = -math.inf
        self._last_tenth = -1
        self._drawn = False
        self._latest: BatchProgress | None = None
        self._lock = threading.Lock()  # warnings come from the worker threads

    @contextlib.contextmanager
    def clear_for_warnings(self) -> Iterator[None]:
        """Clear the bar before a warning is printed (from any thread), so that it gets a line of its own; the
        next update draws the bar again below it."""
        previous = warnings.showwarning

        def show(*args: Any, **kwargs: Any) -> None:
            with self._lock:
                if self._drawn:
                    self._stream.write("\r\x1b[K")
                    self._drawn = False
                previous(*args, **kwargs)

        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous

    def update(self, progress: BatchProgress) -> None:
        """Show ``progress`` if it is time to."""
        with self._lock:
            self._update(progress)

    def _update(self, progress: BatchProgress) -> None:
        self._latest = progress
        now = self._clock()
        finished = progress.done + progress.failed
        tenth = finished * 10 // progress.total if progress.total else 10
        if self._tty:
            if now - self._last_at >= _BAR_INTERVAL or finished == progress.total:
                self._draw(progress)
                self._last_at = now
        elif now - self._last_at >= _LINE_INTERVAL or tenth > self._last_tenth:
            print(f"batch: {progress_text(progress)}", file=self._stream, flush=True)
            self._last_at, self._last_tenth = now, tenth

    def finish(self) -> None:
        """End the bar's line (with its latest state) so that what follows starts on a new one."""
        with self._lock:
            self._finish()

    def _finish(self) -> None:
        if self._tty and self._latest is not None:
            self._draw(self._latest)
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
        self._latest = None

    def _draw(self, progress: BatchProgress) -> None:
        finished = progress.done + progress.failed
        filled = _BAR_WIDTH * finished // progress.total if progress.total else _BAR_WIDTH
        bar = "=" * filled + (">" if filled < _BAR_WIDTH else "") + " " * (_BAR_WIDTH - filled - 1)
        # \x1b[K clears what a longer previous line left at the end.
        self._stream.write(f"\r[{bar[:_BAR_WIDTH]}] {progress_text(progress)}\x1b[K")
        self._stream.flush()
        self._drawn = True


def failure_codes(path: str) -> Counter[str]:
    """How many ids of the output ``path`` failed, per ``error.code`` (the last line of an id counts)."""
    failed: dict[str, str] = {}
    with open(path, "rb") as file:
        for raw in file:
            if not raw.strip():
                continue
            result = BatchResult.from_line(raw)
            if result.ok:
                failed.pop(result.custom_id, None)
            else:
                failed[result.custom_id] = str((result.error or {}).get("code") or "error")
    return Counter(failed.values())


def summary_table(summary: BatchSummary) -> str:
    """The end-of-run table."""
    # Lines of this input that were in the output before the run (done or failed): not sent again.
    earlier = (
        f" ({summary.skipped_already_done} already in the output)" if summary.skipped_already_done else ""
    )
    failed = str(summary.failed)
    # The codes are read from the output's failed lines: only while it holds no other input's ids are those all
    # this input's (else the breakdown would count more failures than the row says).
    if summary.failed and not summary.not_in_input:
        with contextlib.suppress(OSError, BatchInputError):
            codes = failure_codes(summary.output).most_common()
            failed += " (" + ", ".join(f"{code} {count}" for code, count in codes) + ")"
    tokens = summary.prompt_tokens + summary.completion_tokens
    rows: list[tuple[str, ...]] = [
        ("requests", f"{summary.total}{earlier}"),
        ("done", str(summary.done)),
        ("failed", failed),
        ("not done", str(summary.remaining)),
        (
            "tokens",
            f"{tokens:,} ({summary.prompt_tokens:,} prompt + {summary.completion_tokens:,} completion)",
        ),
        ("cost", dollars(summary.cost) if summary.cost is not None else "- (no known price)"),
        ("elapsed", duration(summary.elapsed)),
        ("output", summary.output),
    ]
    return format_table(rows)
