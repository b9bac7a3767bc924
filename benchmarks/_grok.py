"""Import guard for the SDK under test, so its rows fail with a clear message while it is being written."""

from __future__ import annotations

from typing import Any


def grok_client_class(name: str) -> Any:
    """Return ``grok_azure.<name>`` (GrokClient or AsyncGrokClient) or raise a readable RuntimeError."""
    try:
        import grok_azure
    except ImportError as exc:
        raise RuntimeError(f"grok_azure is not importable: {exc}") from exc
    cls = getattr(grok_azure, name, None)
    if cls is None:
        raise RuntimeError(f"grok_azure.{name} is not available yet (the client is still being written)")
    return cls
