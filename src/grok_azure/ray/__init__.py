"""Batches over a Ray cluster (the ``grok-azure[ray]`` extra): Grok on Foundry from ``Dataset.map_batches``.

:class:`GrokBatchProcessor` runs an :class:`~grok_azure.AsyncGrokClient` in each Ray actor and turns rows in the
OpenAI batch input shape into rows in the batch output shape; :class:`QuotaCoordinator`, one Ray actor, owns
the single pacer the whole cluster shares, so fifty workers together stay under the deployment's quota. See
docs/ray.md. ``import grok_azure`` never imports this package, so Ray is needed only by those who use it.
"""

from __future__ import annotations

try:
    import ray.data  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised with the module hidden
    raise ImportError('grok_azure.ray needs Ray Data: pip install "grok-azure[ray]"') from exc

from ._coordinator import QuotaCoordinator, QuotaSummary
from ._processor import GrokBatchProcessor

__all__ = ["GrokBatchProcessor", "QuotaCoordinator", "QuotaSummary"]
