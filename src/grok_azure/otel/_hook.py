"""TracingHook: one OpenTelemetry CLIENT span per chat call, following the gen_ai semantic conventions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .._hooks import CallInfo, Hook
from .._secrets import RedactingHeaders
from .._version import __version__
from ._attributes import (
    PROVIDER,
    input_messages,
    output_messages,
    request_attributes,
    response_attributes,
)

if TYPE_CHECKING:
    from .._errors import GrokError
    from ..types.chat_completion import ChatCompletion

__all__ = ["CAPTURE_CONTENT_ENV", "TracingHook"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# "true" is the documented switch; the span modes of the newer opt-in also record content on the span.
_CONTENT_ON = frozenset({"true", "1", "span_only", "span_and_event"})


class _CallSpan:
    """One call's span and what the next attempt compares against (lives in ``CallInfo.state``)."""

    __slots__ = ("address", "deployment", "span")

    def __init__(self, span: trace.Span, call: CallInfo) -> None:
        self.span = span
        self.deployment = call.deployment
        self.address = (call.server_address, call.server_port)  # what the span started with


class TracingHook(Hook):
    """Traces each chat call as one OpenTelemetry CLIENT span named ``chat {model}``.

    The span starts when the first attempt is sent and ends with the call (a stream's when it completes or is
    closed). It carries the gen_ai semantic-convention attributes (operation, provider ``azure.ai.inference``,
    request model and parameters, response model and id, finish reasons, token usage), ``server.address`` and
    ``server.port`` of the endpoint of the last attempt, the deployment that answered (``grok_azure.deployment``),
    an event per retry (``grok_azure.retry``) and per failover (``grok_azure.failover``), and on failure
    ``error.type``, the exception and an ERROR status. Every attempt carries the W3C trace context
    (``traceparent``) of the span, so the service side can join the trace.

    The span's parent is the span current where the call is made. Per-call data lives in ``CallInfo.state``, so
    one hook serves concurrent calls.

    Args:
        tracer_provider: the provider to get the tracer from; None uses the global one
            (``opentelemetry.trace.set_tracer_provider``). Without an SDK configured, the API's no-op tracer
            makes the hook nearly free.
        capture_content: record the messages sent and the completion (``gen_ai.input.messages`` and
            ``gen_ai.output.messages``, JSON span attributes); None reads
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (``true`` turns it on) when the hook is built.
            Off by default: prompts are often personal data.
    """

    def __init__(
        self, tracer_provider: trace.TracerProvider | None = None, capture_content: bool | None = None
    ) -> None:
        self._tracer = trace.get_tracer("grok_azure", __version__, tracer_provider)
        if capture_content is None:
            capture_content = os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CONTENT_ON
        self.capture_content = capture_content

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        """Start the call's span at its first attempt, note a failover, and inject ``traceparent``."""
        state: _CallSpan | None = call.state.get(self)
        if state is None:
            state = call.state[self] = self._start(call)
        elif call.deployment != state.deployment:
            state.span.add_event(
                "grok_azure.failover",
                _present(
                    {
                        "grok_azure.attempt": call.attempt,
                        "grok_azure.failover.from": state.deployment,
                        "grok_azure.failover.to": call.deployment,
                    }
                ),
            )
            state.deployment = call.deployment
        _propagate(state.span, request.headers)

    def on_retry(self, error: GrokError, wait: float, call: CallInfo) -> None:
        """An event for the failed attempt that will be tried again (here or, as a failover, elsewhere)."""
        state: _CallSpan | None = call.state.get(self)
        if state is not None:
            state.span.add_event(
                "grok_azure.retry",
                {
                    "grok_azure.attempt": call.attempt,
                    "error.type": error_type(error),
                    "grok_azure.retry.wait": wait,
                },
            )

    def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
        """End the span with the request's and response's attributes, or the error (a stream closed early:
        neither)."""
        state: _CallSpan | None = call.state.pop(self, None)
        if state is None:
            if error is None:
                return
            state = self._start(call)  # the call failed before its first attempt was sent: still show it
        span = state.span
        if span.is_recording():
            # The response's attributes in one set_attributes (the request's went in at the start): the SDK
            # validates and locks per attribute and per call, which a traced call pays in full.
            attributes: dict[str, Any] = response_attributes(completion) if completion is not None else {}
            if state.address != (call.server_address, call.server_port):
                # A failover: name the endpoint and the deployment that answered, not the first ones.
                attributes["server.address"] = call.server_address
                attributes["server.port"] = call.server_port
                if call.deployment is not None:
                    attributes["grok_azure.deployment"] = call.deployment
            if self.capture_content:
                attributes["gen_ai.input.messages"] = input_messages(call.body)
                if completion is not None:
                    attributes["gen_ai.output.messages"] = output_messages(completion)
            if error is not None:
                attributes["error.type"] = error_type(error)
            if attributes:
                span.set_attributes(attributes)
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()

    def _start(self, call: CallInfo) -> _CallSpan:
        # Everything the request tells goes in at the start, in one batch (a sampler may read it, and the SDK's cost
        # is per call as much as per attribute); the response's attributes come with the end.
        attributes = request_attributes(call.body, call.stream)
        attributes["gen_ai.operation.name"] = "chat"
        attributes["gen_ai.provider.name"] = PROVIDER
        attributes["gen_ai.request.model"] = call.model
        attributes["grok_azure.request_id"] = call.request_id  # x-ms-client-request-id: Azure logs it too
        if call.server_address is not None:
            attributes["server.address"] = call.server_address
            attributes["server.port"] = call.server_port
        if call.deployment is not None and call.deployment != call.server_address:
            # A Deployment's name (with deployments=); without them the label is the host, already server.address,
            # and gen_ai.request.model is the Foundry deployment name.
            attributes["grok_azure.deployment"] = call.deployment
        span = self._tracer.start_span(f"chat {call.model}", kind=SpanKind.CLIENT, attributes=attributes)
        return _CallSpan(span, call)


