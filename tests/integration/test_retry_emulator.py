"""Retries end to end: GrokClient and AsyncGrokClient against the Foundry emulator's faults and quotas.

Every call is written the way users write it: ``with GrokClient(...) as client:``, an inline
``for chunk in client.chat.completions.create(..., stream=True)``, ``asyncio.gather`` of tasks. What reached the
service is read from the emulator's own request log. Waits are small (a few tenths of a second) except where a
header form only carries whole seconds; no test asserts a duration, only that the wait the ``on_retry`` hook saw is
the one the header asked for.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from grok_azure import (
    APIStatusError,
    APITimeoutError,
    AsyncGrokClient,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ContentFilterError,
    GrokClient,
    GrokError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
)
from grok_azure.testing import Fault, FoundryEmulator

from ._support import EMULATOR_DEPLOYMENTS

KEY = "retry-emulator-key-0123456789"
CHAT = "chat"  # accepts every parameter these tests send
GROK4 = "grok-4"  # rejects reasoning_effort as xAI documents (a 422 on /models)
DEPLOYMENTS = {CHAT: "grok-4-1-fast-non-reasoning", GROK4: EMULATOR_DEPLOYMENTS[GROK4]}
PROMPT = "one two three"
ANSWER = f"Echo: {PROMPT}"
KINDS = ("sync", "async")
# Tiny backoff for the statuses that carry no wait, so that the tests spend their time on the header waits.
QUICK = {"backoff_base": 0.02, "backoff_cap": 0.05}


@pytest.fixture(scope="module")
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


class Hook:
    """An ``on_retry`` that records (attempt, error, wait)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, GrokError, float]] = []
        self._lock = threading.Lock()

    def __call__(self, attempt: int, error: GrokError, wait: float) -> None:
        with self._lock:
            self.calls.append((attempt, error, wait))

    @property
    def waits(self) -> list[float]:
        return [wait for _, _, wait in self.calls]


def options(emu: FoundryEmulator, hook: Hook | None = None, **more: Any) -> dict[str, Any]:
    policy = RetryPolicy(on_retry=hook, rng=random.Random(3), **QUICK)
    return {"endpoint": emu.url, "api_key": KEY, "retry": policy, "timeout": 10, **more}


def messages(text: str = PROMPT) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# -- the calls, as users write them -------------------------------------------------------------------------


def ask_sync(client_options: dict[str, Any], *, stream: bool = False, model: str = CHAT, **call: Any) -> str:
    with GrokClient(**client_options) as client:
        if not stream:
            return client.chat.completions.create(model=model, messages=messages(), **call).text
        text = ""
        for chunk in client.chat.completions.create(model=model, messages=messages(), stream=True, **call):
            for choice in chunk.choices:
                text += choice.delta.content or ""
        return text


async def ask_async(
    client_options: dict[str, Any], *, stream: bool = False, model: str = CHAT, **call: Any
) -> str:
    async with AsyncGrokClient(**client_options) as client:
        if not stream:
            completion = await client.chat.completions.create(model=model, messages=messages(), **call)
            return completion.text
        text = ""
        async for chunk in await client.chat.completions.create(
            model=model, messages=messages(), stream=True, **call
        ):
            for choice in chunk.choices:
                text += choice.delta.content or ""
        return text


def ask(kind: str, client_options: dict[str, Any], *, stream: bool = False, **call: Any) -> str:
    if kind == "sync":
        return ask_sync(client_options, stream=stream, **call)
    return asyncio.run(ask_async(client_options, stream=stream, **call))


def statuses(emu: FoundryEmulator) -> list[int]:
    return [r.status for r in emu.requests]


# -- 429: every header form ----------------------------------------------------------------------------------


# Both clients run the same decisions (only the sleep differs), so the forms that cost a whole second run once each.
FORMS = [
    ("sync", Fault.rate_limited(0.15, header="retry-after-ms"), "retry-after-ms", 0.15),
    ("async", Fault.rate_limited(0.15, header="retry-after-ms"), "retry-after-ms", 0.15),
    ("sync", Fault.rate_limited(0.1, header="x-ms-retry-after-ms"), "x-ms-retry-after-ms", 0.1),
    ("async", Fault.rate_limited(0.1, header="x-ms-retry-after-ms"), "x-ms-retry-after-ms", 0.1),
    ("sync", Fault.rate_limited(1, header="retry-after"), "retry-after", 1.0),  # whole seconds only
    ("async", Fault.rate_limited(1, header="x-ratelimit-reset-tokens"), "x-ratelimit-reset-tokens", 1.0),
    # The reset-requests form: test_a_reset_header_among_placeholder_counters_is_the_wait.
]


