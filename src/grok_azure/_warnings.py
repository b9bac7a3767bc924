"""The SDK's warning category and "warn once" bookkeeping.

A fact the catalog does not confirm (a parameter rejection no source states, an unmapped deployment) must never
become a hard error: the SDK warns once and lets the request through. "Once" is per :class:`OnceRegistry`: each
client keeps its own (a new client warns again, and a test that builds one sees the warning whatever ran before),
and code without a client uses the module's registry, once per process.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Hashable

__all__ = ["GrokAzureWarning", "OnceRegistry", "warn_once"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class GrokAzureWarning(UserWarning):
    """Something the SDK let through but you should know about (an unconfirmed model rule, an unmapped deployment).

    Silence it with ``warnings.filterwarnings("ignore", category=GrokAzureWarning)``, or turn it into an error
    with ``"error"`` in tests.
    """


class OnceRegistry:
    """The keys already warned about; thread- and task-safe (a lock held for one set operation)."""

    __slots__ = ("_lock", "_seen")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[Hashable] = set()

    def first(self, key: Hashable) -> bool:
        """True the first time ``key`` is given (the caller should warn), False afterwards."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def __repr__(self) -> str:
        return f"OnceRegistry(seen={len(self._seen)})"


_PROCESS = OnceRegistry()


def warn_once(key: Hashable, message: str, *, registry: OnceRegistry | None = None) -> bool:
    """Warn with ``message`` (a :class:`GrokAzureWarning`) the first time ``key`` is seen in ``registry``.

    Args:
        key: what "once" is about, e.g. ``("unconfirmed", "grok-4", "stop")``.
        message: the warning text; it must not contain secrets (warnings reach logs).
        registry: whose "once"; default: the process-wide one.

    Returns:
        Whether a warning was issued.
    """
    if not (registry or _PROCESS).first(key):
        return False
    # Blame the caller's line, not the SDK's: warnings filters and the printed location then name user code.
    warnings.warn(message, GrokAzureWarning, stacklevel=_outside_stacklevel())
    return True


def _outside_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this package (as seen from ``warnings.warn``'s caller)."""
    frame = sys._getframe(1)  # warn_once
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
