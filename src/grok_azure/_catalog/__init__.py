"""The Grok model catalog: a packaged JSON data file and its typed, lazily loaded view."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from ._model import Catalog, ModelSpec, Price, Status, UnknownModelError, normalize_model_name

__all__ = [
    "DATA_FILE",
    "SCHEMA_FILE",
    "Catalog",
    "ModelSpec",
    "Price",
    "Status",
    "UnknownModelError",
    "load_catalog",
    "normalize_model_name",
    "parse_catalog",
]

DATA_FILE = "grok_models.json"
SCHEMA_FILE = "grok_models.schema.json"
_SCHEMA_VERSION = 1
_STATUSES: frozenset[str] = frozenset({"ga", "preview", "retired"})
_PENALTIES_AND_STOP = frozenset({"presence_penalty", "frequency_penalty", "stop"})

_T = TypeVar("_T")


@functools.cache
def load_catalog() -> Catalog:
    """The packaged catalog, read on first call and cached."""
    import json
    from importlib import resources

    text = resources.files(__name__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


def parse_catalog(document: object) -> Catalog:
    """Build a :class:`Catalog` from the decoded data file; raise ValueError on malformed data."""
    top = _mapping(document, "catalog")
    version = _get(top, "schema_version", int, "catalog")
    if version != _SCHEMA_VERSION:
        raise ValueError(f"catalog: unsupported schema_version {version} (expected {_SCHEMA_VERSION})")
    as_of = _date(_get(top, "as_of", str, "catalog"), "catalog.as_of")
    models = [_parse_model(item) for item in _get(top, "models", list, "catalog")]
    return Catalog(models, as_of)


def _parse_model(item: object) -> ModelSpec:
    raw = _mapping(item, "model")
    where = f"model {raw.get('id')!r}"
    status = _get(raw, "status", str, where)
    if status not in _STATUSES:
        raise ValueError(f"{where}: status {status!r} is not one of {sorted(_STATUSES)}")
    retired_on = _optional(raw, "retired_on", str, where)
    rejected = frozenset(_strings(raw, "rejected_parameters", where))
    return ModelSpec(
        id=_get(raw, "id", str, where),
        aliases=_strings(raw, "aliases", where),
        status=cast(Status, status),
        retired_on=None if retired_on is None else _date(retired_on, f"{where}.retired_on"),
        replacement=_optional(raw, "replacement", str, where),
        context_window=_optional(raw, "context_window", int, where),
        max_output_tokens=_optional(raw, "max_output_tokens", int, where),
        input_modalities=frozenset(_strings(raw, "input_modalities", where)),
        function_calling=_get(raw, "function_calling", bool, where),
        json_schema=_optional(raw, "json_schema", bool, where),
        reasons=_get(raw, "reasons", bool, where),
        effort_values=_strings(raw, "effort_values", where),
        default_effort=_optional(raw, "default_effort", str, where),
        returns_reasoning_content=_get(raw, "returns_reasoning_content", bool, where),
        # Derived rather than stored so the flag can never disagree with rejected_parameters.
        rejects_penalties_and_stop=_PENALTIES_AND_STOP.issubset(rejected),
        rejected_parameters=rejected,
        price=_parse_price(raw.get("price"), where),
        notes=_get(raw, "notes", str, where),
        source=_get(raw, "source", str, where),
        unconfirmed=frozenset(_strings(raw, "unconfirmed", where)),
        conflicts=_strings(raw, "conflicts", where),
    )


def _parse_price(value: object, where: str) -> Price | None:
    if value is None:
        return None
    raw = _mapping(value, f"{where}.price")
    cached = raw.get("cached_input")
    return Price(
        input=_number(raw.get("input"), f"{where}.price.input"),
        output=_number(raw.get("output"), f"{where}.price.output"),
        cached_input=None if cached is None else _number(cached, f"{where}.price.cached_input"),
        confirmed=_get(raw, "confirmed", bool, f"{where}.price"),
        source=_get(raw, "source", str, f"{where}.price"),
    )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return cast(Mapping[str, Any], value)


def _get(raw: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T:
    value = _optional(raw, key, kind, where)
    if value is None:
        raise ValueError(f"{where}: field {key!r} is required")
    return value


def _optional(raw: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T | None:
    value = raw.get(key)
    # bool is a subclass of int, so an int field must refuse true/false explicitly.
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise ValueError(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _get(raw, key, list, where)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}: field {key!r} must be a list of strings")
    return tuple(cast(list[str], values))


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {type(value).__name__}")
    return float(value)


def _date(value: str, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from None
