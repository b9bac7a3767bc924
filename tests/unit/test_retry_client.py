"""Retries, the deadline and failover through the public API (respx: no sockets), sync and async."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from grok_azure import (
    APIConnectionError,
    APITimeoutError,
    AsyncGrokClient,
    BadRequestError,
    ConfigurationError,
    Deployment,
    DeploymentPool,
    GrokClient,
    GrokError,
    InternalServerError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    StreamInterruptedError,
)

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, completion_body, sse

MESSAGES = [{"role": "user", "content": "Hi"}]
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1))
EAST = "https://east.services.ai.azure.com"
WEST = "https://west.services.ai.azure.com"


def ok() -> httpx.Response:
    return httpx.Response(200, json=completion_body("served"))


def status(code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": str(code), "message": "no"}}, headers=headers)


def sync_create(client: GrokClient, **kw: Any) -> Any:
    return client.chat.completions.create(model="grok-4", messages=MESSAGES, **kw)


def async_create(client: AsyncGrokClient, **kw: Any) -> Any:
    async def run() -> Any:
        async with client:
            return await client.chat.completions.create(model="grok-4", messages=MESSAGES, **kw)

    return asyncio.run(run())


def make(kind: str, **kw: Any) -> Callable[..., Any]:
    """A `create` for a fresh sync or async client; the async client runs on httpx's transport (respx)."""
    if kind == "sync":
        client = GrokClient(**kw)
        return lambda **call: sync_create(client, **call)
    async_client = AsyncGrokClient(http_client=httpx.AsyncClient(), **kw)
    return lambda **call: async_create(async_client, **call)


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_503_then_success_retries_with_the_same_body_and_request_id(
    kind: str, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=[status(503), status(502), ok()])
    create = make(kind, endpoint=ENDPOINT, api_key=KEY, retry=FAST)
    assert create().text == "served"
    sent = [call.request for call in route.calls]
    assert len(sent) == 3
    assert len({r.headers["x-ms-client-request-id"] for r in sent}) == 1
    assert len({r.content for r in sent}) == 1
    assert [r.headers["x-grok-azure-retry-count"] for r in sent] == ["0", "1", "2"]


@pytest.mark.parametrize("kind", KINDS)
def test_retries_stop_after_max_retries_with_the_last_error(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(500))
    create = make(kind, endpoint=ENDPOINT, api_key=KEY, retry=FAST, max_retries=1)
    with pytest.raises(InternalServerError):
        create()
    assert route.call_count == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("code", [400, 403, 404, 422])
def test_final_statuses_are_sent_once(kind: str, code: int, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(code, {"x-should-retry": "true"}))
    create = make(kind, endpoint=ENDPOINT, api_key=KEY, retry=FAST)
    with pytest.raises(GrokError):
        create()
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_x_should_retry_false_is_obeyed(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(503, {"x-should-retry": "false"}))
    with pytest.raises(InternalServerError):
        make(kind, endpoint=ENDPOINT, api_key=KEY, retry=FAST)()
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_connection_errors_retry(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=[httpx.ConnectError("refused"), ok()])
    assert make(kind, endpoint=ENDPOINT, api_key=KEY, retry=FAST)().text == "served"
    assert route.call_count == 2


@pytest.mark.parametrize("kind", KINDS)
def test_on_retry_hook_sees_attempt_error_and_wait(kind: str, mock_api: respx.MockRouter) -> None:
    seen: list[tuple[int, type, float]] = []
    policy = RetryPolicy(on_retry=lambda n, e, w: seen.append((n, type(e), w)))
    mock_api.post(CHAT_URL).mock(
        side_effect=[status(429, {"retry-after-ms": "5"}), status(503, {"retry-after": "0"}), ok()]
    )
    assert make(kind, endpoint=ENDPOINT, api_key=KEY, retry=policy)().text == "served"
    assert seen == [(1, RateLimitError, 0.005), (2, InternalServerError, 0.0)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_beyond_max_server_wait_ends_at_once(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(429, {"x-ratelimit-reset-tokens": "90"}))
    with pytest.raises(RateLimitError) as info:
        make(kind, endpoint=ENDPOINT, api_key=KEY)()
    assert info.value.retry_after == 90
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_refused_wait_is_the_one_carried_not_the_messages(kind: str, mock_api: respx.MockRouter) -> None:
    body = {"error": {"code": "429", "message": "Rate limit is exceeded. Please retry after 2 seconds."}}
    answer = httpx.Response(429, json=body, headers={"x-ratelimit-reset-tokens": "120"})
    route = mock_api.post(CHAT_URL).mock(return_value=answer)
    with pytest.raises(RateLimitError) as info:
        make(kind, endpoint=ENDPOINT, api_key=KEY)()
    assert info.value.retry_after == 120  # what ended the call: longer than max_server_wait
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_beyond_the_deadline_ends_at_once(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(429, {"retry-after": "5"}))
    with pytest.raises(RateLimitError) as info:
        make(kind, endpoint=ENDPOINT, api_key=KEY, deadline=2)()
    assert info.value.retry_after == 5
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_with_options_max_retries_zero_sends_once(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(503))
    if kind == "sync":
        with (
            GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client,
            pytest.raises(InternalServerError),
        ):
            sync_create(client.with_options(max_retries=0))
    else:
        client = AsyncGrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST, http_client=httpx.AsyncClient())
        with pytest.raises(InternalServerError):
            async_create(client.with_options(max_retries=0))
    assert route.call_count == 1