@pytest.mark.parametrize(("kind", "fault", "header", "wait"), FORMS, ids=[f"{f[2]}-{f[0]}" for f in FORMS])
def test_a_429_waits_as_its_header_says_then_returns_the_completion(
    emulator: FoundryEmulator, kind: str, fault: Fault, header: str, wait: float
) -> None:
    emulator.fault(fault)
    hook = Hook()
    assert ask(kind, options(emulator, hook)) == ANSWER
    assert statuses(emulator) == [429, 200]
    [(attempt, error, waited)] = hook.calls
    assert attempt == 1
    assert isinstance(error, RateLimitError)
    assert header in error.headers
    assert waited == wait


@pytest.mark.parametrize("kind", ["sync"])
def test_a_429_with_an_http_date_waits_until_that_date(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.rate_limited(1, header="retry-after-date"))
    seen: list[tuple[float, float]] = []

    def hook(attempt: int, error: GrokError, wait: float) -> None:
        assert isinstance(error, RateLimitError)
        until = parsedate_to_datetime(error.headers["retry-after"]) - datetime.now(timezone.utc)
        seen.append((wait, until.total_seconds()))

    policy = RetryPolicy(on_retry=hook, backoff_base=5.0, backoff_cap=5.0)  # a backoff would show as > 1 s
    assert ask(kind, {"endpoint": emulator.url, "api_key": KEY, "retry": policy}) == ANSWER
    [(wait, until)] = seen
    assert 0.0 <= wait <= 1.0
    assert wait == pytest.approx(max(0.0, until), abs=0.05)  # the date, read a moment earlier
    assert statuses(emulator) == [429, 200]


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_before_a_stream_starts_is_retried_inline(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.rate_limited(0.05, header="retry-after-ms"))
    emulator.fault(Fault.server_error(503))
    hook = Hook()
    assert ask(kind, options(emulator, hook), stream=True) == ANSWER
    assert statuses(emulator) == [429, 503, 200]
    assert [type(e) for _, e, _ in hook.calls] == [RateLimitError, InternalServerError]
    assert hook.waits[0] == 0.05
    assert [r.json["stream"] for r in emulator.requests] == [True, True, True]


# -- Azure's placeholder counters: -1 / 0 are "unknown", never "wait for ever" nor "empty" ----------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("counters", ["unknown", "zero"])
def test_a_429_whose_counters_are_placeholders_backs_off_and_succeeds(
    emulator: FoundryEmulator, kind: str, counters: str
) -> None:
    emulator.fault(Fault.rate_limited(header=None, counters=counters), times=2)  # type: ignore[arg-type]
    hook = Hook()
    assert ask(kind, options(emulator, hook)) == ANSWER
    assert statuses(emulator) == [429, 429, 200]
    # No wait was read from -1 / 0 / reset 0: each is full-jitter backoff within its window (0.02 s, then 0.04 s).
    assert len(hook.waits) == 2
    assert 0.0 <= hook.waits[0] <= 0.02
    assert 0.0 <= hook.waits[1] <= 0.04
    assert all(e.headers["x-ratelimit-limit-requests"] == "0" for _, e, _ in hook.calls)


@pytest.mark.parametrize("kind", ["async"])
def test_a_reset_header_among_placeholder_counters_is_the_wait(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.rate_limited(1, header="x-ratelimit-reset-requests", counters="unknown"))
    hook = Hook()
    assert ask(kind, options(emulator, hook)) == ANSWER
    assert hook.waits == [1.0]  # the reset of 1 s, not the -1 remaining nor the other reset's 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("counters", ["unknown", "zero"])
