"""``foundry_target``: your Foundry resource when one is configured, otherwise an embedded emulator.

Examples, the ``grok-azure chat`` command and smoke tests run unchanged in both places. The emulator (and so
starlette and uvicorn) is imported only when no endpoint is configured. Reading the environment is product code
(:mod:`grok_azure._target`); this module adds only the emulator.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from .._errors import ConfigurationError
from .._target import (
    DEFAULT_EMULATED_DEPLOYMENT,
    DEPLOYMENT_ENV_VAR,
    FoundryTarget,
    configured_target,
    emulated_deployments,
)

__all__ = ["DEFAULT_EMULATED_DEPLOYMENT", "DEPLOYMENT_ENV_VAR", "FoundryTarget", "foundry_target"]


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
    """
    target = configured_target(deployment=deployment, environ=environ)
    if target is not None:
        yield target
        return
    try:
        from ._emulator import FoundryEmulator
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
