"""What goes back to the model for a tool call: the result as text, or a short error text.

Error texts carry the error's type and message only: no traceback (the model cannot use it, and it would show
the caller's code and locals), the client's credentials and credential-shaped text scrubbed, and a bounded length whatever the tool raised.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pydantic_core

from .._secrets import scrub_url_text
from ._credentials import scrubbed

__all__ = ["encode_result", "exception_text", "unknown_tool_text", "validation_text"]

# An error text longer than this is cut: a model needs the gist, and the transcript stays small.
ERROR_CHARS = 1000
_VALIDATION_ERRORS = 10


def encode_result(value: Any) -> str:
    """A tool's return value as a tool message's content: a string as it is, a pydantic model through
    ``model_dump_json``, anything else as JSON (pydantic's encoder: dataclasses, dates, UUIDs, sets...; NaN and
    infinities become null).

    Raises:
        pydantic_core.PydanticSerializationError: the value has no JSON form.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    # NaN and infinities as null, as model_dump_json writes them: JSON has no NaN, and the model reads JSON.
    return pydantic_core.to_json(value, inf_nan_mode="null").decode()


def exception_text(exc: BaseException, secrets: list[str]) -> str:
    """``Type: message`` of what a tool raised, bounded, and scrubbed of ``secrets`` (the client's credentials,
    :func:`~grok_azure._tools._credentials.client_secrets`) and of credential-shaped text."""
    try:
        message = str(exc).strip()
    except Exception:  # a broken __str__: the type alone is what can be said
        message = ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _bounded(scrubbed(scrub_url_text(text), secrets))


def validation_text(name: str, exc: pydantic.ValidationError) -> str:
    """The model's arguments for ``name`` did not validate: one line per problem, without the input values
    pydantic quotes (the model wrote them; echoing them back only costs tokens) or its documentation links."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:_VALIDATION_ERRORS]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    more = exc.error_count() - len(problems)
    if more > 0:
        problems.append(f"... and {more} more")
    return _bounded(scrub_url_text(f"Invalid arguments for {name}: " + "; ".join(problems)))


def unknown_tool_text(name: str, offered: list[str]) -> str:
    """The model named a tool that was not offered."""
    return _bounded(f"Unknown tool {name!r}: the available tools are {', '.join(offered)}")


def _bounded(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