def test_with_options_changes_only_the_copy() -> None:
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        copy = client.with_options(max_retries=5, retry=FAST, deadline=3)
        assert (copy.max_retries, copy.retry, copy.deadline) == (5, FAST, 3.0)
        assert (client.max_retries, client.deadline) == (2, None)
        assert client.with_options(deadline=None).deadline is None


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"max_retries": True}, {"retry": "fast"}, {"deadline": 0}],
)
def test_bad_retry_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(GrokError):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_per_call_deadline_is_validated_before_sending(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    with pytest.raises(GrokError, match="deadline"):
        make(kind, endpoint=ENDPOINT, api_key=KEY)(deadline=-1)
    with pytest.raises(GrokError, match="stream_deadline"):
        make(kind, endpoint=ENDPOINT, api_key=KEY)(stream_deadline=1)  # not a stream
    assert route.call_count == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_deadline_that_cuts_an_attempt_names_the_budget(kind: str, mock_api: respx.MockRouter) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        # respx does not enforce timeouts; check the attempt's timeout was shortened, then time out as httpx would
        timeout = request.extensions["timeout"]
        assert timeout["read"] <= 0.3
        raise httpx.ReadTimeout("timed out", request=request)

    mock_api.post(CHAT_URL).mock(side_effect=slow)
    with pytest.raises(APITimeoutError):
        make(kind, endpoint=ENDPOINT, api_key=KEY, timeout=60, retry=FAST)(deadline=0.3)


def test_deployments_and_endpoint_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="deployments"):
        GrokClient(endpoint=ENDPOINT, api_key=KEY, deployments=[Deployment(EAST, api_key=KEY)])


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_fails_over_to_the_other_deployment_at_once(kind: str, mock_api: respx.MockRouter) -> None:
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(
        return_value=status(429, {"retry-after": "30"})
    )
    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    pool = DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=1000),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001),
        ],
        rng=random.Random(3),
    )
    waits: list[float] = []
    policy = RetryPolicy(on_retry=lambda n, e, w: waits.append(w))
    completion = make(kind, deployments=pool, retry=policy)()
    assert completion.served_by == "west"
    assert waits == [0.0]  # no wait: another deployment was free
    assert east.call_count == 1
    assert west.call_count == 1
    assert 0 in pool.cooling()  # east rests for its retry-after
    assert (
        east.calls[0].request.headers["x-ms-client-request-id"]
        == west.calls[0].request.headers["x-ms-client-request-id"]
    )
    # The next call goes straight to west while east cools down.
    assert make(kind, deployments=pool)().served_by == "west"
    assert east.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_when_both_rest_the_call_waits_for_the_sooner_not_for_the_last_ones_retry_after(
    kind: str, mock_api: respx.MockRouter
) -> None:
    # east asks for 0.05 s, then west for 30 s: the call waits for east (0.05 s), not for west's 30 s.
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(
        side_effect=[status(429, {"retry-after-ms": "50"}), ok()]
    )
    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(
        return_value=status(429, {"retry-after": "30"})
    )
    pool = DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=1000),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001),
        ],
        rng=random.Random(3),
    )
    waits: list[float] = []
    policy = RetryPolicy(on_retry=lambda n, e, w: waits.append(w))

    completion = make(kind, deployments=pool, retry=policy)()

    assert completion.served_by == "east"
    assert east.call_count == 2
    assert west.call_count == 1
    assert waits[0] == 0.0  # failover to west at once
    assert 0 <= waits[1] <= 0.05  # then east's stated rest (what is left of it), not west's 30 s


