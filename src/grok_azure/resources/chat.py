"""``client.chat.completions``: create (plain or streamed) and stream (with helpers)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import httpx
from pydantic import TypeAdapter
from typing_extensions import Unpack

from .._call_flow import Call, CallFlow, call_flow
from .._call_models import Meter
from .._chat_params import ChatParams, MessageInput, build_chat_request
from .._errors import RequestValidationError
from .._raw_response import AsyncCompletionsWithRawResponse, CompletionsWithRawResponse
from .._secrets import hide_request_options
from .._streaming._stream import (
    AsyncChatCompletionStreamManager,
    AsyncStream,
    ChatCompletionStreamManager,
    Stream,
)
from .._structured._parse import Fallback, ParsedT, StructuredRequest, is_structured_format
from .._structured._stream import AsyncStructuredStreamManager, StructuredStreamManager, structured_stream
from .._wire import decode_completion
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk
from ..types.parsed_chat_completion import ParsedChatCompletion

if TYPE_CHECKING:
    from .._client import AsyncGrokClient, GrokClient, _BaseClient
    from .._tools._runner import OnToolError
    from .._tools._stream import AsyncToolRunStream, ToolRunStream
    from .._tools._tool import ToolInput
    from ..types.tool_run import ToolRunResult

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
    if is_structured_format(params.get("response_format")):  # a class would otherwise be sent as garbage
        raise RequestValidationError(
            "response_format is a type: use client.chat.completions.parse(...) (or stream(...)) to parse replies "
            "into it; create() takes format dicts only.",
            param="response_format",
        )
    asked = stream and _usage_for_the_budget(client, params)
    body, encoded = build_chat_request(model=model, messages=messages, stream=stream, params=params)
    call, meter = client._start(body, stream, params, encoded)
    meter.hides_usage_chunk = asked
    return call, meter


def _usage_for_the_budget(client: _BaseClient[Any, Any], params: Mapping[str, Any]) -> bool:
    """Ask for a streamed call's usage when a budget needs it and the caller did not say (``create(stream=True)``
    leaves ``stream_options`` out): without it the service reports none, and the budget would count nothing.

    True when the SDK asked: the stream then keeps the usage-only chunk that answers it from the caller, who did
    not ask for it (an openai-style loop reads ``chunk.choices[0]``); its usage is recorded as usual.
    """
    if client._model_policy.tracker.budget is None or "stream_options" in params:
        return False
    extra_body = params.get("extra_body")
    if isinstance(extra_body, Mapping) and "stream_options" in extra_body:
        return False
    cast("dict[str, Any]", params)["stream_options"] = {"include_usage": True}
    return True


def _open_stream(
    kind: type[_S], client: Any, call: Call, flow: CallFlow, response: httpx.Response, meter: Meter
) -> _S:
    """A stream over ``response`` that, if it fails before its first chunk, resumes ``flow`` to retry the call.

    From here on the stream settles ``meter``: it records the usage when the stream completes and releases the
    reservation however it ends. The client's ``close()`` cuts it, as it does a body being read.
    """
    return kind(
        response,
        client.response_limits,
        call.stream_deadline,
        functools.partial(client._execute, flow),
        meter=meter,
        first_deadline=call.deadline,
        stop=call.stop,
        reads=client._lifecycle,
    )


def _completion(response: httpx.Response, meter: Meter) -> ChatCompletion:
    """The decoded completion, its usage recorded and its cost set; the hold released if decoding fails."""
    try:
        completion = decode_completion(response)
    except BaseException as exc:
        meter.release(exc)
        raise
    completion._set_cost(meter.settle(completion.usage, response))
    meter.succeeded(completion)
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
        return self._create(model, messages, stream, params)[1]

    def _create(
        self, model: str, messages: Iterable[MessageInput], stream: bool, params: ChatParams
    ) -> tuple[httpx.Response, ChatCompletion | Stream[ChatCompletionChunk]]:
        """:meth:`create`'s call: the response that answered, and what create returns (``with_raw_response``
        shows both)."""
        call, meter = _start(self._client, model, messages, stream, params)
        flow = call_flow(call)
        response = self._client._execute(flow)
        if stream:
            return response, _open_stream(Stream, self._client, call, flow, response, meter)
        return response, _completion(response, meter)

    @functools.cached_property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        """``create`` and ``stream`` returning a :class:`~grok_azure.RawResponse`: headers, status, request ids,
        then ``parse()`` for the completion or stream (as openai-python's ``with_raw_response``)."""
        return CompletionsWithRawResponse(self)

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
    ) -> StructuredStreamManager[ParsedT]: ...

    @overload
    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> ChatCompletionStreamManager: ...

    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Any
    ) -> ChatCompletionStreamManager | StructuredStreamManager[Any]:
        """Stream with helpers: ``with client.chat.completions.stream(...) as stream: for text in stream.text_stream``.

        With ``response_format=MyModel`` (a pydantic model or type; ``strict`` and ``fallback`` as in
        :meth:`parse`), the stream also yields ``ContentPartialEvent`` (the JSON so far) and ``ContentParsedEvent``,
        and ``get_final_completion()`` returns a :class:`~grok_azure.ParsedChatCompletion`.

        Nothing is sent until the ``with`` block starts; the deadlines and the budget's hold start with it.

        Args:
            model: your Foundry *deployment* name.
            messages: as for :meth:`create`.
            **params: the optional fields of :class:`~grok_azure.types.ChatParams` and the request options, as
                for :meth:`create` (``stream_deadline`` included). ``stream_options`` defaults to
                ``{"include_usage": True}``, so the final completion has token counts.

        Other Parameters:
            response_format: a pydantic ``BaseModel`` subclass, a ``TypeAdapter`` or a type pydantic validates,
                to stream a structured reply (as for :meth:`parse`); a format dict (text / json_object /
                json_schema) is sent as it is, as by :meth:`create`. Default: none (plain text).
            strict: only with a type as ``response_format``: as for :meth:`parse` (None, the default: strict
                when the schema allows it).
            fallback: only with a type as ``response_format``: ``"json_object"`` to send ``json_object`` with
                the schema in a system message when the catalog says the model lacks ``json_schema`` (as for
                :meth:`parse`). Default None: raise :class:`~grok_azure.UnsupportedParameterError` instead.

        Raises:
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        if is_structured_format(params.get("response_format")):
            hide_request_options(params)
            return structured_stream(StructuredStreamManager, self.stream, model, messages, params)
        call, meter = _start(self._client, model, messages, True, _with_usage(cast("ChatParams", params)))

        def open_stream() -> Stream[ChatCompletionChunk]:
            # The deadlines start when the `with` block does, not when the manager was made; so does the hold on
            # the budget (see call_flow).
            call.restart()
            flow = call_flow(call)
            response = self._client._execute(flow)
            return _open_stream(Stream, self._client, call, flow, response, meter)

        return ChatCompletionStreamManager(open_stream)

    def parse(  # type: ignore[misc]  # response_format narrowed to a type; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        response_format: type[ParsedT] | TypeAdapter[ParsedT],
        strict: bool | None = None,
        fallback: Fallback | None = None,
        max_repairs: int = 0,
        **params: Unpack[ChatParams],
    ) -> ParsedChatCompletion[ParsedT]:
        """Ask for JSON matching ``response_format`` and return the reply validated into it.

        Args:
            model: your Foundry deployment name.
            messages: as for :meth:`create`.
            response_format: a pydantic ``BaseModel`` subclass, a ``TypeAdapter``, or a type pydantic validates
                (``list[Item]``...). Sent as a ``json_schema`` response format built from it.
            strict: None (default): ``strict: true`` when the schema fits strict mode, else ``strict: false``;
                True: always strict (a schema that cannot be is a ``RequestValidationError``); False: the schema
                as pydantic writes it, not strict. Strict mode for Grok on Azure is unconfirmed.
            fallback: ``"json_object"``: when the catalog says the deployment's model does not support
                ``json_schema``, send ``json_object`` with the schema in a system message instead of raising.
            max_repairs: when a reply does not validate, ask again up to this many times with the reply and its
                validation errors appended (each a normal call: retries, deadline and budget per call). Default 0.
            **params: the other :class:`~grok_azure.types.ChatParams` (``max_tokens``, ``temperature``, request
                options...), as for :meth:`create`.

        Returns:
            A :class:`~grok_azure.ParsedChatCompletion`: ``choices[i].message.parsed`` is the validated value
            (None when the model refused: see ``message.refusal``); ``usage`` and ``cost`` are the last call's,
            ``attempts`` the rejected ones.

        Raises:
            LengthFinishReasonError: the reply was cut by the token limit.
            ContentFilterFinishReasonError: the content filter cut the reply.
            OutputValidationError: the reply (after ``max_repairs`` repairs) does not validate.
            UnsupportedParameterError: the catalog says the model does not support ``json_schema`` and no
                ``fallback`` was given.
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        hide_request_options(params)
        session = StructuredRequest[ParsedT](
            response_format, strict=strict, fallback=fallback, max_repairs=max_repairs, n=params.get("n")
        ).session(messages)
        while True:
            call, meter = session.request.send(
                lambda m, p: _start(self._client, model, m, False, p), session.messages, params
            )
            flow = call_flow(call)  # held until the completion is recorded (see call_flow)
            completion = _completion(self._client._execute(flow), meter)
            parsed = session.receive(completion)
            if parsed is not None:
                return parsed

    # --- run_tools (tool runner; all decisions in grok_azure._tools) ---
    @overload
    def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult: ...

    @overload
    def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> ToolRunStream: ...

    @overload
    def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: bool,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult | ToolRunStream: ...

    def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult | ToolRunStream:
        """Call the model, run the tools it asks for, send their results back, and repeat until it answers.

        Args:
            model: your Foundry deployment name.
            messages: the conversation so far (as for :meth:`create`).
            tools: :func:`~grok_azure.tool` objects, or typed functions / pydantic models (made tools as they
                are). Async tools need :class:`~grok_azure.AsyncGrokClient`.
            max_rounds: the most model calls; when the model still asks for tools in the last one,
                :class:`~grok_azure.ToolRoundsExceededError` is raised (with the transcript) instead of
                running them.
            max_tool_calls_per_round: the most tool calls one model turn may ask for (default 64); a turn asking
                for more raises :class:`~grok_azure.ToolCallsRefusedError` (with the transcript) before any runs.
            on_tool_error: ``"report"`` (default) sends invalid arguments or a tool's exception back to the model
                as the tool's result (its type and message, no traceback); ``"raise"`` raises
                :class:`~grok_azure.ToolCallError`. A tool name that was not offered is always reported.
            stream: ``True`` returns a :class:`ToolRunStream` of events (each round's stream events, each tool
                result, then the result); ``False`` the :class:`~grok_azure.types.tool_run.ToolRunResult`.
            **params: the optional arguments of :meth:`create` but ``tools`` and ``n``, sent with each round
                (``tool_choice`` with the first only); request options bound each model call.

        Raises:
            RequestValidationError: before anything is sent, for a malformed argument (an async tool here).
            ToolRoundsExceededError: the model still asked for tools after ``max_rounds`` calls.
            ToolCallError: with ``on_tool_error="raise"``, a call failed.
            ToolCallsRefusedError: a turn asked for more than ``max_tool_calls_per_round`` calls, or for two
                calls with one id; none of them ran.
        """
        from .._tools._entry import run_tools  # here: tools load pydantic's model builder only when used

        hide_request_options(params)  # first: extra_headers/extra_query may hold credentials
        arguments = {"model": model, "messages": messages, "tools": tools, "max_rounds": max_rounds}
        arguments["max_tool_calls_per_round"] = max_tool_calls_per_round
        return run_tools(self, stream, on_tool_error=on_tool_error, params=params, **arguments)


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
        """Create a chat completion; with ``stream=True``, an :class:`AsyncStream` of chunks.

        Args:
            model: your Foundry *deployment* name.
            messages: message dicts (:data:`~grok_azure.types.MessageParam`, keyed by ``role``), typed message
                objects (``UserMessage(...)``), a previous response's message, or azure-ai-inference messages.
            stream: ``True`` returns an :class:`AsyncStream` to iterate with ``async for``; ``False`` (default)
                the whole completion.
            **params: the optional fields of :class:`~grok_azure.types.ChatParams` and the request options
                (``timeout``, ``deadline``, ``stream_deadline``, ``extra_headers``...), as for
                :meth:`Completions.create`.

        Raises:
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        return (await self._create(model, messages, stream, params))[1]

    async def _create(
        self, model: str, messages: Iterable[MessageInput], stream: bool, params: ChatParams
    ) -> tuple[httpx.Response, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        """:meth:`create`'s call: the response that answered, and what create returns."""
        call, meter = _start(self._client, model, messages, stream, params)
        flow = call_flow(call)
        response = await self._client._execute(flow)
        if stream:
            return response, _open_stream(AsyncStream, self._client, call, flow, response, meter)
        return response, _completion(response, meter)

    @functools.cached_property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        """``create`` and ``stream`` returning a :class:`~grok_azure.RawResponse` (see
        :attr:`Completions.with_raw_response`)."""
        return AsyncCompletionsWithRawResponse(self)

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
    ) -> AsyncStructuredStreamManager[ParsedT]: ...

    @overload
    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Unpack[ChatParams]
    ) -> AsyncChatCompletionStreamManager: ...

    def stream(
        self, *, model: str, messages: Iterable[MessageInput], **params: Any
    ) -> AsyncChatCompletionStreamManager | AsyncStructuredStreamManager[Any]:
        """``async with client.chat.completions.stream(...) as stream: async for text in stream.text_stream``.

        ``response_format=MyModel`` streams a structured reply (see :meth:`Completions.stream`). Nothing is sent
        until the ``async with`` block starts; the deadlines and the budget's hold start with it.

        Args:
            model: your Foundry *deployment* name.
            messages: as for :meth:`create`.
            **params: the optional fields of :class:`~grok_azure.types.ChatParams` and the request options, as
                for :meth:`Completions.stream` (``stream_options`` defaults to ``{"include_usage": True}``).

        Other Parameters:
            response_format: a pydantic ``BaseModel`` subclass, a ``TypeAdapter`` or a type pydantic validates,
                to stream a structured reply (as for :meth:`parse`); a format dict is sent as it is. Default:
                none (plain text).
            strict: only with a type as ``response_format``: as for :meth:`parse` (None, the default: strict
                when the schema allows it).
            fallback: only with a type as ``response_format``: ``"json_object"`` to fall back to ``json_object``
                when the catalog says the model lacks ``json_schema`` (as for :meth:`parse`). Default None:
                raise :class:`~grok_azure.UnsupportedParameterError` instead.

        Raises:
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        if is_structured_format(params.get("response_format")):
            hide_request_options(params)
            return structured_stream(AsyncStructuredStreamManager, self.stream, model, messages, params)
        call, meter = _start(self._client, model, messages, True, _with_usage(cast("ChatParams", params)))

        async def open_stream() -> AsyncStream[ChatCompletionChunk]:
            # The deadlines start when the `async with` block does, not when the manager was made.
            call.restart()
            flow = call_flow(call)
            response = await self._client._execute(flow)
            return _open_stream(AsyncStream, self._client, call, flow, response, meter)

        return AsyncChatCompletionStreamManager(open_stream)

    async def parse(  # type: ignore[misc]  # response_format narrowed to a type; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        response_format: type[ParsedT] | TypeAdapter[ParsedT],
        strict: bool | None = None,
        fallback: Fallback | None = None,
        max_repairs: int = 0,
        **params: Unpack[ChatParams],
    ) -> ParsedChatCompletion[ParsedT]:
        """Ask for JSON matching ``response_format`` and return the reply validated into it.

        Args:
            model: your Foundry deployment name.
            messages: as for :meth:`create`.
            response_format: a pydantic ``BaseModel`` subclass, a ``TypeAdapter``, or a type pydantic validates
                (``list[Item]``...). Sent as a ``json_schema`` response format built from it.
            strict: None (default): ``strict: true`` when the schema fits strict mode, else ``strict: false``;
                True: always strict (a schema that cannot be is a ``RequestValidationError``); False: the schema
                as pydantic writes it, not strict. Strict mode for Grok on Azure is unconfirmed.
            fallback: ``"json_object"``: when the catalog says the deployment's model does not support
                ``json_schema``, send ``json_object`` with the schema in a system message instead of raising.
            max_repairs: when a reply does not validate, ask again up to this many times with the reply and its
                validation errors appended (each a normal call: retries, deadline and budget per call). Default 0.
            **params: the other :class:`~grok_azure.types.ChatParams` and request options, as for
                :meth:`Completions.parse`.

        Returns:
            A :class:`~grok_azure.ParsedChatCompletion`, as :meth:`Completions.parse` returns.

        Raises:
            LengthFinishReasonError: the reply was cut by the token limit.
            ContentFilterFinishReasonError: the content filter cut the reply.
            OutputValidationError: the reply (after ``max_repairs`` repairs) does not validate.
            UnsupportedParameterError: the catalog says the model does not support ``json_schema`` and no
                ``fallback`` was given.
            RequestValidationError: before anything is sent, when an argument is malformed.
        """
        hide_request_options(params)
        session = StructuredRequest[ParsedT](
            response_format, strict=strict, fallback=fallback, max_repairs=max_repairs, n=params.get("n")
        ).session(messages)
        while True:
            call, meter = session.request.send(
                lambda m, p: _start(self._client, model, m, False, p), session.messages, params
            )
            flow = call_flow(call)  # held until the completion is recorded (see call_flow)
            completion = _completion(await self._client._execute(flow), meter)
            parsed = session.receive(completion)
            if parsed is not None:
                return parsed

    # --- run_tools (tool runner; all decisions in grok_azure._tools) ---
    @overload
    async def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult: ...

    @overload
    async def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> AsyncToolRunStream: ...

    @overload
    async def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: bool,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult | AsyncToolRunStream: ...

    async def run_tools(  # type: ignore[misc]  # tools: the runner's own Tool objects; ChatParams stays the one list
        self,
        *,
        model: str,
        messages: Iterable[MessageInput],
        tools: Iterable[ToolInput],
        max_rounds: int = 10,
        max_tool_calls_per_round: int = 64,
        on_tool_error: OnToolError = "report",
        stream: bool = False,
        **params: Unpack[ChatParams],
    ) -> ToolRunResult | AsyncToolRunStream:
        """:meth:`Completions.run_tools` for the async client: the tool calls of one round run concurrently
        (async tools awaited together; a sync tool runs on the event loop's thread when its turn comes).
        ``stream=True`` returns an :class:`AsyncToolRunStream` (``async with`` / ``async for``).

        Args:
            model: your Foundry deployment name.
            messages: the conversation so far (as for :meth:`create`).
            tools: :func:`~grok_azure.tool` objects, or typed functions / pydantic models (made tools as they
                are); sync and async functions alike.
            max_rounds: the most model calls (default 10); when the model still asks for tools in the last one,
                :class:`~grok_azure.ToolRoundsExceededError` is raised (with the transcript) instead of running
                them.
            max_tool_calls_per_round: the most tool calls one model turn may ask for (default 64); a turn asking
                for more raises :class:`~grok_azure.ToolCallsRefusedError` (with the transcript) before any runs.
            on_tool_error: ``"report"`` (default) sends invalid arguments or a tool's exception back to the model
                as the tool's result (its type and message, no traceback); ``"raise"`` raises
                :class:`~grok_azure.ToolCallError`. A tool name that was not offered is always reported.
            stream: ``True`` returns an :class:`AsyncToolRunStream` of events; ``False`` (default) the
                :class:`~grok_azure.types.tool_run.ToolRunResult`.
            **params: the optional arguments of :meth:`create` but ``tools`` and ``n``, as for
                :meth:`Completions.run_tools`.

        Raises:
            RequestValidationError: before anything is sent, for a malformed argument.
            ToolRoundsExceededError: the model still asked for tools after ``max_rounds`` calls.
            ToolCallError: with ``on_tool_error="raise"``, a call failed.
            ToolCallsRefusedError: a turn asked for more than ``max_tool_calls_per_round`` calls, or for two
                calls with one id; none of them ran.
        """
        from .._tools._entry import arun_tools

        hide_request_options(params)
        arguments = {"model": model, "messages": messages, "tools": tools, "max_rounds": max_rounds}
        arguments["max_tool_calls_per_round"] = max_tool_calls_per_round
        return await arun_tools(self, stream, on_tool_error=on_tool_error, params=params, **arguments)


class Chat:
    def __init__(self, client: GrokClient) -> None:
        self.completions = Completions(client)


class AsyncChat:
    def __init__(self, client: AsyncGrokClient) -> None:
        self.completions = AsyncCompletions(client)
