"""Typed records of the Grok model catalog and name lookup (no I/O)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ga", "preview", "retired"]

# Only a dot between two digits is a version separator ("grok-4.1-fast"); other dots are left alone.
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def normalize_model_name(name: str) -> str:
    """Canonical lookup key: trimmed, lower case, dots between version digits turned into dashes."""
    return _VERSION_DOT.sub("-", name.strip().lower())


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens, Global Standard deployment."""

    input: float
    output: float
    cached_input: float | None
    confirmed: bool  # True only when read from an Azure price meter
    source: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the SDK knows about one Grok model on Azure.

    ``retired_on`` is the past retirement date of a retired model, or the scheduled one of a current model.
    ``effort_values`` holds only values documented for Azure; ``()`` means none are documented or the
    parameter is rejected. ``unconfirmed`` names data-file fields that no Azure source confirms.
    """

    id: str
    aliases: tuple[str, ...]
    status: Status
    retired_on: datetime.date | None
    replacement: str | None
    context_window: int | None
    max_output_tokens: int | None
    input_modalities: frozenset[str]
    function_calling: bool
    json_schema: bool | None
    reasons: bool
    effort_values: tuple[str, ...]
    default_effort: str | None
    returns_reasoning_content: bool
    rejects_penalties_and_stop: bool
    rejected_parameters: frozenset[str]
    price: Price | None
    notes: str
    source: str = ""
    unconfirmed: frozenset[str] = frozenset()
    conflicts: tuple[str, ...] = ()

    @property
    def is_current(self) -> bool:
        """Whether the model can still be deployed (GA or preview)."""
        return self.status != "retired"

    def accepts_effort(self, value: str) -> bool:
        """Whether ``reasoning_effort=value`` is documented to work for this model."""
        return value in self.effort_values


class UnknownModelError(KeyError):
    """A model name that is neither a catalog id nor an alias."""

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


class Catalog:
    """The Grok models known to the SDK, looked up by id or alias."""

    __slots__ = ("_as_of", "_index", "_models")

    def __init__(self, models: Iterable[ModelSpec], as_of: datetime.date) -> None:
        self._models = tuple(models)
        self._as_of = as_of
        index: dict[str, ModelSpec] = {}
        for spec in self._models:
            for name in (spec.id, *spec.aliases):
                owner = index.setdefault(normalize_model_name(name), spec)
                if owner is not spec:
                    raise ValueError(f"model name {name!r} of {spec.id!r} collides with {owner.id!r}")
        self._index = index

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return self._models

    @property
    def as_of(self) -> datetime.date:
        return self._as_of

    def get(self, name: str) -> ModelSpec | None:
        """The model named ``name`` (id or alias, any case, "4.1" or "4-1"), or None."""
        return self._index.get(normalize_model_name(name))

    def require(self, name: str) -> ModelSpec:
        """Like :meth:`get`, but raise :class:`UnknownModelError` with close matches when unknown."""
        spec = self.get(name)
        if spec is not None:
            return spec
        import difflib  # only needed on this failure path

        close = difflib.get_close_matches(normalize_model_name(name), list(self._index), n=5, cutoff=0.6)
        suggestions = tuple(dict.fromkeys(self._index[key].id for key in close))[:3]
        raise UnknownModelError(name, suggestions, tuple(spec.id for spec in self.current()))

    def current(self) -> tuple[ModelSpec, ...]:
        """Models that are not retired, in data-file order."""
        return tuple(spec for spec in self._models if spec.is_current)

    def __repr__(self) -> str:
        return f"Catalog(models={len(self._models)}, as_of={self._as_of.isoformat()})"