@pytest.mark.parametrize("kind", KINDS)
def test_going_back_to_a_deployment_whose_rest_is_over_does_not_wait_for_the_others_retry_after(
    kind: str, mock_api: respx.MockRouter
) -> None:
    # east's 429 asked for 1 s, west's for 30 s; by the time west answered, east's second is over (the pool's clock
    # says so): the call goes back to east after a backoff at most, not after west's 30 s.
    now = [0.0]
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(
        side_effect=[status(429, {"retry-after": "1"}), ok()]
    )

    def west_answers(request: httpx.Request) -> httpx.Response:
        now[0] += 2.0  # west was slow: east's rest ended meanwhile
        return status(429, {"retry-after": "30"})

    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(side_effect=west_answers)
    pool = DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=1000),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001),
        ],
        rng=random.Random(3),
        clock=lambda: now[0],
    )
    waits: list[float] = []
    policy = RetryPolicy(on_retry=lambda n, e, w: waits.append(w), backoff_cap=0.05, rng=random.Random(1))

    completion = make(kind, deployments=pool, retry=policy)()

    assert completion.served_by == "east"
    assert (east.call_count, west.call_count) == (2, 1)
    assert waits[0] == 0.0
    assert waits[1] <= 0.05  # a backoff at most (west's 30 s was west's)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("deadline", [None, 10.0])
def test_a_retry_after_too_long_to_wait_still_fails_over_at_once(
    kind: str, deadline: float | None, mock_api: respx.MockRouter
) -> None:
    # 120 s is over max_server_wait (60 s) and over the deadline: east is ruled out, the call is not.
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(
        return_value=status(429, {"retry-after": "120"})
    )
    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    pool = DeploymentPool(
        [
            Deployment(EAST, api_key=KEY, name="east", weight=1000),
            Deployment(WEST, api_key=KEY, name="west", weight=0.001),
        ],
        rng=random.Random(3),
    )

    completion = make(kind, deployments=pool, retry=FAST, deadline=deadline)()

    assert completion.served_by == "west"
    assert (east.call_count, west.call_count) == (1, 1)
    assert pool.cooling()[0] > 60


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_too_long_on_every_deployment_ends_the_call_with_it(
    kind: str, mock_api: respx.MockRouter
) -> None:
    for url in (EAST, WEST):
        mock_api.post(f"{url}/openai/v1/chat/completions").mock(
            return_value=status(429, {"retry-after": "120"})
        )
    pool = DeploymentPool(
        [Deployment(EAST, api_key=KEY, name="east"), Deployment(WEST, api_key=KEY, name="west")]
    )

    with pytest.raises(RateLimitError) as caught:
        make(kind, deployments=pool, retry=FAST)()

    assert caught.value.retry_after == 120
    assert len(mock_api.calls) == 2  # each deployment once: no wait, no third attempt on a resting one


def test_each_deployment_gets_its_own_key_and_model_name(mock_api: respx.MockRouter) -> None:
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(return_value=status(503))
    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    deployments = [
        Deployment(EAST, api_key="east-key", name="east"),
        Deployment(WEST, api_key="west-key", name="west", deployment="grok-4-west"),
    ]
    with GrokClient(deployments=deployments, retry=FAST) as client:
        for _ in range(4):
            assert sync_create(client).served_by == "west"
    assert {c.request.headers["api-key"] for c in east.calls} <= {"east-key"}
    assert {c.request.headers["api-key"] for c in west.calls} == {"west-key"}
    assert all(b'"model":"grok-4-west"' in c.request.content for c in west.calls)


def test_a_single_endpoint_completion_names_its_host(mock_api: respx.MockRouter) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    with GrokClient(endpoint=ENDPOINT, api_key=KEY) as client:
        completion = sync_create(client)
    assert completion.served_by == "res.services.ai.azure.com"
    assert "served_by" not in completion.model_dump()


# --- streams -----------------------------------------------------------------------------------------------


