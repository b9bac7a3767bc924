"""One accumulator that turns streamed chunks into the ChatCompletion that ``create()`` would have returned.

It is the only place chunks are merged, used by the plain ``Stream``, the stream manager, and both clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types.chat_completion import ChatCompletion
from ..types.chat_completion_chunk import ChatCompletionChunk, ChoiceDeltaToolCall, ChunkChoice
from ..types.completion_usage import CompletionUsage
from ..types.content_filter import ContentFilterResults, PromptFilterResult


@dataclass
class _ToolCallState:
    id: str | None = None
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id or "",
            "type": self.type,
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }


@dataclass
class _ChoiceState:
    index: int
    role: str | None = None
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    tool_calls: dict[int, _ToolCallState] = field(default_factory=dict)
    finish_reason: str | None = None
    content_filter_results: ContentFilterResults | None = None
    logprobs_content: list[Any] = field(default_factory=list)
    logprobs_seen: bool = False

    def to_dict(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.content) if self.content or not self.tool_calls else None,
        }
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i].to_dict() for i in sorted(self.tool_calls)]
        out: dict[str, Any] = {"index": self.index, "finish_reason": self.finish_reason, "message": message}
        if self.logprobs_seen:
            out["logprobs"] = {"content": list(self.logprobs_content)}
        if self.content_filter_results is not None:
            out["content_filter_results"] = self.content_filter_results
        return out


class ChunkAccumulator:
    """Merge chunks: content and reasoning concatenated, tool calls stitched by ``index``, usage from the last event."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.prompt_filter_results: list[PromptFilterResult] | None = None
        self.usage: CompletionUsage | None = None
        self.choices: dict[int, _ChoiceState] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        # Azure's first event has empty id/model/created: never let it (or a usage event) erase real values.
        if chunk.id and not self.id:
            self.id = chunk.id
        if chunk.model:
            self.model = chunk.model
        if chunk.created:
            self.created = self.created or chunk.created
        if chunk.system_fingerprint:
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.prompt_filter_results:
            self.prompt_filter_results = [*(self.prompt_filter_results or ()), *chunk.prompt_filter_results]
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            self._add_choice(choice)

    def _add_choice(self, choice: ChunkChoice) -> None:
        state = self.choices.get(choice.index)
        if state is None:
            state = self.choices[choice.index] = _ChoiceState(choice.index)
        delta = choice.delta
        if delta.role:
            state.role = delta.role
        if delta.content:
            state.content.append(delta.content)
        if delta.reasoning_content:
            state.reasoning.append(delta.reasoning_content)
        if delta.refusal:
            state.refusal.append(delta.refusal)
        if delta.tool_calls:
            for call in delta.tool_calls:
                self._add_tool_call(state, call)
        if choice.finish_reason:
            state.finish_reason = choice.finish_reason
        cfr = choice.content_filter_results
        if cfr is not None and (cfr.model_fields_set or cfr.model_extra):
            state.content_filter_results = cfr
        if choice.logprobs is not None:
            state.logprobs_seen = True
            content = choice.logprobs.get("content") if isinstance(choice.logprobs, dict) else None
            if content:
                state.logprobs_content.extend(content)

    @staticmethod
    def _add_tool_call(state: _ChoiceState, call: ChoiceDeltaToolCall) -> None:
        tool = state.tool_calls.get(call.index)
        if tool is None:
            tool = state.tool_calls[call.index] = _ToolCallState()
        if call.id:
            tool.id = call.id
        if call.type:
            tool.type = call.type
        if call.function is not None:
            name = call.function.name
            # Grok sends a call's name once; some gateways repeat it in every fragment, and a name split over
            # fragments would arrive in pieces: a repeat of the whole name so far is not appended again.
            if name and name != tool.name:
                tool.name += name
            if call.function.arguments:
                tool.arguments.append(call.function.arguments)

    @property
    def finished(self) -> bool:
        """True once at least one choice arrived and every choice has a finish_reason."""
        return bool(self.choices) and all(c.finish_reason for c in self.choices.values())

    def snapshot(self) -> ChatCompletion:
        """The completion so far, as the same type ``create()`` returns."""
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [self.choices[i].to_dict() for i in sorted(self.choices)],
        }
        if self.usage is not None:
            data["usage"] = self.usage
        if self.system_fingerprint is not None:
            data["system_fingerprint"] = self.system_fingerprint
        if self.prompt_filter_results is not None:
            data["prompt_filter_results"] = self.prompt_filter_results
        return ChatCompletion.model_validate(data)
