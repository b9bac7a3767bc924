"""The one call loop, without I/O: a generator that yields commands and receives their results.

Both clients run :func:`call_flow` with an executor of a few lines (``GrokClient._execute`` with httpx's sync API,
``AsyncGrokClient._execute`` with its async one), as httpx runs its auth flows. Every decision of a call lives
here, once: which deployment, the auth headers, the single token refresh on a 401, the closed-client check, the
bounded body read, the status check, the retry or failover, the wait, and the deadline over all of it.

Commands and what the executor sends back:

- :class:`GetHeaders` -> the auth headers of ``target`` (a dict); not asked for a key, which the loop reads itself.
- :class:`Refresh` -> whether the credential got a new token after a 401 (bool).
- :class:`Send` -> the streamed ``httpx.Response``, or the :class:`GrokError` the send failed with; an async
  executor bounds the whole send by ``within`` seconds (each of httpx's operations already is, by the timeouts).
- :class:`ReadBody` -> None once the body is read into ``response`` and the response closed, or the error; the
  executor cuts the read off once the reader's deadline runs out.
- :class:`Close` -> None once the response is closed.
- :class:`Sleep` -> None after ``seconds``, or sooner once its ``waker`` is woken (:meth:`Call.stop`).
- :class:`Done` -> the call's success ``response``: the last command, except for a stream that fails before its
  first chunk, whose error is then sent back in (the loop goes on as for any failed attempt).

An exception raised while performing a command comes back as the result; the flow re-raises it itself, after
freeing what it holds. Every attempt sends the same body and ``x-ms-client-request-id``, plus
:data:`RETRY_COUNT_HEADER` (how many attempts of this call went before it).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ._deadline import Deadline
from ._deployments import Pick, WaitFor
from ._endpoint import Endpoint
from ._errors import APIConnectionError, APITimeoutError, GrokError
from ._hooks import CallObserver
from ._retry import Outcome, RetryPolicy, retry_decision
from ._streaming._events import page_instead_of_events, page_stream_error
from ._wire import (
    READ_TIMEOUT,
    RETRY_COUNT_HEADER,
    SERVED_BY,
    STREAM_ANSWERED,
    BodyReader,
    PreparedRequest,
    error_for_status,
    held_body,
    refused_encoding,
)

__all__ = [
    "ONE_TARGET",
    "RETRY_COUNT_HEADER",
    "SERVED_BY",
    "Call",
    "CallFlow",
    "Close",
    "Done",
    "GetHeaders",
    "ReadBody",
    "Refresh",
    "Send",
    "Sleep",
    "Target",
    "TargetPool",
    "Waker",
    "call_flow",
]


@dataclass(slots=True, eq=False)
class Target:
    """One deployment as the loop sends to it: its endpoint, its auth, its label and its model name.

    Args:
        endpoint: where requests go.
        auth: the sync or async auth object (``headers()`` / ``aheaders()``...).
        name: the label reported as ``served_by`` (None for a client without ``deployments``).
        model: the deployment name to put in the body instead of the call's ``model`` (None: unchanged).
        api_version: the ``api-version`` for this deployment (None: the client's).
    """

    endpoint: Endpoint
    auth: Any
    name: str | None = None
    model: str | None = None
    api_version: str | None = None


@dataclass(slots=True)
class GetHeaders:
    target: Target


@dataclass(slots=True)
class Refresh:
    target: Target
    # Out of the repr (which a traceback rendered with its frames' locals shows): the sent headers hold the
    # credential, and the 401's may echo it.
    sent_headers: httpx.Headers = field(repr=False)
    response_headers: httpx.Headers = field(repr=False)


@dataclass(slots=True)
class Send:
    request: httpx.Request
    target: Target
    within: float | None = None  # what the call's budgets leave (None: unbounded)


@dataclass(slots=True)
class ReadBody:
    response: httpx.Response
    reader: BodyReader


@dataclass(slots=True)
class Close:
    response: httpx.Response


class Waker:
    """Ends a call's retry wait early when the call is stopped from elsewhere (a stream closed during its resend).

    ``wake()`` may be called from any thread (sync) or from the event loop (async); the sleeping side creates its
    event before it checks ``woken``, so a wake between the two is never lost.
    """

    __slots__ = ("_async_event", "_event", "woken")

    def __init__(self) -> None:
        self.woken = False
        self._event: Any = None
        self._async_event: Any = None

    def wake(self) -> None:
        self.woken = True
        for event in (self._event, self._async_event):
            if event is not None:
                event.set()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on this thread, or less if woken."""
        import threading

        event = self._event = threading.Event()
        if not self.woken:
            event.wait(seconds)

    async def asleep(self, seconds: float) -> None:
        """Sleep ``seconds`` in this task, or less if woken."""
        import asyncio  # here: the sync client must not load asyncio

        event = self._async_event = asyncio.Event()
        if self.woken:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


@dataclass(slots=True)
class Sleep:
    seconds: float
    waker: Waker


@dataclass(slots=True)
class Done:
    """The call succeeded: the last command; ``response`` is its result."""

    response: httpx.Response


Command = GetHeaders | Refresh | Send | ReadBody | Close | Sleep | Done


@dataclass(slots=True, eq=False)
class Call:
    """Everything one call needs, gathered by the client before the loop starts.

    Args:
        targets: the deployments, in the pool's order (one for a client without ``deployments``).
        pool: their shared health state.
        prepare: builds the request (without credentials) for a target index; called at most once per target.
        prepared: what ``prepare`` already built (the client builds index 0 first, to validate the options).
        stream: return a streamed success response unread (the stream reads it).
        policy: the retry rules; ``max_retries``: how many retries.
        deadline: the call's budget, already started.
        stream_deadline: the budget of a whole stream (its reader checks it), or None.
        max_body_bytes: the bound on a non-streamed body.
        closed_error: the error for a closed client, or None; checked before every attempt (with ``retrying=True``
            once an attempt was sent, so the message does not say that nothing was).
        stopped: set by :meth:`stop`: the error the call ends with instead of another attempt.
        waker: ends a retry wait early when the call is stopped.
        on_failure: maps an exception raised by the transport to a GrokError (see ``_BaseClient._failure``).
        hold: the call's usage meter, held by :func:`call_flow` while the call runs (None: nothing held).
        observer: dispatches the call's events to its hooks (None: no hooks, no logging, no ``on_retry``).
    """

    targets: Sequence[Target]
    pool: TargetPool
    prepare: Callable[[int], PreparedRequest]
    prepared: dict[int, PreparedRequest]
    stream: bool
    policy: RetryPolicy
    max_retries: int
    deadline: Deadline
    stream_deadline: Deadline | None
    max_body_bytes: int
    closed_error: Callable[..., GrokError | None]
    stopped: GrokError | None = None
    waker: Waker | None = None
    hold: Hold | None = None
    observer: CallObserver | None = None

    def stop(self, error: GrokError) -> None:
        """Stop the call from elsewhere (its stream was closed): no further attempt; a retry wait ends now and the
        call raises ``error``."""
        self.stopped = error
        waker = self.waker
        if waker is not None:
            waker.wake()

    def sleep_waker(self) -> Waker:
        """The waker of a retry wait, made on the first one (most calls never wait).

        Set before ``stopped`` is read: a :meth:`stop` from another thread either sees it and wakes it, or set
        ``stopped`` before this reads it, and then it is woken here.
        """
        waker = self.waker
        if waker is None:
            waker = self.waker = Waker()
            if self.stopped is not None:
                waker.wake()
        return waker

    def halted(self, *, retrying: bool = False) -> GrokError | None:
        """Why the call may not send another attempt (stopped, or the client closed), or None."""
        if self.stopped is not None:
            return self.stopped
        return self.closed_error(retrying=retrying) if retrying else self.closed_error()

    def restart(self) -> None:
        """Start the deadlines now (a stream manager's call starts when its ``with`` block does)."""
        self.deadline.restart()
        if self.stream_deadline is not None:
            self.stream_deadline.restart()


CallFlow = Generator[Command, Any, None]


class Hold(Protocol):
    """What the loop needs of a call's usage meter (``_call_models.Meter``)."""

    def reserve(self) -> None: ...

    def release(self, error: BaseException | None = None) -> None: ...


class TargetPool(Protocol):
    """What the loop needs of a :class:`~grok_azure.DeploymentPool`."""

    def pick(self, *, tried: Collection[int] = (), avoid: Collection[int] = ()) -> Pick | WaitFor: ...

    def record_response(
        self, index: int, status: int, headers: Mapping[str, str], retry_after: float | None = None
    ) -> None: ...

    def record_failure(self, index: int) -> None: ...

    def record_credential_failure(self, index: int) -> None: ...


class _OneTarget:
    """The pool of a client without ``deployments=``: always the one endpoint, and nothing to remember.

    A 429 there is paced by the retry rules alone (the wait honours retry-after), so tracking a cooldown would
    change no decision; skipping it keeps the per-response header parsing off the hot path.
    """

    _ONLY = Pick(0)

    def pick(self, *, tried: Collection[int] = (), avoid: Collection[int] = ()) -> Pick | WaitFor:
        return self._ONLY

    def record_response(
        self, index: int, status: int, headers: Mapping[str, str], retry_after: float | None = None
    ) -> None:
        pass

    def record_failure(self, index: int) -> None:
        pass

    def record_credential_failure(self, index: int) -> None:
        pass


ONE_TARGET = _OneTarget()


def call_flow(call: Call) -> CallFlow:
    """Send ``call`` until it succeeds (the last command is :class:`Done`) or the rules give up (it raises).

    A non-streamed body is read (within ``max_body_bytes`` and the deadline) before returning. A streamed success
    is returned unread, with the deployment's name in ``response.extensions[SERVED_BY]``. If that stream then fails
    before any chunk reached the caller, the stream sends its error back into the flow (``flow.send(error)``),
    which treats it as a failed attempt: it retries (ending with a new :class:`Done`) or raises. A stream that
    delivered a chunk is never resent (see docs/retries.md).

    With ``call.hold`` (the call's usage meter), the budget is held from the flow's start (just before the first
    send, so a stream manager never entered holds nothing) and given back if the call fails or the flow is
    abandoned; a success leaves it to be recorded (the completion's decoder, or the stream when it completes):
    keep a reference to the flow until then.
    """
    hold = call.hold
    observer = call.observer
    if hold is not None:
        hold.reserve()  # may refuse the call (a budget) before anything is sent
    try:
        deadline = call.deadline
        prepared = call.prepared
        # A tuple and None until needed, rather than two sets: objects a call holds while in flight cost the garbage
        # collector's time, and most calls make one attempt.
        tried: tuple[int, ...] = ()
        refreshed: tuple[int, ...] = ()
        tokenless: tuple[int, ...] = ()  # deployments whose credential failed in this call
        sent = 0
        resent = 0  # resends after a token refresh: attempts, but not retries
        wait = 0.0
        backoff = 0.0  # the wait the retry rules chose after the last failed attempt
        unannounced = False  # the retry rules chose to retry, and the observer has not heard of it yet
        waited = 0.0  # slept since the last attempt
        last: GrokError | None = None
        again: int | None = None  # after a token refresh: the same deployment, at once
        index = -1  # the deployment of the last attempt (none yet)
        while True:
            closed = call.halted(retrying=sent > 0)
            if closed is not None:
                raise closed
            if again is not None:
                index, again = again, None
            else:
                index, wait = _choose(call, tried, index, wait, deadline, tokenless)
                if wait > 0:
                    # The retry is announced once, with its wait: here before a wait, else just before the send
                    # (a failover at once may find the deployment's credential failing, and go elsewhere).
                    if unannounced and observer is not None and last is not None:
                        observer.retry(last, wait, sent - resent)
                    unannounced = False
                    waited += wait
                    _raise_interrupt((yield Sleep(wait, call.sleep_waker())))
                    backoff = 0.0  # waited: a credential failing now sends elsewhere without waiting again
                    closed = call.halted(
                        retrying=True
                    )  # closed or stopped during the wait: send nothing more
                    if closed is not None:
                        raise closed
            target = call.targets[index]
            request = prepared.get(index)
            if request is None:
                request = prepared[index] = call.prepare(index)
            if getattr(target.auth, "needs_io", True):
                headers = yield GetHeaders(target)
                if isinstance(headers, BaseException):
                    # Nothing was sent: no attempt, no retry. On to another deployment, after the wait the last
                    # attempt's failure called for.
                    tokenless, tried = _without_credential(call, index, headers, tokenless, tried)
                    wait = backoff
                    continue
            else:  # a key: read here, without a round trip through the executor (an await, for the async client)
                headers = target.auth.headers()
            within = None
            if deadline.seconds is not None or call.stream_deadline is not None:
                within = _time_for_attempt(deadline, call.stream_deadline, sent, last)
            timeout = deadline.attempt_timeout(request.timeout)
            if call.stream_deadline is not None:  # no single read of the stream may outlast its whole budget
                timeout = call.stream_deadline.attempt_timeout(timeout)
            built = request.build(headers, sent, timeout)
            del headers  # before any hook runs: a frame it raises through must not hold the credential
            if observer is not None:
                if unannounced and last is not None:
                    observer.retry(last, waited, sent - resent)
                observer.request(built, target, sent + 1, waited)
            unannounced = False
            result = yield Send(built, target, within)
            sent += 1
            waited = 0.0
            if index not in tried:
                tried += (index,)
            if isinstance(result, BaseException):
                if not isinstance(result, GrokError):
                    raise result  # KeyboardInterrupt, a cancelled task: not a failed attempt
                call.pool.record_failure(index)
                outcome = Outcome(_past_deadline(result, deadline, "waiting for the response", built))
            else:
                response: httpx.Response = result
                if observer is not None:
                    try:
                        observer.response(response)
                    except BaseException:
                        # The body is unread: close it, or the connection stays checked out of the pool for good.
                        _raise_interrupt((yield Close(response)))
                        raise
                status = response.status_code
                streamed = call.stream and 200 <= status < 300 and not page_instead_of_events(response)
                if not streamed:
                    call.pool.record_response(index, status, response.headers)
                if status == 401 and index not in refreshed:
                    refreshed += (index,)
                    renewed = yield Refresh(target, built.headers, response.headers)
                    if isinstance(renewed, BaseException) or renewed:
                        # Read the (small, bounded) 401 body rather than close it unread: that would drop the
                        # connection, and the resend would pay a new TLS handshake.
                        yield from _read_body(call, response, deadline)
                        if isinstance(renewed, BaseException):
                            # The credential failed to renew its token: as when it fails before a send.
                            tokenless, tried = _without_credential(call, index, renewed, tokenless, tried)
                            wait = backoff
                            continue
                        # The same target with the new token: counted in the retry-count header, not as a retry.
                        again = index
                        resent += 1
                        continue
                if target.name is not None:
                    response.extensions[SERVED_BY] = target.name
                # A streamed 2xx whose body is JSON (a gateway's error) or an HTML page is no stream: read it and
                # report it as create() would (not retried, like a non-streamed 2xx with an error body).
                if streamed:
                    refused = refused_encoding(response)
                    if refused is not None:  # the service's answer, not retried (as a non-streamed body's)
                        _raise_interrupt((yield Close(response)))
                        raise refused
                    response.extensions[READ_TIMEOUT] = (
                        request.timeout.read
                    )  # the body's, unshortened (see _stream)
                    if call.pool is not ONE_TARGET:
                        # Its headers prove nothing yet: the deployment's health hears of this answer when the first
                        # chunk arrives (or the stream ends cleanly), and of a failure before that as a failure.
                        response.extensions[STREAM_ANSWERED] = functools.partial(
                            call.pool.record_response, index, status, response.headers
                        )
                    failed = yield Done(response)
                    if failed is None:
                        return
                    # The stream failed before its first chunk reached the caller (the stream sends the failure back
                    # here, see _streaming/_stream.py): an attempt that failed before any answer, like any call's.
                    outcome = _stream_failed(call, index, failed, deadline, built)
                else:
                    failure = (
                        None
                        if _read_already(call, response, deadline)
                        else (yield from _read_body(call, response, deadline))
                    )
                    if failure is None:
                        failure = error_for_status(response)
                        if failure is None:
                            if call.stream:
                                raise page_stream_error(response)
                            yield Done(response)
                            return
                        outcome = Outcome(failure, status, response.headers)
                    else:
                        # Reading the body failed (too large, dropped, the deadline): the service did the work; final.
                        outcome = Outcome(failure, before_first_byte=False)
            if observer is not None:
                observer.error(outcome.error)
            left = _time_left(deadline, call.stream_deadline)
            verdict = retry_decision(
                call.policy,
                outcome,
                sent - resent,
                left,
                call.max_retries,
                elsewhere=len(tried) < len(call.targets),
            )
            if not verdict.retry:
                raise verdict.error
            last, wait = verdict.error, verdict.wait
            backoff = wait
            unannounced = True
    except BaseException as exc:
        if hold is not None:
            hold.release(exc)  # the client's calls always have one: it tells their hooks how the call ended
        elif observer is not None:  # a Call built without a hold (the call-loop tests)
            observer.failed(exc)
        raise


def _without_credential(
    call: Call, index: int, error: BaseException, tokenless: tuple[int, ...], tried: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``call.targets[index]``'s credential could not get a token (it raised ``error``): it and every deployment
    sharing that credential rest (the pool records it) and are avoided by the call from now on. Returns the new
    ``tokenless`` and ``tried``; raises ``error`` when no deployment is left, or when it is an interrupt (not the
    credential's failure)."""
    if not isinstance(error, GrokError):
        raise error
    for other in _sharing_credential(call, index):
        call.pool.record_credential_failure(other)
        if other not in tokenless:
            tokenless += (other,)
        if other not in tried:
            tried += (other,)
    if len(tokenless) >= len(call.targets):
        raise error
    return tokenless, tried


def _sharing_credential(call: Call, index: int) -> tuple[int, ...]:
    """The deployments whose tokens come from the same credential object, for the same scopes, as those of
    ``call.targets[index]`` (itself included): when it cannot get a token for one of them, it cannot for any (a
    client's ``credential=`` serves every deployment that names none of its own)."""
    auth = call.targets[index].auth
    source = getattr(auth, "credential", None)
    if source is None:
        return (index,)
    scopes = getattr(auth, "scopes", None)
    return tuple(
        i
        for i, target in enumerate(call.targets)
        if i == index
        or (
            getattr(target.auth, "credential", None) is source
            and getattr(target.auth, "scopes", None) == scopes
        )
    )


def _choose(
    call: Call,
    tried: tuple[int, ...],
    previous: int,
    wait: float,
    deadline: Deadline,
    tokenless: tuple[int, ...] = (),
) -> tuple[int, float]:
    """The deployment for the next attempt and how long to wait before it.

    Args:
        tried: the deployments this call has sent to.
        previous: the deployment of the last attempt (-1 before the first).
        wait: what the retry rules chose after the last attempt's failure (its retry-after, or backoff).
        tokenless: the deployments whose credential failed in this call, avoided while any other is left.
    """
    choice = call.pool.pick(tried=tried, avoid=tokenless) if tokenless else call.pool.pick(tried=tried)
    if isinstance(choice, Pick) or not choice.firm:
        # A free deployment, or one resting on the pool's guess alone (a breaker rest, a 429 that named no wait):
        # a guess is no reason to wait. One this call has not tried is a failover, at once; one it has tried gets
        # the ordinary retry wait (when it is resting, that attempt is its half-open trial). A wait the previous
        # deployment's server asked for is that deployment's: going back to another one waits a backoff at most.
        if choice.index not in tried:
            return choice.index, 0.0
        return choice.index, (wait if choice.index == previous else min(wait, call.policy.backoff_cap))
    # Every deployment rests for a time a server stated: wait for the soonest if that fits (the last attempt's own
    # wait counts only if the call goes back to that deployment). If it does not fit, try it now anyway: an answer
    # beats failing unsent, and a server that still refuses gets the normal retry rules (a long retry-after then
    # ends the call with its error).
    rest = max(wait, choice.seconds) if choice.index == previous else choice.seconds
    if rest > call.policy.max_server_wait or not deadline.fits(rest):
        return choice.index, wait if deadline.fits(wait) else 0.0
    return choice.index, rest


def _stream_failed(
    call: Call, index: int, failed: object, deadline: Deadline, request: httpx.Request
) -> Outcome:
    """The failed attempt of a stream that broke before its first chunk (dropped, stalled, an error event...).

    Its timeouts count as before the first byte (no answer arrived), so they retry; an error event or a malformed
    event is the service's answer and does not (see RetryPolicy._retryable).
    """
    if not isinstance(failed, GrokError):
        raise TypeError(f"a stream sends back a GrokError, not {type(failed).__name__}")
    if call.stream_deadline is not None and call.stream_deadline.expired():
        raise failed  # the caller's own budget for the stream ran out: final, and no fault of the deployment
    if isinstance(failed, APIConnectionError):
        call.pool.record_failure(index)
    return Outcome(_past_deadline(failed, deadline, "before the stream's first chunk", request))


def _read_already(call: Call, response: httpx.Response, deadline: Deadline) -> bool:
    """Whether the transport already read the whole body, within the limits (the common small answer): then no
    reader is needed. Anything else (not read, too large, past the deadline) goes through :func:`_read_body`."""
    body = held_body(response)
    return body is not None and len(body) <= call.max_body_bytes and not deadline.expired()


def _read_body(
    call: Call, response: httpx.Response, deadline: Deadline
) -> Generator[Command, Any, GrokError | None]:
    """Read a whole body within the limits; the error that stopped it, or None."""
    if response.status_code >= 400 and refused_encoding(response) is not None:
        # An error whose body the SDK will not inflate: its status and headers say what it needs to know (its
        # class, whether and when to retry), so it is reported by them, its body dropped unread.
        _raise_interrupt((yield Close(response)))
        response._content = b""
        return None
    try:
        reader = BodyReader(response, call.max_body_bytes, deadline)
        # A body the transport already holds (the aiohttp transport hands over a small one that came with the
        # headers as read) is counted here: no I/O, so no command for the executor.
        in_memory = reader.feed_read_body()
    except GrokError as exc:  # a body (declared or held) over the limit: drop the connection unread
        error = exc
    else:
        if in_memory:
            return None
        outcome = yield ReadBody(response, reader)
        if outcome is None:
            return None
        if not isinstance(outcome, GrokError):
            raise outcome
        return _past_deadline(outcome, deadline, "reading the body", response.request, cut=True)
    _raise_interrupt((yield Close(response)))
    return error


def _time_for_attempt(
    deadline: Deadline, stream_deadline: Deadline | None, sent: int, last: GrokError | None
) -> float:
    """What the call's budgets leave for the next attempt, which the executor bounds the send by.

    Getting a token, or a wait the event loop or scheduler stretched, may have used up what was left: an attempt
    with no time for it is not sent (its timeouts would be zero, which transports read as none). Raises the
    budget's APITimeoutError then, caused by the last attempt's error (if any).
    """
    for budget in (deadline, stream_deadline):
        if budget is not None and not budget.fits(0.0):
            during = "before the next attempt could be sent" if sent else "before the request could be sent"
            raise budget.error(during) from last
    return _time_left(deadline, stream_deadline)


def _time_left(deadline: Deadline, stream_deadline: Deadline | None) -> float:
    """Seconds the call's budgets leave (``inf`` without either)."""
    left = deadline.remaining()
    return left if stream_deadline is None else min(left, stream_deadline.remaining())


def _past_deadline(
    error: GrokError, deadline: Deadline, during: str, request: httpx.Request, *, cut: bool = False
) -> GrokError:
    """A timeout that struck because the deadline shortened it is the deadline's error, naming the budget; so is
    any failure of a read the deadline's timer ``cut`` off."""
    if (cut or isinstance(error, APITimeoutError)) and deadline.expired():
        timeout = deadline.error(during, request)
        timeout.__cause__ = error.__cause__  # already a credential-free stand-in
        return timeout
    return error


def _raise_interrupt(reply: object) -> None:
    """Re-raise a cancellation or interrupt that came back from a wait or a close; a failed close is no news."""
    if isinstance(reply, BaseException) and not isinstance(reply, Exception):
        raise reply
