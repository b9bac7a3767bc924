"""``client.batches``: run a JSONL batch of chat completions, resumably and within the deployment's quota.

Both clients share every decision (:mod:`grok_azure._batch._runner`); only the driver differs: a thread pool for
:class:`~grok_azure.GrokClient`, tasks for :class:`~grok_azure.AsyncGrokClient`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._batch._format import BatchInput, BatchRequest, read_requests
from .._batch._store import ResultStore
from .._errors import RequestValidationError
from .._warnings import OnceRegistry, warn_once

if TYPE_CHECKING:
    from .._batch._runner import BatchRun
    from .._batch._summary import BatchProgress, BatchSummary
    from .._client import AsyncGrokClient, GrokClient, _BaseClient

__all__ = ["AsyncBatches", "Batches"]

ProgressCallback = Callable[["BatchProgress"], object]


class Batches:
    """``client.batches`` of :class:`~grok_azure.GrokClient`."""

    def __init__(self, client: GrokClient) -> None:
        self._client = client

    def run(
        self,
        input: BatchInput,
        output: str | os.PathLike[str],
        *,
        model: str | None = None,
        concurrency: int = 16,
        rpm: int | None = None,
        tpm: int | None = None,
        retry_failed: bool = False,
        grace: float = 10.0,
        on_progress: ProgressCallback | None = None,
    ) -> BatchSummary:
        """Run every request of ``input`` through ``chat.completions.create`` and write one result line per
        request to ``output`` (the OpenAI / Azure batch formats), paced to the deployment's quota.

        Resumable: each line is flushed and fsynced before it counts; run again with the same ``output`` after a
        crash, ``kill -9`` or Ctrl-C and the ids already written are skipped (no id is ever written twice). Ctrl-C
        stops sending, gives the calls in flight ``grace`` seconds, then raises :class:`BatchInterrupted` (a
        ``KeyboardInterrupt``) whose message says how to resume. A call that fails (after the client's retries
        and failover) becomes a failed line with a typed ``error.code``; failed lines are not sent again unless
        ``retry_failed``.

        Args:
            input: a JSONL file path, or an iterable of request dicts (``{"custom_id", "method": "POST", "url":
                "/chat/completions", "body": {...}}``) or :class:`BatchRequest` objects. Checked whole before
                anything is sent.
            output: the output JSONL file: created, or resumed when it exists.
            model: the deployment for lines whose body names no ``model`` (a line's own model is kept).
            concurrency: the most calls in flight (the pacer lowers it after 429s and raises it back).
            rpm: the requests per minute the batch may use, in total over the client's deployments; None: learned
                from each deployment's ``x-ratelimit-*`` headers and summed.
            tpm: the tokens per minute, in total likewise; None: learned per deployment and summed.
            retry_failed: run the lines that failed in an earlier run again; their old lines are removed from
                ``output`` first (atomically), so each id still has one line.
            grace: seconds Ctrl-C waits for calls in flight before abandoning them (they run on resume).
            on_progress: called with a :class:`BatchProgress` as lines finish (once for the lines that finish
                together), on this thread.

        Returns:
            A :class:`BatchSummary` (done, failed, skipped, tokens, cost, elapsed). Only ids of this input count:
            output lines whose id the input no longer has are reported in ``not_in_input`` (and a
            ``GrokAzureWarning``), not counted as done.

        Raises:
            BatchInputError: a bad input line (with its line number): not a batch line, a body
                ``chat.completions.create`` would refuse (the SDK's own validation), a repeated ``custom_id``
                (both lines); or an ``output`` that is not a batch output. Nothing was sent.
            BatchInterrupted: Ctrl-C; run again with the same ``output`` to resume.
        """
        from .._batch._runner import run_sync

        run, client = _prepare(self._client, input, output, model, concurrency, rpm, tpm, retry_failed, grace)
        try:
            return run_sync(run, client.chat.completions.with_raw_response.create, grace, on_progress)
        finally:
            run.store.close()


class AsyncBatches:
    """``client.batches`` of :class:`~grok_azure.AsyncGrokClient`."""

    def __init__(self, client: AsyncGrokClient) -> None:
        self._client = client

    async def run(
        self,
        input: BatchInput,
        output: str | os.PathLike[str],
        *,
        model: str | None = None,
        concurrency: int = 16,
        rpm: int | None = None,
        tpm: int | None = None,
        retry_failed: bool = False,
        grace: float = 10.0,
        on_progress: ProgressCallback | None = None,
    ) -> BatchSummary:
        """As :meth:`Batches.run`, with tasks on this event loop. Cancelling it (``asyncio.run`` does on Ctrl-C)
        stops sending, waits up to ``grace`` seconds for calls in flight, cancels the rest (they run on resume)
        and propagates the cancellation. Reading the input and opening the output happen on this thread (before
        anything is sent); each line's fsync runs in a worker thread."""
        from .._batch._runner import run_async

        run, client = _prepare(self._client, input, output, model, concurrency, rpm, tpm, retry_failed, grace)
        try:
            return await run_async(run, client.chat.completions.with_raw_response.create, grace, on_progress)
        finally:
            run.store.close()


def _prepare(
    client: Any,
    input: BatchInput,
    output: str | os.PathLike[str],
    model: str | None,
    concurrency: int,
    rpm: int | None,
    tpm: int | None,
    retry_failed: bool,
    grace: float,
) -> tuple[BatchRun, Any]:
    """Check everything, read the input whole (so a bad line refuses the batch before a call), open the output,
    and bind a pacer to a copy of ``client`` that reports every answer to it."""
    from .._batch._pacer import Pacer, check_concurrency
    from .._batch._runner import BatchRun, PacerHook

    # Before the output is opened, so a bad option touches nothing.
    check_concurrency(concurrency)
    for name, limit in (("rpm", rpm), ("tpm", tpm)):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise RequestValidationError(f"{name} must be an integer >= 1, not {limit!r}", param=name)
    if not isinstance(grace, (int, float)) or isinstance(grace, bool) or not 0 <= grace < float("inf"):
        raise RequestValidationError(f"grace must be a number of seconds >= 0, not {grace!r}", param="grace")
    if isinstance(input, (str, os.PathLike)):
        ids = _count_pass(read_requests(input, model=model))
        requests: Any = _reread(input, model)  # read again, line by line: bodies are not all held in memory
    else:
        requests = list(read_requests(input, model=model))
        ids = _count_pass(requests)
    store = ResultStore(output)
    try:  # from here on, a failure must not leave the output locked (until the garbage collector runs)
        if retry_failed:
            store.drop_failed(ids)
        pacer = Pacer(rpm=rpm, tpm=tpm, concurrency=concurrency)
        base: _BaseClient[Any, Any] = client
        observed = base.with_options(hooks=[*base._hooks.hooks, PacerHook(pacer)])
        run = BatchRun(requests, ids, store, pacer, concurrency)
        if run.not_in_input:  # warnings may be errors (-W error)
            warn_once(
                ("batch-not-in-input", store.path),
                f"the batch output {store.path} holds {run.not_in_input} line(s) whose custom_id is not in this "
                "input (the input changed since an earlier run?): they are kept, and counted nowhere",
                registry=OnceRegistry(),  # every run that finds them says so
            )
    except BaseException:
        store.close()
        raise
    return run, observed


def _count_pass(requests: Iterable[BatchRequest]) -> set[str]:
    """Every request checked as ``chat.completions.create`` would check it (nothing is sent before the whole
    input passes); returns their ids, so that only this input's lines are counted as done."""
    from .._batch._runner import check_request

    ids: set[str] = set()
    for request in requests:
        check_request(request)
        ids.add(request.custom_id)
    return ids


def _reread(path: str | os.PathLike[str], model: str | None) -> Any:
    yield from read_requests(path, model=model)
