"""The tool run as one flow without I/O, shared by both clients and by the streamed and plain runs.

:meth:`ToolRun.flow` is a generator that yields commands and receives their results, as ``_call_flow`` does for
one call. Every decision of a run lives here: what each round sends, when the run ends, which calls can run, what
goes back to the model, what is recorded, and when to raise. The drivers in ``_drive`` only perform the commands:

- :class:`CallModel` -> the round's :class:`~grok_azure.ChatCompletion` (from ``create``, or a stream's final
  completion once its events were passed on).
- :class:`RunTools` -> one :class:`~grok_azure._tools._execute.Outcome` per call, in the same order.
- :class:`Emit` -> None, once the event was passed on (a plain run ignores events).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pydantic
import pydantic_core

from .._chat_params import MessageInput, build_chat_body
from .._errors import RequestValidationError
from ..types.chat_completion import ChatCompletion, ChatCompletionMessageToolCall
from ..types.chat_params import MessageParam
from ..types.tool_run import (
    ToolCallRecord,
    ToolErrorKind,
    ToolResultEvent,
    ToolRound,
    ToolRunDoneEvent,
    ToolRunResult,
)
from ._credentials import Secrets, safe_cause
from ._errors import ToolCallError, ToolCallsRefusedError, ToolRoundsExceededError
from ._execute import Outcome, PreparedCall
from ._results import encode_result, exception_text, unknown_tool_text, validation_text
from ._tool import Tool, tool

__all__ = ["CallModel", "Emit", "OnToolError", "RunTools", "ToolRun"]

OnToolError = Literal["report", "raise"]
DEFAULT_MAX_ROUNDS = 10
# Models ask for a handful of calls per turn; far more is a runaway model or a hostile reply, and each call is a
# tool run, a task and a message kept in the transcript.
DEFAULT_MAX_TOOL_CALLS_PER_ROUND = 64


@dataclass(frozen=True, slots=True)
class CallModel:
    """Call the model with ``messages`` and ``params`` (tools included); round ``round``."""

    round: int
    messages: list[dict[str, Any]]
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunTools:
    """Run ``calls`` (those with a ``failure`` are not run; their outcome is ignored)."""

    calls: tuple[PreparedCall, ...]


@dataclass(frozen=True, slots=True)
class Emit:
    """Pass ``event`` on to a streamed run's consumer."""

    event: ToolResultEvent | ToolRunDoneEvent


Command = CallModel | RunTools | Emit
Flow = Generator[Command, Any, None]


