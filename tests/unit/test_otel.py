"""grok_azure.otel.TracingHook through the public API, sync and async (respx: no sockets).

Spans are read from the SDK's in-memory exporter on a provider passed as ``tracer_provider=`` (the global
provider is never set here).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from grok_azure import (
    APIConnectionError,
    AsyncGrokClient,
    AuthenticationError,
    CallInfo,
    Deployment,
    GrokClient,
    Hook,
    HookError,
    InternalServerError,
    RetryPolicy,
)
from grok_azure.otel import TracingHook

from .conftest import CHAT_URL, ENDPOINT, KEY, chunk, completion_body, sse

MESSAGES: list[Any] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "a secret prompt"},
]
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rng=random.Random(1))
MODELS = {"grok-4": "grok-4"}
EAST = "https://east.services.ai.azure.com"
WEST = "https://west.services.ai.azure.com"
KINDS = ["sync", "async"]
STREAM = sse(
    chunk(role="assistant"),
    chunk("Hel"),
    chunk("lo", finish_reason="stop"),
    {**chunk(), "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}},
    "[DONE]",
)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def ok(content: str = "served", **overrides: Any) -> httpx.Response:
    return httpx.Response(200, json=completion_body(content, **overrides))


def status(code: int) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": str(code), "message": "no"}})


def streamed() -> httpx.Response:
    return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})


def run(kind: str, hooks: list[Hook], *, stream: bool = False, **params: Any) -> Any:
    """One create() on a fresh client of ``kind``, as users write it; what it returned (a stream's text)."""
    options: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "api_key": KEY,
        "deployment_models": MODELS,
        "retry": FAST,
        "hooks": hooks,
    }
    options.update(params.pop("client", {}))
    if kind == "sync":
        with GrokClient(**options) as client:
            if stream:
                return "".join(
                    c.choices[0].delta.content or ""
                    for c in client.chat.completions.create(
                        model="grok-4", messages=MESSAGES, stream=True, **params
                    )
                    if c.choices
                )
            return client.chat.completions.create(model="grok-4", messages=MESSAGES, **params).text

    async def main() -> Any:
        async with AsyncGrokClient(http_client=httpx.AsyncClient(), **options) as client:
            if stream:
                text = ""
                async for c in await client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True, **params
                ):
                    text += c.choices[0].delta.content or "" if c.choices else ""
                return text
            return (await client.chat.completions.create(model="grok-4", messages=MESSAGES, **params)).text

    return asyncio.run(main())


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def traceparent_of(span: ReadableSpan | trace.Span) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


@pytest.mark.filterwarnings(
    "ignore::grok_azure.GrokAzureWarning"
)  # grok-4 may not take penalties: sent anyway
@pytest.mark.parametrize("kind", KINDS)
def test_a_call_is_one_client_span_with_the_gen_ai_attributes(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    text = run(
        kind,
        [TracingHook(tracer_provider=provider)],
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        frequency_penalty=0.1,
        presence_penalty=0.3,
        stop=["END", "STOP"],
        seed=7,
        n=2,
        response_format={"type": "json_object"},
    )
    assert text == "served"
    span = only_span(exporter)
    assert span.name == "chat grok-4"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.inference",
        "gen_ai.request.model": "grok-4",
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.frequency_penalty": 0.1,
        "gen_ai.request.presence_penalty": 0.3,
        "gen_ai.request.stop_sequences": ("END", "STOP"),
        "gen_ai.request.seed": 7,
        "gen_ai.request.choice.count": 2,
        "gen_ai.output.type": "json",
        "gen_ai.response.model": "grok-4",
        "gen_ai.response.id": "abc_sidecar",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 3,  # every generated token: reasoning (1) is inside the 3 here
        "gen_ai.usage.cache_read.input_tokens": 2,
        "gen_ai.usage.reasoning.output_tokens": 1,
        "server.address": "res.services.ai.azure.com",
        "server.port": 443,
        # No grok_azure.deployment: without deployments= the label is the host (server.address), and
        # gen_ai.request.model is the Foundry deployment's name.
        "grok_azure.request_id": route.calls[0].request.headers["x-ms-client-request-id"],
    }
    assert span.events == ()
    # The request carried the span's W3C trace context.
    assert route.calls[0].request.headers["traceparent"] == traceparent_of(span)


