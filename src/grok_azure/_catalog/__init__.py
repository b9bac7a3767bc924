"""The Grok model catalog: a packaged JSON data file, its typed and validated view, and user additions.

``load_catalog()`` is what clients use (the packaged file, with ``GROK_AZURE_CATALOG``'s file merged over it);
``Catalog.with_models`` and ``load_catalog(path)`` add or replace entries without a new release. Reading happens
on first use, never at import.
"""

from __future__ import annotations

from ._errors import CatalogError, UnknownModelError
from ._loading import CATALOG_ENV, DATA_FILE, SCHEMA_FILE, load_catalog, packaged_catalog, parse_catalog
from ._model import Catalog, normalize_model_name
from ._spec import FACT_FIELDS, Effort, Modality, ModelSpec, Price, Rejection, Status

__all__ = [
    "CATALOG_ENV",
    "DATA_FILE",
    "FACT_FIELDS",
    "SCHEMA_FILE",
    "Catalog",
    "CatalogError",
    "Effort",
    "Modality",
    "ModelSpec",
    "Price",
    "Rejection",
    "Status",
    "UnknownModelError",
    "load_catalog",
    "normalize_model_name",
    "packaged_catalog",
    "parse_catalog",
]
