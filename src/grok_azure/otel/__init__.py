"""OpenTelemetry tracing for grok-azure (the ``grok-azure[otel]`` extra).

``GrokClient(hooks=[TracingHook()])`` traces each chat call as one gen_ai CLIENT span; see :class:`TracingHook`.
``import grok_azure`` never imports this package, so OpenTelemetry is needed only by those who trace.
"""

from __future__ import annotations

try:
    import opentelemetry.propagate
    import opentelemetry.trace  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised with the module hidden
    raise ImportError(
        'grok_azure.otel needs OpenTelemetry: pip install "grok-azure[otel]" '
        "(and opentelemetry-sdk with an exporter to send the spans somewhere)"
    ) from exc

from ._hook import CAPTURE_CONTENT_ENV, TracingHook

__all__ = ["CAPTURE_CONTENT_ENV", "TracingHook"]
