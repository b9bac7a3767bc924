"""``run.py --tracing``: every grok_azure client of the run carries a ``TracingHook`` on an SDK TracerProvider.

The provider is what a production app runs: the OpenTelemetry SDK with a ``BatchSpanProcessor`` (spans are
queued on the calling thread and exported from a background one). Its exporter drops the spans, so the numbers
show what the SDK and the hook cost the call, not what a collector's network costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["enable"]


def enable() -> Any:
    """Make ``grok_azure.GrokClient`` and ``AsyncGrokClient`` trace every call; the provider (for shutdown)."""
    try:
        from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    except ImportError as exc:
        raise SystemExit(f'--tracing needs opentelemetry-sdk: pip install "grok-azure[dev]" ({exc})') from exc

    import grok_azure
    from grok_azure.otel import TracingHook

    class Discard(SpanExporter):
        def __init__(self) -> None:
            self.exported = 0

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            self.exported += len(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    hook = TracingHook(tracer_provider=provider)

    # The benchmarks build clients through getattr(grok_azure, name): swap in subclasses that add the hook.
    for name in ("GrokClient", "AsyncGrokClient"):
        base = getattr(grok_azure, name)

        def __init__(self: Any, *args: Any, _base: Any = base, **kwargs: Any) -> None:
            kwargs.setdefault("hooks", [hook])
            _base.__init__(self, *args, **kwargs)

        setattr(grok_azure, name, type(name, (base,), {"__init__": __init__}))
    return provider