class ToolRun:
    """One ``run_tools`` call, checked: every argument is validated here, before anything is sent.

    Args:
        model: the deployment name.
        messages: the conversation so far.
        tools: :class:`Tool` objects, or functions (made tools with :func:`tool`).
        max_rounds: the most model calls.
        max_tool_calls_per_round: the most tool calls one turn may ask for; a turn asking for more raises
            :class:`ToolCallsRefusedError` before any of them runs.
        on_tool_error: ``"report"`` sends a tool's failure to the model as its result; ``"raise"`` raises
            :class:`ToolCallError`.
        params: the other arguments of ``create`` (request options included).
        stream: whether rounds are streamed.
        asynchronous: whether the client is async (a sync client refuses async tools).
        secrets: gives the client's credential values, scrubbed from what a tool's failure sends back or raises.
    """

    def __init__(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[Tool[..., Any] | Any],
        max_rounds: int,
        max_tool_calls_per_round: int = DEFAULT_MAX_TOOL_CALLS_PER_ROUND,
        on_tool_error: OnToolError,
        params: Mapping[str, Any],
        stream: bool,
        asynchronous: bool,
        secrets: Secrets = list,
    ) -> None:
        self.model = model
        self._tools = _tools_by_name(tools, asynchronous)
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise RequestValidationError(
                f"max_rounds must be an integer >= 1, got {max_rounds!r}", param="max_rounds"
            )
        if (
            isinstance(max_tool_calls_per_round, bool)
            or not isinstance(max_tool_calls_per_round, int)
            or max_tool_calls_per_round < 1
        ):
            raise RequestValidationError(
                f"max_tool_calls_per_round must be an integer >= 1, got {max_tool_calls_per_round!r}",
                param="max_tool_calls_per_round",
            )
        if on_tool_error not in ("report", "raise"):
            raise RequestValidationError(
                f"on_tool_error must be 'report' or 'raise', got {on_tool_error!r}", param="on_tool_error"
            )
        if params.get("n") not in (None, 1):
            raise RequestValidationError(
                "run_tools follows one conversation: n must be 1 or left out", param="n"
            )
        if "tools" in params:  # only an untyped caller gets here; the typed signature has its own `tools`
            raise RequestValidationError("pass tools once, as run_tools(tools=[...])", param="tools")
        self.max_rounds = max_rounds
        self.max_tool_calls_per_round = max_tool_calls_per_round
        self._secrets = secrets
        self._raise = on_tool_error == "raise"
        self._params = {**params, "tools": [t.to_param() for t in self._tools.values()]}
        # The first request, built now so bad input fails here (a streamed run sends nothing until iterated).
        body = build_chat_body(model=model, messages=messages, stream=stream, params=self._params)
        self._messages: list[dict[str, Any]] = body["messages"]

    def flow(self) -> Flow:
        """The run's commands; returns once the model answered, raises when a rule says so."""
        messages = list(self._messages)
        rounds: list[ToolRound] = []
        for number in range(1, self.max_rounds + 1):
            completion: ChatCompletion = yield CallModel(number, list(messages), self._round_params(number))
            if completion.choices:
                messages.append(completion.choices[0].message.to_param())
            calls = completion.tool_calls
            if not calls or number == self.max_rounds:
                rounds.append(ToolRound(number, completion))
                result = _result(completion, messages, rounds)
                if calls:
                    raise ToolRoundsExceededError(
                        f"The model still asked for tools ({_names(calls)}) after "
                        f"max_rounds={self.max_rounds} model calls; those calls were not run",
                        max_rounds=self.max_rounds,
                        result=result,
                    )
                yield Emit(ToolRunDoneEvent(result))
                return
            refused = self._refusal(calls)
            if refused is not None:
                rounds.append(ToolRound(number, completion))
                reason, message = refused
                raise ToolCallsRefusedError(
                    message, reason=reason, result=_result(completion, messages, rounds)
                )
            prepared = tuple(self._prepare(call) for call in calls)
            if self._raise:  # invalid arguments raise before any tool of the round runs
                for call in prepared:
                    if call.failure is not None and call.failure[0] == "invalid_arguments":
                        record = _record(call, Outcome(), [])
                        rounds.append(ToolRound(number, completion, (record,)))
                        result = _result(completion, messages, rounds)
                        raise _call_error(record, call.failure[2], result, self._secrets())
            outcomes: list[Outcome] = yield RunTools(prepared)
            secrets = self._secrets() if any(o.exception is not None for o in outcomes) else []
            records = [
                _record(call, outcome, secrets) for call, outcome in zip(prepared, outcomes, strict=True)
            ]
            messages.extend(
                {"role": "tool", "tool_call_id": record.id, "content": record.content} for record in records
            )
            rounds.append(ToolRound(number, completion, tuple(records)))
            for record in records:
                yield Emit(ToolResultEvent(number, record))
            if self._raise:  # after the round: every call ran and is in the transcript
                for record, outcome in zip(records, outcomes, strict=True):
                    if record.error_kind == "tool_error":
                        result = _result(completion, messages, rounds)
                        raise _call_error(record, outcome.exception, result, secrets)

    def _round_params(self, number: int) -> dict[str, Any]:
        if number == 1 or "tool_choice" not in self._params:
            return self._params
        # A forced tool (or "required") on every round could never end in an answer: it steers the first only.
        return {key: value for key, value in self._params.items() if key != "tool_choice"}

    def _refusal(
        self, calls: list[ChatCompletionMessageToolCall]
    ) -> tuple[Literal["too_many_calls", "duplicate_ids"], str] | None:
        """Why the turn's calls must not run at all, or None: checked before any runs, so a refused turn ran nothing."""
        if len(calls) > self.max_tool_calls_per_round:
            return "too_many_calls", (
                f"The model asked for {len(calls)} tool calls in one turn, more than "
                f"max_tool_calls_per_round={self.max_tool_calls_per_round}; none were run"
            )
        ids = [call.id for call in calls]
        if len(set(ids)) < len(ids):
            shared = sorted({i for i in ids if ids.count(i) > 1})[:5]
            return "duplicate_ids", (
                f"The model gave two tool calls the same id ({', '.join(map(repr, shared))}): their results could "
                "not be told apart; none were run"
            )
        return None

    def _prepare(self, call: ChatCompletionMessageToolCall) -> PreparedCall:
        name = call.function.name
        found = self._tools.get(name)
        if found is None:
            return PreparedCall(
                call, failure=("unknown_tool", unknown_tool_text(name, list(self._tools)), None)
            )
        try:
            values = found.validate_arguments(call.function.arguments)
        except pydantic.ValidationError as exc:
            return PreparedCall(call, found, failure=("invalid_arguments", validation_text(name, exc), exc))
        return PreparedCall(call, found, values)