def test_replies_with_placeholder_counters_change_nothing(kind: str, counters: str) -> None:
    hook = Hook()
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, rate_limit_counters=counters) as emu:  # type: ignore[arg-type]
        answers = [ask(kind, options(emu, hook), stream=stream) for stream in (False, True, False)]
        raw = httpx.post(
            f"{emu.url}/openai/v1/chat/completions",
            headers={"api-key": KEY},
            json={"model": CHAT, "messages": messages()},
        )
    assert raw.headers["x-ratelimit-remaining-tokens"] == ("-1" if counters == "unknown" else "0")
    assert answers == [ANSWER] * 3
    assert hook.calls == []  # no retry, no wait


@pytest.mark.parametrize("kind", KINDS)
def test_a_quota_refusal_with_placeholder_counters_backs_off_until_the_window_refills(kind: str) -> None:
    # rpm=60 over 1 s windows: one request per second (so a refusal needs no fast machine: the second call
    # within a second is refused); Azure's placeholders and no retry header on the 429.
    hook = Hook()
    quota: dict[str, Any] = {"rpm": 60, "quota_window": 1, "rate_limit_counters": "unknown"}
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, **quota) as emu:
        policy = RetryPolicy(on_retry=hook, backoff_base=0.2, backoff_cap=0.4, rng=random.Random(1))
        client_options = {"endpoint": emu.url, "api_key": KEY, "retry": policy, "max_retries": 10}
        answers = [ask(kind, client_options) for _ in range(4)]
        refused = [r for r in emu.requests if r.status == 429]
    assert answers == [ANSWER] * 4
    assert refused  # a second call within a window was refused...
    assert all(0.0 <= wait <= 0.4 for wait in hook.waits)  # ...and waited by backoff, not by the counters


# -- statuses that retry, and those that never do -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.server_error(500), 500),
        (Fault.server_error(502, html=True), 502),
        (Fault.server_error(503), 503),
        (Fault.server_error(504), 504),
        (Fault.request_timeout(), 408),
    ],
    ids=["500", "502-html", "503", "504", "408"],
)
def test_server_errors_and_408_are_retried(
    emulator: FoundryEmulator, kind: str, fault: Fault, code: int
) -> None:
    emulator.fault(fault, times=2)
    hook = Hook()
    assert ask(kind, options(emulator, hook)) == ANSWER
    assert statuses(emulator) == [code, code, 200]
    assert [attempt for attempt, _, _ in hook.calls] == [1, 2]
    assert all(isinstance(e, APIStatusError) and e.status_code == code for _, e, _ in hook.calls)


@pytest.mark.parametrize("kind", KINDS)
def test_retries_give_up_after_max_retries_with_the_last_error(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.server_error(502, html=True), times=3)
    with pytest.raises(InternalServerError) as info:
        ask(kind, options(emulator, max_retries=2))
    assert info.value.status_code == 502
    assert statuses(emulator) == [502, 502, 502]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("setup", "call", "error", "code"),
    [
        (lambda emu: emu.fault(Fault.content_filter()), {}, ContentFilterError, 400),
        (lambda emu: emu.fault(Fault.context_length()), {}, BadRequestError, 400),
        (lambda emu: None, {"model": GROK4, "reasoning_effort": "low"}, BadRequestError, 400),
        (lambda emu: None, {"api_key": "wrong-key-0123456789"}, AuthenticationError, 401),
        (lambda emu: None, {"model": "no-such-deployment"}, NotFoundError, 404),
    ],
    ids=["content-filter-400", "context-length-400", "invalid-400", "401", "404"],
)
def test_final_statuses_reach_the_emulator_once(
    emulator: FoundryEmulator, kind: str, setup: Any, call: dict[str, Any], error: type, code: int
) -> None:
    setup(emulator)
    hook = Hook()
    client_options = options(emulator, hook)
    call = dict(call)  # the parameters are shared by both kinds
    if "api_key" in call:
        client_options["api_key"] = call.pop("api_key")
    with pytest.raises(error) as info:
        ask(kind, client_options, **call)
    assert info.value.status_code == code
    assert statuses(emulator) == [code]
    assert hook.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_422_on_the_models_route_is_not_retried(emulator: FoundryEmulator, kind: str) -> None:
    client_options = options(emulator, endpoint=emulator.url + "/models")
    with pytest.raises(UnprocessableEntityError):
        ask(kind, client_options, model=GROK4, reasoning_effort="low")
    assert statuses(emulator) == [422]


