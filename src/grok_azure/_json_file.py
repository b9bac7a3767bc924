"""Reading a small JSON file strictly, for the catalog file and the deployments file (no I/O beyond the read).

Strict: UTF-8 only, no key given twice in one object (``json`` would keep the last one, so a typo'd override
would silently lose the first value), and no ``NaN`` or ``Infinity``.
"""

from __future__ import annotations

import json
import os
from typing import Any, NoReturn

__all__ = ["JSONFileError", "decode_strict", "read_at_most"]


class JSONFileError(ValueError):
    """Why the bytes are not usable JSON; ``duplicate`` is the key given twice when that is the reason."""

    def __init__(self, reason: str, *, duplicate: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.duplicate = duplicate


def read_at_most(path: str | os.PathLike[str], max_bytes: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``max_bytes``; raises OSError when it cannot be read."""
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def decode_strict(data: bytes) -> object:
    """The JSON document in ``data``; :class:`JSONFileError` for anything that is not strict JSON."""
    try:
        return json.loads(data, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except UnicodeDecodeError:
        reason = "not valid JSON: not UTF-8 text"
    raise JSONFileError(reason) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONFileError(f"key {key!r} appears twice in one object", duplicate=key)
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    raise JSONFileError(f"{name} is not a JSON number")
