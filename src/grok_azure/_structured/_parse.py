"""Structured outputs without I/O: the request for a type, the reply read back into it, and the repair turns.

``chat.completions.parse()`` and ``stream(response_format=Model)`` of both clients make every decision here; they
only send the calls. :class:`StructuredRequest` is built (and checked) before anything is sent; it says which
``response_format`` and messages to send (:meth:`StructuredRequest.send`), and :class:`ParseSession` turns each
completion into a :class:`ParsedChatCompletion`, an error, or the messages of the next (repair) attempt.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Literal, TypeVar, cast, get_origin

import pydantic

from .._errors import (
    ContentFilterFinishReasonError,
    LengthFinishReasonError,
    OutputValidationError,
    RequestValidationError,
    StructuredOutputError,
    UnsupportedParameterError,
)
from ..types.chat_completion import ChatCompletion
from ..types.parsed_chat_completion import ParsedChatCompletion, StructuredAttempt
from ._schema import model_json_schema, strict_json_schema, strict_problems

__all__ = ["Fallback", "ParseSession", "StructuredRequest", "is_structured_format"]

ParsedT = TypeVar("ParsedT")
_R = TypeVar("_R")

Fallback = Literal["json_object"]
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_FENCE = re.compile(r"\A\s*```(?:json)?\s*\n(?P<body>.*)\n\s*```\s*\Z", re.DOTALL | re.IGNORECASE)
# A repair message lists at most this many errors: enough to fix a reply, bounded however bad it was.
_REPAIR_ERRORS = 20
_ERROR_TEXT = 300


def is_structured_format(value: object) -> bool:
    """Whether ``response_format`` is a type to parse into (a class, generic alias or ``TypeAdapter``), not a dict
    or string format for the wire."""
    if value is None or isinstance(value, (str, bytes, Mapping)):  # None first: create() passes it most often
        return False
    return inspect.isclass(value) or isinstance(value, pydantic.TypeAdapter) or get_origin(value) is not None


class StructuredRequest(Generic[ParsedT]):
    """What one ``parse()`` (or structured ``stream()``) call asks for, checked before anything is sent.

    Args:
        response_format: a pydantic ``BaseModel`` subclass, a ``TypeAdapter``, or a type pydantic can validate
            (``list[Item]``, a ``TypedDict``...).
        strict: ``None`` (default): strict mode when the schema fits its subset (see :func:`strict_problems`),
            else ``strict: false``; ``True``: strict, and a schema that does not fit is a
            :class:`RequestValidationError`; ``False``: the schema exactly as pydantic writes it, not strict.
        fallback: ``"json_object"``: when the deployment's model is known (per the catalog) not to support
            ``json_schema``, ask for ``json_object`` with the schema in a system message instead of raising
            :class:`UnsupportedParameterError`. ``None`` (default): raise.
        max_repairs: how many times to ask again, with the validation errors, when a reply does not validate.
        n: the request's ``n`` (repairs need a single choice).
    """

    def __init__(
        self,
        response_format: object,
        *,
        strict: bool | None = None,
        fallback: Fallback | None = None,
        max_repairs: int = 0,
        n: object = None,
    ) -> None:
        if not is_structured_format(response_format):
            raise RequestValidationError(
                "response_format must be a pydantic model class or a type pydantic can validate (e.g. list[Item]); "
                f"got {type(response_format).__name__}. Pass format dicts to create().",
                param="response_format",
            )
        if strict is not None and not isinstance(strict, bool):
            raise RequestValidationError(
                f"strict must be True, False or None; got {strict!r}", param="strict"
            )
        if fallback not in (None, "json_object"):
            raise RequestValidationError(
                f"fallback must be 'json_object' or None; got {fallback!r}", param="fallback"
            )
        if isinstance(max_repairs, bool) or not isinstance(max_repairs, int) or not 0 <= max_repairs <= 10:
            raise RequestValidationError(
                f"max_repairs must be an integer from 0 to 10; got {max_repairs!r}", param="max_repairs"
            )
        if max_repairs and n not in (None, 1):
            raise RequestValidationError(
                "max_repairs needs a single choice: leave n out (or n=1)", param="max_repairs"
            )
        original = model_json_schema(response_format)  # first: it reports a type pydantic cannot handle
        self.adapter: pydantic.TypeAdapter[ParsedT] = (
            response_format
            if isinstance(response_format, pydantic.TypeAdapter)
            else pydantic.TypeAdapter(cast("type[ParsedT]", response_format))
        )
        self.fallback = fallback
        self.max_repairs = max_repairs
        converted = strict_json_schema(original)
        problems = strict_problems(converted)
        if strict and problems:
            raise RequestValidationError(
                "strict=True, but this schema does not fit strict mode: " + "; ".join(problems[:5]),
                param="response_format",
            )
        self.strict = not problems if strict is None else strict
        self.schema = converted if self.strict else original
        self.name = _schema_name(response_format)

    def json_schema_format(self) -> dict[str, Any]:
        """The ``response_format`` sent normally."""
        definition: dict[str, Any] = {"name": self.name, "schema": self.schema, "strict": self.strict}
        return {"type": "json_schema", "json_schema": definition}

    def instruction(self) -> str:
        """The system message of the ``json_object`` fallback: the schema, in words the model follows."""
        return (
            "Reply with one JSON value only (no prose, no code fence) that is valid against this JSON schema:\n"
            + json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)
        )

    def send(
        self,
        start: Callable[[list[Any], dict[str, Any]], _R],
        messages: list[Any],
        params: Mapping[str, Any],
    ) -> _R:
        """Start one call with ``start(messages, params)``: ``json_schema`` first; on a model known not to support
        it, the ``json_object`` fallback if it was asked for, else a clear :class:`UnsupportedParameterError`.

        ``start`` must raise the model check's error before sending anything (the clients' ``_start`` and
        ``stream()`` do), so the fallback never costs a request.
        """
        try:
            return start(messages, {**params, "response_format": self.json_schema_format()})
        except UnsupportedParameterError as exc:
            if exc.param != "response_format":
                raise
            if self.fallback is None:
                raise UnsupportedParameterError(
                    f"{exc.message} Pass fallback='json_object' to ask for JSON with the schema in a system "
                    "message instead (the reply is still validated), or validate=False to the client to send "
                    "json_schema anyway.",
                    model=exc.model,
                    param=exc.param or "response_format",
                    allowed=exc.allowed,
                ) from None
        instructed = [{"role": "system", "content": self.instruction()}, *messages]
        return start(instructed, {**params, "response_format": {"type": "json_object"}})

    def session(self, messages: Iterable[Any]) -> ParseSession[ParsedT]:
        """A :class:`ParseSession` over the caller's ``messages``."""
        return ParseSession(self, messages)

    def parse(self, completion: ChatCompletion) -> ParsedChatCompletion[ParsedT]:
        """``completion`` with every choice's ``message.parsed`` set.

        Raises:
            LengthFinishReasonError: a choice was cut by the token limit.
            ContentFilterFinishReasonError: a choice was cut by the content filter.
            OutputValidationError: a choice's content is not valid JSON for the type (no refusal given).
        """
        values: list[Any] = []
        for index, choice in enumerate(completion.choices):
            if choice.finish_reason == "length":
                raise LengthFinishReasonError(
                    f"The reply (choice {index}) was cut by the token limit before its JSON was complete: "
                    "raise max_tokens (or max_completion_tokens), or ask for less.",
                    completion=completion,
                    choice_index=index,
                )
            if choice.finish_reason == "content_filter":
                raise ContentFilterFinishReasonError(
                    f"The content filter cut the reply (choice {index}); see its content_filter_results.",
                    completion=completion,
                    choice_index=index,
                )
            if choice.message.refusal is not None:
                values.append(None)  # the model said why it will not answer: reported, not validated
                continue
            if choice.message.tool_calls and not choice.message.content:
                # parse(..., tools=[...]): the model asks for a tool first. Its calls are the reply (as openai's
                # parse() returns them): the caller runs them and asks again; nothing to validate yet.
                values.append(None)
                continue
            values.append(self._validate(completion, index))
        return _parsed(completion, values)

    def _validate(self, completion: ChatCompletion, index: int) -> ParsedT:
        content = completion.choices[index].message.content
        try:
            return self.adapter.validate_json(_unfenced(content or ""))
        except pydantic.ValidationError as exc:
            errors = cast("list[dict[str, Any]]", exc.errors(include_url=False))
        raise OutputValidationError(
            f"The reply (choice {index}) is not valid for {self.name}: {_summary(errors)}",
            completion=completion,
            errors=errors,
            choice_index=index,
        )


