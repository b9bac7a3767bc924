"""The public API's static types, checked by one ``mypy --strict`` run over the files in tests/typing.

- overloads.py: each call gets its precise return type.
- chat_params_accepted.py: correct calls in every accepted form must pass.
- chat_params_rejected.py: every marked wrong call must be rejected, line by line (``--warn-unused-ignores``
  turns a wrong call that slips through into an error on its line).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

TYPING_DIR = Path(__file__).parent.parent / "typing"
OVERLOADS = TYPING_DIR / "overloads.py"
ACCEPTED = TYPING_DIR / "chat_params_accepted.py"
REJECTED = TYPING_DIR / "chat_params_rejected.py"
_ERROR_LINE = re.compile(r"^(?P<path>.+?\.py):(?P<line>\d+): error: (?P<message>.*)$")


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, list[str]]:
    """Run mypy once (it is slow) and group its error lines by file name."""
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--warn-unused-ignores",
            "--no-incremental",
            "--config-file",
            "",
            "--show-error-codes",
            "--no-pretty",
            str(OVERLOADS),
            str(ACCEPTED),
            str(REJECTED),
        ]
    )
    assert status in (0, 1), stdout + stderr  # 2 = mypy itself failed (bad arguments, crash)
    errors: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        match = _ERROR_LINE.match(line)
        if match:
            errors.setdefault(Path(match["path"]).name, []).append(
                f"line {match['line']}: {match['message']}"
            )
    assert status == 1 or not errors
    return errors


def test_overloads_give_each_call_its_precise_type(mypy_errors: dict[str, list[str]]) -> None:
    assert mypy_errors.get(OVERLOADS.name, []) == []


def test_correct_calls_in_every_accepted_form_type_check(mypy_errors: dict[str, list[str]]) -> None:
    assert mypy_errors.get(ACCEPTED.name, []) == []


def test_each_wrong_call_is_rejected_on_its_own_line(mypy_errors: dict[str, list[str]]) -> None:
    # An unused ignore means mypy accepted that wrong call; another code means it was rejected for another reason.
    assert mypy_errors.get(REJECTED.name, []) == []


def test_the_rejected_file_marks_every_issue_example_for_every_entry_point() -> None:
    # Guards the guard: deleting a line from the rejected file must not go unnoticed.
    source = REJECTED.read_text()
    for entry_point in ("sync_create", "sync_stream", "async_create", "async_stream"):
        body = source.split(f"def issue_examples_{entry_point}(", 1)[1].split("\ndef ", 1)[0]
        for wrong in (
            "tool_choice=42",
            "response_format=3.14",
            'reasoning_effort="hgih"',
            '{"role": "usr"',
            'tools=[{"name": "f"}]',
        ):
            lines = [line for line in body.splitlines() if wrong in line]
            assert lines, (entry_point, wrong)
            assert all("# type: ignore[" in line for line in lines), (entry_point, wrong)
