"""``client.chat.completions.with_raw_response``: the HTTP answer of a call, then what the call returns.

As in openai-python, ``with_raw_response`` mirrors the methods of ``chat.completions`` but returns a
:class:`RawResponse` (headers, status, request ids, then :meth:`RawResponse.parse`). It is no second way to call:
``create`` goes through ``Completions._create`` (the body of ``create`` itself) and ``stream`` through
``Completions.stream``, so retries, failover, validation before sending and usage bookkeeping are the same.

Unlike openai-python, the body is decoded before ``create`` returns, as ``create`` does it (its usage is then
recorded whether or not ``parse()`` is called); ``parse()`` hands out that object.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, overload

import httpx
from pydantic import TypeAdapter
from typing_extensions import Unpack

from ._chat_params import ChatParams, MessageInput
from ._secrets import hide_request_options
from ._streaming._stream import AsyncChatCompletionStream, AsyncStream, ChatCompletionStream, Stream
from ._wire import RETRY_COUNT_HEADER, SERVED_BY
from .types.chat_completion import ChatCompletion
from .types.chat_completion_chunk import ChatCompletionChunk

if TYPE_CHECKING:
    from ._structured._parse import Fallback, ParsedT
    from ._structured._stream import AsyncStructuredChatCompletionStream, StructuredChatCompletionStream
    from .resources.chat import AsyncCompletions, Completions

__all__ = [
    "AsyncCompletionsWithRawResponse",
    "AsyncRawStreamManager",
    "CompletionsWithRawResponse",
    "RawResponse",
    "RawStreamManager",
]


class _EventStream(Protocol):
    """What every event stream a stream manager opens has: the response it reads."""

    @property
    def response(self) -> httpx.Response: ...


_T = TypeVar("_T")
_S = TypeVar("_S", bound=_EventStream)


class RawResponse(Generic[_T]):
    """The HTTP response that answered a call, and (:meth:`parse`) what the plain call returns.

    Its ``headers`` are the response's (what the service sent), never the request's: they hold no credential.
    ``repr()`` shows the status and the ids only.
    """

    __slots__ = ("_parsed", "_response")

    def __init__(self, response: httpx.Response, parsed: _T) -> None:
        """Args:
        response: the response that answered the call (the last attempt's).
        parsed: what the plain call returns for it.
        """
        self._response = response
        self._parsed = parsed

    def parse(self) -> _T:
        """What the plain call returns: the :class:`~grok_azure.ChatCompletion`, or the stream to iterate (the
        same object each time)."""
        return self._parsed

    @property
    def http_response(self) -> httpx.Response:
        """The ``httpx.Response``. For a stream: the one that opened it (a stream that fails before its first
        chunk and is resent reads a later one: ``parse().response``)."""
        return self._response

    @property
    def headers(self) -> httpx.Headers:
        """The response's headers (``x-ratelimit-remaining-*``, ``apim-request-id``...)."""
        return self._response.headers

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def request_id(self) -> str | None:
        """The ``x-ms-client-request-id`` the SDK sent (the same on every attempt of the call)."""
        return _header(self._response.request.headers, "x-ms-client-request-id")

    @property
    def apim_request_id(self) -> str | None:
        """The service's ``apim-request-id`` header, if it sent one (quote it to Azure support)."""
        return _header(self._response.headers, "apim-request-id")

    @property
    def x_request_id(self) -> str | None:
        """The service's ``x-request-id`` header, if it sent one."""
        return _header(self._response.headers, "x-request-id")

    @property
    def served_by(self) -> str | None:
        """The label of the deployment that answered, as ``ChatCompletion.served_by`` reports it."""
        name = self._response.extensions.get(SERVED_BY)
        return name if isinstance(name, str) else None

    @property
    def retries_taken(self) -> int:
        """How many attempts of this call came before the one that answered (retries, failovers, and a resend
        with a refreshed token), as sent in the ``x-grok-azure-retry-count`` header."""
        count = self._response.request.headers.get(RETRY_COUNT_HEADER)
        return int(count) if count is not None and count.isdigit() else 0

    @property
    def elapsed(self) -> timedelta | None:
        """From sending the request to the end of the body; None while a stream's body is still open."""
        try:
            return self._response.elapsed
        except RuntimeError:  # httpx sets it when the response is closed
            return None

    def __repr__(self) -> str:
        # Only what identifies the answer: no header (a gateway may echo one back) and no request.
        return (
            f"<RawResponse [{self.status_code}] request_id={self.request_id!r} "
            f"apim_request_id={self.apim_request_id!r} served_by={self.served_by!r} "
            f"parsed={type(self._parsed).__name__}>"
        )


def _header(headers: httpx.Headers, name: str) -> str | None:
    value: str | None = headers.get(name)
    return value


class RawStreamManager(Generic[_S]):
    """``with client.chat.completions.with_raw_response.stream(...) as raw``: sends on enter (as ``stream()``
    does); ``raw.parse()`` is the event stream; leaving the block closes it."""

    def __init__(self, manager: AbstractContextManager[_S]) -> None:
        """Args:
        manager: the stream manager ``chat.completions.stream(...)`` returned.
        """
        self._manager = manager

    def __enter__(self) -> RawResponse[_S]:
        stream = self._manager.__enter__()
        return RawResponse(stream.response, stream)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._manager.__exit__(exc_type, exc, tb)


class AsyncRawStreamManager(Generic[_S]):
    """The ``async with`` twin of :class:`RawStreamManager`."""

    def __init__(self, manager: AbstractAsyncContextManager[_S]) -> None:
        """Args:
        manager: the stream manager ``chat.completions.stream(...)`` returned.
        """
        self._manager = manager

    async def __aenter__(self) -> RawResponse[_S]:
        stream = await self._manager.__aenter__()
        return RawResponse(stream.response, stream)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._manager.__aexit__(exc_type, exc, tb)


class CompletionsWithRawResponse:
    """``client.chat.completions.with_raw_response``: ``create`` and ``stream`` returning a :class:`RawResponse`.

    Every argument is the plain method's (see :meth:`~grok_azure.resources.chat.Completions.create`), and so is
    every error: a call that fails raises its :class:`~grok_azure.GrokError`, not a RawResponse.
    """

    def __init__(self, completions: Completions) -> None:
        """Args:
        completions: the ``chat.completions`` resource whose calls these are.
        """
        self._completions = completions

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> RawResponse[ChatCompletion]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> RawResponse[Stream[ChatCompletionChunk]]: ...

    @overload
    def create(
        self, *, model: str, messages: Iterable[MessageInput], stream: bool, **params: Unpack[ChatParams]
    ) -> RawResponse[ChatCompletion] | RawResponse[Stream[ChatCompletionChunk]]: ...

    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> RawResponse[ChatCompletion] | RawResponse[Stream[ChatCompletionChunk]]:
        """:meth:`Completions.create`, returning the answer's :class:`RawResponse`; ``parse()`` is the
        completion (or, with ``stream=True``, the :class:`Stream`: iterate or close it as any stream).

        Args:
            model: your Foundry deployment name.
            messages: as for ``create``.
            stream: as for ``create``.
            **params: as for ``create``.
        """
        # The same dict, not a copy: create hides its credentials in place, in this frame too.
        response, result = self._completions._create(model, messages, stream, params)
        return RawResponse(response, result)  # type: ignore[return-value]  # the overloads pair them

    @overload
    def stream(  # type: ignore[misc]  # response_format narrowed to a type; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        response_format: type[ParsedT] | TypeAdapter[ParsedT],
        strict: bool | None = None,
        fallback: Fallback | None = None,
        **params: Unpack[ChatParams],
    ) -> RawStreamManager[StructuredChatCompletionStream[ParsedT]]: ...

    @overload
    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> RawStreamManager[ChatCompletionStream]: ...

    def stream(self, *, model: str, messages: Iterable[MessageInput], **params: Any) -> RawStreamManager[Any]:
        """:meth:`Completions.stream`, as ``with ... as raw``: ``raw`` is the :class:`RawResponse` and
        ``raw.parse()`` the event stream (structured with ``response_format=Model``).

        Args:
            model: your Foundry deployment name.
            messages: as for ``stream``.
            **params: as for ``stream``.

        Other Parameters:
            response_format: as for ``stream``: a type streams a structured reply.
            strict: as for ``stream`` (with a type as ``response_format`` only).
            fallback: as for ``stream`` (with a type as ``response_format`` only).
        """
        hide_request_options(params)  # first: this frame keeps its own dict of the caller's options
        return RawStreamManager(self._completions.stream(model=model, messages=messages, **params))


class AsyncCompletionsWithRawResponse:
    """The async client's ``chat.completions.with_raw_response`` (see :class:`CompletionsWithRawResponse`)."""

    def __init__(self, completions: AsyncCompletions) -> None:
        """Args:
        completions: the ``chat.completions`` resource whose calls these are.
        """
        self._completions = completions

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> RawResponse[ChatCompletion]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> RawResponse[AsyncStream[ChatCompletionChunk]]: ...

    @overload
    async def create(
        self, *, model: str, messages: Iterable[MessageInput], stream: bool, **params: Unpack[ChatParams]
    ) -> RawResponse[ChatCompletion] | RawResponse[AsyncStream[ChatCompletionChunk]]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> RawResponse[ChatCompletion] | RawResponse[AsyncStream[ChatCompletionChunk]]:
        """:meth:`AsyncCompletions.create`, returning the answer's :class:`RawResponse` (see
        :meth:`CompletionsWithRawResponse.create`).

        Args:
            model: your Foundry deployment name.
            messages: as for ``create``.
            stream: as for ``create``.
            **params: as for ``create``.
        """
        response, result = await self._completions._create(model, messages, stream, params)
        return RawResponse(response, result)  # type: ignore[return-value]  # the overloads pair them

    @overload
    def stream(  # type: ignore[misc]  # response_format narrowed to a type; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        response_format: type[ParsedT] | TypeAdapter[ParsedT],
        strict: bool | None = None,
        fallback: Fallback | None = None,
        **params: Unpack[ChatParams],
    ) -> AsyncRawStreamManager[AsyncStructuredChatCompletionStream[ParsedT]]: ...

    @overload
    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> AsyncRawStreamManager[AsyncChatCompletionStream]: ...

    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Any
    ) -> AsyncRawStreamManager[Any]:
        """``async with client.chat.completions.with_raw_response.stream(...) as raw`` (see
        :meth:`CompletionsWithRawResponse.stream`).

        Args:
            model: your Foundry deployment name.
            messages: as for ``stream``.
            **params: as for ``stream``.

        Other Parameters:
            response_format: as for ``stream``: a type streams a structured reply.
            strict: as for ``stream`` (with a type as ``response_format`` only).
            fallback: as for ``stream`` (with a type as ``response_format`` only).
        """
        hide_request_options(params)
        return AsyncRawStreamManager(self._completions.stream(model=model, messages=messages, **params))
