"""The batch run loop: one sans-I/O :class:`BatchRun` makes every decision; two small drivers move the bytes.

:meth:`BatchRun.steps` yields what to do next (:class:`Start` a request, :class:`Sleep` for the pacer, or
:data:`WAIT_ANY` for an in-flight call to end); the sync driver runs calls on daemon threads, the async one as
tasks. A finished call is handed back with :meth:`BatchRun.record` (from any thread), which writes its line
durably (:class:`ResultStore`) before it counts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

import httpx

from .._chat_params import REQUEST_OPTION_KEYS, ChatParams, build_chat_request
from .._error_mapping import service_request_id
from .._errors import APIStatusError, GrokError, RequestValidationError
from .._hooks import CallInfo, Hook
from .._raw_response import RawResponse
from ..types.chat_completion import ChatCompletion
from ._format import BatchInputError, BatchRequest, BatchResult, error_code
from ._pacer import Pacer, estimate_tokens
from ._store import ResultStore
from ._summary import BatchInterrupted, BatchProgress, BatchSummary

__all__ = ["BatchRun", "PacerHook", "PacerSink", "call_arguments", "check_request", "run_async", "run_sync"]

_log = logging.getLogger("grok_azure")
_SETTLE_POLL_S = 0.005  # how often Ctrl-C's grace period looks whether the claimed calls have ended

# The body fields chat.completions.create takes as keyword arguments; any other goes in extra_body.
_KNOWN = frozenset(("model", "messages")) | (frozenset(ChatParams.__annotations__) - REQUEST_OPTION_KEYS)


class Start(NamedTuple):
    """Send ``request``; ``estimate`` is the pacer's token estimate for it."""

    request: BatchRequest
    estimate: int


class Sleep(NamedTuple):
    """Wait ``seconds`` (the pacer asks), then go on with the steps."""

    seconds: float


class _WaitAny:
    """Wait until at least one call in flight finishes."""


WAIT_ANY = _WaitAny()
Step = Start | Sleep | _WaitAny
Outcome = RawResponse[ChatCompletion] | GrokError


class PacerSink(Protocol):
    """Where :class:`PacerHook` reports: a :class:`Pacer`, or a stand-in that forwards (the Ray coordinator's)."""

    def charge(self, estimated_tokens: int) -> None: ...

    def on_response(self, status: int, headers: Mapping[str, str], source: str | None = None) -> None: ...


class PacerHook(Hook):
    """Shows the pacer every attempt: its answer (429s that the client retries included), so it learns the
    deployment's limits from the ``x-ratelimit-*`` headers and backs off on 429; and each retry or failover the
    client sends on its own, which spends quota the runner did not reserve.

    Args:
        pacer: the :class:`Pacer` (or any :class:`PacerSink`) to report to.
    """

    def __init__(self, pacer: PacerSink) -> None:
        self._pacer = pacer

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        if call.attempt > 1:
            self._pacer.charge(estimate_tokens(call.body))

    def on_response(self, response: httpx.Response, call: CallInfo) -> None:
        # Per deployment: a client over several deployments has the sum of their quotas to spend.
        self._pacer.on_response(response.status_code, response.headers, source=call.deployment)


def call_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """``chat.completions.create`` keyword arguments for a request body: fields the SDK does not know go in
    ``extra_body`` (sent as written), so nothing in the line is dropped."""
    known = {k: v for k, v in body.items() if k in _KNOWN}
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    if extra:
        known["extra_body"] = extra
    return known


def check_request(request: BatchRequest) -> None:
    """Refuse a line ``chat.completions.create`` would refuse, before anything of the batch is sent: the
    SDK's own request validation (types, ranges, ``stream_options`` without streaming, an empty ``model``...).

    Args:
        request: a line of the input.

    Raises:
        BatchInputError: the line's body is not a valid request, with its line number.
    """
    params = call_arguments(request.body)
    model, messages = params.pop("model", None), params.pop("messages", None)
    try:
        build_chat_request(model=model, messages=messages, stream=False, params=params)
    except RequestValidationError as exc:
        raise BatchInputError(f"body is not a valid request: {exc}", line=request.line) from None


