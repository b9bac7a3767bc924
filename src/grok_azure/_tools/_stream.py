"""A streamed tool run: the events of every round, the tool results, then the run's result.

``with client.chat.completions.run_tools(..., stream=True) as run: for event in run: ...``. Closing the run (or
leaving the ``with`` block) closes the round being streamed and frees its connection; no more rounds are sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Generator
from typing import Any

from typing_extensions import Self

from .._errors import StreamClosedError
from ..types.tool_run import ToolRunDoneEvent, ToolRunEvent, ToolRunResult
from ._drive import Current

__all__ = ["AsyncToolRunStream", "ToolRunStream"]


class _Result:
    """The result, once the done event went by (shared by both streams)."""

    _result: ToolRunResult | None = None

    def _seen(self, event: ToolRunEvent) -> ToolRunEvent:
        if type(event) is ToolRunDoneEvent:
            self._result = event.result
        return event

    def _final(self) -> ToolRunResult:
        if self._result is None:
            raise StreamClosedError(
                "The tool run was closed (or failed) before it finished: it has no result"
            )
        return self._result


class ToolRunStream(_Result):
    """An iterator of :data:`~grok_azure.types.tool_run.ToolRunEvent`; also a context manager."""

    def __init__(self, events: Generator[ToolRunEvent, None, None], current: Current) -> None:
        self._events = events
        self._current = current

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ToolRunEvent:
        return self._seen(next(self._events))

    def get_final_result(self) -> ToolRunResult:
        """Run to the end (passing over the events not read yet) and return the result.

        Raises:
            StreamClosedError: the run was closed before it finished. Errors of the run itself
                (:class:`~grok_azure.ToolRoundsExceededError`, API errors...) are raised as they happen.
        """
        for _ in self:
            pass
        return self._final()

    def close(self) -> None:
        """Stop the run and free the round's connection; safe from another thread while one is iterating (that
        thread then gets :class:`~grok_azure.StreamClosedError`, at the latest when its tool returns: no model
        call starts after this)."""
        self._current.closed = True
        try:
            self._events.close()
        except ValueError:  # another thread is inside the run: close the round it reads, which ends it
            stream: Any = self._current.stream
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncToolRunStream(_Result):
    """The async twin of :class:`ToolRunStream` (``async with`` / ``async for``)."""

    def __init__(self, events: AsyncGenerator[ToolRunEvent, None], current: Current) -> None:
        self._events = events
        self._current = current

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ToolRunEvent:
        return self._seen(await self._events.__anext__())

    async def get_final_result(self) -> ToolRunResult:
        """Run to the end and return the result (see :meth:`ToolRunStream.get_final_result`)."""
        async for _ in self:
            pass
        return self._final()

    async def close(self) -> None:
        """Stop the run and free the round's connection; safe from another task while one is iterating (see
        :meth:`ToolRunStream.close`)."""
        self._current.closed = True
        try:
            await self._events.aclose()
        except RuntimeError:  # another task is inside the run: close the round it reads
            stream: Any = self._current.stream
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
