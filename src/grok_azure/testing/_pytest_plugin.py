"""pytest plugin (registered through the ``pytest11`` entry point): the ``foundry_emulator`` fixture.

Every pytest run in an environment with grok-azure installed loads this module, so it imports nothing
heavy; starlette and uvicorn are imported only when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .._emulator._emulator import FoundryEmulator


@pytest.fixture
def foundry_emulator() -> Iterator[FoundryEmulator]:
    """A started FoundryEmulator with a random key and every current catalog model deployed under its id."""
    try:
        from .._emulator._emulator import FoundryEmulator
    except ImportError as exc:  # the emulator extra is not installed
        pytest.fail(
            f"the foundry_emulator fixture needs `pip install grok-azure[emulator]` ({exc})", pytrace=False
        )
    with FoundryEmulator() as emulator:
        yield emulator