def stream_body() -> bytes:
    return sse(chunk("Hel", role="assistant"), chunk("lo", finish_reason="stop"), "[DONE]")


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_refused_before_its_headers_is_retried(kind: str, mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            status(429, {"retry-after-ms": "1"}),
            httpx.Response(200, content=stream_body(), headers={"content-type": "text/event-stream"}),
        ]
    )
    if kind == "sync":
        with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client:
            stream = client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in stream)
            served = stream.served_by
    else:

        async def run() -> tuple[str, str | None]:
            async with AsyncGrokClient(
                endpoint=ENDPOINT, api_key=KEY, retry=FAST, http_client=httpx.AsyncClient()
            ) as client:
                stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
                parts = [c.choices[0].delta.content or "" async for c in stream]
                return "".join(parts), stream.served_by

        text, served = asyncio.run(run())
    assert text == "Hello"
    assert served == "res.services.ai.azure.com"
    assert route.call_count == 2


class _DropsAfterFirstEvent(httpx.SyncByteStream):
    def __iter__(self) -> Any:
        yield sse(chunk("Hel", role="assistant"))
        raise httpx.RemoteProtocolError("peer closed connection")


def test_a_stream_that_delivered_events_is_not_replayed(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(
            200, stream=_DropsAfterFirstEvent(), headers={"content-type": "text/event-stream"}
        )
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client:
        seen: list[str | None] = []

        def read_inline() -> None:
            for c in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
                seen.append(c.choices[0].delta.content)

        with pytest.raises(StreamInterruptedError) as info:
            read_inline()
    assert seen == ["Hel"]
    assert info.value.partial is not None
    assert info.value.partial.text == "Hel"
    assert route.call_count == 1


def test_stream_helper_retries_too(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(200, content=stream_body(), headers={"content-type": "text/event-stream"}),
        ]
    )
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client:
        with client.chat.completions.stream(model="grok-4", messages=MESSAGES) as stream:
            assert "".join(stream.text_stream) == "Hello"
            assert stream.served_by == "res.services.ai.azure.com"
        assert stream.get_final_completion().served_by == "res.services.ai.azure.com"
    assert route.call_count == 2


def test_a_closed_client_is_not_retried(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    client = GrokClient(endpoint=ENDPOINT, api_key=KEY)
    client.close()
    with pytest.raises(GrokError):
        sync_create(client)
    assert route.call_count == 0


def test_connection_error_retries_are_bounded(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=httpx.ConnectError("refused"))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client, pytest.raises(APIConnectionError):
        sync_create(client)
    assert route.call_count == 3


def test_bad_request_is_not_retried_even_by_policy(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=status(400))
    with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client, pytest.raises(BadRequestError):
        sync_create(client)
    assert route.call_count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_malformed_first_event_is_the_services_answer_and_not_resent(
    kind: str, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(CHAT_URL).mock(
        return_value=httpx.Response(
            200, content=b"data: {not json\n\n", headers={"content-type": "text/event-stream"}
        )
    )

    def read() -> None:
        if kind == "sync":
            with GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST) as client:
                for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
                    pass
            return

        async def run() -> None:
            async with AsyncGrokClient(
                endpoint=ENDPOINT, api_key=KEY, retry=FAST, http_client=httpx.AsyncClient()
            ) as client:
                stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
                async for _ in stream:
                    pass

        asyncio.run(run())

    with pytest.raises(ResponseDecodeError):
        read()
    assert route.call_count == 1


class _TimesOutFirst(httpx.SyncByteStream):
    def __iter__(self) -> Any:
        raise httpx.ReadTimeout("no event")
        yield b""  # pragma: no cover - makes this a generator


def test_a_read_timeout_before_the_first_chunk_is_resent_with_the_secret_nowhere(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.post(CHAT_URL).mock(
        side_effect=[
            httpx.Response(200, stream=_TimesOutFirst(), headers={"content-type": "text/event-stream"}),
            httpx.Response(200, stream=_TimesOutFirst(), headers={"content-type": "text/event-stream"}),
        ]
    )
    with (
        GrokClient(endpoint=ENDPOINT, api_key=KEY, retry=FAST, max_retries=1) as client,
        pytest.raises(APITimeoutError) as caught,
    ):
        for _ in client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True):
            pass
    assert route.call_count == 2
    seen = caught.value
    chain: list[BaseException] = []
    link: BaseException | None = seen
    while link is not None and len(chain) < 10:
        chain.append(link)
        link = link.__cause__ or link.__context__
    requests = [getattr(e, "_request", None) for e in chain] + [seen.request]
    rendered = "".join(repr(e) + str(e) for e in chain)
    assert KEY not in rendered
    assert not any(r is not None and KEY in str(r.headers.raw) for r in requests)
