"""Decoding a large response body or stream event without letting a hostile one multiply in memory.

pydantic makes a model instance, defaults filled in, for every item of a list of models: a choice sent as ``{}``
(3 bytes) becomes a ``Choice`` and its message, over 1 KB. Decoded straight to models, a 0.9 MB body of empty
choices held 340 MB and took 3 s of CPU; the default ``max_body_bytes`` (64 MiB) would let one reach 20 GB.

Real answers are nowhere near that dense: a choice carries its message, finish reason and filter results, a tool
call its id, name and arguments. Bodies and events up to :data:`DIRECT_DECODE_BYTES` (almost all of them: a
completion is a few KB) are decoded straight to models, at most about 25 MB for the worst. Larger ones are parsed
to plain JSON values first, by the parser pydantic itself uses, and refused if their lists of models have more
entries than one per :data:`_BYTES_PER_ENTRY` bytes; only then are the models made.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
import pydantic_core

__all__ = ["DIRECT_DECODE_BYTES", "validate_large"]

DIRECT_DECODE_BYTES = 64 * 1024
# The fewest bytes of the body each entry of a list of models must account for. An empty choice is 3; a real one
# with its message and content-filter results several hundred; a tool call with its id, name and arguments 100 or
# more.
_BYTES_PER_ENTRY = 64

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def validate_large(model: type[ModelT], data: str | bytes) -> ModelT:
    """``model.model_validate_json(data)`` for data over :data:`DIRECT_DECODE_BYTES`, with the density check.

    Args:
        model: ``ChatCompletion`` or ``ChatCompletionChunk`` (the lists checked are theirs: ``choices``, each
            choice's ``message`` or ``delta`` ``tool_calls``, and ``prompt_filter_results``).
        data: the body, or one event's data.

    Raises:
        pydantic.ValidationError: as ``model_validate_json`` would for data that is not valid JSON or not a
            ``model``, and for data too dense to decode (type ``too_dense``), so callers handle all three alike.
    """
    try:
        tree = pydantic_core.from_json(data)
    except ValueError as exc:
        raise _error(model, "json_invalid", "Invalid JSON: {error}", error=str(exc)) from None
    entries = _model_entries(tree)
    if entries * _BYTES_PER_ENTRY > len(data):
        raise _error(
            model,
            "too_dense",
            "{entries} choices, tool calls and prompt filter results in {size} bytes: denser than any answer, and "
            "refused (decoded, each would take far more memory than its bytes)",
            entries=entries,
            size=len(data),
        )
    return model.model_validate(tree)


def _model_entries(tree: Any) -> int:
    """How many items of the lists that become models ``tree`` holds (0 if it is not a JSON object)."""
    if not isinstance(tree, dict):
        return 0
    entries = 0
    results = tree.get("prompt_filter_results")
    if isinstance(results, list):
        entries += len(results)
    choices = tree.get("choices")
    if isinstance(choices, list):
        entries += len(choices)
        for choice in choices:
            if isinstance(choice, dict):
                for part in (choice.get("message"), choice.get("delta")):
                    calls = part.get("tool_calls") if isinstance(part, dict) else None
                    if isinstance(calls, list):
                        entries += len(calls)
    return entries


def _error(
    model: type[pydantic.BaseModel], kind: str, template: str, **context: Any
) -> pydantic.ValidationError:
    problem = pydantic_core.PydanticCustomError(kind, template, context)
    # No input: the data may be large, and the error is reported without it anyway.
    return pydantic.ValidationError.from_exception_data(
        model.__name__, [{"type": problem, "loc": (), "input": None}]
    )