@pytest.mark.parametrize("kind", KINDS)
def test_unset_parameters_are_left_out(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok(usage=None))
    run(kind, [TracingHook(tracer_provider=provider)], n=1)
    attributes = dict(only_span(exporter).attributes or {})
    assert sorted(k for k in attributes if k.startswith("gen_ai.request.")) == ["gen_ai.request.model"]
    assert "gen_ai.request.choice.count" not in attributes  # n=1 is the default: semconv leaves it out
    assert not [k for k in attributes if k.startswith("gen_ai.usage.")]  # no usage sent, none invented


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_span_ends_with_the_accumulated_completion(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=streamed())
    assert run(kind, [TracingHook(tracer_provider=provider)], stream=True) == "Hello"
    span = only_span(exporter)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.response.id"] == "s1_sidecar"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (4, 2)
    assert span.status.status_code is StatusCode.UNSET
    assert route.calls[0].request.headers["traceparent"] == traceparent_of(span)


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_closed_early_ends_its_span_without_error(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=streamed())
    hook = TracingHook(tracer_provider=provider)
    options: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "api_key": KEY,
        "hooks": [hook],
        "deployment_models": MODELS,
    }
    if kind == "sync":
        with (
            GrokClient(**options) as client,
            client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True) as stream,
        ):
            for _ in stream:
                break
            assert exporter.get_finished_spans() == ()  # still open while the stream is
    else:

        async def main() -> None:
            async with AsyncGrokClient(http_client=httpx.AsyncClient(), **options) as client:
                stream = await client.chat.completions.create(model="grok-4", messages=MESSAGES, stream=True)
                async with stream:
                    async for _ in stream:
                        break
                    assert exporter.get_finished_spans() == ()

        asyncio.run(main())
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert "error.type" not in attributes
    assert "gen_ai.response.finish_reasons" not in attributes  # it never finished
    assert not [e for e in span.events if e.name == "exception"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_retry_is_an_event_and_every_attempt_carries_the_trace_context(
    kind: str,
    stream: bool,
    mock_api: respx.MockRouter,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
) -> None:
    route = mock_api.post(CHAT_URL).mock(side_effect=[status(503), streamed() if stream else ok()])
    run(kind, [TracingHook(tracer_provider=provider)], stream=stream)
    span = only_span(exporter)  # one span for the call, not one per attempt
    assert [e.name for e in span.events] == ["grok_azure.retry"]
    event = dict(span.events[0].attributes or {})
    wait = event.pop("grok_azure.retry.wait")
    assert event == {"grok_azure.attempt": 1, "error.type": "503"}
    assert isinstance(wait, float)
    assert 0 <= wait <= 0.002  # FAST's backoff cap
    assert span.attributes is not None
    assert "error.type" not in span.attributes  # the call succeeded
    assert [c.request.headers["traceparent"] for c in route.calls] == [traceparent_of(span)] * 2


def test_a_failover_is_an_event_and_the_span_names_the_endpoint_that_answered(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    east = mock_api.post(f"{EAST}/openai/v1/chat/completions").mock(return_value=status(503))
    west = mock_api.post(f"{WEST}/openai/v1/chat/completions").mock(return_value=ok())
    pool = [
        Deployment(name="east", endpoint=EAST, deployment="grok-4", api_key=KEY),
        Deployment(name="west", endpoint=WEST, deployment="grok-4", api_key=KEY, weight=1e-9),
    ]
    hook = TracingHook(tracer_provider=provider)
    with GrokClient(deployments=pool, hooks=[hook], retry=FAST, deployment_models=MODELS) as client:
        assert client.chat.completions.create(model="grok-4", messages=MESSAGES).text == "served"
    span = only_span(exporter)
    assert span.attributes is not None
    assert span.attributes["server.address"] == "west.services.ai.azure.com"
    assert span.attributes["grok_azure.deployment"] == "west"
    assert [e.name for e in span.events] == ["grok_azure.retry", "grok_azure.failover"]
    assert dict(span.events[1].attributes or {}) == {
        "grok_azure.attempt": 2,
        "grok_azure.failover.from": "east",
        "grok_azure.failover.to": "west",
    }
    assert east.calls[0].request.headers["traceparent"] == west.calls[0].request.headers["traceparent"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_final_error_status_is_recorded(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=status(500))
    with pytest.raises(InternalServerError):
        run(kind, [TracingHook(tracer_provider=provider)], client={"max_retries": 1})
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "500"
    assert [e.name for e in span.events] == ["grok_azure.retry", "exception"]
    assert span.events[1].attributes is not None
    assert str(span.events[1].attributes["exception.type"]).endswith(".InternalServerError")
    assert "gen_ai.response.id" not in span.attributes


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_failure_error_type_is_the_class_name(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=httpx.ConnectError(f"refused api-key={KEY}"))
    with pytest.raises(APIConnectionError):
        run(kind, [TracingHook(tracer_provider=provider)], client={"max_retries": 0})
    span = only_span(exporter)
    assert span.attributes is not None
    assert span.attributes["error.type"] == "APIConnectionError"
    assert span.status.status_code is StatusCode.ERROR
    assert KEY not in span.to_json()


@pytest.mark.parametrize("kind", KINDS)
def test_the_exported_span_holds_no_key_even_with_content_and_errors(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(side_effect=[status(503), status(401), ok()])
    with pytest.raises(AuthenticationError):
        run(kind, [TracingHook(tracer_provider=provider, capture_content=True)])
    mock_api.post(CHAT_URL).mock(return_value=ok())
    run(kind, [TracingHook(tracer_provider=provider, capture_content=True)])
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    for span in spans:
        exported = span.to_json()
        assert KEY not in exported
        assert KEY[-12:] not in exported  # not even a tail of it
    assert "secret prompt" in spans[1].to_json()  # content was on: the check above looked at real text


@pytest.mark.parametrize("kind", KINDS)
def test_content_is_off_by_default(
    kind: str,
    mock_api: respx.MockRouter,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    mock_api.post(CHAT_URL).mock(return_value=ok("a secret answer"))
    run(kind, [TracingHook(tracer_provider=provider)])
    exported = only_span(exporter).to_json()
    assert "secret prompt" not in exported
    assert "secret answer" not in exported
    assert "gen_ai.input.messages" not in exported


@pytest.mark.parametrize("kind", KINDS)
def test_the_environment_variable_turns_content_on(
    kind: str,
    mock_api: respx.MockRouter,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "True")
    mock_api.post(CHAT_URL).mock(return_value=ok("a secret answer"))
    run(kind, [TracingHook(tracer_provider=provider)])
    attributes = only_span(exporter).attributes
    assert attributes is not None
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "a secret prompt"}]},
    ]
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "a secret answer"}],
            "finish_reason": "stop",
        }
    ]


