"""Where the environment points: the Foundry endpoint, key and deployment named by ``GROK_AZURE_*`` variables.

The ``grok-azure`` command and ``grok_azure.testing.foundry_target`` both start here; the latter adds the embedded
emulator for when no endpoint is configured. This module is product code: it never imports ``grok_azure.testing``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._client import AsyncGrokClient, GrokClient
from ._endpoint import API_KEY_ENV_VARS, ENDPOINT_ENV_VARS, first_env
from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_EMULATED_DEPLOYMENT",
    "DEPLOYMENT_ENV_VAR",
    "FoundryTarget",
    "configured_target",
    "emulated_deployments",
]

DEPLOYMENT_ENV_VAR = "GROK_AZURE_DEPLOYMENT"
# The newest GA reasoning model; the emulator deploys every current catalog model under its own id.
DEFAULT_EMULATED_DEPLOYMENT = "grok-4.7"


@dataclass(frozen=True)
class FoundryTarget:
    """Where to send requests: ``endpoint``, the key (None: Entra ID) and the deployment name.

    ``emulated`` is True when the target is an embedded ``grok_azure.testing.FoundryEmulator``, which is then
    available as ``emulator`` for scripting replies and faults.
    """

    endpoint: str
    api_key: str | None = field(repr=False)
    deployment: str
    emulated: bool
    # A FoundryEmulator; typed loosely so that the product does not import its test package.
    emulator: Any = field(default=None, repr=False, compare=False)

    def _client_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("endpoint", self.endpoint)
        if self.api_key is not None and "credential" not in kwargs:
            kwargs.setdefault("api_key", self.api_key)
        # The target already read the environment; an empty one keeps a stray key from overriding Entra ID.
        kwargs.setdefault("environ", {})
        return kwargs

    def client(self, **kwargs: Any) -> GrokClient:
        """A :class:`GrokClient` for this target; with no key it authenticates with DefaultAzureCredential."""
        return GrokClient(**self._client_kwargs(kwargs))

    def async_client(self, **kwargs: Any) -> AsyncGrokClient:
        """An :class:`AsyncGrokClient` for this target."""
        return AsyncGrokClient(**self._client_kwargs(kwargs))


def configured_target(
    *, deployment: str | None = None, environ: Mapping[str, str] | None = None
) -> FoundryTarget | None:
    """The target the environment configures, or None when no endpoint is set.

    Args:
        deployment: the deployment name; default ``GROK_AZURE_DEPLOYMENT``.
        environ: the environment to read (default ``os.environ``): ``GROK_AZURE_ENDPOINT`` (fallback
            ``AZURE_INFERENCE_ENDPOINT``) and ``GROK_AZURE_API_KEY`` (unset: Entra ID).

    Raises:
        ConfigurationError: an endpoint is set but no deployment is named.
    """
    env = os.environ if environ is None else environ
    endpoint = first_env(ENDPOINT_ENV_VARS, env)
    if endpoint is None:
        return None
    name = deployment or env.get(DEPLOYMENT_ENV_VAR, "").strip()
    if not name:
        raise ConfigurationError(
            f"GROK_AZURE_ENDPOINT is set but no deployment is named: set {DEPLOYMENT_ENV_VAR} to the name "
            "of your Grok deployment (as shown in the Foundry portal), or pass it explicitly."
        )
    return FoundryTarget(endpoint, first_env(API_KEY_ENV_VARS, env), name, emulated=False)


def emulated_deployments(deployment: str) -> dict[str, str]:
    """What an embedded emulator deploys so that ``deployment`` answers: every current catalog model by id."""
    from ._catalog import load_catalog

    catalog = load_catalog()
    deployments = {spec.id: spec.id for spec in catalog.current()}
    spec = catalog.get(deployment)
    # A current model asked for by an alias ("grok-4.1-fast-reasoning") is deployed under that name too.
    if spec is not None and spec.is_current:
        deployments.setdefault(deployment, spec.id)
    return deployments
