"""Ray Data batches in and out: rows in the OpenAI batch input shape to requests, results to output rows.

No Ray and no I/O here: a batch is a mapping of column name to values (what ``map_batches`` hands over with the
default, ``"numpy"`` or ``"pyarrow"``/``"pandas"`` batch formats), and the output is a mapping of column name
to a list, which Ray Data accepts from any callable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .._batch._format import BatchInputError, BatchRequest, BatchResult, read_requests

__all__ = [
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "columns_of",
    "output_batch",
    "parse_row",
    "plain",
    "refused",
    "requests_of",
]

INPUT_COLUMNS = ("custom_id", "method", "url", "body")
OUTPUT_COLUMNS = ("id", "custom_id", "response", "error")


def plain(value: Any, *, drop_nulls: bool) -> Any:
    """``value`` as plain JSON-like Python: numpy arrays and scalars become lists and Python scalars.

    Args:
        value: a cell of a batch (a numpy array or scalar, a dict, a list, a plain value).
        drop_nulls: leave out mapping entries whose value is None. Arrow gives every row of a struct column
            every field any row has, the absent ones as null; the chat completion API reads a null field as
            an absent one, so dropping them sends what the row's author wrote.
    """
    if isinstance(value, Mapping):
        return {
            str(key): plain(item, drop_nulls=drop_nulls)
            for key, item in value.items()
            if not (drop_nulls and item is None)
        }
    if not isinstance(value, (str, bytes)) and hasattr(value, "tolist"):
        value = value.tolist()  # numpy: an ndarray to a list, a numpy scalar to a Python one
    if isinstance(value, (list, tuple)):
        return [plain(item, drop_nulls=drop_nulls) for item in value]
    return value


def columns_of(batch: Any, keep_columns: Sequence[str]) -> dict[str, list[Any]]:
    """The batch's columns as lists, checked: ``custom_id`` and ``body`` present, nothing unknown.

    Args:
        batch: a mapping of column name to values, a ``pyarrow.Table`` or a ``pandas.DataFrame``.
        keep_columns: columns besides the request's that the caller asked to carry through to the output.

    Raises:
        BatchInputError: a missing request column, or a column that is neither a request field nor kept (it
            would otherwise be silently left out of the request and of the result).
    """
    if hasattr(batch, "to_pydict"):  # pyarrow.Table
        batch = batch.to_pydict()
    elif hasattr(batch, "to_dict") and not isinstance(batch, Mapping):  # pandas.DataFrame
        batch = batch.to_dict("list")
    if not isinstance(batch, Mapping):
        raise BatchInputError(f"a batch must be a mapping of columns, not {type(batch).__name__}")
    missing = [name for name in ("custom_id", "body") if name not in batch]
    if missing:
        raise BatchInputError(f"the dataset has no {' or '.join(missing)} column (columns: {sorted(batch)})")
    unknown = set(batch) - set(INPUT_COLUMNS) - set(keep_columns)
    if unknown:
        raise BatchInputError(
            f"unknown column(s) {sorted(unknown)}: a row is a batch input line ({', '.join(INPUT_COLUMNS)}); "
            "pass keep_columns=[...] to carry other columns through to the output"
        )
    absent = [name for name in keep_columns if name not in batch]
    if absent:
        raise BatchInputError(f"keep_columns names column(s) the dataset lacks: {absent}")
    return {str(name): list(values) for name, values in batch.items()}


def _rows(columns: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    names = list(columns)
    for values in zip(*(columns[name] for name in names), strict=True):
        yield dict(zip(names, values, strict=True))


def parse_row(row: Mapping[str, Any], model: str | None) -> BatchRequest | BatchResult:
    """One row as a checked :class:`BatchRequest`, or a failed :class:`BatchResult` when its request is bad.

    A ``body`` given as a JSON string is parsed as is; a struct body has its null fields dropped (see
    :func:`plain`). The row's checks are the batch runner's (:func:`read_requests`).

    Args:
        row: the row's request columns (``custom_id``, ``body``, optional ``method`` and ``url``).
        model: the deployment for bodies that name none.

    Raises:
        BatchInputError: the row has no usable ``custom_id``, so no result row could name it.
    """
    custom_id = plain(row.get("custom_id"), drop_nulls=False)
    if not isinstance(custom_id, str) or not custom_id:
        raise BatchInputError(f"custom_id must be a non-empty string, not {custom_id!r}")
    body = row.get("body")
    try:
        body = json.loads(body) if isinstance(body, (str, bytes)) else plain(body, drop_nulls=True)
    except ValueError as exc:
        return refused(custom_id, BatchInputError(f"body is not valid JSON: {exc}"))
    item = {"custom_id": custom_id, "body": body}
    for name in ("method", "url"):
        value = plain(row.get(name), drop_nulls=False)
        if value is not None:  # a column that some rows leave empty: the line's default applies
            item[name] = value
    try:
        return next(read_requests([item], model=model))
    except BatchInputError as exc:
        return refused(custom_id, exc)


def requests_of(
    columns: Mapping[str, list[Any]], model: str | None
) -> Iterator[tuple[dict[str, Any], BatchRequest | BatchResult]]:
    """Each row (all its columns) with its request, or its failed result when the request is bad."""
    request_columns = {name: columns[name] for name in INPUT_COLUMNS if name in columns}
    for row, request_row in zip(_rows(columns), _rows(request_columns), strict=True):
        yield row, parse_row(request_row, model)


def refused(custom_id: str, error: BatchInputError) -> BatchResult:
    """The failed result of a row whose request was refused before sending (code ``validation_error``, as for
    a request the client's checks refuse).

    Args:
        custom_id: the row's id.
        error: what is wrong with the row's request.
    """
    return BatchResult(custom_id, None, {"code": "validation_error", "message": error.message})


def output_batch(
    results: Iterable[tuple[Mapping[str, Any], BatchResult]], keep_columns: Sequence[str]
) -> dict[str, list[Any]]:
    """The output columns (``id``, ``custom_id``, ``response``, ``error``, then the kept ones) as lists.

    ``response`` and ``error`` are nested values in the batch output line's shape; each row is
    ``json.dumps``-able into exactly the line :meth:`BatchResult.to_line` writes.

    Args:
        results: each input row with its result, in input order.
        keep_columns: input columns copied to the output unchanged.
    """
    out: dict[str, list[Any]] = {name: [] for name in (*OUTPUT_COLUMNS, *keep_columns)}
    for row, result in results:
        out["id"].append(result.id)
        out["custom_id"].append(result.custom_id)
        out["response"].append(result.response)
        out["error"].append(result.error)
        for name in keep_columns:
            out[name].append(row[name])
    return out
