"""The catalog: model entries looked up by id or alias, and user additions merged in (no I/O)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from ._errors import CatalogError, UnknownModelError, validation_error
from ._spec import ModelSpec

__all__ = ["Catalog", "normalize_model_name"]

# Only a dot between two digits is a version separator ("grok-4.1-fast"); other dots are left alone.
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def normalize_model_name(name: str) -> str:
    """Canonical lookup key: trimmed, lower case, dots between version digits turned into dashes.

    Args:
        name: a model id or alias in any spelling.
    """
    return _VERSION_DOT.sub("-", name.strip().lower())


class Catalog:
    """The Grok models known to the SDK, looked up by id or alias. Immutable: additions make a new catalog.

    Args:
        models: the entries, in display order.
        as_of: the date the facts were last checked.

    Raises:
        CatalogError: two entries claim the same name (id or alias, compared after
            :func:`normalize_model_name`).
    """

    __slots__ = ("_as_of", "_index", "_models")

    def __init__(self, models: Iterable[ModelSpec], as_of: datetime.date) -> None:
        self._models = tuple(models)
        self._as_of = as_of
        index: dict[str, ModelSpec] = {}
        for spec in self._models:
            for name in (spec.id, *spec.aliases):
                owner = index.setdefault(normalize_model_name(name), spec)
                if owner is not spec:
                    raise CatalogError(f"model name {name!r} of {spec.id!r} collides with {owner.id!r}")
        self._index = index

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        """Every entry, retired ones included, in data-file order (user additions last)."""
        return self._models

    @property
    def as_of(self) -> datetime.date:
        """The date the packaged facts were last checked (a later ``as_of`` of a user file wins)."""
        return self._as_of

    def get(self, name: str) -> ModelSpec | None:
        """The model named ``name`` (id or alias, any case, "4.1" or "4-1"), or None.

        Args:
            name: a model id or alias. A response's ``model`` field is a served name ("grok-3-mini-high"), not
                necessarily a catalog name.
        """
        return self._index.get(normalize_model_name(name))

    def require(self, name: str) -> ModelSpec:
        """Like :meth:`get`, but raise :class:`UnknownModelError` with close matches when unknown.

        Args:
            name: a model id or alias.
        """
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

    def with_models(self, *specs: ModelSpec | Mapping[str, Any]) -> Catalog:
        """A new catalog with ``specs`` added; an entry whose id names an existing one replaces it whole.

        A replacement keeps its place; new ids come last, in the order given. To change a few facts of an
        existing entry and keep the rest, pass ``catalog.require(id).with_facts(...)``.

        Args:
            specs: entries as :class:`ModelSpec` objects or as mappings in the data file's form (only ``id`` is
                required; unknown facts never block a request).

        Raises:
            CatalogError: a mapping is malformed, the same id is given twice, or a name (id or alias) collides
                with another model's.
        """
        added = [_as_spec(spec, f"with_models() argument {n}") for n, spec in enumerate(specs, 1)]
        return self._merged(added, self._as_of, "with_models()")

    def _merged(self, added: Iterable[ModelSpec], as_of: datetime.date, where: str) -> Catalog:
        # with_models for entries already validated (the file loader's too), with a new as_of; errors start
        # with `where` (a file path, "with_models()").
        by_key: dict[str, ModelSpec] = {}
        for spec in added:
            if by_key.setdefault(normalize_model_name(spec.id), spec) is not spec:
                raise CatalogError(f"{where}: model {spec.id!r} is given twice")
        models = [by_key.pop(normalize_model_name(spec.id), spec) for spec in self._models]
        models.extend(by_key.values())
        try:
            return Catalog(models, as_of)
        except CatalogError as exc:
            raise CatalogError(f"{where}: {exc}") from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"Catalog(models={len(self._models)}, as_of={self._as_of.isoformat()})"


def _as_spec(value: object, where: str) -> ModelSpec:
    if isinstance(value, ModelSpec):
        return value
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: expected a ModelSpec or a mapping, got {type(value).__name__}")
    try:
        return ModelSpec.model_validate(dict(value))
    except ValidationError as exc:
        raise validation_error(where, exc, value) from None
