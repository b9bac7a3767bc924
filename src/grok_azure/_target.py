"""Where the environment points: the Foundry endpoint, key and deployment named by ``GROK_AZURE_*`` variables.

The ``grok-azure`` command and the examples start here (``grok_azure.testing`` re-exports :func:`foundry_target`):
a configured endpoint, or else the embedded emulator (``grok_azure._emulator``, the ``emulator`` extra), which is
imported only when no endpoint is configured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
    "foundry_target",
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
    # A FoundryEmulator; typed loosely so that this module does not import the emulator (an optional extra).
    emulator: Any = field(default=None, repr=False, compare=False)

    def _client_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("endpoint", self.endpoint)
        if self.api_key is not None and "credential" not in kwargs:
            kwargs.setdefault("api_key", self.api_key)
        # The target already read the environment; an empty one keeps a stray key from overriding Entra ID.
        kwargs.setdefault("environ", {})
        return kwargs

    def client(self, **kwargs: Any) -> GrokClient:
        """A :class:`GrokClient` for this target; with no key it authenticates with DefaultAzureCredential.

        Args:
            **kwargs: any other :class:`GrokClient` argument. ``endpoint`` and ``api_key`` default to the
                target's (no key when a ``credential`` is passed), ``environ`` to ``{}`` (the target already read
                the environment).
        """
        return GrokClient(**self._client_kwargs(kwargs))

    def async_client(self, **kwargs: Any) -> AsyncGrokClient:
        """An :class:`AsyncGrokClient` for this target.

        Args:
            **kwargs: any other :class:`AsyncGrokClient` argument, defaulted as for :meth:`client`.
        """
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


@contextmanager
def foundry_target(
    *,
    deployment: str | None = None,
    environ: Mapping[str, str] | None = None,
    announce: bool = True,
) -> Iterator[FoundryTarget]:
    """Yield the configured Foundry target, or start an embedded emulator for the ``with`` block.

    With ``GROK_AZURE_ENDPOINT`` set (``AZURE_INFERENCE_ENDPOINT`` is the fallback, as for the clients), the
    target is that endpoint with ``GROK_AZURE_API_KEY`` (or Entra ID when unset), and ``deployment`` or else
    ``GROK_AZURE_DEPLOYMENT`` names the deployment. Otherwise a :class:`FoundryEmulator` serves every current
    catalog model on 127.0.0.1, ``deployment`` defaulting to ``grok-4.7``; ``announce`` says so on stderr.

    Args:
        deployment: the deployment name; default ``GROK_AZURE_DEPLOYMENT`` for a configured endpoint (required
            there), ``grok-4.7`` for the emulator (which serves every current catalog model under its id, and
            under the alias asked for).
        environ: the environment to read (default ``os.environ``): ``GROK_AZURE_ENDPOINT`` (fallback
            ``AZURE_INFERENCE_ENDPOINT``), ``GROK_AZURE_API_KEY`` and ``GROK_AZURE_DEPLOYMENT``.
        announce: print a line on stderr when the emulator is used (default True).

    Raises:
        ConfigurationError: an endpoint is set but no deployment is named, or no endpoint is set and the
            ``emulator`` extra is not installed.
    """
    target = configured_target(deployment=deployment, environ=environ)
    if target is not None:
        yield target
        return
    try:
        from ._emulator._emulator import FoundryEmulator
    except ImportError as exc:
        raise ConfigurationError(
            "GROK_AZURE_ENDPOINT is not set and the embedded Foundry emulator is not installed: set "
            f"GROK_AZURE_ENDPOINT or `pip install 'grok-azure[emulator]'` ({exc})"
        ) from exc
    name = deployment or DEFAULT_EMULATED_DEPLOYMENT
    with FoundryEmulator(deployments=emulated_deployments(name)) as emulator:
        if announce:
            print(
                f"GROK_AZURE_ENDPOINT is not set: using an embedded Foundry emulator at {emulator.url}",
                file=sys.stderr,
                flush=True,
            )
        yield FoundryTarget(emulator.url, emulator.api_key, name, emulated=True, emulator=emulator)
