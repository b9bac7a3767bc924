"""The non-streaming chat completion response."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from pydantic import Field

from ._base import GrokModel
from .completion_usage import CompletionUsage
from .content_filter import ContentFilterResults, PromptFilterResult

if TYPE_CHECKING:
    from .._cost import Cost, PendingCost

__all__ = [
    "ChatCompletion",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "FinishReason",
    "FunctionCall",
]

# Documented values; fields stay ``str | None`` so a new value never fails parsing.
FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class FunctionCall(GrokModel):
    """A function the model wants called; ``arguments`` is model-written JSON text (possibly invalid)."""

    name: str
    arguments: str

    def to_param(self) -> dict[str, Any]:
        """The request form, without response-only extras such as Azure's ``call_id``."""
        return {"name": self.name, "arguments": self.arguments}


class ChatCompletionMessageToolCall(GrokModel):
    """One tool call in an assistant message."""

    id: str
    type: str = "function"
    function: FunctionCall

    def to_param(self) -> dict[str, Any]:
        """The request form used when the call is sent back in the conversation history."""
        return {"id": self.id, "type": self.type, "function": self.function.to_param()}


class ChatCompletionMessage(GrokModel):
    """The assistant message of a choice; also accepted as an input message."""

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    refusal: str | None = None

    def to_param(self) -> dict[str, Any]:
        """The request form of this message, for appending it to the next request's ``messages``.

        ``reasoning_content`` is dropped on purpose: it is output only, the request schemas of both routes
        have no such field (the model-inference route rejects unknown fields by default), and sending it
        back would spend prompt tokens on text the model does not use. ``refusal`` and unknown extras are
        dropped for the same schema reason.
        """
        out: dict[str, Any] = {"role": self.role}
        if self.content is not None:
            out["content"] = self.content
        if self.tool_calls:
            out["tool_calls"] = [call.to_param() for call in self.tool_calls]
        return out


class Choice(GrokModel):
    """One completion choice."""

    index: int = 0
    finish_reason: str | None = None
    message: ChatCompletionMessage = Field(default_factory=ChatCompletionMessage)
    logprobs: Any = None
    content_filter_results: ContentFilterResults | None = None


SERVED_BY_ATTRIBUTE = "_grok_azure_served_by"
COST_ATTRIBUTE = "_grok_azure_cost"


class ChatCompletion(GrokModel):
    """A chat completion response, with shortcuts for the first choice."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = Field(default_factory=list)
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    prompt_filter_results: list[PromptFilterResult] | None = None

    @property
    def served_by(self) -> str | None:
        """The name of the deployment that answered (``Deployment.name``; the endpoint's host without
        ``deployments=``); None for a completion built by hand.

        Set by the client, not the service: it is not a field, so ``model_dump()``, JSON and ``==`` (which mirror
        the wire) ignore it.
        """
        name = self.__dict__.get(SERVED_BY_ATTRIBUTE)
        return name if isinstance(name, str) else None

    def _set_served_by(self, name: str | None) -> None:
        # Straight into __dict__: pydantic ignores non-field keys there when dumping and comparing.
        object.__setattr__(self, SERVED_BY_ATTRIBUTE, name)

    @property
    def cost(self) -> Cost | None:
        """What this completion cost in USD, from the catalog price of the deployment's model.

        Counts cached input and reasoning tokens under whichever usage convention the numbers show (see
        :class:`~grok_azure.Cost` and docs/models.md). None when the client does not know the deployment's model
        or its price, when the service sent no usage, and for a completion built by hand. Like
        :attr:`served_by`, it is set by the client and is not a field.
        """
        cost = self.__dict__.get(COST_ATTRIBUTE)
        resolve = getattr(cost, "resolve", None)
        if resolve is not None:  # a PendingCost: priced now, once
            cost = resolve()
            object.__setattr__(self, COST_ATTRIBUTE, cost)
        # Only _set_cost writes the key, so the cast holds (a runtime check would import _cost here, a cycle).
        return cast("Cost | None", cost)

    def _set_cost(self, cost: Cost | PendingCost | None) -> None:
        object.__setattr__(self, COST_ATTRIBUTE, cost)

    @property
    def text(self) -> str:
        """The first choice's content, or ``""``."""
        if not self.choices:
            return ""
        return self.choices[0].message.content or ""

    @property
    def reasoning(self) -> str | None:
        """The first choice's ``reasoning_content`` (only reasoning models return it)."""
        return self.choices[0].message.reasoning_content if self.choices else None

    @property
    def tool_calls(self) -> list[ChatCompletionMessageToolCall]:
        """The first choice's tool calls, or ``[]``."""
        if not self.choices:
            return []
        return list(self.choices[0].message.tool_calls or [])

    @property
    def finish_reason(self) -> str | None:
        """The first choice's finish reason."""
        return self.choices[0].finish_reason if self.choices else None

    @property
    def content_filtered(self) -> bool:
        """True when any choice was cut by the content filter or any prompt was filtered."""
        if any(choice.finish_reason == "content_filter" for choice in self.choices):
            return True
        return any(
            result.content_filter_results is not None and result.content_filter_results.filtered
            for result in self.prompt_filter_results or []
        )


def total_cost(completions: Iterable[ChatCompletion]) -> float | None:
    """The USD cost of several completions (a tool run's rounds, a parse's attempts); None when there are none or
    any one's cost is unknown."""
    costs = [completion.cost for completion in completions]
    if not costs or any(cost is None for cost in costs):
        return None
    return sum(cost.total for cost in costs if cost is not None)
