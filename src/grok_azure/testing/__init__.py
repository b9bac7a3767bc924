"""A local Azure AI Foundry emulator for Grok deployments, for tests and offline development.

The emulator's implementation lives in ``grok_azure._emulator`` (the ``grok-azure emulator`` command runs it, and
the product never imports this test package); this package is its public face, plus the pytest plugin.

:class:`FoundryEmulator` needs the ``emulator`` extra (starlette, uvicorn) and is imported on first use, so
that loading the pytest plugin (``grok_azure.testing._pytest_plugin``, which every pytest run with
grok-azure installed does) stays cheap. The plugin provides the function-scoped ``foundry_emulator`` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._emulator._faults import Fault
from .._emulator._state import RecordedRequest, Reply

if TYPE_CHECKING:
    from .._emulator._emulator import FoundryEmulator
    from ._target import FoundryTarget, foundry_target

__all__ = ["Fault", "FoundryEmulator", "FoundryTarget", "RecordedRequest", "Reply", "foundry_target"]


def __getattr__(name: str) -> Any:
    if name == "FoundryEmulator":
        from .._emulator._emulator import FoundryEmulator

        return FoundryEmulator
    if name in ("foundry_target", "FoundryTarget"):
        from . import _target

        return getattr(_target, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