class BatchRun:
    """Every decision of one batch run; thread-safe where the drivers call it from several threads.

    Args:
        requests: the input's requests (checked), read lazily.
        ids: the ``custom_id`` of every request in ``requests`` (the count pass's); only these are counted, so an
            output that holds ids this input no longer has (the input changed between runs) is not counted as
            done: those lines are reported in :attr:`BatchSummary.not_in_input`.
        store: the output (its existing ids are skipped).
        pacer: paces sends and bounds concurrency.
        concurrency: the most calls in flight (the pacer may allow fewer).
        clock: monotonic seconds.
    """

    def __init__(
        self,
        requests: Iterable[BatchRequest],
        ids: Collection[str],
        store: ResultStore,
        pacer: Pacer,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = requests
        self.total = len(ids)
        self.store = store
        self.pacer = pacer
        self.concurrency = concurrency
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()  # held while a line is written (an fsync)
        # Claims and the stop, under a lock of their own that is never held while writing: Ctrl-C's stop must not
        # wait behind a disk (see wait_sending).
        self._claims = threading.Lock()
        self._in_flight: set[str] = set()
        self._sending: set[str] = set()  # claimed by their call: sent, or about to be
        self._stopping = False
        self._accepting = True
        outcomes = store.outcomes
        earlier = [outcomes[custom_id] for custom_id in ids if custom_id in outcomes]
        self._done = sum(earlier)  # of this input's ids: earlier runs', then this run's too
        self._failed = len(earlier) - self._done
        self.skipped = len(earlier)
        self.not_in_input = len(outcomes) - len(earlier)
        self._finished = 0
        self._prompt = self._completion = 0
        self._cost: float | None = None

    def steps(self) -> Iterator[Step]:
        """What to do next, until every pending request has been sent and has finished (or :meth:`stop`)."""
        done = self.store.outcomes
        for request in self._requests:
            if request.custom_id in done:
                continue
            while len(self._in_flight) >= max(1, min(self.concurrency, self.pacer.allowed_concurrency)):
                yield WAIT_ANY
            if self._stopping:
                return
            estimate = estimate_tokens(request.body)
            wait = self.pacer.reserve(estimate)
            while wait > 0:
                yield Sleep(wait)
                if self._stopping:
                    return
                wait = self.pacer.reserve(estimate)
            with self._lock:
                self._in_flight.add(request.custom_id)
            yield Start(request, estimate)
        while self._in_flight:
            yield WAIT_ANY

    def record(self, step: Start, outcome: Outcome) -> None:
        """Write ``outcome`` as ``step``'s line (durably) and count it; after :meth:`abandon`, only forget it.
        However this ends (a write that fails included), the call is over: :meth:`wait_sending` waits no more."""
        custom_id = step.request.custom_id
        try:
            result, usage, cost = _result(custom_id, outcome)
            with self._lock:
                if custom_id not in self._in_flight:
                    return
                if self._accepting:
                    self.store.write(result)
                    self._finished += 1
                    self._done += result.ok
                    self._failed += not result.ok
                    self._prompt += usage[0] if usage else 0
                    self._completion += usage[1] if usage else 0
                    if cost is not None:
                        self._cost = (self._cost or 0.0) + cost
        finally:
            self._end(custom_id)
        self.pacer.settle(step.estimate, usage[0] + usage[1] if usage else 0)

    def claim(self, step: Start) -> bool:
        """Whether ``step``'s call may send, asked by the call itself just before it sends: not after
        :meth:`stop` (the step is forgotten and runs on resume). A claimed call is one :meth:`wait_sending`
        waits for; deciding here rather than from the driver's own set of calls leaves no moment (a Ctrl-C
        between a thread's start and its bookkeeping) when a call can send unseen."""
        custom_id = step.request.custom_id
        with self._claims:
            allowed = not self._stopping
            if allowed:
                self._sending.add(custom_id)
        if not allowed:
            self._end(custom_id)
        return allowed

    def release(self, step: Start) -> None:
        """Forget ``step`` without writing it (its call was cancelled or raised a bug): it runs on resume."""
        self._end(step.request.custom_id)

    def _end(self, custom_id: str) -> None:
        """``custom_id``'s call is over."""
        with self._lock:
            self._in_flight.discard(custom_id)
        with self._claims:
            self._sending.discard(custom_id)

    def stop(self) -> None:
        """Send nothing more; calls that already claimed their send may still finish and be written."""
        with self._claims:
            self._stopping = True

    def wait_sending(self, timeout: float) -> None:
        """Block until every claimed call has ended, or ``timeout`` seconds (the grace period) have passed.

        It polls, holding no lock: a second Ctrl-C can land at any moment here, and one that lands in a
        ``Condition`` taking its lock back would leave it to release a lock another thread holds.
        """
        deadline = time.monotonic() + timeout
        while self._sending and time.monotonic() < deadline:
            time.sleep(_SETTLE_POLL_S)

    def abandon(self) -> None:
        """Write nothing more (after the grace period): what is still in flight runs again on resume."""
        with self._lock:
            self._accepting = False

    def progress(self) -> BatchProgress:
        """A snapshot for ``on_progress``."""
        with self._lock:
            elapsed = self._clock() - self._started
            rate = self._finished / elapsed if elapsed > 0 else 0.0
            left = max(0, self.total - self._done - self._failed)
            return BatchProgress(
                total=self.total,
                done=self._done,
                failed=self._failed,
                skipped=self.skipped,
                in_flight=len(self._in_flight),
                elapsed=elapsed,
                rate=rate,
                prompt_tokens=self._prompt,
                completion_tokens=self._completion,
                cost=self._cost,
                eta=left / rate if rate > 0 else None,
            )

    def summary(self, *, interrupted: bool = False) -> BatchSummary:
        """What the run did; ``interrupted`` when it was stopped."""
        progress = self.progress()
        return BatchSummary(
            output=self.store.path,
            total=self.total,
            done=progress.done,
            failed=progress.failed,
            skipped_already_done=self.skipped,
            prompt_tokens=self._prompt,
            completion_tokens=self._completion,
            cost=self._cost,
            elapsed=progress.elapsed,
            interrupted=interrupted,
            not_in_input=self.not_in_input,
        )


def _result(custom_id: str, outcome: Outcome) -> tuple[BatchResult, tuple[int, int] | None, float | None]:
    """The output line for a call's outcome, its (prompt, completion) tokens and its cost."""
    if isinstance(outcome, GrokError):
        response = None
        if isinstance(outcome, APIStatusError) and outcome.status_code:
            response = {
                "status_code": outcome.status_code,
                "request_id": outcome.request_id,
                "body": outcome.body,
            }
        error = {"code": error_code(outcome), "message": str(outcome)}
        return BatchResult(custom_id, response, error), None, None
    http = outcome.http_response
    completion = outcome.parse()
    response = {
        "status_code": http.status_code,
        # The service's id (as a failed line's error carries), else the x-ms-client-request-id the SDK sent.
        "request_id": service_request_id(http.headers) or outcome.request_id,
        "body": http.json(),
    }
    usage = completion.usage
    # The generated tokens with the reasoning (billed, and used against the quota, as output): the cost counts them.
    tokens = (usage.prompt_tokens, usage.billed_output_tokens) if usage is not None else None
    cost = completion.cost.total if completion.cost is not None else None
    return BatchResult(custom_id, response, None), tokens, cost


def run_sync(
    run: BatchRun,
    send: Callable[..., RawResponse[ChatCompletion]],
    grace: float,
    on_progress: Callable[[BatchProgress], object] | None,
) -> BatchSummary:
    """Drive ``run`` with a daemon thread per call in flight (``send`` is ``with_raw_response.create``); Ctrl-C
    raises :class:`BatchInterrupted` after up to ``grace`` seconds for the calls in flight, abandoning the rest
    (their threads end with their calls, and never hold the process at exit)."""

    def perform(step: Start) -> None:
        if not run.claim(step):
            return
        try:
            outcome: Outcome = send(**call_arguments(step.request.body))
        except GrokError as exc:
            outcome = exc
        except BaseException:
            run.release(step)
            raise
        run.record(step, outcome)

    futures: set[concurrent.futures.Future[None]] = set()
    try:
        for step in run.steps():
            if type(step) is Start:
                futures.add(_spawn(perform, step))
            elif type(step) is Sleep:
                time.sleep(step.seconds)
            else:
                concurrent.futures.wait(futures, return_when="FIRST_COMPLETED")
            futures = _harvest(run, futures, on_progress)
        return run.summary()
    except KeyboardInterrupt:
        try:
            run.stop()
            run.wait_sending(grace)
        finally:
            run.abandon()
        raise BatchInterrupted(run.summary(interrupted=True)) from None
    except BaseException:
        run.stop()
        run.abandon()
        raise


def _spawn(perform: Callable[[Start], None], step: Start) -> concurrent.futures.Future[None]:
    """Run ``perform(step)`` on a daemon thread of its own (``steps`` bounds how many run at once).

    Not a ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so a call abandoned after Ctrl-C
    would hold the process until its HTTP call ended; a daemon thread does not.
    """
    future: concurrent.futures.Future[None] = concurrent.futures.Future()

    def work() -> None:
        future.set_running_or_notify_cancel()
        try:
            perform(step)
        except BaseException as exc:  # handed to the driver, which re-raises it
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=work, name="grok-azure-batch", daemon=True).start()
    return future


