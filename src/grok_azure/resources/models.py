"""``client.models``: the configured deployments joined with the catalog, and selection by need.

Nothing here does I/O, so :class:`AsyncGrokClient` has the same (sync) object.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._catalog import Catalog
from .._errors import ConfigurationError
from .._model_directory import DeployedModel
from .._selection import ModelSelection, Preference

if TYPE_CHECKING:
    from .._call_models import ModelPolicy
    from .._selection import Need

__all__ = ["Models"]


class Models:
    """The deployments a client knows a model for, and which one suits a need."""

    def __init__(self, policy: ModelPolicy) -> None:
        self._policy = policy

    @property
    def catalog(self) -> Catalog:
        """The catalog the client resolves model names in (the ``catalog=`` it was given, or the packaged one)."""
        return self._policy.directory.catalog

    def list(self) -> builtins.list[DeployedModel]:
        """The mapped deployments (``deployment_models=``, ``GROK_AZURE_DEPLOYMENTS_FILE``,
        ``GROK_AZURE_DEPLOYMENTS``), then the ``deployment`` names of ``deployments=`` items that are catalog names.

        A deployment that is merely named after a catalog model is not listed until it is used or configured: the
        client cannot know it exists.
        """
        return self._policy.directory.listed()

    def get(self, deployment: str) -> DeployedModel:
        """The deployment named ``deployment``: a mapped one, or one named after a catalog id or alias.

        Args:
            deployment: the deployment name, as passed to ``model=``.

        Raises:
            ConfigurationError: no model is known for that name (the message lists the mapped deployments).
        """
        return self._policy.directory.get(deployment)

    def select(
        self,
        *,
        needs: Iterable[Need] = (),
        min_context: int | None = None,
        prefer: Preference = "cost",
    ) -> DeployedModel:
        """The best mapped deployment for a need (see docs/models.md for the orderings).

        Args:
            needs: any of ``"tools"``, ``"vision"``, ``"reasoning"``, ``"structured_output"``.
            min_context: the smallest acceptable context window, in tokens.
            prefer: ``"cost"`` (cheapest), ``"context"`` (largest window) or ``"quality"`` (reasoning models,
                then the most recent; a documented rule of thumb, not a benchmark).

        Raises:
            ModelSelectionError: no mapped deployment qualifies; ``missing`` says what each one lacks.
            ConfigurationError: an unknown need or preference.
        """
        if isinstance(needs, str):  # a bare "tools" would otherwise become the needs "t", "o", "l", "s"
            raise ConfigurationError(
                f"needs must be a set of names, e.g. {{{needs!r}}}; got the str {needs!r}"
            )
        selection = ModelSelection(needs=frozenset(needs), min_context=min_context, prefer=prefer)
        return self._policy.select(selection)

    def __repr__(self) -> str:
        return f"<Models {[d.deployment for d in self.list()]!r}>"
