"""What ``chat.completions.run_tools`` returns and streams: the transcript of a tool run, and its events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from .._streaming._events import StreamEvent
from .chat_completion import ChatCompletion, total_cost
from .chat_params import MessageParam
from .completion_usage import CompletionUsage

__all__ = [
    "ToolCallRecord",
    "ToolErrorKind",
    "ToolResultEvent",
    "ToolRound",
    "ToolRunDoneEvent",
    "ToolRunEvent",
    "ToolRunResult",
]

ToolErrorKind: TypeAlias = Literal["unknown_tool", "invalid_arguments", "tool_error"]
"""Why a tool call failed: the model named no offered tool, its arguments did not validate, or the tool raised
(or returned something that cannot be JSON-encoded)."""


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call the model asked for, and what was sent back.

    Attributes:
        id: the call's id (the ``tool_call_id`` of the tool message).
        name: the tool the model named.
        arguments: the arguments exactly as the model wrote them (JSON text, possibly invalid).
        content: the tool message's content sent back: the result (JSON unless the tool returned a string), or
            the error text.
        output: what the tool returned (None when it failed); for a pydantic model tool, the validated instance.
        error: the error text sent back to the model, or None.
        error_kind: why it failed (:data:`ToolErrorKind`), or None.
    """

    id: str
    name: str
    arguments: str
    content: str
    output: Any = None
    error: str | None = None
    error_kind: ToolErrorKind | None = None

    @property
    def ok(self) -> bool:
        """True when the tool ran and its result was sent back."""
        return self.error_kind is None


@dataclass(frozen=True, slots=True)
class ToolRound:
    """One model call of a run, and the tool calls it asked for (none in the last round of a finished run).

    Attributes:
        number: 1 for the first call.
        completion: what the model answered.
        tool_calls: the calls run after it, in the order the model listed them (empty when it answered, and in a
            round cut by ``max_rounds`` or refused by ``ToolCallsRefusedError``, whose calls are not run).
    """

    number: int
    completion: ChatCompletion
    tool_calls: tuple[ToolCallRecord, ...] = ()

    @property
    def usage(self) -> CompletionUsage | None:
        """This call's token usage, as the service reported it."""
        return self.completion.usage


@dataclass(frozen=True, slots=True)
class ToolRunResult:
    """The outcome of ``run_tools``: the final completion and the whole transcript.

    Attributes:
        completion: the last completion (the model's answer; for a run stopped by ``max_rounds``, the one whose
            tool calls were not run).
        messages: every message of the conversation as sent, in wire form: the caller's, then each assistant
            turn and its tool results. Pass it (plus a new user message) to continue the conversation.
        rounds: each model call with its tool calls.
    """

    completion: ChatCompletion
    messages: list[MessageParam]
    rounds: tuple[ToolRound, ...]

    @property
    def text(self) -> str:
        """The final answer's text (``completion.text``)."""
        return self.completion.text

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        """Every tool call of every round, in order."""
        return [call for round_ in self.rounds for call in round_.tool_calls]

    @property
    def total_cost(self) -> float | None:
        """The USD cost of every round (see ``ChatCompletion.cost``); None if any round's cost is unknown."""
        return total_cost(round_.completion for round_ in self.rounds)


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool call of round ``round`` finished (or failed); ``call`` says what was sent back."""

    round: int
    call: ToolCallRecord
    type: Literal["tool_run.tool_result"] = "tool_run.tool_result"


@dataclass(frozen=True, slots=True)
class ToolRunDoneEvent:
    """The run ended with the model's answer; ``result`` is what ``get_final_result()`` returns."""

    result: ToolRunResult
    type: Literal["tool_run.done"] = "tool_run.done"


ToolRunEvent: TypeAlias = StreamEvent | ToolResultEvent | ToolRunDoneEvent
"""What a streamed tool run yields: each round's stream events (its chunks, deltas, finished tool calls, usage and
its own :class:`~grok_azure.DoneEvent`), a :class:`ToolResultEvent` per tool call run, then one
:class:`ToolRunDoneEvent`."""