class _StatusServer(ThreadingHTTPServer):
    """A loopback server answering every POST with the next scripted status (then 200), counting requests."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.seen: list[int] = []
        super().__init__(("127.0.0.1", 0), _StatusHandler)


class _StatusHandler(BaseHTTPRequestHandler):
    server: _StatusServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        code = self.server.script.pop(0) if self.server.script else 200
        self.server.seen.append(code)
        if code == 200:
            body = (
                b'{"id":"x","object":"chat.completion","created":1,"model":"grok-4","choices":[{"index":0,'
                b'"finish_reason":"stop","message":{"role":"assistant","content":"fine"}}]}'
            )
        else:
            body = b'{"error":{"code":"%d","message":"scripted"}}' % code
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[Any]:
    servers: list[_StatusServer] = []

    def start(*script: int) -> _StatusServer:
        server = _StatusServer(list(script))
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("code", "retried"), [(403, False), (409, True)])
def test_403_is_final_and_409_retries(status_server: Any, kind: str, code: int, retried: bool) -> None:
    # The emulator has no 403 or 409 to give: a loopback server counts the requests instead.
    server = status_server(code)
    client_options = {"endpoint": f"http://127.0.0.1:{server.server_address[1]}", "api_key": KEY}
    client_options["retry"] = RetryPolicy(**QUICK)
    if retried:
        assert ask(kind, client_options) == "fine"
        assert server.seen == [code, 200]
    else:
        with pytest.raises(PermissionDeniedError):
            ask(kind, client_options)
        assert server.seen == [code]


# -- turning retries off, and waits that are too long -----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_max_retries_zero_sends_once(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.rate_limited(0.05, header="retry-after-ms"))
    with pytest.raises(RateLimitError) as info:
        ask(kind, options(emulator, max_retries=0))
    assert info.value.retry_after == 0.05
    assert statuses(emulator) == [429]


def test_with_options_max_retries_zero_turns_retries_off_for_that_copy(emulator: FoundryEmulator) -> None:
    emulator.fault(Fault.server_error(503), times=2)
    with GrokClient(**options(emulator)) as client:
        with pytest.raises(InternalServerError):
            client.with_options(max_retries=0).chat.completions.create(model=CHAT, messages=messages())
        assert statuses(emulator) == [503]
        assert client.chat.completions.create(model=CHAT, messages=messages()).text == ANSWER  # retries 503
    assert statuses(emulator) == [503, 503, 200]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("header", ["retry-after", "x-ratelimit-reset-tokens", "retry-after-ms"])
def test_a_wait_over_max_server_wait_ends_the_call_at_once(
    emulator: FoundryEmulator, kind: str, header: str
) -> None:
    emulator.fault(Fault.rate_limited(30, header=header))  # type: ignore[arg-type]
    hook = Hook()
    client_options = options(emulator, hook)
    client_options["retry"] = RetryPolicy(on_retry=hook, max_server_wait=10)
    with pytest.raises(RateLimitError) as info:
        ask(kind, client_options)
    assert info.value.retry_after == 30
    assert statuses(emulator) == [429]
    assert hook.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_wait_beyond_the_deadline_ends_the_call_at_once(emulator: FoundryEmulator, kind: str) -> None:
    emulator.fault(Fault.rate_limited(2, header="retry-after"))
    with pytest.raises(RateLimitError) as info:
        ask(kind, options(emulator), deadline=1.0)
    assert info.value.retry_after == 2
    assert statuses(emulator) == [429]


@pytest.mark.parametrize(("kind", "stream"), [("sync", False), ("async", True)])
def test_the_deadline_bounds_a_slow_first_byte(kind: str, stream: bool) -> None:
    # Its own emulator: stopping it cuts the slow reply, which must not land in another test's request log.
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS) as emu:
        emu.fault(Fault.slow_first_byte(3), times=5)
        with pytest.raises(APITimeoutError) as info:
            ask(kind, options(emu, timeout=30), stream=stream, deadline=0.3)
    assert "deadline=0.3 s ran out" in str(info.value)


# -- what every attempt says ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_every_attempt_resends_the_same_request_and_counts_itself(
    emulator: FoundryEmulator, kind: str, stream: bool
) -> None:
    emulator.fault(Fault.server_error(503))
    emulator.fault(Fault.rate_limited(0.05, header="x-ms-retry-after-ms"))
    assert ask(kind, options(emulator), stream=stream) == ANSWER
    sent = emulator.requests
    assert [r.status for r in sent] == [503, 429, 200]
    assert len({r.headers["x-ms-client-request-id"] for r in sent}) == 1
    assert [r.headers["x-grok-azure-retry-count"] for r in sent] == ["0", "1", "2"]
    assert len({r.body for r in sent}) == 1


def test_two_calls_have_two_request_ids(emulator: FoundryEmulator) -> None:
    with GrokClient(**options(emulator)) as client:
        for _ in range(2):
            client.chat.completions.create(model=CHAT, messages=messages())
    assert len({r.headers["x-ms-client-request-id"] for r in emulator.requests}) == 2
    assert {r.headers["x-grok-azure-retry-count"] for r in emulator.requests} == {"0"}


# -- the emulator's quotas through the client -------------------------------------------------------------------


def test_threads_pace_themselves_through_a_request_quota() -> None:
    # rpm=300 over 1 s windows: 5 requests per second; 8 calls at once.
    hook = Hook()
    with (
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, rpm=300, quota_window=1) as emu,
        GrokClient(**options(emu, hook, max_retries=5)) as client,
        ThreadPoolExecutor(8) as pool,
    ):

        def call(_: int) -> str:
            return client.chat.completions.create(model=CHAT, messages=messages()).text

        answers = list(pool.map(call, range(8)))
        log = emu.requests
    assert answers == [ANSWER] * 8
    refused = [r for r in log if r.status == 429]
    assert refused  # the quota did refuse some attempts...
    assert len(hook.calls) == len(refused)  # ...and each refusal was waited out, as its retry-after-ms said
    assert all(isinstance(e, RateLimitError) for _, e, _ in hook.calls)
    assert all(wait == int(e.headers["retry-after-ms"]) / 1000 for _, e, wait in hook.calls)


async def test_tasks_pace_themselves_through_a_token_quota() -> None:
    # tpm=12,000 over 1 s windows: 200 tokens per second; each call is charged 3 + 90 tokens on arrival.
    hook = Hook()
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, tpm=12_000, quota_window=1) as emu:
        async with AsyncGrokClient(**options(emu, hook, max_retries=6)) as client:

            async def call() -> str:
                completion = await client.chat.completions.create(
                    model=CHAT, messages=messages(), max_tokens=90
                )
                return completion.text

            answers = await asyncio.gather(*(call() for _ in range(4)))
        log = emu.requests
    assert answers == [ANSWER] * 4
    refused = [r for r in log if r.status == 429]
    assert refused
    assert all("token rate limit" in e.message for _, e, _ in hook.calls)
    assert all(wait == int(e.headers["retry-after-ms"]) / 1000 for _, e, wait in hook.calls)


@pytest.mark.parametrize("kind", KINDS)
def test_without_retries_a_quota_refusal_carries_its_retry_after(kind: str) -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, rpm=120, quota_window=1) as emu:
        outcomes: list[str | GrokError] = []
        client_options = options(emu, max_retries=0)
        if kind == "sync":
            with GrokClient(**client_options) as client:
                for _ in range(4):
                    try:
                        outcomes.append(client.chat.completions.create(model=CHAT, messages=messages()).text)
                    except GrokError as exc:
                        outcomes.append(exc)
        else:

            async def run() -> None:
                async with AsyncGrokClient(**client_options) as client:
                    results = await asyncio.gather(
                        *(client.chat.completions.create(model=CHAT, messages=messages()) for _ in range(4)),
                        return_exceptions=True,
                    )
                outcomes.extend(r.text if not isinstance(r, BaseException) else r for r in results)  # type: ignore[misc]

            asyncio.run(run())
        log = emu.requests
    errors = [o for o in outcomes if not isinstance(o, str)]
    assert [o for o in outcomes if isinstance(o, str)] == [ANSWER] * (4 - len(errors))
    assert errors  # two per window: four calls in at most two windows meet at least one refusal
    assert len(log) == 4  # nothing was retried
    for error in errors:
        assert isinstance(error, RateLimitError)
        assert error.retry_after == int(error.headers["retry-after-ms"]) / 1000
        assert 0 < error.retry_after <= 1


# -- many callers sharing one client under random faults -------------------------------------------------------


def test_sixteen_threads_share_one_client_under_a_30_percent_fault_rate() -> None:
    with (
        FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, fault_rate=0.3, seed=12) as emu,
        GrokClient(**options(emu)) as client,
        ThreadPoolExecutor(16) as pool,
    ):

        def call(index: int) -> str | GrokError:
            text = f"thread call {index}"
            try:
                if index % 2:
                    return client.chat.completions.create(model=CHAT, messages=messages(text)).text
                streamed = ""
                for chunk in client.chat.completions.create(model=CHAT, messages=messages(text), stream=True):
                    streamed += "".join(choice.delta.content or "" for choice in chunk.choices)
                return streamed
            except GrokError as exc:
                return exc

        outcomes = list(pool.map(call, range(48)))
        log = emu.requests
    _check_outcomes(outcomes, "thread call", log_size=len(log))


async def test_sixty_four_tasks_share_one_client_under_a_30_percent_fault_rate() -> None:
    with FoundryEmulator(api_key=KEY, deployments=DEPLOYMENTS, fault_rate=0.3, seed=21) as emu:
        async with AsyncGrokClient(**options(emu)) as client:

            async def call(index: int) -> str | GrokError:
                text = f"task call {index}"
                try:
                    if index % 2:
                        completion = await client.chat.completions.create(model=CHAT, messages=messages(text))
                        return completion.text
                    streamed = ""
                    async for chunk in await client.chat.completions.create(
                        model=CHAT, messages=messages(text), stream=True
                    ):
                        streamed += "".join(choice.delta.content or "" for choice in chunk.choices)
                    return streamed
                except GrokError as exc:
                    return exc

            outcomes = await asyncio.gather(*(call(i) for i in range(64)))
        log = emu.requests
    _check_outcomes(list(outcomes), "task call", log_size=len(log))


def _check_outcomes(outcomes: list[str | GrokError], prefix: str, *, log_size: int) -> None:
    """Every call ended as its exact answer or a typed GrokError; the faults were met and mostly retried away."""
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, str):
            assert outcome == f"Echo: {prefix} {index}"
        else:
            assert isinstance(outcome, (RateLimitError, InternalServerError, APIStatusError)), repr(outcome)
    answered = sum(isinstance(o, str) for o in outcomes)
    # 3 attempts at a 30 % fault rate fail together 2.7 % of the time; the bound leaves a wide margin.
    assert answered >= 0.85 * len(outcomes)
    assert log_size > len(outcomes)  # faults happened and were retried


# -- a client closed while a call waits to retry -----------------------------------------------------------------


def _close_during_a_retry_wait(emulator: FoundryEmulator, kind: str) -> ClientClosedError:
    """Start a call that waits 0.4 s to retry a 429, close its client 0.15 s in; the error the call raised."""
    emulator.fault(Fault.rate_limited(0.4, header="retry-after-ms"))
    if kind == "sync":
        client = GrokClient(**options(emulator))
        threading.Timer(0.15, client.close).start()
        with pytest.raises(ClientClosedError) as info:
            client.chat.completions.create(model=CHAT, messages=messages())
        return info.value

    async def run() -> ClientClosedError:
        async with AsyncGrokClient(**options(emulator)) as client:
            call = asyncio.ensure_future(client.chat.completions.create(model=CHAT, messages=messages()))
            await asyncio.sleep(0.15)
            await client.close()
            with pytest.raises(ClientClosedError) as info:
                await call
            return info.value

    return asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_closed_during_a_retry_wait_sends_nothing_more(emulator: FoundryEmulator, kind: str) -> None:
    _close_during_a_retry_wait(emulator, kind)
    assert statuses(emulator) == [429]


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_closed_during_a_retry_wait_says_no_further_attempt_was_sent(
    emulator: FoundryEmulator, kind: str
) -> None:
    error = _close_during_a_retry_wait(emulator, kind)
    assert "no further attempt was" in str(error)
    assert "nothing was sent" not in str(error)  # the first attempt was
