"""The tool runner's own errors (subclasses of :class:`~grok_azure.GrokError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .._errors import GrokError, RequestValidationError

if TYPE_CHECKING:
    from ..types.tool_run import ToolCallRecord, ToolRunResult

__all__ = ["ToolCallError", "ToolCallsRefusedError", "ToolDefinitionError", "ToolRoundsExceededError"]


class ToolDefinitionError(RequestValidationError, TypeError):
    """A function (or model) that cannot become a tool, found when it is decorated; nothing was sent.

    ``param`` names the offending parameter (or ``"name"``). Also a :class:`TypeError`, as Python's own
    complaints about a bad signature are.
    """


class ToolCallError(GrokError):
    """A tool call failed and the runner was told to raise (``on_tool_error="raise"``).

    The call's arguments did not validate, or the tool raised. ``call`` is its record (name, arguments, the
    error text); ``result`` the run so far, that round's tool messages included; ``__cause__`` the tool's own
    exception (or pydantic's ``ValidationError``), or, when its message or chain quotes one of the client's
    credentials, a stand-in of the same type with the message scrubbed and no traceback or chain.
    """

    def __init__(self, message: str, *, call: ToolCallRecord, result: ToolRunResult) -> None:
        super().__init__(message)
        self.message = message
        self.call = call
        self.result = result


class ToolRoundsExceededError(GrokError):
    """The model still asked for tools after ``max_rounds`` calls; the tools of the last round were not run.

    ``result`` holds everything so far: ``result.completion`` is the last completion (its ``tool_calls``
    unanswered), ``result.rounds`` and ``result.messages`` the whole transcript. ``max_rounds`` is the limit.
    """

    def __init__(self, message: str, *, max_rounds: int, result: ToolRunResult) -> None:
        super().__init__(message)
        self.message = message
        self.max_rounds = max_rounds
        self.result = result


class ToolCallsRefusedError(GrokError):
    """The model asked, in one turn, for tool calls the runner will not run; none of that turn's calls ran.

    ``reason`` says why: ``"too_many_calls"`` (more than ``max_tool_calls_per_round``: work, memory and the
    transcript stay bounded whatever the model sends) or ``"duplicate_ids"`` (two calls share an id, so their
    results could not be told apart). ``result`` holds the run so far: ``result.completion`` is that turn (its
    calls unanswered), ``result.rounds`` and ``result.messages`` the transcript.
    """

    def __init__(
        self, message: str, *, reason: Literal["too_many_calls", "duplicate_ids"], result: ToolRunResult
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.result = result