class ParseSession(Generic[ParsedT]):
    """The attempts of one ``parse()`` call: send :attr:`messages`, hand the completion to :meth:`receive`.

    Args:
        request: the call's :class:`StructuredRequest`.
        messages: the caller's messages (read once).
    """

    def __init__(self, request: StructuredRequest[ParsedT], messages: Iterable[Any]) -> None:
        self.request = request
        self.messages: list[Any] = list(messages)
        self.attempts: list[StructuredAttempt] = []

    def receive(self, completion: ChatCompletion) -> ParsedChatCompletion[ParsedT] | None:
        """The parsed completion; or None after a reply that did not validate while repairs are left (then
        :attr:`messages` holds the next attempt's conversation: the reply and the errors appended).

        Raises:
            LengthFinishReasonError, ContentFilterFinishReasonError: as :meth:`StructuredRequest.parse` (never
                repaired: asking again would be cut again, or filtered again).
            OutputValidationError: the last allowed attempt did not validate; ``attempts`` holds the earlier ones.
        """
        try:
            parsed = self.request.parse(completion)
        except OutputValidationError as exc:
            if len(self.attempts) >= self.request.max_repairs:
                exc.attempts = list(self.attempts)
                raise
            self.attempts.append(StructuredAttempt(completion, exc.errors))
            self.messages = [*self.messages, *_repair_messages(exc)]
            return None
        except (
            StructuredOutputError
        ) as exc:  # cut or filtered: never repaired, but the earlier attempts were paid
            exc.attempts = list(self.attempts)
            raise
        parsed.attempts = list(self.attempts)
        return parsed


