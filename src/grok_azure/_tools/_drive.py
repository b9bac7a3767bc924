"""The two drivers of :meth:`ToolRun.flow`: they perform its commands with the sync or the async client.

Each is a generator of the run's events; a plain run drains it and keeps the result from the last event, a
streamed run hands it to the caller (:mod:`._stream`). Only I/O is here: which client method, ``await`` or not.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from .._errors import StreamClosedError
from ..types.tool_run import ToolRunDoneEvent, ToolRunEvent, ToolRunResult
from ._execute import arun_calls, run_calls
from ._runner import Emit, Flow, RunTools, ToolRun

if TYPE_CHECKING:
    from ..resources.chat import AsyncCompletions, Completions

__all__ = ["Current", "aevents", "arun_plain", "events", "run_plain"]


class Current:
    """A run's state shared with its stream object: the round stream being read, so that closing the run from
    another thread or task can close it, and whether the run was closed (then nothing more is done or sent)."""

    __slots__ = ("closed", "stream")

    def __init__(self) -> None:
        self.stream: Any = None
        self.closed = False

    def check(self) -> None:
        """Raise :class:`StreamClosedError` if the run was closed."""
        if self.closed:
            raise StreamClosedError("The tool run was closed: no further tool or model call is made")

    def follow(self, stream: Any) -> None:
        """``stream`` is the round now read; a close that came while it was being opened ends the run here (the
        caller's ``with`` block then closes ``stream``)."""
        self.stream = stream
        self.check()


class _Steps:
    """Iterate a flow's commands; set :attr:`reply` to the result of each before asking for the next.

    Once the run is closed (``current.closed``, set from another thread or task while this one was inside a tool
    or a round), the next command is not performed: the flow is closed and :class:`StreamClosedError` raised, so
    no model call starts after ``close()``.
    """

    __slots__ = ("_current", "_flow", "reply")

    def __init__(self, flow: Flow, current: Current) -> None:
        self._flow = flow
        self._current = current
        self.reply: Any = None

    def __iter__(self) -> _Steps:
        return self

    def __next__(self) -> Any:
        command = self._flow.send(self.reply)  # StopIteration when the flow returns: the loop ends
        self.reply = None
        if self._current.closed:
            self._flow.close()
            self._current.check()
        return command


def events(
    completions: Completions, run: ToolRun, stream: bool, current: Current
) -> Generator[ToolRunEvent, None, None]:
    """The run's events, with the sync client; rounds are streamed when ``stream`` is true."""
    steps = _Steps(run.flow(), current)
    for command in steps:
        if type(command) is Emit:
            yield command.event
        elif type(command) is RunTools:
            steps.reply = run_calls(command.calls)
        elif stream:
            with completions.stream(model=run.model, messages=command.messages, **command.params) as chunks:
                current.follow(chunks)
                yield from chunks
                steps.reply = chunks.get_final_completion()
        else:
            steps.reply = completions.create(model=run.model, messages=command.messages, **command.params)


async def aevents(
    completions: AsyncCompletions, run: ToolRun, stream: bool, current: Current
) -> AsyncGenerator[ToolRunEvent, None]:
    """:func:`events` with the async client; a round's tool calls run concurrently."""
    steps = _Steps(run.flow(), current)
    for command in steps:
        if type(command) is Emit:
            yield command.event
        elif type(command) is RunTools:
            steps.reply = await arun_calls(command.calls)
        elif stream:
            async with completions.stream(
                model=run.model, messages=command.messages, **command.params
            ) as chunks:
                current.follow(chunks)
                async for event in chunks:
                    yield event
                steps.reply = await chunks.get_final_completion()
        else:
            steps.reply = await completions.create(
                model=run.model, messages=command.messages, **command.params
            )


def run_plain(completions: Completions, run: ToolRun) -> ToolRunResult:
    """A plain run with the sync client: its result."""
    return _final(
        [event for event in events(completions, run, False, Current()) if type(event) is ToolRunDoneEvent]
    )


async def arun_plain(completions: AsyncCompletions, run: ToolRun) -> ToolRunResult:
    """A plain run with the async client: its result."""
    done = [
        event
        async for event in aevents(completions, run, False, Current())
        if type(event) is ToolRunDoneEvent
    ]
    return _final(done)


def _final(done: list[Any]) -> ToolRunResult:
    # The flow ends with exactly one done event, or raises.
    result: ToolRunResult = done[-1].result
    return result
