"""The catalog's two errors, and how a pydantic validation failure becomes a readable :class:`CatalogError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError, GrokError

if TYPE_CHECKING:
    from pydantic import ValidationError

_SHOWN_PROBLEMS = 5
_SHOWN_INPUT_CHARS = 60


class CatalogError(ConfigurationError, ValueError):
    """A catalog file or entry is malformed, or two models claim the same name.

    The message names where the problem is: the file (or ``with_models() argument N``), the model and the field.
    """


class UnknownModelError(GrokError, KeyError):
    """A model name that is neither a catalog id nor an alias.

    Args:
        name: the name looked up.
        suggestions: catalog ids close to ``name``, best first (may be empty).
        known: the current catalog ids, listed in the message when nothing is close.
    """

    def __init__(self, name: str, suggestions: tuple[str, ...], known: tuple[str, ...]) -> None:
        if suggestions:
            hint = f"Did you mean {', '.join(repr(s) for s in suggestions)}?"
        else:
            hint = f"Known current models: {', '.join(known)}."
        super().__init__(f"Unknown Grok model {name!r}. {hint}")
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return str(self.args[0])


def validation_error(where: str, error: ValidationError, raw: object) -> CatalogError:
    """A :class:`CatalogError` listing ``error``'s first problems, each as ``where: location: message``.

    Args:
        where: what was being read (a file path, ``with_models() argument 2``...), first in every line.
        error: the pydantic failure.
        raw: the input that failed, used to name models by id rather than by position alone.
    """
    problems = error.errors()
    lines = [
        f"{where}: {_location(problem['loc'], raw)}{_message(problem)}"
        for problem in problems[:_SHOWN_PROBLEMS]
    ]
    if len(problems) > _SHOWN_PROBLEMS:
        lines.append(f"... and {len(problems) - _SHOWN_PROBLEMS} more problems")
    return CatalogError("\n".join(lines))


def _location(loc: Sequence[int | str], raw: object) -> str:
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            item = node[step] if isinstance(node, Sequence) and 0 <= step < len(node) else None
            model_id = item.get("id") if isinstance(item, Mapping) else None
            label = f"[{step}]" + (f" (id {model_id!r})" if isinstance(model_id, str) else "")
            parts.append(label)
            node = item
        else:
            parts.append(f".{step}" if parts else step)
            node = node.get(step) if isinstance(node, Mapping) else None
    return "".join(parts) + ": " if parts else ""


def _message(problem: Mapping[str, Any]) -> str:
    # pydantic prefixes the messages of our own validators with "Value error, ": noise for a reader.
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] in {"missing", "extra_forbidden"} or problem["type"].startswith("value_error"):
        return message
    shown = repr(problem.get("input"))
    if len(shown) > _SHOWN_INPUT_CHARS:
        shown = shown[: _SHOWN_INPUT_CHARS - 3] + "..."
    return f"{message} (got {shown})"
