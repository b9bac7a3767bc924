"""Constants shared across layers, and the "not given" sentinel."""

from __future__ import annotations

from typing import Final, Literal

import httpx

__all__ = ["DEFAULT_TIMEOUT", "NOT_GIVEN", "NotGiven"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: "the caller did not pass this", where ``None`` already means something.

    ``with_options(timeout=None)`` means "no timeout", so leaving the timeout as it was needs another value.
    Annotate such parameters ``X | NotGiven`` so a type checker still rejects wrong types.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance, so `is NOT_GIVEN` holds even after copy or pickle.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

# Ten minutes for a long reasoning answer; a connection that takes more than ten seconds will not come.
DEFAULT_TIMEOUT: Final = httpx.Timeout(600.0, connect=10.0)