async def run_async(
    run: BatchRun,
    send: Callable[..., Awaitable[RawResponse[ChatCompletion]]],
    grace: float,
    on_progress: Callable[[BatchProgress], object] | None,
) -> BatchSummary:
    """Drive ``run`` with tasks; cancellation waits up to ``grace`` seconds for the calls in flight, cancels the
    rest (they run on resume) and propagates."""

    async def perform(step: Start) -> None:
        if not run.claim(step):
            return
        try:
            outcome: Outcome = await send(**call_arguments(step.request.body))
        except GrokError as exc:
            outcome = exc
        except BaseException:
            run.release(step)
            raise
        # fsync off the event loop; a cancellation here leaves the write to finish in its thread.
        await asyncio.to_thread(run.record, step, outcome)

    tasks: set[asyncio.Task[None]] = set()
    try:
        for step in run.steps():
            if type(step) is Start:
                tasks.add(asyncio.ensure_future(perform(step)))
            elif type(step) is Sleep:
                await asyncio.sleep(step.seconds)
            else:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            tasks = _harvest(run, tasks, on_progress)
        return run.summary()
    except BaseException:
        run.stop()
        try:
            if tasks:
                await asyncio.wait(tasks, timeout=grace)
        finally:
            run.abandon()
            for task in tasks:
                task.cancel()
            # The cancellation must propagate unchanged (asyncio needs it), so the way to resume is said here: a
            # WARNING reaches stderr even without any logging configured (logging's last-resort handler).
            _log.warning("batch interrupted: %s", run.summary(interrupted=True).resume_hint())
        raise


_Pending = TypeVar("_Pending", "concurrent.futures.Future[None]", "asyncio.Task[None]")


def _harvest(
    run: BatchRun, pending: set[_Pending], on_progress: Callable[[BatchProgress], object] | None
) -> set[_Pending]:
    """The calls still running; for those that finished, re-raise a bug (not a GrokError: those are lines), and
    tell ``on_progress`` once."""
    finished = [call for call in pending if call.done()]
    if not finished:
        return pending
    for call in finished:
        call.result()
    if on_progress is not None:
        on_progress(run.progress())
    return pending.difference(finished)
