"""Running the tool calls of one round: in order in the sync client, concurrently in the async one.

:class:`PreparedCall` holds what the flow decided before anything runs (the tool, the validated arguments, or why
the call cannot run); the two runners only call it, the async one awaiting what an async tool returns. An
exception a tool raises is its outcome, not the runner's failure; only ``BaseException`` (a cancellation, a
``KeyboardInterrupt``) goes through.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..types.chat_completion import ChatCompletionMessageToolCall
from ..types.tool_run import ToolErrorKind

if TYPE_CHECKING:
    from ._tool import Tool

__all__ = ["Outcome", "PreparedCall", "arun_calls", "run_calls"]


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A tool call ready to run (``tool`` and ``values`` set), or refused (``failure`` set: kind, text, cause)."""

    call: ChatCompletionMessageToolCall
    tool: Tool[..., Any] | None = None
    values: BaseModel | None = None
    failure: tuple[ToolErrorKind, str, BaseException | None] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a call gave: its return value, or the exception it raised."""

    value: Any = None
    exception: Exception | None = None


def run_calls(calls: Sequence[PreparedCall]) -> list[Outcome]:
    """Run each call in turn, in the order the model listed them."""
    return [_start(call) for call in calls]


async def arun_calls(calls: Sequence[PreparedCall]) -> list[Outcome]:
    """Run the calls concurrently: each async tool is awaited in its own task; a sync tool runs when its task
    starts, on the event loop's thread (make a blocking tool ``async``, or wrap it in ``asyncio.to_thread``).

    When a tool raises a ``BaseException`` (its own ``CancelledError``, a ``KeyboardInterrupt``...), or the run
    itself is cancelled, the round's other tasks are cancelled and awaited before it propagates, as a
    ``TaskGroup`` does (written out: Python 3.10 has none): no tool outlives the run.
    """
    import asyncio  # here: the sync client never loads asyncio

    tasks = [asyncio.ensure_future(_finish(call)) for call in calls]
    try:
        pending = set(tasks)
        while pending:
            # FIRST_EXCEPTION would not return for a task that ended cancelled: look at each one that ends.
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(task.cancelled() or task.exception() is not None for task in done):
                break
    finally:
        left = [task for task in tasks if not task.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
    for task in tasks:
        if task not in left and (task.cancelled() or task.exception() is not None):
            task.result()  # re-raises what the first failed tool raised (a sibling cancelled here is not it)
    return [task.result() for task in tasks]


def _start(call: PreparedCall) -> Outcome:
    """Call the tool: a sync tool runs to its end; an async one gives its awaitable as the value."""
    if call.tool is None or call.values is None:
        return Outcome()
    try:
        return Outcome(call.tool.invoke(call.values))
    except Exception as exc:  # the tool's own failure is its outcome
        return Outcome(exception=exc)


async def _finish(call: PreparedCall) -> Outcome:
    outcome = _start(call)
    if outcome.exception is not None or not inspect.isawaitable(outcome.value):
        return outcome
    try:
        return Outcome(await outcome.value)
    except Exception as exc:
        return Outcome(exception=exc)
