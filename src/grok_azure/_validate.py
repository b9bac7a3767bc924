"""Checks of arguments that would otherwise fail after sending, or outside the SDK's errors (no I/O).

Each check raises :class:`RequestValidationError` naming the argument, or :class:`ConfigurationError` for a
client setting, before anything is sent. None of them quotes a value that may be a credential (header and query
values), and none keeps one in a local while it raises.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from ._errors import RequestValidationError

__all__ = [
    "check_header_mapping",
    "check_json_body",
    "check_query_mapping",
    "check_response_limits",
    "check_timeout",
]

# Lone surrogates cannot be encoded as UTF-8: the body would fail to encode with a raw UnicodeEncodeError.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Control characters (CR and LF above all) in a query name or value: httpx percent-encodes them, so they reach
# the service, which is never what was meant.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# json.dumps recurses in C; far below the interpreter's limit, and far above any real request.
MAX_JSON_DEPTH = 500
_TIMEOUT_FIELDS = ("connect", "read", "write", "pool")


# --- the JSON body --------------------------------------------------------------------------------------


# ``ONLY_STR.issuperset(map(type, values))``: every value an exact ``str`` (not a subclass), checked in one C pass,
# which the hot path's shortcuts use instead of a Python loop.
ONLY_STR = frozenset({str})


def check_json_body(body: Mapping[str, Any], extra_keys: Mapping[str, Any] | None = None) -> bytes:
    """``body`` encoded as strict JSON in UTF-8 (what the service parses), or :class:`RequestValidationError`.

    Rejected: NaN and infinities (``json.dumps`` would write the non-JSON ``NaN``), strings with lone
    surrogates (not encodable as UTF-8), values of other types (sets, bytes, objects...), non-dict mappings,
    keys that are not strings, numbers or None, and nesting deeper than ``MAX_JSON_DEPTH``.

    Args:
        body: The request body.
        extra_keys: The caller's ``extra_body``; a problem under one of its keys is named ``extra_body.<key>``.

    Returns:
        The encoding, which the request sends as it is (the body is encoded once, not checked and then encoded).
    """
    try:
        encoded: bytes | None = _strict_json(body).encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # a UnicodeEncodeError (a lone surrogate) is a ValueError
        encoded = None
    # Nesting deeper than MAX_JSON_DEPTH takes that many brackets, so only a long body can; only a body with a
    # problem pays for naming it (the walk that finds it keeps paths).
    if encoded is not None and (len(encoded) < 2 * MAX_JSON_DEPTH or _json_ok(body)):
        return encoded
    path, problem = _find_problem(body)
    top = path.split(".", 1)[0].split("[", 1)[0]
    if extra_keys is not None and top in extra_keys:
        path = f"extra_body.{path}"
    raise RequestValidationError(f"{path} {problem}", param=path)


# The request's encoding: compact, UTF-8 as is, and strict (no NaN or infinity).
_STRICT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _unserializable(value: object) -> Any:
    """What ``JSONEncoder.default`` does with a value JSON has no type for."""
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def _strict_json(body: object) -> str:
    """``_STRICT_JSON.encode(body)``, calling its C encoder directly: ``JSONEncoder.encode`` reaches it through two
    Python methods that re-read every option (a fifth of a small call's encoding). A new one per body, each with its
    own table of the containers being encoded: a body that contains itself is refused at once, whatever the
    recursion limit (without the table it recurses until the C stack overflows when the limit was raised)."""
    if _make_encoder is None:
        return _STRICT_JSON.encode(body)
    chunks = _make_encoder(
        {}, _unserializable, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )(body, 0)
    return "".join(chunks)


def _json_ok(value: object) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if isinstance(item, str):
            # isascii() is O(1) on the compact strings CPython makes; other text is encoded, which is several
            # times faster than searching it for surrogates.
            if not item.isascii() and not _encodes(item):
                return False
        elif isinstance(item, dict):
            if depth >= MAX_JSON_DEPTH:
                return False
            for key, child in item.items():
                if (type(key) is not str or not key.isascii()) and not _json_key(key):
                    return False
                push((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                return False
            for child in item:
                push((child, depth + 1))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif item is not None and not isinstance(item, int):  # bool is an int
            return False
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _int_encodes(value: int) -> bool:
    try:
        int.__repr__(value)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return False
    return True


def _json_key(key: object) -> bool:
    """Whether a dict key encodes as strict JSON (json.dumps writes int and float keys as strings)."""
    if isinstance(key, str):
        return _SURROGATE_RE.search(key) is None
    if isinstance(key, float):
        return math.isfinite(key)
    return key is None or isinstance(key, int)


def _find_problem(body: Mapping[str, Any]) -> tuple[str, str]:
    """The path and description of the first value in ``body`` that is not strict JSON (slow, with paths)."""
    stack: list[tuple[object, str, int]] = [(value, key, 1) for key, value in reversed(list(body.items()))]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_JSON_DEPTH:
                return path, f"nests deeper than {MAX_JSON_DEPTH} levels"
            for key in item:
                if not _json_key(key):
                    return path, f"has a key that JSON cannot hold ({type(key).__name__})"
            stack.extend((child, f"{path}.{key}", depth + 1) for key, child in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                return path, f"nests deeper than {MAX_JSON_DEPTH} levels"
            stack.extend(
                (child, f"{path}[{index}]", depth + 1) for index, child in reversed(list(enumerate(item)))
            )
        elif isinstance(item, Mapping):
            return path, f"must be a dict, not {type(item).__name__} (JSON encoding takes dicts only)"
        elif isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return path, "contains a lone surrogate (\\ud800-\\udfff), which cannot be encoded as UTF-8"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path, f"must be a finite number; got {item!r} (JSON has no NaN or infinity)"
        elif isinstance(item, int) and not _int_encodes(item):
            return path, f"is an integer too long to encode (more than {sys.get_int_max_str_digits()} digits)"
        elif item is not None and not isinstance(item, (int, bool)):
            return path, f"cannot be sent as JSON: {type(item).__name__} is not a JSON type"
    return "body", "cannot be sent as JSON"  # pragma: no cover - only called when _json_ok found a problem


# --- request options ------------------------------------------------------------------------------------


def check_header_mapping(headers: object, param: str) -> None:
    """Raise unless ``headers`` is None or a mapping of str names to str values (values are never quoted).

    Args:
        headers: ``extra_headers`` or ``default_headers`` as the caller gave it.
        param: The argument's name, for the error.
    """
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise RequestValidationError(
            f"{param} must be a mapping of header names to values (a dict), not {type(headers).__name__}",
            param=param,
        )
    # A generator: its frame, and a value that may be a credential, is gone before the raise.
    bad = next((k for k, v in headers.items() if not isinstance(k, str) or not isinstance(v, str)), None)
    if bad is not None:
        shown = repr(bad) if isinstance(bad, str) else f"of type {type(bad).__name__}"
        raise RequestValidationError(
            f"{param}: header {shown} must be a str name with a str value", param=param
        )


def _query_problem(name: object, value: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "query parameter names must be non-empty strings"
    if _CONTROL_RE.search(name):
        return f"query parameter name {name[:40]!r}... contains a control character"
    values = value if isinstance(value, (list, tuple)) else (value,)
    for item in values:
        if isinstance(item, str):
            found = _CONTROL_RE.search(item)
            if found:
                return f"the value of {name!r} contains a control character at position {found.start()}"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"the value of {name!r} must be finite"
        elif not isinstance(item, (int, float)):  # bool is an int: httpx sends true/false
            return f"the value of {name!r} must be a str or a number, not {type(item).__name__}"
    return None


def check_query_mapping(query: object, param: str = "extra_query") -> None:
    """Raise unless ``query`` is None or a mapping of names to str, number, or a list of those.

    ``None`` values are refused (httpx would send ``name=``), and so are control characters (httpx would send
    them percent-encoded). Values are never quoted: a query parameter may carry a credential.
    """
    if query is None:
        return
    if not isinstance(query, Mapping):
        raise RequestValidationError(
            f"{param} must be a mapping of query parameter names to values (a dict), not {type(query).__name__}",
            param=param,
        )
    problem = next(filter(None, (_query_problem(k, v) for k, v in query.items())), None)
    if problem is not None:
        raise RequestValidationError(f"{param}: {problem}", param=param)


# --- client settings ------------------------------------------------------------------------------------


def _positive_seconds(value: object) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    )


def check_timeout(timeout: object, param: str = "timeout") -> None:
    """Raise unless ``timeout`` is None, a finite positive number of seconds, or an ``httpx.Timeout`` whose
    every field is None or finite and positive.

    NaN, infinities and negative values would otherwise reach the transport, which fails with a misleading
    connection error or waits forever.
    """
    if timeout is None or _positive_seconds(timeout):
        return
    if isinstance(timeout, httpx.Timeout):
        for name in _TIMEOUT_FIELDS:
            value = getattr(timeout, name)
            if value is not None and not _positive_seconds(value):
                raise RequestValidationError(
                    f"{param}.{name} must be a finite positive number of seconds or None; got {value!r}",
                    param=param,
                )
        return
    raise RequestValidationError(
        f"{param} must be a finite positive number of seconds, an httpx.Timeout or None; got {timeout!r}",
        param=param,
    )


def check_response_limits(limits: object) -> None:
    """Raise unless ``limits`` is None or a :class:`~grok_azure.ResponseLimits` (a dict would fail mid-call)."""
    from ._limits import ResponseLimits  # _limits imports _errors only; kept local to keep this module light

    if limits is not None and not isinstance(limits, ResponseLimits):
        raise RequestValidationError(
            f"response_limits must be a grok_azure.ResponseLimits (e.g. ResponseLimits(max_body_bytes=...)), "
            f"not {type(limits).__name__}",
            param="response_limits",
        )
