"""Hooks (grok_azure.Hook) through the public API, sync and async (respx: no sockets)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    APIConnectionError,
    AsyncGrokClient,
    CallInfo,
    ChatCompletion,
    ConfigurationError,
    Deployment,
    GrokClient,
    GrokError,
    Hook,
    HookError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, completion_body, sse

MESSAGES: list[Any] = [{"role": "user", "content": "a secret prompt"}]
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1))
EAST = "https://east.services.ai.azure.com"
WEST = "https://west.services.ai.azure.com"
MODELS = {"grok-4": "grok-4"}


class Recorder(Hook):
    """Records every event with what a metrics hook would read."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.calls: list[CallInfo] = []

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        self.calls.append(call)
        request.headers["x-tenant"] = "blue"  # a hook may add headers
        self.events.append(("request", call.attempt, call.deployment, call.wait > 0))

    def on_response(self, response: httpx.Response, call: CallInfo) -> None:
        self.events.append(("response", call.attempt, response.status_code))

    def on_error(self, error: GrokError, call: CallInfo) -> None:
        self.events.append(("error", call.attempt, type(error).__name__))

    def on_retry(self, error: GrokError, wait: float, call: CallInfo) -> None:
        self.events.append(("retry", call.attempt, type(error).__name__, wait >= 0))

    def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
        self.events.append(
            ("end", completion.text if completion else None, type(error).__name__ if error else None)
        )


def ok(content: str = "served") -> httpx.Response:
    return httpx.Response(200, json=completion_body(content))


def status(code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": str(code), "message": "no"}}, headers=headers)


def run(kind: str, hooks: list[Hook], *, stream: bool = False, **client_kw: Any) -> Any:
    """One create() on a fresh client of ``kind``, as users write it; what it returned (a stream's text)."""
    client_kw.setdefault("endpoint", ENDPOINT)
    client_kw.setdefault("api_key", KEY)
    client_kw.setdefault("deployment_models", MODELS)
    if kind == "sync":
        with GrokClient(hooks=hooks, retry=FAST, **client_kw) as client:
            if stream:
                return "".join(
                    c.choices[0].delta.content or ""
                    for c in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
                    if c.choices
                )
            return client.chat.completions.create(model="grok-4", messages=MESSAGES).text

    async def main() -> Any:
        async with AsyncGrokClient(
            hooks=hooks, retry=FAST, http_client=httpx.AsyncClient(), **client_kw
        ) as client:
            if stream:
                text = ""
                async for c in await client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True
                ):
                    text += c.choices[0].delta.content or "" if c.choices else ""
                return text
            return (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text

    return asyncio.run(main())


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_hook_sees_each_attempt_the_retry_and_the_end(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=[status(503), ok()])
    hook = Recorder()
    assert run(kind, [hook]) == "served"
    assert hook.events == [
        ("request", 1, "res.services.ai.azure.com", False),
        ("response", 1, 503),
        ("error", 1, "InternalServerError"),
        ("retry", 1, "InternalServerError", True),
        ("request", 2, "res.services.ai.azure.com", True),
        ("response", 2, 200),
        ("end", "served", None),
    ]
    # The header the hook added went out on both attempts.
    assert [c.request.headers["x-tenant"] for c in route.calls] == ["blue", "blue"]
    call = hook.calls[0]
    assert call is hook.calls[1]  # one CallInfo for the whole call
    assert call.request_id == route.calls[0].request.headers["x-ms-client-request-id"]
    assert (call.model, call.stream, call.route) == ("grok-4", False, "openai_v1")
    assert (call.server_address, call.server_port) == ("res.services.ai.azure.com", 443)


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_failure_is_an_error_without_a_response(kind: str, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[httpx.ConnectError("refused"), ok()])
    hook = Recorder()
    assert run(kind, [hook]) == "served"
    assert [e[0] for e in hook.events] == ["request", "error", "retry", "request", "response", "end"]
    assert hook.events[1] == ("error", 1, "APIConnectionError")


@pytest.mark.parametrize("kind", KINDS)
def test_the_final_error_ends_the_call_for_hooks_and_is_raised(kind: str, mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(500))
    hook = Recorder()
    with pytest.raises(InternalServerError):
        run(kind, [hook], max_retries=1)
    assert hook.events[-1] == ("end", None, "InternalServerError")
    assert [e[0] for e in hook.events].count("request") == 2
    assert [e[0] for e in hook.events].count("retry") == 1  # no retry announced after the last attempt


@pytest.mark.parametrize("kind", KINDS)
def test_a_hook_that_raises_ends_the_call_with_a_hook_error_before_sending(
    kind: str, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())

    class Broken(Hook):
        def on_request(self, request: httpx.Request, call: CallInfo) -> None:
            raise ValueError("metrics backend down")

    seen = Recorder()
    with pytest.raises(HookError, match=r"Broken\.on_request raised ValueError") as info:
        run(kind, [Broken(), seen])
    assert isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value, GrokError)
    assert route.call_count == 0  # nothing sent
    assert seen.events[-1] == ("end", None, "HookError")  # the other hooks hear how the call ended


