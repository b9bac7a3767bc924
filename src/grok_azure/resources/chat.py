"""``client.chat.completions``: create (plain or streamed) and stream (with helpers)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx
from typing_extensions import Unpack

from .._call_flow import Call, CallFlow, call_flow
from .._call_models import Meter
from .._chat_params import ChatParams, MessageInput, build_chat_body
from .._secrets import hide_request_options
from .._streaming._stream import (
    AsyncChatCompletionStreamManager,
    AsyncStream,
    ChatCompletionStreamManager,
    Stream,
)
from .._wire import decode_completion
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk

if TYPE_CHECKING:
    from .._client import AsyncGrokClient, GrokClient, _BaseClient

__all__ = ["AsyncChat", "AsyncCompletions", "Chat", "Completions"]

_S = TypeVar("_S", Stream[ChatCompletionChunk], AsyncStream[ChatCompletionChunk])


def _start(
    client: _BaseClient[Any, Any],
    model: str,
    messages: Iterable[MessageInput],
    stream: bool,
    params: Mapping[str, Any],
) -> tuple[Call, Meter]:
    """The one path from arguments to a call, for both clients and every method."""
    hide_request_options(params)  # first: the caller's extra_headers/extra_query may hold credentials
    body = build_chat_body(model=model, messages=messages, stream=stream, params=params)
    return client._start(body, stream, params)


def _open_stream(
    kind: type[_S], client: Any, call: Call, flow: CallFlow, response: httpx.Response, meter: Meter
) -> _S:
    """A stream over ``response`` that, if it fails before its first chunk, resumes ``flow`` to retry the call.

    From here on the stream settles ``meter``: it records the usage when the stream completes and releases the
    reservation however it ends.
    """
    return kind(
        response,
        client.response_limits,
        call.stream_deadline,
        functools.partial(client._execute, flow),
        meter=meter,
        first_deadline=call.deadline,
        stop=call.stop,
    )


def _metered_flow(call: Call, meter: Meter) -> CallFlow:
    """The call loop, with the budget held from just before the first send and freed if the call fails.

    The hold is taken when the flow starts, so a stream manager that is never entered holds nothing; a call that
    raises (or whose flow is abandoned) gives it back. A success leaves it to be recorded (:func:`_completion`, or
    the stream when it completes).
    """
    meter.reserve()
    try:
        yield from call_flow(call)
    except BaseException:
        meter.release()
        raise


def _completion(response: httpx.Response, meter: Meter) -> ChatCompletion:
    """The decoded completion, its usage recorded and its cost set; the hold released if decoding fails."""
    try:
        completion = decode_completion(response)
    except BaseException:
        meter.release()
        raise
    completion._set_cost(meter.settle(completion.usage, response))
    return completion


def _with_usage(params: ChatParams) -> ChatParams:
    # stream() asks for usage by default so its final completion has token counts, like create() does.
    if "stream_options" in params or "stream_options" in (params.get("extra_body") or {}):
        return params
    # In place (``params`` is the call's own ``**params`` dict): _prepare then hides secrets in the one dict
    # that stream()'s frame holds.
    params["stream_options"] = {"include_usage": True}
    return params


class Completions:
    def __init__(self, client: GrokClient) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(
        self, *, model: str, messages: Iterable[MessageInput], stream: bool, **params: Unpack[ChatParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, a :class:`Stream` of chunks.

        Args:
            model: your Foundry *deployment* name.
            messages: message dicts (:data:`~grok_azure.types.MessageParam`, keyed by ``role``), typed message
                objects (``UserMessage(...)``), a previous response's message, or azure-ai-inference messages.
                Annotate a variable that holds dicts (``list[MessageParam]``) so a type checker can check it.
            stream: ``True`` returns a :class:`Stream` to iterate; ``False`` (default) the whole completion.
            **params: the optional fields of :class:`~grok_azure.types.ChatParams`: ``tools``
                (:class:`~grok_azure.types.ToolParam` dicts), ``tool_choice`` (``"none"``/``"auto"``/
                ``"required"`` or a named tool), ``response_format`` (text / json_object / json_schema),
                ``reasoning_effort``, ``stop``, sampling and penalty settings; ``None`` leaves a field out.
                Fields the SDK does not know go in ``extra_body``; request options are ``extra_headers``,
                ``extra_query``, ``timeout`` (seconds or an ``httpx.Timeout``, for each attempt), ``deadline``
                (seconds for the whole call, retries and waits included; default: the client's) and, with
                ``stream=True``, ``stream_deadline`` (seconds for the whole stream, from the call's start).

        Raises:
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        call, meter = _start(self._client, model, messages, stream, params)
        flow = _metered_flow(call, meter)
        response = self._client._execute(flow)
        if stream:
            return _open_stream(Stream, self._client, call, flow, response, meter)
        return _completion(response, meter)

    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> ChatCompletionStreamManager:
        """Stream with helpers: ``with client.chat.completions.stream(...) as stream: for text in stream.text_stream``."""
        call, meter = _start(self._client, model, messages, True, _with_usage(params))

        def open_stream() -> Stream[ChatCompletionChunk]:
            # The deadlines start when the `with` block does, not when the manager was made; so does the hold on
            # the budget (see _metered_flow).
            call.restart()
            flow = _metered_flow(call, meter)
            response = self._client._execute(flow)
            return _open_stream(Stream, self._client, call, flow, response, meter)

        return ChatCompletionStreamManager(open_stream)


class AsyncCompletions:
    def __init__(self, client: AsyncGrokClient) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self, *, model: str, messages: Iterable[MessageInput], stream: bool, **params: Unpack[ChatParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, an :class:`AsyncStream` of chunks."""
        call, meter = _start(self._client, model, messages, stream, params)
        flow = _metered_flow(call, meter)
        response = await self._client._execute(flow)
        if stream:
            return _open_stream(AsyncStream, self._client, call, flow, response, meter)
        return _completion(response, meter)

    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> AsyncChatCompletionStreamManager:
        """``async with client.chat.completions.stream(...) as stream: async for text in stream.text_stream``."""
        call, meter = _start(self._client, model, messages, True, _with_usage(params))

        async def open_stream() -> AsyncStream[ChatCompletionChunk]:
            # The deadlines start when the `async with` block does, not when the manager was made.
            call.restart()
            flow = _metered_flow(call, meter)
            response = await self._client._execute(flow)
            return _open_stream(AsyncStream, self._client, call, flow, response, meter)

        return AsyncChatCompletionStreamManager(open_stream)


class Chat:
    def __init__(self, client: GrokClient) -> None:
        self.completions = Completions(client)


class AsyncChat:
    def __init__(self, client: AsyncGrokClient) -> None:
        self.completions = AsyncCompletions(client)