def _repair_messages(error: OutputValidationError) -> list[dict[str, Any]]:
    """The reply as the assistant's turn, then a user turn listing what is wrong with it."""
    lines = [
        f"- {'.'.join(str(part) for part in item.get('loc', ())) or '(root)'}: {str(item.get('msg', ''))[:_ERROR_TEXT]}"
        for item in error.errors[:_REPAIR_ERRORS]
    ]
    if len(error.errors) > _REPAIR_ERRORS:
        lines.append(f"- ... and {len(error.errors) - _REPAIR_ERRORS} more")
    return [
        {"role": "assistant", "content": error.content or ""},
        {
            "role": "user",
            "content": "Your reply is not valid against the required JSON schema:\n"
            + "\n".join(lines)
            + "\nReply again with the corrected JSON only.",
        },
    ]


def _parsed(completion: ChatCompletion, values: list[Any]) -> ParsedChatCompletion[ParsedT]:
    # Rebuilt from the dump (extras included) so the parsed copy is a full ParsedChatCompletion; `parsed` is set
    # after validation, so a model instance is kept as it is, not validated again.
    parsed: ParsedChatCompletion[ParsedT] = ParsedChatCompletion.model_validate(completion.model_dump())
    for choice, value in zip(parsed.choices, values, strict=True):
        choice.message.parsed = value
    parsed._set_served_by(completion.served_by)
    parsed._set_cost(completion.cost)
    return parsed


def _unfenced(content: str) -> str:
    # The json_object fallback (a prompt, not a constraint) may wrap the JSON in a Markdown fence.
    match = _FENCE.match(content)
    return match.group("body") if match else content


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ())) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {str(first.get('msg', ''))[:_ERROR_TEXT]}{more}"


def _schema_name(response_format: object) -> str:
    if isinstance(response_format, pydantic.TypeAdapter):
        response_format = getattr(response_format, "_type", None)
    raw = getattr(response_format, "__name__", None) if inspect.isclass(response_format) else None
    name = _NAME_CHARS.sub("_", raw or str(response_format)).strip("_")
    return name[:64] or "response"