def test_capture_content_false_wins_over_the_environment(
    mock_api: respx.MockRouter,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    mock_api.post(CHAT_URL).mock(return_value=ok())
    run("sync", [TracingHook(tracer_provider=provider, capture_content=False)])
    assert "secret prompt" not in only_span(exporter).to_json()


def test_captured_content_has_tool_calls_tool_results_and_images_by_type_only(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
    }
    answer = completion_body()
    answer["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
    answer["choices"][0]["finish_reason"] = "tool_calls"
    mock_api.post(CHAT_URL).mock(return_value=httpx.Response(200, json=answer))
    messages: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANS"}},
            ],
        },
        {"role": "assistant", "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    hook = TracingHook(tracer_provider=provider, capture_content=True)
    # validate=False: the catalog's grok-4 takes text only, and this test is about the image's record.
    with GrokClient(
        endpoint=ENDPOINT, api_key=KEY, hooks=[hook], deployment_models=MODELS, validate=False
    ) as client:
        client.chat.completions.create(model="grok-4", messages=messages)
    attributes = only_span(exporter).attributes
    assert attributes is not None
    sent = json.loads(str(attributes["gen_ai.input.messages"]))
    assert sent == [
        {"role": "user", "parts": [{"type": "text", "content": "what is this?"}, {"type": "image_url"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]},
    ]
    assert "iVBORw0KGgo" not in str(attributes["gen_ai.input.messages"])
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


@pytest.mark.parametrize("kind", KINDS)
def test_tracing_and_logging_work_together(
    kind: str,
    mock_api: respx.MockRouter,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="grok_azure")
    mock_api.post(CHAT_URL).mock(side_effect=[status(503), ok()])
    run(kind, [TracingHook(tracer_provider=provider)])
    lines = [r.getMessage() for r in caplog.records if r.name == "grok_azure"]
    assert sum(" -> 503 attempt=1 " in line for line in lines) == 1
    assert sum(" -> 200 attempt=2 " in line for line in lines) == 1
    span = only_span(exporter)
    assert [e.name for e in span.events] == ["grok_azure.retry"]


def test_a_user_span_around_a_sync_call_is_its_parent(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    mock_api.post(CHAT_URL).mock(return_value=ok())
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as outer:
        run("sync", [TracingHook(tracer_provider=provider)])
        assert trace.get_current_span() is outer  # the hook never changes the caller's current span
    call_span, user_span = exporter.get_finished_spans()
    assert user_span.name == "handle request"
    assert call_span.parent is not None
    assert call_span.parent.span_id == outer.get_span_context().span_id
    assert call_span.context is not None
    assert call_span.context.trace_id == outer.get_span_context().trace_id


def test_concurrent_async_calls_get_their_own_spans_under_their_own_parents(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    tracer = provider.get_tracer("app")
    hook = TracingHook(tracer_provider=provider)  # one hook for every task

    async def main() -> None:
        async with AsyncGrokClient(
            endpoint=ENDPOINT,
            api_key=KEY,
            hooks=[hook],
            http_client=httpx.AsyncClient(),
            deployment_models=MODELS,
        ) as client:

            async def job(n: int) -> None:
                with tracer.start_as_current_span(f"job {n}"):
                    await asyncio.sleep(0)  # let the tasks interleave
                    await client.chat.completions.create(model="grok-4", messages=MESSAGES)

            await asyncio.gather(*(job(n) for n in range(5)))

    asyncio.run(main())
    spans = exporter.get_finished_spans()
    jobs = {s.context.span_id: s for s in spans if s.name.startswith("job ")}  # type: ignore[union-attr]
    calls = [s for s in spans if s.name == "chat grok-4"]
    assert len(jobs) == 5
    assert len(calls) == 5
    parents = [c.parent.span_id for c in calls if c.parent is not None]
    assert sorted(parents) == sorted(jobs)  # each job's call is its child, none shared
    for call in calls:
        assert call.context is not None
        assert call.context.trace_id == jobs[call.parent.span_id].context.trace_id  # type: ignore[union-attr]
    sent = sorted(c.request.headers["traceparent"] for c in route.calls)
    assert sent == sorted(traceparent_of(c) for c in calls)


def test_a_no_op_tracer_sends_no_trace_context_of_its_own(mock_api: respx.MockRouter) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    assert run("sync", [TracingHook(tracer_provider=trace.NoOpTracerProvider())]) == "served"
    assert "traceparent" not in route.calls[0].request.headers


def test_a_no_op_tracer_still_passes_the_callers_trace_context_on(
    mock_api: respx.MockRouter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    with provider.get_tracer("app").start_as_current_span("outer") as outer:
        run("sync", [TracingHook(tracer_provider=trace.NoOpTracerProvider())])
    assert route.calls[0].request.headers["traceparent"] == traceparent_of(outer)


@pytest.mark.parametrize("kind", KINDS)
def test_a_call_stopped_by_another_hook_before_sending_still_has_an_error_span(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())

    class Broken(Hook):
        def on_request(self, request: httpx.Request, call: CallInfo) -> None:
            raise ValueError("quota check down")

    with pytest.raises(HookError):
        run(kind, [Broken(), TracingHook(tracer_provider=provider)])
    assert route.call_count == 0
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "HookError"


def test_importing_grok_azure_otel_without_opentelemetry_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "grok_azure.otel" or m.startswith("grok_azure.otel.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # what a missing package looks like to import
    with pytest.raises(ImportError, match=r'pip install "grok-azure\[otel\]"'):
        importlib.import_module("grok_azure.otel")


def test_grok_azure_imports_without_opentelemetry() -> None:
    # A fresh interpreter: re-importing grok_azure here would re-run its import-time logging setup.
    code = "import sys; sys.modules['opentelemetry'] = None; import grok_azure; print(grok_azure.GrokClient.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GrokClient"


# --- the trace context each attempt carries --------------------------------------------------------------------


@pytest.fixture
def global_propagator() -> Iterator[None]:
    from opentelemetry import propagate

    kept = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(kept)


def test_the_parents_trace_state_goes_with_the_trace_context(
    mock_api: respx.MockRouter, provider: TracerProvider
) -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    parent = SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "v1")])
    )
    with trace.use_span(NonRecordingSpan(parent)):
        run("sync", [TracingHook(tracer_provider=provider)])
    headers = route.calls[0].request.headers
    assert headers["traceparent"].startswith(f"00-{0x1234:032x}-")
    assert headers["tracestate"] == "vendor=v1"


@pytest.mark.parametrize("kind", KINDS)
def test_baggage_goes_with_the_trace_context(
    kind: str, mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    from opentelemetry import baggage, context

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    token = context.attach(baggage.set_baggage("tenant", "blue team"))
    try:
        run(kind, [TracingHook(tracer_provider=provider)])
    finally:
        context.detach(token)
    headers = route.calls[0].request.headers
    assert headers["baggage"] == "tenant=blue+team"  # as the W3C baggage propagator encodes it
    assert headers["traceparent"] == traceparent_of(only_span(exporter))


@pytest.mark.usefixtures("global_propagator")
def test_a_configured_propagator_writes_the_trace_context(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    from opentelemetry import propagate
    from opentelemetry.propagators.textmap import DefaultSetter, TextMapPropagator

    class Custom(TextMapPropagator):  # an app's own (B3, X-Ray... write other headers)
        def inject(self, carrier: Any, context: Any = None, setter: Any = DefaultSetter()) -> None:  # noqa: B008
            span_context = trace.get_current_span(context).get_span_context()
            setter.set(carrier, "x-trace-id", f"{span_context.trace_id:032x}")

        def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
            return context

        @property
        def fields(self) -> set[str]:
            return {"x-trace-id"}

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    propagate.set_global_textmap(Custom())
    run("sync", [TracingHook(tracer_provider=provider)])
    headers = route.calls[0].request.headers
    span_context = only_span(exporter).get_span_context()
    assert span_context is not None
    assert headers["x-trace-id"] == f"{span_context.trace_id:032x}"
    assert "traceparent" not in headers


def test_the_span_replaces_a_trace_context_the_caller_sent(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    stale = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    run("sync", [TracingHook(tracer_provider=provider)], extra_headers={"TraceParent": stale})
    sent = route.calls[0].request.headers
    assert sent.get_list("traceparent") == [traceparent_of(only_span(exporter))]
    names = [name.lower() for name, _ in sent.raw]
    assert names.index(b"traceparent") < names.index(b"content-length")  # replaced where the caller's stood


def test_headers_another_hook_replaced_still_get_the_trace_context(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    class Replace(Hook):
        def on_request(self, request: httpx.Request, call: CallInfo) -> None:
            request.headers = httpx.Headers(request.headers)  # plain httpx headers from here on

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    run("sync", [Replace(), TracingHook(tracer_provider=provider)])
    assert route.calls[0].request.headers["traceparent"] == traceparent_of(only_span(exporter))


class _Counting:
    """A propagator that writes how many times it was asked (a custom one may differ per attempt)."""

    def __init__(self, header: str = "x-attempt-context") -> None:
        self.header = header
        self.calls = 0

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        self.calls += 1
        carrier[self.header] = str(self.calls)

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        return context

    @property
    def fields(self) -> set[str]:
        return {self.header}


@pytest.mark.usefixtures("global_propagator")
def test_the_propagators_run_for_every_attempt(mock_api: respx.MockRouter, provider: TracerProvider) -> None:
    from opentelemetry import propagate

    route = mock_api.post(CHAT_URL).mock(side_effect=[status(500), ok()])
    propagate.set_global_textmap(_Counting())  # type: ignore[arg-type]
    run("sync", [TracingHook(tracer_provider=provider)])
    assert [c.request.headers["x-attempt-context"] for c in route.calls] == ["1", "2"]


@pytest.mark.usefixtures("global_propagator")
def test_a_composite_propagator_of_the_apps_own_is_not_taken_for_the_default(
    mock_api: respx.MockRouter, provider: TracerProvider
) -> None:
    from opentelemetry import propagate
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    class Stamped(CompositePropagator):
        def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:  # type: ignore[override]
            super().inject(carrier, context)
            carrier["x-tenant"] = "blue"

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    propagate.set_global_textmap(Stamped([TraceContextTextMapPropagator(), W3CBaggagePropagator()]))
    run("sync", [TracingHook(tracer_provider=provider)])
    assert route.calls[0].request.headers["x-tenant"] == "blue"
    assert "traceparent" in route.calls[0].request.headers


@pytest.mark.usefixtures("global_propagator")
def test_a_failing_propagator_still_ends_the_span(
    mock_api: respx.MockRouter, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    from opentelemetry import propagate

    class Broken(_Counting):
        def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
            raise RuntimeError("propagator down")

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    propagate.set_global_textmap(Broken())  # type: ignore[arg-type]
    with pytest.raises(HookError):
        run("sync", [TracingHook(tracer_provider=provider)])
    assert not route.called
    span = only_span(exporter)  # started, then ended with the call's error
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.usefixtures("global_propagator")
def test_a_propagators_non_ascii_value_is_sent_as_httpx_encodes_it(
    mock_api: respx.MockRouter, provider: TracerProvider
) -> None:
    from opentelemetry import propagate

    class Named(_Counting):
        def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
            carrier["x-user"] = "Zoë"

    route = mock_api.post(CHAT_URL).mock(return_value=ok())
    propagate.set_global_textmap(Named())  # type: ignore[arg-type]
    run("sync", [TracingHook(tracer_provider=provider)])
    assert dict(route.calls[0].request.headers.raw)[b"x-user"] == "Zoë".encode()
