"""Keeping credentials out of everything an exception can reach.

(Initial version: the scrubbing helpers still live in ``_errors``; they move here.)
"""

from __future__ import annotations

__all__ = ["sanitized_cause"]


def sanitized_cause(exc: BaseException) -> BaseException:
    """A stand-in for a low-level exception, safe to chain under a GrokError as its ``__cause__``.

    It keeps the type and message, and drops what could hold a credential: the ``request`` httpx attaches (with
    its auth headers), the traceback (whose frames' locals ``traceback`` renders with ``capture_locals=True``)
    and the exception's own chain. Raise the GrokError outside the ``except`` block that caught ``exc``, so that
    ``__context__`` does not point back at the original either.
    """
    message = str(exc)
    try:
        clone = type(exc)(message)
    except Exception:
        clone = RuntimeError(f"{type(exc).__name__}: {message}")
    clone.__cause__ = None
    clone.__context__ = None
    clone.__traceback__ = None
    return clone
