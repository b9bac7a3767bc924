"""The two things a tool needs from a docstring: its description, and one line per parameter.

Google style (``Args:`` / ``Arguments:`` / ``Parameters:`` followed by indented ``name (type): text``) and the
reST field list (``:param name: text``) are read; anything else leaves the parameters undescribed. The summary is
the text before the first section header (``Args:``, ``Returns:``, ``Raises:``...), cleaned by
:func:`inspect.cleandoc`. No dependency: a docstring parser library would be one more thing to install for ten
lines of work, and a docstring it cannot read costs only descriptions, never correctness.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["Docstring", "parse_docstring"]

_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ARGS_SECTIONS = frozenset({"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments"})
_GOOGLE_ARG = re.compile(r"^\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")
_REST_FIELD = re.compile(r"^:\w+")


class Docstring:
    """A parsed docstring: ``summary`` (may be ``""``) and ``params`` (parameter name -> description)."""

    __slots__ = ("params", "summary")

    def __init__(self, summary: str, params: dict[str, str]) -> None:
        self.summary = summary
        self.params = params


def parse_docstring(doc: str | None) -> Docstring:
    """Read ``doc`` (an object's ``__doc__``; None gives an empty result)."""
    if not doc:
        return Docstring("", {})
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None  # the parameter that an indented continuation line extends
    arg_indent = 0  # the indent of the current Args entry: deeper lines continue it
    for line in inspect.cleandoc(doc).splitlines():
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        rest = _REST_PARAM.match(text)
        if header is not None:
            section, current = header.group(1), None
        elif rest is not None:
            section, current = ":param", rest.group(1)
            params[current] = rest.group(2).strip()
        elif _REST_FIELD.match(text):
            section, current = ":field", None  # :returns:, :raises: ... end the summary and any parameter
        elif section is None:
            summary.append(line)
        elif not text:
            continue
        elif section in _ARGS_SECTIONS and indent > 0 and (current is None or indent <= arg_indent):
            entry = _GOOGLE_ARG.match(text)
            current = entry.group(1) if entry is not None else None
            if entry is not None:
                params[entry.group(1)] = entry.group(2).strip()
                arg_indent = indent
        elif current is not None and indent > 0:
            params[current] = f"{params[current]} {text}".strip()  # a wrapped description
        else:
            current = None
    return Docstring("\n".join(summary).strip(), params)
