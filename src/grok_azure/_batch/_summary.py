"""What a batch run reports: progress snapshots, the final summary, and the Ctrl-C exception."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BatchInterrupted", "BatchProgress", "BatchSummary"]


@dataclass(frozen=True)
class BatchProgress:
    """A snapshot of a running batch, given to ``on_progress`` as lines finish (once for those that finish together).

    Args:
        total: requests in the input.
        done: lines that succeeded (this run and earlier runs into the same output).
        failed: lines written as failed (this run and earlier runs).
        skipped: lines already in the output when the run started (done or failed), not sent again.
        in_flight: calls sent and not yet finished.
        elapsed: seconds since the run started.
        rate: lines finished per second in this run.
        prompt_tokens: prompt tokens of this run's completions.
        completion_tokens: generated tokens of this run's completions, reasoning included (what the
            output price applies to, as ``CompletionUsage.billed_output_tokens``).
        cost: USD of this run's completions whose price is known; None when none is.
        eta: seconds left at the current rate; None before the first line finishes.
    """

    total: int
    done: int
    failed: int
    skipped: int
    in_flight: int
    elapsed: float
    rate: float
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    eta: float | None


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Args:
        output: the output file.
        total: requests in the input.
        done: ids of this input the output holds as successes.
        failed: ids of this input the output holds as failed (see ``retry_failed``).
        skipped_already_done: ids of this input already in the output when this run started, not sent again.
        prompt_tokens: prompt tokens of this run's completions.
        completion_tokens: generated tokens of this run's completions, reasoning included (what the
            output price applies to, as ``CompletionUsage.billed_output_tokens``).
        cost: USD of this run's completions whose price is known; None when none is.
        elapsed: seconds this run took.
        interrupted: True when the run was stopped before every id was written (run it again to resume).
        not_in_input: lines of the output whose ``custom_id`` this input does not have (the input changed
            since an earlier run into the same output); kept in the file, counted nowhere else (a
            ``GrokAzureWarning`` says so when the run starts).
    """

    output: str
    total: int
    done: int
    failed: int
    skipped_already_done: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    elapsed: float
    interrupted: bool
    not_in_input: int = 0

    @property
    def remaining(self) -> int:
        """Ids not yet in the output."""
        return self.total - self.done - self.failed

    def resume_hint(self) -> str:
        """How to finish the batch, in one sentence."""
        if self.remaining:
            return (
                f"{self.remaining} of {self.total} requests are not done; run the batch again with the same "
                f"output ({self.output}) to resume: the {self.done + self.failed} ids already written are skipped"
            )
        if self.failed:
            return (
                f"{self.failed} lines failed; run again with retry_failed=True (--retry-failed) to retry them"
            )
        return "all requests are done"


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sync batch run; every line written is durable. ``summary`` says what is left; the message
    says how to resume (run again with the same output). A ``KeyboardInterrupt``, so ``except
    KeyboardInterrupt`` still sees it.

    Calls still in flight after the grace period are abandoned, not stopped: Python cannot interrupt a thread,
    so each keeps its worker thread until its HTTP call ends (at most the client's timeout and retries); their
    answers are not written (those ids run again on resume). The worker threads are daemon threads, so they
    never keep the interpreter from exiting."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__(f"Batch interrupted: {summary.resume_hint()}")
        self.summary = summary