def error_type(error: GrokError) -> str:
    """``error.type``: the HTTP status code for an error status, else the error's class name."""
    status = getattr(error, "status_code", None)
    return str(status) if isinstance(status, int) else type(error).__name__


def _propagate(span: trace.Span, headers: httpx.Headers) -> None:
    """Write the trace context into ``headers`` as the configured propagators do: this span's, or (a no-op tracer's
    invalid span) the caller's own.

    With OpenTelemetry's default propagators (W3C trace context, then baggage: ``OTEL_PROPAGATORS`` unset) and no
    baggage, the ``traceparent`` and ``tracestate`` they would write are written here directly, already encoded:
    the same bytes, for a fifth of what ``propagate.inject`` costs into httpx's headers, which every traced attempt
    pays. Anything else goes through ``propagate.inject``.
    """
    span_context = span.get_span_context()
    if (
        span_context.is_valid
        and isinstance(headers, RedactingHeaders)  # what the SDK builds (a hook may have replaced them)
        and _default_propagators(propagate.get_global_textmap())
        and not baggage.get_all()
    ):
        trace_state = span_context.trace_state.to_header() if span_context.trace_state else ""
        if trace_state.isascii():  # always, once OpenTelemetry has validated it
            traceparent = b"00-%032x-%016x-%02x" % (
                span_context.trace_id,
                span_context.span_id,
                span_context.trace_flags,
            )
            headers.set_encoded(b"traceparent", traceparent)
            if trace_state:
                headers.set_encoded(b"tracestate", trace_state.encode("ascii"))
            return
    propagate.inject(headers, context=trace.set_span_in_context(span) if span_context.is_valid else None)


def _default_propagators(textmap: object) -> bool:
    """Whether ``textmap`` is OpenTelemetry's default global propagator, exactly (not a subclass of any part)."""
    if type(textmap) is not CompositePropagator:
        return False
    parts = getattr(
        textmap, "_propagators", None
    )  # its own attribute; if a release renames it, never the default
    return (
        isinstance(parts, (list, tuple))
        and len(parts) == 2
        and type(parts[0]) is TraceContextTextMapPropagator
        and type(parts[1]) is W3CBaggagePropagator
    )


def _present(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}