@pytest.mark.parametrize("kind", KINDS)
def test_an_on_end_that_raises_after_a_failure_leaves_the_calls_error(
    kind: str, mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(429, {"retry-after": "0"}))

    class Broken(Hook):
        def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
            raise RuntimeError("oops")

    with pytest.raises(RateLimitError):
        run(kind, [Broken()], max_retries=0)
    assert "Broken.on_end raised RuntimeError" in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_an_on_end_that_raises_after_a_success_raises_a_hook_error(
    kind: str, mock_api: respx.MockRouter
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())

    class Broken(Hook):
        def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
            raise RuntimeError("oops")

    with pytest.raises(HookError):
        run(kind, [Broken()])


STREAM = sse(
    chunk(role="assistant"),
    chunk("Hel"),
    chunk("lo", finish_reason="stop"),
    {**chunk(), "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}},
    "[DONE]",
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_ends_for_hooks_with_its_accumulated_completion(
    kind: str, mock_api: respx.MockRouter
) -> None:
    mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    )
    ended: list[ChatCompletion | None] = []

    class OnEnd(Hook):
        def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
            assert call.stream
            ended.append(completion)

    assert run(kind, [OnEnd()], stream=True) == "Hello"
    assert len(ended) == 1
    completion = ended[0]
    assert completion is not None
    assert completion.text == "Hello"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2
    assert completion.cost is not None
    assert completion.cost.total > 0


def test_a_stream_closed_early_ends_with_neither(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    )
    hook = Recorder()
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, hooks=[hook], deployment_models=MODELS) as client,
        client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True) as stream,
    ):
        for _ in stream:
            break
    assert hook.events[-1] == ("end", None, None)
    assert [e[0] for e in hook.events].count("end") == 1


def test_a_failover_shows_the_other_deployment(mock_api: respx.MockRouter) -> None:
    mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(return_value=status(503))
    mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    hook = Recorder()
    pool = [
        Deployment(name="east", endpoint=EAST, deployment="grok-4", api_key=KEY),
        Deployment(name="west", endpoint=WEST, deployment="grok-4", api_key=KEY, weight=1e-9),
    ]
    with GrokClient(deployments=pool, hooks=[hook], retry=FAST, deployment_models=MODELS) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "served"
    requests = [e for e in hook.events if e[0] == "request"]
    assert [(e[1], e[2]) for e in requests] == [(1, "east"), (2, "west")]
    assert hook.calls[-1].server_address == "west.services.ai.azure.com"


def test_retry_policy_on_retry_runs_with_the_hooks(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[status(503), ok()])
    seen: list[tuple[int, str]] = []
    policy = RetryPolicy(
        backoff_base=0.001, backoff_cap=0.002, on_retry=lambda n, e, w: seen.append((n, type(e).__name__))
    )
    hook = Recorder()
    with GrokClient(
        endpoint=ENDPOINT, api_key=KEY, hooks=[hook], retry=policy, deployment_models=MODELS
    ) as c:
        c.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert seen == [(1, "InternalServerError")]
    assert ("retry", 1, "InternalServerError", True) in hook.events


