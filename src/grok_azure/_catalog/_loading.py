"""Reading catalog documents: the packaged data file, a user's file, and the ``GROK_AZURE_CATALOG`` variable.

Precedence for the catalog a client uses: the ``catalog=`` it is given; otherwise the packaged catalog with the
file named by ``GROK_AZURE_CATALOG`` merged over it; otherwise the packaged catalog alone.
``load_catalog(path)`` merges ``path`` over the packaged catalog and ignores the variable.
"""

from __future__ import annotations

import functools
import os
import stat
import threading
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from .._json_file import JSONFileError, decode_strict, read_at_most
from ._errors import CatalogError, validation_error
from ._model import Catalog
from ._spec import ModelSpec, _Date

__all__ = ["CATALOG_ENV", "DATA_FILE", "SCHEMA_FILE", "load_catalog", "packaged_catalog", "parse_catalog"]

DATA_FILE = "grok_models.json"
SCHEMA_FILE = "grok_models.schema.json"
CATALOG_ENV = "GROK_AZURE_CATALOG"
_SCHEMA_VERSION = 1
# A catalog is a few kilobytes per model: anything this large is the wrong file, not a catalog.
_MAX_FILE_BYTES = 4 * 1024 * 1024

_packaged: Catalog | None = None
_packaged_lock = threading.Lock()


class _Document(BaseModel):
    """A catalog file: the packaged one states everything; a user's needs only ``models`` (each with an id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_: StrictStr | None = Field(default=None, alias="$schema")  # editors' pointer to the JSON Schema
    schema_version: StrictInt = _SCHEMA_VERSION
    as_of: _Date | None = None
    notes: StrictStr = ""
    references: dict[str, Annotated[StrictStr, Field(min_length=1)]] = Field(default_factory=dict)
    models: Annotated[list[ModelSpec], Field(min_length=1)]

    @field_validator("schema_version")
    @classmethod
    def _supported(cls, value: int) -> int:
        if value != _SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {value} (expected {_SCHEMA_VERSION})")
        return value


def parse_catalog(document: object, *, where: str = "catalog") -> Catalog:
    """Build a complete :class:`Catalog` (the packaged kind) from a decoded data file.

    Args:
        document: the decoded JSON.
        where: what the document came from, first in every error message.

    Raises:
        CatalogError: the document is malformed (the message names the model and field), or has no ``as_of``.
    """
    parsed = _validate(document, where)
    if parsed.as_of is None:
        raise CatalogError(f"{where}: as_of: a complete catalog needs the date its facts were checked")
    return Catalog(parsed.models, parsed.as_of)


def packaged_catalog() -> Catalog:
    """The catalog shipped with the SDK, read on first call and cached (``GROK_AZURE_CATALOG`` is ignored)."""
    global _packaged
    if _packaged is None:
        with _packaged_lock:  # one instance even when threads race to the first call
            if _packaged is None:
                from importlib import resources

                data = resources.files(__package__ or __name__).joinpath(DATA_FILE).read_bytes()
                _packaged = parse_catalog(_decode(data, DATA_FILE), where=DATA_FILE)
    return _packaged


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """The catalog: packaged entries with a user file's entries merged over them. Cached and cheap to call.

    A user file has the data file's form (``{"models": [...]}``, see ``grok_models.schema.json``); each entry
    needs only ``id`` and replaces the packaged entry of the same id whole, or adds a model. Unknown facts never
    block a request.

    Args:
        path: a JSON catalog file to merge. ``None`` merges the file named by the ``GROK_AZURE_CATALOG``
            environment variable when it is set, else returns the packaged catalog.

    Raises:
        CatalogError: the file cannot be read, is not JSON, or is malformed (the message names the file, the
            model and the field), or a name in it collides with another model's.
    """
    if path is None:
        configured = os.environ.get(CATALOG_ENV, "").strip()
        if not configured:
            return packaged_catalog()
        return _merged_file(configured, f"{configured} (from {CATALOG_ENV})")
    text = os.fspath(path)
    return _merged_file(text, text)


def _merged_file(path: str, where: str) -> Catalog:
    try:
        found = os.stat(path)
    except OSError as exc:
        raise CatalogError(f"catalog file {where}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(found.st_mode):
        raise CatalogError(f"catalog file {where}: not a regular file")
    # Keyed by modification time and size, so an edited file is read again and an unchanged one is not.
    return _merged_file_cached(os.path.abspath(path), where, found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=8)
def _merged_file_cached(path: str, where: str, mtime_ns: int, size: int) -> Catalog:
    try:
        data = read_at_most(path, _MAX_FILE_BYTES)
    except OSError as exc:
        raise CatalogError(f"catalog file {where}: cannot be read: {exc.strerror or exc}") from None
    if data is None:
        raise CatalogError(f"catalog file {where}: larger than {_MAX_FILE_BYTES} bytes")
    parsed = _validate(_decode(data, where), where)
    packaged = packaged_catalog()
    as_of = packaged.as_of if parsed.as_of is None else max(packaged.as_of, parsed.as_of)
    return packaged._merged(parsed.models, as_of, where)


def _validate(document: object, where: str) -> _Document:
    if not isinstance(document, Mapping):
        raise CatalogError(f"{where}: expected an object with a 'models' list, got {type(document).__name__}")
    try:
        return _Document.model_validate(document)
    except ValidationError as exc:
        raise validation_error(where, exc, document) from None


def _decode(data: bytes, where: str) -> object:
    try:
        return decode_strict(data)
    except JSONFileError as exc:
        raise CatalogError(f"{where}: {exc.reason}") from None
