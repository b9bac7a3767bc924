"""``foundry_target``: your Foundry resource when one is configured, otherwise an embedded emulator.

Examples, the ``grok-azure chat`` command and smoke tests run unchanged in both places. The implementation is
product code (:mod:`grok_azure._target`); this module re-exports it for tests and scripts.
"""

from __future__ import annotations

from .._target import DEFAULT_EMULATED_DEPLOYMENT, DEPLOYMENT_ENV_VAR, FoundryTarget, foundry_target

__all__ = ["DEFAULT_EMULATED_DEPLOYMENT", "DEPLOYMENT_ENV_VAR", "FoundryTarget", "foundry_target"]
