"""The public API's static types: mypy must accept tests/typing/overloads.py under --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

TYPING_CASES = Path(__file__).parent.parent / "typing" / "overloads.py"


def test_overloads_give_each_call_its_precise_type() -> None:
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--warn-unused-ignores", "--no-incremental", "--config-file", "", str(TYPING_CASES)]
    )
    assert status == 0, stdout + stderr
