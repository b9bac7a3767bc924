"""The sync and async shells of a structured stream: ``stream(response_format=Model)``.

They wrap the ordinary event streams and only move events through :class:`StructuredEvents`, which decides
everything (partial values, the parse at the end, its errors).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar, Union

import httpx
from typing_extensions import Self

from .._streaming._events import ContentDeltaEvent
from .._streaming._stream import (
    AsyncChatCompletionStream,
    AsyncChatCompletionStreamManager,
    ChatCompletionStream,
    ChatCompletionStreamManager,
)
from ..types.chat_completion import ChatCompletion
from ..types.parsed_chat_completion import ParsedChatCompletion
from ._parse import StructuredRequest
from ._partial import ContentPartialEvent, StructuredEvents, StructuredStreamEvent

__all__ = [
    "AsyncStructuredChatCompletionStream",
    "AsyncStructuredStreamManager",
    "StructuredChatCompletionStream",
    "StructuredStreamManager",
]

ParsedT = TypeVar("ParsedT")
_M = TypeVar("_M", bound=Union["StructuredStreamManager[Any]", "AsyncStructuredStreamManager[Any]"])


class _View(Generic[ParsedT]):
    """What both structured streams show of the event stream they wrap."""

    _inner: ChatCompletionStream | AsyncChatCompletionStream
    _structured: StructuredEvents[ParsedT]

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """Everything received so far, merged into a ChatCompletion."""
        return self._inner.current_completion_snapshot

    @property
    def response(self) -> httpx.Response:
        """The HTTP response being read."""
        return self._inner.response

    @property
    def served_by(self) -> str | None:
        """The name of the deployment streaming this response."""
        return self._inner.served_by

    def _final(self, completion: ChatCompletion) -> ParsedChatCompletion[ParsedT]:
        parsed = self._structured.result()
        parsed._set_served_by(completion.served_by)
        parsed._set_cost(completion.cost)
        return parsed


# Module functions, not methods: a generator holding the stream object would keep a dropped stream (and its
# connection) alive in a reference cycle (see _streaming._stream).
def _events(
    inner: ChatCompletionStream, structured: StructuredEvents[ParsedT]
) -> Iterator[StructuredStreamEvent[ParsedT]]:
    for event in inner:
        yield from structured.events(event)


async def _aevents(
    inner: AsyncChatCompletionStream, structured: StructuredEvents[ParsedT]
) -> AsyncIterator[StructuredStreamEvent[ParsedT]]:
    async for event in inner:
        for extra in structured.events(event):
            yield extra


class StructuredChatCompletionStream(_View[ParsedT]):
    """What ``stream(response_format=Model)`` yields: the usual events, plus :class:`ContentPartialEvent` as the
    JSON grows and :class:`ContentParsedEvent` at the end; :meth:`get_final_completion` is a
    :class:`ParsedChatCompletion`. The structured errors (``LengthFinishReasonError``...) are raised at the end."""

    _inner: ChatCompletionStream

    def __init__(self, inner: ChatCompletionStream, request: StructuredRequest[ParsedT]) -> None:
        self._inner = inner
        self._structured = StructuredEvents(request)
        self._events = _events(inner, self._structured)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StructuredStreamEvent[ParsedT]:
        self._structured.check(self._inner._decoder)
        return next(self._events)

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the content text (the JSON), as it arrives."""
        return (event.delta for event in self if isinstance(event, ContentDeltaEvent))

    @property
    def partial_stream(self) -> Iterator[Any]:
        """Only the first choice's partial JSON values, as they change (see :class:`ContentPartialEvent`)."""
        return (
            event.partial
            for event in self
            if isinstance(event, ContentPartialEvent) and event.choice_index == 0
        )

    def get_final_completion(self) -> ParsedChatCompletion[ParsedT]:
        """Read what is left; the completion with ``message.parsed`` set (raises the structured errors)."""
        for _ in self:
            pass
        return self._final(self._inner.get_final_completion())

    def close(self) -> None:
        """Free the connection (see :meth:`ChatCompletionStream.close`)."""
        self._inner.close()


class AsyncStructuredChatCompletionStream(_View[ParsedT]):
    """The async twin of :class:`StructuredChatCompletionStream`."""

    _inner: AsyncChatCompletionStream

    def __init__(self, inner: AsyncChatCompletionStream, request: StructuredRequest[ParsedT]) -> None:
        self._inner = inner
        self._structured = StructuredEvents(request)
        self._events = _aevents(inner, self._structured)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StructuredStreamEvent[ParsedT]:
        self._structured.check(self._inner._decoder)
        return await self._events.__anext__()

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the content text (the JSON), as it arrives."""
        return (event.delta async for event in self if isinstance(event, ContentDeltaEvent))

    @property
    def partial_stream(self) -> AsyncIterator[Any]:
        """Only the first choice's partial JSON values, as they change."""
        return (
            event.partial
            async for event in self
            if isinstance(event, ContentPartialEvent) and event.choice_index == 0
        )

    async def get_final_completion(self) -> ParsedChatCompletion[ParsedT]:
        """Read what is left; the completion with ``message.parsed`` set (raises the structured errors)."""
        async for _ in self:
            pass
        return self._final(await self._inner.get_final_completion())

    async def close(self) -> None:
        """Free the connection (see :meth:`AsyncChatCompletionStream.close`)."""
        await self._inner.close()


def structured_stream(
    kind: type[_M],
    open_stream: Callable[..., Any],
    model: str,
    messages: Iterable[Any],
    params: dict[str, Any],
) -> _M:
    """The manager ``stream(response_format=Model, ...)`` returns, for either client.

    Args:
        kind: :class:`StructuredStreamManager` or :class:`AsyncStructuredStreamManager`.
        open_stream: the client's ``stream`` method, called with a format dict (it checks and starts the call).
        model: the deployment.
        messages: the caller's messages.
        params: the call's other arguments, with ``response_format`` (a type) and optional ``strict``/``fallback``.
    """
    request: StructuredRequest[Any] = StructuredRequest(
        params.pop("response_format"),
        strict=params.pop("strict", None),
        fallback=params.pop("fallback", None),
        n=params.get("n"),
    )
    inner = request.send(lambda m, p: open_stream(model=model, messages=m, **p), list(messages), params)
    return kind(inner, request)


class StructuredStreamManager(Generic[ParsedT]):
    """``with client.chat.completions.stream(..., response_format=Model) as stream``: sends on enter."""

    def __init__(self, inner: ChatCompletionStreamManager, request: StructuredRequest[ParsedT]) -> None:
        self._inner = inner
        self._request = request

    def __enter__(self) -> StructuredChatCompletionStream[ParsedT]:
        return StructuredChatCompletionStream(self._inner.__enter__(), self._request)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


class AsyncStructuredStreamManager(Generic[ParsedT]):
    """``async with client.chat.completions.stream(..., response_format=Model) as stream``."""

    def __init__(self, inner: AsyncChatCompletionStreamManager, request: StructuredRequest[ParsedT]) -> None:
        self._inner = inner
        self._request = request

    async def __aenter__(self) -> AsyncStructuredChatCompletionStream[ParsedT]:
        return AsyncStructuredChatCompletionStream(await self._inner.__aenter__(), self._request)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)