def _tools_by_name(tools: Iterable[Any], asynchronous: bool) -> dict[str, Tool[..., Any]]:
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Iterable):
        raise RequestValidationError(
            "tools must be a list of tools (functions or @tool objects)", param="tools"
        )
    found: dict[str, Tool[..., Any]] = {}
    for index, item in enumerate(tools):
        if isinstance(item, Mapping):
            raise RequestValidationError(
                f"tools[{index}] is a tool definition dict: run_tools needs the function (@tool) to call it",
                param=f"tools[{index}]",
            )
        made = item if isinstance(item, Tool) else tool(item)
        if made.name in found:
            raise RequestValidationError(f"two tools are named {made.name!r}", param=f"tools[{index}]")
        if made.is_async and not asynchronous:
            raise RequestValidationError(
                f"tool {made.name!r} is async: run it with AsyncGrokClient, or make it a plain function",
                param=f"tools[{index}]",
            )
        found[made.name] = made
    if not found:
        raise RequestValidationError("tools must not be empty: run_tools needs a tool to run", param="tools")
    return found


def _record(call: PreparedCall, outcome: Outcome, secrets: list[str]) -> ToolCallRecord:
    """What is recorded, and sent back, for one call (an exception's text scrubbed of ``secrets``)."""
    function = call.call.function
    kind: ToolErrorKind | None = None
    if call.failure is not None:
        kind, content, _ = call.failure
    elif outcome.exception is not None:
        kind, content = "tool_error", exception_text(outcome.exception, secrets)
    else:
        try:
            content = encode_result(outcome.value)
        except pydantic_core.PydanticSerializationError:
            kind = "tool_error"
            content = f"The result ({type(outcome.value).__name__}) could not be encoded as JSON"
    return ToolCallRecord(
        id=call.call.id,
        name=function.name,
        arguments=function.arguments,
        content=content,
        output=outcome.value if kind is None else None,
        error=content if kind is not None else None,
        error_kind=kind,
    )


def _call_error(
    record: ToolCallRecord, cause: BaseException | None, result: ToolRunResult, secrets: list[str]
) -> ToolCallError:
    """``on_tool_error="raise"``: the error for a failed call (an unknown tool is never raised: the model's
    mistake, not the program's, so it is always reported back). Its message is the record's scrubbed text; its
    cause the tool's exception, or a stand-in when that quotes a credential."""
    error = ToolCallError(f"Tool call {record.name!r} failed: {record.error}", call=record, result=result)
    error.__cause__ = safe_cause(cause, secrets)
    return error


def _result(
    completion: ChatCompletion, messages: list[dict[str, Any]], rounds: list[ToolRound]
) -> ToolRunResult:
    # Copies: the flow keeps appending to its own lists.
    return ToolRunResult(completion, cast("list[MessageParam]", list(messages)), tuple(rounds))


def _names(calls: list[ChatCompletionMessageToolCall]) -> str:
    # Bounded: a message quoting every name of a runaway turn would be as long as the turn.
    names = ", ".join(call.function.name for call in calls[:5])
    return names + f", ... ({len(calls)} calls)" if len(calls) > 5 else names
