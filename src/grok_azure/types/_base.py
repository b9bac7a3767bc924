"""The shared base for every response model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["GrokModel"]


class GrokModel(BaseModel):
    """Base for response models.

    Unknown fields are kept (``extra="allow"``) because Azure adds its own (``stop_reason``, ``call_id``,
    ``num_sources_used``...) and new ones appear without notice; dropping them would lose data and failing on
    them would break callers on every service update.
    """

    # defer_build: validators are built on first use, not at import, which keeps `import grok_azure` cheap.
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=(), defer_build=True)
