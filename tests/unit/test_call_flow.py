"""The call loop on its own (``grok_azure._call_flow.call_flow``): no sockets, no sleeps, no client.

Each test builds a :class:`Call` with fake targets and a fake pool, plays the executor's part (answering every
command the generator yields) and asserts the exact sequence of commands: which deployment each attempt went to,
its retry-count header, every ``Sleep`` and its seconds, the single ``Refresh`` after a 401, and the ``Done``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    CredentialError,
    GrokError,
    HookError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    StreamClosedError,
)
from grok_azure._call_flow import (
    RETRY_COUNT_HEADER,
    Call,
    Close,
    Done,
    GetHeaders,
    ReadBody,
    Refresh,
    Send,
    Sleep,
    Target,
    Waker,
    call_flow,
)
from grok_azure._deadline import Deadline
from grok_azure._deployments import Pick
from grok_azure._endpoint import resolve_endpoint
from grok_azure._hooks import NO_HOOKS, CallInfo, CallObserver, observing
from grok_azure._wire import PreparedRequest, prepare_chat_request

BODY = {"model": "grok-4", "messages": [{"role": "user", "content": "Hi"}]}
REQUEST_ID = "3f0c1d2e-call-flow-test"
KEY = "flow-test-key-0123456789"
# Backoff windows tiny and seeded: waits chosen by jitter are small and reproducible.
FAST = RetryPolicy(backoff_base=0.01, backoff_cap=0.02, rng=random.Random(5))


def target(name: str, model: str | None = None) -> Target:
    return Target(
        resolve_endpoint(f"https://{name}.services.ai.azure.com"), auth=object(), name=name, model=model
    )


EAST, WEST = target("east"), target("west", model="grok-4-west")


@dataclass
class FakePool:
    """Prefers the first untried target (like DeploymentPool without the dice); records what it learns."""

    size: int
    picks: list[tuple[int, ...]] = field(default_factory=list)
    responses: list[tuple[int, int]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)

    credential_failures: list[int] = field(default_factory=list)

    def pick(self, *, tried: Collection[int] = (), avoid: Collection[int] = ()) -> Pick:
        self.picks.append(tuple(sorted(tried)))
        usable = [i for i in range(self.size) if i not in avoid] or list(range(self.size))
        fresh = [i for i in usable if i not in tried]
        return Pick(fresh[0] if fresh else usable[0])

    def record_response(
        self, index: int, status: int, headers: Mapping[str, str], retry_after: float | None = None
    ) -> None:
        self.responses.append((index, status))

    def record_failure(self, index: int) -> None:
        self.failures.append(index)

    def record_credential_failure(self, index: int) -> None:
        self.credential_failures.append(index)


@dataclass
class Built:
    call: Call
    pool: FakePool
    prepared: list[int]  # target indexes prepare() was asked for, in order


def build(
    targets: Sequence[Target] = (EAST,),
    *,
    stream: bool = False,
    policy: RetryPolicy = FAST,
    max_retries: int = 2,
    deadline: Deadline | None = None,
    closed: Callable[[], GrokError | None] = lambda: None,
) -> Built:
    pool = FakePool(len(targets))
    asked: list[int] = []

    def prepare(index: int) -> PreparedRequest:
        asked.append(index)
        model = targets[index].model
        return prepare_chat_request(
            targets[index].endpoint,
            {**BODY, "stream": stream} if model is None else {**BODY, "stream": stream, "model": model},
            api_version=None,
            timeout=httpx.Timeout(5.0),
            request_id=REQUEST_ID,
        )

    call = Call(
        targets=targets,
        pool=pool,
        prepare=prepare,
        prepared={0: prepare(0)},
        stream=stream,
        policy=policy,
        max_retries=max_retries,
        deadline=deadline or Deadline(None),
        stream_deadline=None,
        max_body_bytes=1 << 20,
        closed_error=lambda **_: closed(),  # the client's takes retrying=
    )
    hooks = observing(NO_HOOKS, policy.on_retry)[False]  # as the client builds them (on_retry is a hook)
    if hooks is not None:
        call.observer = CallObserver(hooks, CallInfo(REQUEST_ID, BODY, stream))
    return Built(call, pool, asked)


Answer = Callable[[httpx.Request], "httpx.Response | BaseException"]


def status(code: int, headers: Mapping[str, str] | None = None) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        if 200 <= code < 300:
            content: dict[str, Any] = {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": "grok-4",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
                ],
            }
        else:
            content = {"error": {"code": str(code), "message": f"status {code}"}}
        # Unread, as a transport hands over a body still to come: the loop then reads it with ReadBody.
        body = httpx.ByteStream(json.dumps(content).encode())
        merged = {"content-type": "application/json", **(headers or {})}
        return httpx.Response(code, stream=body, headers=merged, request=request)

    return answer


def raising(error: BaseException) -> Answer:
    return lambda request: error


@dataclass
class Run:
    """What one drive of the flow produced: the commands in compact form, the requests sent, and the outcome."""

    steps: list[tuple[Any, ...]]
    sent: list[httpx.Request]
    done: httpx.Response | None = None
    raised: BaseException | None = None
    within: list[float | None] = field(default_factory=list)  # each Send's bound for the whole send


def drive(
    call: Call,
    answers: Sequence[Answer],
    *,
    refresh: Sequence[bool | BaseException] = (),
    headers: dict[str, str] | BaseException | None = None,
    headers_of: Mapping[str | None, Any] | None = None,
    sleep_reply: BaseException | None = None,
    on_sleep: Callable[[], None] | None = None,
    on_headers: Callable[[], None] | None = None,
) -> Run:
    """Play the executor: answer each command of ``call_flow(call)`` until Done or an exception."""
    flow = call_flow(call)
    answers_left, refreshes = list(answers), list(refresh)
    run = Run([], [])
    reply: Any = None
    try:
        while True:
            command = flow.send(reply)
            if isinstance(command, GetHeaders):
                run.steps.append(("headers", command.target.name))
                if on_headers is not None:
                    on_headers()
                reply = {"api-key": KEY} if headers is None else headers
                if headers_of is not None and command.target.name in headers_of:
                    given = headers_of[command.target.name]  # a reply, or a list of them, one per ask
                    reply = given.pop(0) if isinstance(given, list) else given
            elif isinstance(command, Send):
                request = command.request
                run.sent.append(request)
                run.within.append(command.within)
                run.steps.append(("send", command.target.name, request.headers[RETRY_COUNT_HEADER]))
                reply = answers_left.pop(0)(request)
            elif isinstance(command, ReadBody):
                run.steps.append(("read", command.response.status_code))
                command.response.read()
                reply = None
            elif isinstance(command, Close):
                run.steps.append(("close",))
                reply = None
            elif isinstance(command, Sleep):
                run.steps.append(("sleep", command.seconds))
                if on_sleep is not None:
                    on_sleep()
                reply = sleep_reply
            elif isinstance(command, Refresh):
                run.steps.append(("refresh", command.target.name))
                reply = refreshes.pop(0)
            else:
                assert isinstance(command, Done)
                run.steps.append(("done", command.response.status_code))
                run.done = command.response
                flow.close()
                return run
    except BaseException as exc:  # the flow's own raise is the outcome under test
        run.raised = exc
        return run


# -- success ------------------------------------------------------------------------------------------------


def test_a_success_is_one_attempt_then_done() -> None:
    built = build()
    run = drive(built.call, [status(200)])
    assert run.steps == [("headers", "east"), ("send", "east", "0"), ("read", 200), ("done", 200)]
    assert run.done is not None
    assert run.done.extensions["grok_azure.served_by"] == "east"
    assert built.pool.responses == [(0, 200)]
    assert run.sent[0].headers["api-key"] == KEY
    assert run.sent[0].headers["x-ms-client-request-id"] == REQUEST_ID


def test_a_streamed_success_is_handed_over_unread() -> None:
    def stream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"})

    run = drive(build(stream=True).call, [stream])
    assert run.steps == [("headers", "east"), ("send", "east", "0"), ("done", 200)]


# -- a 429 with a server wait ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "1"}, 1.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"x-ms-retry-after-ms": "125"}, 0.125),
        ({"x-ratelimit-reset-tokens": "2", "x-ratelimit-remaining-tokens": "0"}, 2.0),
        ({"retry-after-ms": "50", "retry-after": "9"}, 0.05),  # the millisecond header wins
    ],
)
def test_a_429_sleeps_for_the_servers_wait_then_resends(headers: dict[str, str], wait: float) -> None:
    seen: list[tuple[int, type, float]] = []
    policy = RetryPolicy(on_retry=lambda n, error, w: seen.append((n, type(error), w)))
    run = drive(build(policy=policy).call, [status(429, headers), status(200)])
    assert run.steps == [
        ("headers", "east"),
        ("send", "east", "0"),
        ("read", 429),
        ("sleep", wait),
        ("headers", "east"),
        ("send", "east", "1"),
        ("read", 200),
        ("done", 200),
    ]
    assert seen == [(1, RateLimitError, wait)]
    assert [r.content for r in run.sent] == [run.sent[0].content] * 2
    assert {r.headers["x-ms-client-request-id"] for r in run.sent} == {REQUEST_ID}


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-remaining-requests": "-1", "x-ratelimit-reset-requests": "-1"},
        {
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-limit-tokens": "0",
            "x-ratelimit-reset-tokens": "0",
        },
        {},
    ],
)
def test_a_429_with_only_placeholder_counters_backs_off_by_jitter(headers: dict[str, str]) -> None:
    # -1 and 0 are "unknown": neither "wait for ever" nor "no wait at all"; the policy's backoff decides.
    run = drive(build().call, [status(429, headers), status(200)])
    sleeps = [step[1] for step in run.steps if step[0] == "sleep"]
    assert len(sleeps) == 1
    assert 0.0 <= sleeps[0] <= FAST.backoff_base
    assert run.done is not None


def test_a_server_wait_over_max_server_wait_ends_at_once_with_retry_after() -> None:
    policy = RetryPolicy(max_server_wait=1.0)
    run = drive(build(policy=policy).call, [status(429, {"retry-after": "5"}), status(200)])
    assert run.steps == [("headers", "east"), ("send", "east", "0"), ("read", 429)]
    assert isinstance(run.raised, RateLimitError)
    assert run.raised.retry_after == 5.0


def test_a_server_wait_beyond_the_deadline_ends_at_once() -> None:
    clock = [100.0]
    deadline = Deadline(2.0, clock=lambda: clock[0])
    run = drive(build(deadline=deadline).call, [status(429, {"retry-after-ms": "1995"}), status(200)])
    assert [s[0] for s in run.steps] == ["headers", "send", "read"]
    assert isinstance(run.raised, RateLimitError)
    assert run.raised.retry_after == pytest.approx(1.995)


def test_each_attempts_timeouts_are_cut_to_what_the_deadline_leaves() -> None:
    clock = [100.0]
    deadline = Deadline(3.0, clock=lambda: clock[0])

    def slow_503(request: httpx.Request) -> httpx.Response:
        clock[0] += 2.5  # this attempt used most of the budget
        return status(503, {"retry-after-ms": "100"})(request)

    run = drive(build(deadline=deadline).call, [slow_503, status(200)])
    assert [s for s in run.steps if s[0] == "sleep"] == [("sleep", 0.1)]
    first, second = (r.extensions["timeout"] for r in run.sent)
    assert first["read"] == pytest.approx(3.0)  # min(5 s configured, 3 s left)
    assert second["read"] == pytest.approx(0.5)  # 0.5 s left when it was built (the fake sleep takes no time)


# -- statuses that retry and that do not -------------------------------------------------------------------


def test_server_errors_retry_up_to_max_retries_with_the_count_header_0_1_2() -> None:
    run = drive(build(max_retries=2).call, [status(503), status(500), status(502), status(200)])
    assert [s for s in run.steps if s[0] == "send"] == [
        ("send", "east", "0"),
        ("send", "east", "1"),
        ("send", "east", "2"),
    ]
    assert isinstance(run.raised, InternalServerError)
    assert run.raised.status_code == 502  # the last attempt's error


@pytest.mark.parametrize("code", [400, 403, 404, 422])
def test_final_statuses_are_sent_once(code: int) -> None:
    built = build()
    run = drive(built.call, [status(code, {"x-should-retry": "true"}), status(200)])
    assert run.steps == [("headers", "east"), ("send", "east", "0"), ("read", code)]
    assert isinstance(run.raised, GrokError)
    assert getattr(run.raised, "status_code", None) == code
    assert built.pool.responses == [(0, code)]


def test_max_retries_zero_sends_once() -> None:
    run = drive(build(max_retries=0).call, [status(503), status(200)])
    assert [s[0] for s in run.steps] == ["headers", "send", "read"]
    assert isinstance(run.raised, InternalServerError)


# -- 401: one token refresh, at once -------------------------------------------------------------------------


def test_a_401_refreshes_once_and_resends_at_once() -> None:
    built = build()
    run = drive(built.call, [status(401), status(200)], refresh=[True])
    assert run.steps == [
        ("headers", "east"),
        ("send", "east", "0"),
        ("refresh", "east"),
        ("read", 401),  # the small 401 body is read so the connection can be reused
        ("headers", "east"),  # the new token
        ("send", "east", "1"),  # no Sleep before it
        ("read", 200),
        ("done", 200),
    ]
    assert built.pool.picks == [()]  # the resend goes to the same deployment without asking the pool


def test_a_second_401_is_the_error_not_another_refresh() -> None:
    run = drive(build().call, [status(401), status(401), status(200)], refresh=[True, True])
    assert [s[0] for s in run.steps].count("refresh") == 1
    assert [s for s in run.steps if s[0] == "send"] == [("send", "east", "0"), ("send", "east", "1")]
    assert isinstance(run.raised, AuthenticationError)


def test_a_401_whose_credential_has_no_new_token_is_the_error() -> None:
    run = drive(build().call, [status(401), status(200)], refresh=[False])
    assert run.steps == [("headers", "east"), ("send", "east", "0"), ("refresh", "east"), ("read", 401)]
    assert isinstance(run.raised, AuthenticationError)


def test_a_refresh_that_fails_raises_its_error_without_resending() -> None:
    failure = CredentialError("could not get a token")
    run = drive(build().call, [status(401), status(200)], refresh=[failure])
    assert [s[0] for s in run.steps] == ["headers", "send", "refresh", "read"]
    assert run.raised is failure


# -- closed clients and failed sends -------------------------------------------------------------------------


def test_a_closed_client_raises_before_anything_is_sent() -> None:
    closed = ClientClosedError("closed; nothing was sent")
    built = build(closed=lambda: closed)
    run = drive(built.call, [status(200)])
    assert run.steps == []
    assert run.raised is closed
    assert built.pool.picks == []


def test_a_client_closed_during_the_wait_raises_before_the_resend() -> None:
    state: dict[str, GrokError | None] = {"closed": None}

    def close() -> None:
        state["closed"] = ClientClosedError("closed while waiting")

    call = build(closed=lambda: state["closed"]).call
    run = drive(call, [status(503, {"retry-after-ms": "10"}), status(200)], on_sleep=close)
    assert [s[0] for s in run.steps] == ["headers", "send", "read", "sleep"]
    assert isinstance(run.raised, ClientClosedError)


def test_a_client_closed_while_an_attempt_failed_does_not_wait_for_nothing() -> None:
    state: dict[str, GrokError | None] = {"closed": None}

    def closing_503(request: httpx.Request) -> httpx.Response:
        state["closed"] = ClientClosedError("closed meanwhile")
        return status(503, {"retry-after-ms": "10"})(request)

    run = drive(build(closed=lambda: state["closed"]).call, [closing_503, status(200)])
    assert [s[0] for s in run.steps] == ["headers", "send", "read"]  # no sleep before failing
    assert isinstance(run.raised, ClientClosedError)


@pytest.mark.parametrize("error", [APIConnectionError("refused"), APITimeoutError("connect timed out")])
def test_a_grok_error_from_send_is_a_failed_attempt_that_retries(error: GrokError) -> None:
    built = build()
    run = drive(built.call, [raising(error), status(200)])
    sleeps = [s for s in run.steps if s[0] == "sleep"]
    assert [s[0] for s in run.steps] == ["headers", "send", "sleep", "headers", "send", "read", "done"]
    assert 0.0 <= sleeps[0][1] <= FAST.backoff_base  # backoff: no server said how long
    assert built.pool.failures == [0]
    assert [s[2] for s in run.steps if s[0] == "send"] == ["0", "1"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), asyncio.CancelledError(), SystemExit(3)])
def test_an_interrupt_from_send_is_re_raised_not_retried(interrupt: BaseException) -> None:
    built = build()
    run = drive(built.call, [raising(interrupt), status(200)])
    assert run.steps == [("headers", "east"), ("send", "east", "0")]
    assert run.raised is interrupt
    assert built.pool.failures == []  # not the deployment's fault


def test_an_interrupt_during_the_wait_is_re_raised() -> None:
    interrupt = KeyboardInterrupt()
    run = drive(build().call, [status(503, {"retry-after-ms": "10"}), status(200)], sleep_reply=interrupt)
    assert [s[0] for s in run.steps] == ["headers", "send", "read", "sleep"]
    assert run.raised is interrupt


def test_a_credential_that_fails_to_give_headers_ends_the_call_unsent() -> None:
    failure = CredentialError("no token")
    run = drive(build().call, [status(200)], headers=failure)
    assert run.steps == [("headers", "east")]
    assert run.raised is failure


def test_an_on_retry_hook_that_raises_ends_the_call() -> None:
    def hook(attempt: int, error: GrokError, wait: float) -> None:
        raise RuntimeError("stop retrying")

    run = drive(build(policy=RetryPolicy(on_retry=hook)).call, [status(503), status(200)])
    assert [s[0] for s in run.steps] == ["headers", "send", "read"]
    assert isinstance(run.raised, HookError)  # every failure ends in a GrokError
    assert isinstance(run.raised.__cause__, RuntimeError)


# -- failover --------------------------------------------------------------------------------------------------


def test_failover_goes_to_the_untried_target_without_sleeping() -> None:
    seen: list[tuple[int, float]] = []
    policy = RetryPolicy(on_retry=lambda n, error, w: seen.append((n, w)))
    built = build((EAST, WEST), policy=policy)
    run = drive(built.call, [status(429, {"retry-after": "3"}), status(200)])
    assert run.steps == [
        ("headers", "east"),
        ("send", "east", "0"),
        ("read", 429),
        ("headers", "west"),  # no ("sleep", 3.0): the other deployment was not tried yet
        ("send", "west", "1"),
        ("read", 200),
        ("done", 200),
    ]
    assert seen == [(1, 0.0)]
    assert built.pool.picks == [(), (0,)]
    assert built.pool.responses == [(0, 429), (1, 200)]
    assert built.prepared == [0, 1]  # each target's request is built once
    assert run.done is not None
    assert run.done.extensions["grok_azure.served_by"] == "west"
    east, west = run.sent
    assert b'"model":"grok-4"' in east.content
    assert b'"model":"grok-4-west"' in west.content
    assert east.headers["x-ms-client-request-id"] == west.headers["x-ms-client-request-id"] == REQUEST_ID


def test_going_back_to_a_free_tried_target_waits_a_backoff_at_most() -> None:
    built = build((EAST, WEST))
    run = drive(
        built.call,
        [status(503, {"retry-after-ms": "40"}), status(503, {"retry-after-ms": "60"}), status(200)],
    )
    assert [s for s in run.steps if s[0] in ("send", "sleep")] == [
        ("send", "east", "0"),
        ("send", "west", "1"),  # failover: no wait
        # Back to one already tried that the pool says is free: west's 60 ms was west's; a backoff at most
        # (FAST's cap). Had east still been resting, the pool would say so and the call would wait for east's rest.
        ("sleep", 0.02),
        ("send", "east", "2"),
    ]
    assert run.done is not None


def test_a_call_stopped_during_the_wait_raises_its_stop_error_and_sends_nothing_more() -> None:
    call = build().call
    stop = StreamClosedError("the stream was closed")
    run = drive(call, [status(503, {"retry-after-ms": "10"}), status(200)], on_sleep=lambda: call.stop(stop))
    assert [s[0] for s in run.steps] == ["headers", "send", "read", "sleep"]
    assert run.raised is stop
    assert call.waker.woken


def test_a_woken_waker_ends_a_sleep_at_once_sync_and_async() -> None:
    import threading

    waker = Waker()
    threading.Timer(0.05, waker.wake).start()
    waker.sleep(30)  # returns when woken (the test would hang for 30 s otherwise)
    assert waker.woken

    async def run() -> None:
        async_waker = Waker()
        asyncio.get_running_loop().call_later(0.05, async_waker.wake)
        await asyncio.wait_for(async_waker.asleep(30), timeout=10)

    asyncio.run(run())


def test_a_body_the_transport_already_read_needs_no_read_command() -> None:
    def in_memory(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"code": "503", "message": "busy"}}, request=request)

    run = drive(build().call, [in_memory, status(200)])
    assert [step[0] for step in run.steps] == ["headers", "send", "sleep", "headers", "send", "read", "done"]


# -- no attempt without time for it; what each send may take ------------------------------------------------


def test_an_attempt_the_deadline_left_no_time_for_is_not_sent() -> None:
    clock = [100.0]
    deadline = Deadline(1.0, clock=lambda: clock[0])

    def slow_token() -> None:
        clock[0] += 1.2  # getting the token took longer than the whole budget

    run = drive(build(deadline=deadline).call, [status(200)], on_headers=slow_token)
    assert run.steps == [("headers", "east")]  # nothing sent: its timeouts would all have been zero
    assert isinstance(run.raised, APITimeoutError)
    assert "deadline=1 s ran out before the request could be sent" in str(run.raised)


def test_a_retry_whose_wait_overran_the_deadline_is_not_sent() -> None:
    clock = [100.0]
    deadline = Deadline(1.0, clock=lambda: clock[0])

    def overrun() -> None:
        clock[0] += 0.995  # a 0.5 s wait the event loop stretched: 5 ms left, under MIN_ATTEMPT_SECONDS

    run = drive(
        build(deadline=deadline).call,
        [status(503, {"retry-after-ms": "500"}), status(200)],
        on_sleep=overrun,
    )
    assert [s[0] for s in run.steps] == ["headers", "send", "read", "sleep", "headers"]
    assert isinstance(run.raised, APITimeoutError)
    assert "ran out before the next attempt could be sent" in str(run.raised)
    assert isinstance(run.raised.__cause__, InternalServerError)  # what the last attempt failed with


def test_each_send_is_bounded_by_what_the_deadline_leaves() -> None:
    clock = [100.0]
    deadline = Deadline(3.0, clock=lambda: clock[0])

    def slow_503(request: httpx.Request) -> httpx.Response:
        clock[0] += 2.5
        return status(503, {"retry-after-ms": "100"})(request)

    run = drive(build(deadline=deadline).call, [slow_503, status(200)])
    assert run.within == [pytest.approx(3.0), pytest.approx(0.5)]
    assert drive(build().call, [status(200)]).within == [None]  # no deadline: no bound of the SDK's own


def test_a_resend_after_a_token_refresh_is_not_counted_as_a_retry() -> None:
    retries: list[int] = []
    policy = RetryPolicy(
        backoff_base=0.01, backoff_cap=0.02, on_retry=lambda attempt, error, wait: retries.append(attempt)
    )
    answers = [status(401), status(429, {"retry-after-ms": "10"}), status(200)]
    run = drive(build(policy=policy, max_retries=1).call, answers, refresh=[True])
    assert run.done is not None
    assert run.done.status_code == 200
    assert [s[2] for s in run.steps if s[0] == "send"] == ["0", "1", "2"]  # the header counts every attempt
    assert retries == [1]  # on_retry numbers retries, not attempts


def test_a_read_the_deadline_cut_off_ends_with_the_deadline_error() -> None:
    clock = [100.0]
    deadline = Deadline(1.0, clock=lambda: clock[0])
    call = build(deadline=deadline).call
    flow = call_flow(call)
    command = flow.send(None)
    assert isinstance(command, GetHeaders)
    command = flow.send({"api-key": KEY})
    assert isinstance(command, Send)
    # A body that was not read with the headers (a streamed response), so the executor must read it.
    response = httpx.Response(200, stream=httpx.ByteStream(b"{}"), request=command.request)
    command = flow.send(response)
    assert isinstance(command, ReadBody)
    clock[0] += 1.0  # the timer shut the socket: the read failed as a dropped connection, at the deadline
    with pytest.raises(APITimeoutError, match="deadline=1 s ran out reading the body"):
        flow.send(
            APIConnectionError("Connection error: RemoteProtocolError", request=command.response.request)
        )


# -- a deployment's credential fails ----------------------------------------------------------------------------


def _broken_credential() -> CredentialError:
    return CredentialError("Could not get an Entra ID token: the client secret expired")


class TokenAuth:
    """A token auth as the loop sees it: the credential it asks (shared or not between deployments)."""

    def __init__(self, credential: object) -> None:
        self.credential = credential
        self.scopes = ("https://ai.azure.com/.default",)


def test_a_credential_that_fails_goes_on_to_another_deployment_unsent() -> None:
    built = build((EAST, WEST))
    run = drive(built.call, [status(200)], headers_of={"east": _broken_credential()})
    assert run.steps == [
        ("headers", "east"),
        ("headers", "west"),
        ("send", "west", "0"),
        ("read", 200),
        ("done", 200),
    ]
    assert built.pool.credential_failures == [0]
    assert built.pool.failures == []  # not a failed attempt: nothing was sent


def _recording_policy(retries: list[tuple[int, str, float]]) -> RetryPolicy:
    return RetryPolicy(
        backoff_base=0.5,
        backoff_cap=0.5,
        rng=random.Random(5),
        on_retry=lambda attempt, error, wait: retries.append((attempt, type(error).__name__, wait)),
    )


def test_a_credential_that_fails_on_a_failover_leaves_the_retry_its_backoff_and_one_hook_call() -> None:
    retries: list[tuple[int, str, float]] = []
    built = build((EAST, WEST), policy=_recording_policy(retries))
    run = drive(built.call, [status(503), status(200)], headers_of={"west": _broken_credential()})
    # East failed; the retry went to west (a failover, at once), whose credential failed; back on east, the retry
    # waits east's backoff, as it would have without west, and the hook hears of it once, with that wait.
    kinds = [step[0] for step in run.steps]
    assert kinds == ["headers", "send", "read", "headers", "sleep", "headers", "send", "read", "done"]
    slept = next(step[1] for step in run.steps if step[0] == "sleep")
    assert slept > 0
    assert retries == [(1, "InternalServerError", slept)]
    assert [s[2] for s in run.steps if s[0] == "send"] == ["0", "1"]


def test_a_credential_that_fails_after_the_retry_waited_does_not_wait_again() -> None:
    retries: list[tuple[int, str, float]] = []
    built = build((EAST, WEST), policy=_recording_policy(retries))
    answers = [status(503), status(503), status(200)]
    # East answers, then its credential fails on the retry that waited for it: west at once, no second wait.
    run = drive(built.call, answers, headers_of={"east": [{"api-key": KEY}, _broken_credential()]})
    kinds = [step[0] for step in run.steps]
    assert kinds == [
        "headers", "send", "read",  # east: 503
        "headers", "send", "read",  # west at once: 503
        "sleep", "headers",  # back to east after the backoff: its credential fails
        "headers", "send", "read", "done",  # west, without waiting again
    ]  # fmt: skip
    slept = next(step[1] for step in run.steps if step[0] == "sleep")
    assert [wait for _, _, wait in retries] == [0.0, slept]
    assert [attempt for attempt, _, _ in retries] == [1, 2]


def test_deployments_sharing_a_credential_fail_together() -> None:
    shared = object()
    east = Target(EAST.endpoint, auth=TokenAuth(shared), name="east")
    west = Target(WEST.endpoint, auth=TokenAuth(shared), name="west")
    built = build((east, west))
    run = drive(built.call, [], headers_of={"east": _broken_credential(), "west": {"api-key": KEY}})
    assert isinstance(run.raised, CredentialError)
    assert run.steps == [("headers", "east")]  # west's tokens come from the same credential: not asked again
    assert built.pool.credential_failures == [0, 1]


def test_deployments_with_their_own_credentials_each_get_asked_once() -> None:
    east = Target(EAST.endpoint, auth=TokenAuth(object()), name="east")
    west = Target(WEST.endpoint, auth=TokenAuth(object()), name="west")
    built = build((east, west))
    broken = _broken_credential()
    run = drive(built.call, [], headers_of={"east": broken, "west": broken})
    assert run.raised is broken
    assert run.steps == [("headers", "east"), ("headers", "west")]
    assert built.pool.credential_failures == [0, 1]  # the last one rests too


def test_an_interrupt_while_getting_a_token_is_not_a_credential_failure() -> None:
    built = build((EAST, WEST))
    interrupt = KeyboardInterrupt()
    run = drive(built.call, [status(200)], headers_of={"east": interrupt})
    assert run.raised is interrupt
    assert built.pool.credential_failures == []


def test_a_credential_that_fails_to_renew_after_a_401_goes_on_to_another_deployment() -> None:
    built = build((EAST, WEST))
    run = drive(built.call, [status(401), status(200)], refresh=[_broken_credential()])
    assert run.steps == [
        ("headers", "east"),
        ("send", "east", "0"),
        ("refresh", "east"),
        ("read", 401),
        ("headers", "west"),
        ("send", "west", "1"),
        ("read", 200),
        ("done", 200),
    ]
    assert built.pool.credential_failures == [0]


def test_a_credential_that_fails_to_renew_on_the_only_deployment_ends_the_call() -> None:
    broken = _broken_credential()
    built = build((EAST,))
    run = drive(built.call, [status(401)], refresh=[broken])
    assert run.raised is broken
    assert [step[0] for step in run.steps] == ["headers", "send", "refresh", "read"]