def test_with_options_replaces_the_hooks(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    first, second = Recorder(), Recorder()
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, hooks=[first], deployment_models=MODELS) as client:
        client.with_options(hooks=[second]).chat.completions.create(model="grok-4", messages=MESSAGES)
        client.with_options(hooks=None).chat.completions.create(model="grok-4", messages=MESSAGES)
        assert first.events == []
        assert len(second.events) == 3
        client.chat.completions.create(model="grok-4", messages=MESSAGES)
        assert len(first.events) == 3


@pytest.mark.parametrize("bad", [Recorder(), [object()], "hook", [print]])
def test_hooks_must_be_a_list_of_hook_objects(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="hooks must be"):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, hooks=bad)


def test_each_call_has_its_own_call_info_in_concurrent_tasks(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    hook = Recorder()

    async def main() -> None:
        async with AsyncGrokClient(
            endpoint=ENDPOINT,
            api_key=KEY,
            hooks=[hook],
            http_client=httpx.AsyncClient(),
            deployment_models=MODELS,
        ) as client:
            await asyncio.gather(
                *(client.chat.completions.create(model="grok-4", messages=MESSAGES) for _ in range(5))
            )

    asyncio.run(main())
    assert len({id(c) for c in hook.calls}) == 5
    assert len({c.request_id for c in hook.calls}) == 5


def test_call_info_repr_leaves_out_the_prompt_and_the_key(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    hook = Recorder()
    run("sync", [hook])
    text = repr(hook.calls[0])
    assert "grok-4" in text
    assert "secret prompt" not in text
    assert KEY not in text


def test_a_hook_error_does_not_chain_the_request_or_its_key(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[httpx.ConnectError("refused"), ok()])

    class Broken(Hook):
        def on_error(self, error: GrokError, call: CallInfo) -> None:
            raise KeyError("x")

    with pytest.raises(HookError) as info:
        run("sync", [Broken()])
    assert isinstance(info.value.__cause__, KeyError)
    # The attempt's error reached the hook as the SDK raises errors: credential-free.
    assert KEY not in repr(info.value)
    assert KEY not in str(info.value.__cause__)


def test_no_hook_no_observer_is_built(mock_api: respx.MockRouter) -> None:
    # The fast path: a client without hooks, logging or on_retry builds no observer for its calls.
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, deployment_models=MODELS) as client:
        call, _ = client._start({"model": "grok-4", "messages": MESSAGES}, False, {})
        assert call.observer is None
        call, _ = client.with_options(hooks=[Recorder()])._start(
            {"model": "grok-4", "messages": MESSAGES}, False, {}
        )
        assert call.observer is not None
    assert APIConnectionError  # imported for the error names above


def test_an_async_hook_method_is_refused_not_silently_skipped() -> None:
    class AsyncHook(Hook):
        async def on_request(self, request: httpx.Request, call: CallInfo) -> None:  # type: ignore[override]
            request.headers["x-never"] = "sent"

    with pytest.raises(ConfigurationError, match=r"AsyncHook\.on_request is async"):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, hooks=[AsyncHook()])


def test_a_hook_error_rendered_with_locals_shows_no_secret_query_value(mock_api: respx.MockRouter) -> None:
    import traceback

    mock_api.post(url__startswith=CHAT_URL).mock(return_value=ok())
    secret = "fnkey-SECRET-2222-abcdef"

    class Broken(Hook):
        def on_request(self, request: httpx.Request, call: CallInfo) -> None:
            raise RuntimeError("no")

    with GrokClient(endpoint=ENDPOINT, api_key=KEY, hooks=[Broken()], deployment_models=MODELS) as client:
        try:
            client.chat.completions.create(model="grok-4", messages=MESSAGES, extra_query={"code": secret})
        except HookError as exc:
            error = exc
    rendered = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    rendered = rendered.replace(repr(secret), "")  # this test's own frame holds it as a local
    assert "Broken.on_request raised RuntimeError" in rendered
    assert secret not in rendered
    assert KEY not in rendered
