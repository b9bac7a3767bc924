"""TracingHook over real loopback HTTP (the emulator): httpx for the sync client, aiohttp for the async one.

The span's attributes come from what the service answered, and the ``traceparent`` each attempt carried is the
one the emulator received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from grok_azure import AsyncGrokClient, GrokClient, RetryPolicy
from grok_azure.otel import TracingHook
from grok_azure.testing import Fault, FoundryEmulator

pytestmark = pytest.mark.integration

KEY = "sk-emulator-otel-SECRET-key-0123456789"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hi"}]
USAGE: Any = {"include_usage": True}  # a stream's usage comes in its last chunk only when asked for
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002)


@pytest.fixture
def emulator() -> Iterator[FoundryEmulator]:
    with FoundryEmulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
def hook(exporter: InMemorySpanExporter) -> TracingHook:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingHook(tracer_provider=provider)


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def call(kind: str, url: str, hook: TracingHook, *, stream: bool) -> str:
    """One call as users write it, on the client of ``kind`` (the async one on its default aiohttp transport)."""
    options: dict[str, Any] = {"endpoint": url, "api_key": KEY, "hooks": [hook], "retry": FAST}
    if kind == "sync":
        with GrokClient(**options) as client:
            if not stream:
                return client.chat.completions.create(model="grok-4", messages=MESSAGES).text
            return "".join(
                c.choices[0].delta.content or ""
                for c in client.chat.completions.create(
                    model="grok-4", messages=MESSAGES, stream=True, stream_options=USAGE
                )
                if c.choices
            )

    async def main() -> str:
        async with AsyncGrokClient(**options) as client:
            if not stream:
                return (await client.chat.completions.create(model="grok-4", messages=MESSAGES)).text
            text = ""
            async for c in await client.chat.completions.create(
                model="grok-4", messages=MESSAGES, stream=True, stream_options=USAGE
            ):
                text += c.choices[0].delta.content or "" if c.choices else ""
            return text

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_traced_call_over_http_reports_what_the_service_answered(
    emulator: FoundryEmulator, exporter: InMemorySpanExporter, hook: TracingHook, kind: str, stream: bool
) -> None:
    emulator.fault(Fault.server_error(503))  # the first attempt fails: a retry event, two traceparents
    assert call(kind, emulator.url, hook, stream=stream)
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat grok-4"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    host, port = emulator.url.split("//")[1].split(":")
    assert (attributes["server.address"], attributes["server.port"]) == (host, int(port))
    assert attributes["gen_ai.provider.name"] == "azure.ai.inference"
    assert attributes["gen_ai.response.model"]
    assert attributes["gen_ai.response.id"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert isinstance(attributes["gen_ai.usage.input_tokens"], int)
    assert int(attributes["gen_ai.usage.output_tokens"]) > 0  # type: ignore[arg-type]
    assert attributes.get("gen_ai.request.stream", False) is stream  # marked on streams only
    assert [e.name for e in span.events] == ["grok_azure.retry"]
    assert dict(span.events[0].attributes or {})["error.type"] == "503"
    # What the service received on each attempt joins this span.
    assert [r.headers["traceparent"] for r in emulator.requests] == [traceparent_of(span)] * 2
    assert KEY not in span.to_json()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_failed_call_over_http_is_an_error_span_without_the_key(
    emulator: FoundryEmulator, exporter: InMemorySpanExporter, hook: TracingHook, kind: str
) -> None:
    emulator.fault(Fault.server_error(500), times=10)
    with pytest.raises(Exception, match="500"):
        call(kind, emulator.url, hook, stream=False)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "500"
    assert "exception" in [e.name for e in span.events]
    assert KEY not in span.to_json()
