"""Typed stream events, and the I/O-free decoder that turns SSE bytes into chunks and events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pydantic

from .._error_mapping import error_from_event
from .._errors import ResponseDecodeError, StreamError, StreamInterruptedError
from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk
from ..types.completion_usage import CompletionUsage
from ._accumulate import ChunkAccumulator
from ._sse import SSEDecoder


@dataclass(frozen=True, slots=True)
class ChunkEvent:
    """Every chunk, as it arrived."""

    chunk: ChatCompletionChunk
    type: Literal["chunk"] = "chunk"


@dataclass(frozen=True, slots=True)
class ContentDeltaEvent:
    delta: str
    choice_index: int = 0
    type: Literal["content.delta"] = "content.delta"


@dataclass(frozen=True, slots=True)
class ReasoningDeltaEvent:
    delta: str
    choice_index: int = 0
    type: Literal["reasoning.delta"] = "reasoning.delta"


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDeltaEvent:
    index: int
    name: str
    arguments_delta: str
    choice_index: int = 0
    type: Literal["tool_calls.function.arguments.delta"] = "tool_calls.function.arguments.delta"


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDoneEvent:
    index: int
    id: str
    name: str
    arguments: str
    choice_index: int = 0
    type: Literal["tool_calls.function.arguments.done"] = "tool_calls.function.arguments.done"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: CompletionUsage
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The stream ended normally; ``completion`` is what ``get_final_completion()`` returns."""

    completion: ChatCompletion
    type: Literal["done"] = "done"


StreamEvent = (
    ChunkEvent
    | ContentDeltaEvent
    | ReasoningDeltaEvent
    | ToolCallArgumentsDeltaEvent
    | ToolCallArgumentsDoneEvent
    | UsageEvent
    | DoneEvent
)


class ChunkDecoder:
    """Bytes in, chunks out: SSE framing, ``[DONE]``, error events, accumulation and the end-of-stream verdict."""

    def __init__(self, request: httpx.Request | None = None) -> None:
        self._request = request  # attached (redacted) to the errors this decoder raises
        self._sse = SSEDecoder()
        self.accumulator = ChunkAccumulator()
        self.done = False

    def feed(self, data: bytes) -> Iterator[ChatCompletionChunk]:
        """Yield the chunks completed by ``data``; each is accumulated only as it is handed out."""
        for event in self._sse.feed(data):
            if self.done:
                return
            if event.data == "[DONE]":
                self.done = True
                return
            yield self._decode(event.data, event.event)

    def _decode(self, data: str, event_type: str) -> ChatCompletionChunk:
        try:
            chunk = ChatCompletionChunk.model_validate_json(data)
        except pydantic.ValidationError:
            raise ResponseDecodeError(
                "A stream event is not a chat completion chunk",
                status_code=200,
                body=data,
                request=self._request,
            ) from None
        extra = chunk.model_extra
        if (extra and "error" in extra) or event_type == "error":
            payload: Any = extra.get("error") if extra else None
            code, message = error_from_event(payload if isinstance(payload, dict) else {"message": data})
            raise StreamError(message, code=code, partial=self.accumulator.snapshot(), request=self._request)
        self.accumulator.add(chunk)
        return chunk

    def end(self) -> None:
        """Call at end of body: a stream cut before ``[DONE]`` and before every choice finished is an error."""
        if self.done:
            return
        self._sse.close()
        if not self.accumulator.finished:
            raise StreamInterruptedError(
                "The stream ended before it was complete (no [DONE] and no finish_reason)",
                partial=self.accumulator.snapshot(),
                request=self._request,
            )

    def interrupted(self, cause: BaseException) -> StreamInterruptedError | None:
        """The error for a connection lost mid-stream, or None if every choice had already finished."""
        if self.accumulator.finished:
            return None
        return StreamInterruptedError(
            f"The connection dropped mid-stream: {type(cause).__name__}: {cause}",
            partial=self.accumulator.snapshot(),
            request=self._request,
        )


class EventBuilder:
    """Derives the typed events of one chunk, given what the accumulator already holds (shared by both clients)."""

    def __init__(self, accumulator: ChunkAccumulator) -> None:
        self._acc = accumulator
        # choice index -> tool indexes whose arguments may still grow. Pieces of parallel calls can interleave,
        # so a call is complete only when its choice finishes (or the stream ends), not when another call starts.
        self._open_tools: dict[int, list[int]] = {}

    def events(self, chunk: ChatCompletionChunk) -> Iterator[StreamEvent]:
        yield ChunkEvent(chunk)
        for choice in chunk.choices:
            delta = choice.delta
            if delta.reasoning_content:
                yield ReasoningDeltaEvent(delta.reasoning_content, choice.index)
            if delta.content:
                yield ContentDeltaEvent(delta.content, choice.index)
            for call in delta.tool_calls or ():
                open_tools = self._open_tools.setdefault(choice.index, [])
                if call.index not in open_tools:
                    open_tools.append(call.index)
                if call.function is not None and call.function.arguments:
                    name = self._acc.choices[choice.index].tool_calls[call.index].name
                    yield ToolCallArgumentsDeltaEvent(call.index, name, call.function.arguments, choice.index)
            if choice.finish_reason:
                yield from self._tools_done(choice.index)
        if chunk.usage is not None:
            yield UsageEvent(chunk.usage)

    def _tools_done(self, choice_index: int) -> Iterator[ToolCallArgumentsDoneEvent]:
        state = self._acc.choices[choice_index]
        for tool_index in self._open_tools.pop(choice_index, ()):
            tool = state.tool_calls[tool_index]
            yield ToolCallArgumentsDoneEvent(
                tool_index, tool.id or "", tool.name, "".join(tool.arguments), choice_index
            )

    def finish(self) -> Iterator[StreamEvent]:
        for choice_index in list(self._open_tools):
            yield from self._tools_done(choice_index)
        yield DoneEvent(self._acc.snapshot())
