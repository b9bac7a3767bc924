"""Request-side types: message, tool and format parameters, and typed message objects.

The ``*Param`` TypedDicts describe the plain-dict wire form. The message classes (``UserMessage`` etc.) are
frozen pydantic objects for callers who prefer constructors; ``to_dict()`` gives their wire form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from typing_extensions import NotRequired, Required, Self, TypedDict

from .chat_completion import ChatCompletionMessage, ChatCompletionMessageToolCall

__all__ = [
    "AssistantMessage",
    "AssistantMessageParam",
    "ChatCompletionMessageToolCallParam",
    "ChatMessage",
    "ContentPartParam",
    "DeveloperMessage",
    "DeveloperMessageParam",
    "FunctionCallParam",
    "FunctionDefinitionParam",
    "ImageContentPartParam",
    "ImageURLParam",
    "JSONSchemaParam",
    "MessageLike",
    "MessageParam",
    "NamedToolChoiceFunctionParam",
    "NamedToolChoiceParam",
    "ReasoningEffort",
    "ResponseFormatJSONObjectParam",
    "ResponseFormatJSONSchemaParam",
    "ResponseFormatParam",
    "ResponseFormatTextParam",
    "StreamOptionsParam",
    "SystemMessage",
    "SystemMessageParam",
    "TextContentPartParam",
    "ToolChoiceParam",
    "ToolMessage",
    "ToolMessageParam",
    "ToolParam",
    "UserMessage",
    "UserMessageParam",
]

ReasoningEffort: TypeAlias = Literal["none", "low", "medium", "high", "xhigh"]


# --- content parts --------------------------------------------------------------------------------
class TextContentPartParam(TypedDict):
    type: Literal["text"]
    text: str


class ImageURLParam(TypedDict):
    url: str
    """An https URL or a ``data:image/...;base64,`` URL."""
    detail: NotRequired[Literal["auto", "low", "high"]]


class ImageContentPartParam(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURLParam


ContentPartParam: TypeAlias = TextContentPartParam | ImageContentPartParam


# --- message dicts --------------------------------------------------------------------------------
class FunctionCallParam(TypedDict):
    name: str
    arguments: str


class ChatCompletionMessageToolCallParam(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCallParam


class SystemMessageParam(TypedDict):
    role: Literal["system"]
    content: str | list[TextContentPartParam]
    name: NotRequired[str]


class DeveloperMessageParam(TypedDict):
    role: Literal["developer"]
    content: str | list[TextContentPartParam]
    name: NotRequired[str]


class UserMessageParam(TypedDict):
    role: Literal["user"]
    content: str | list[ContentPartParam]
    name: NotRequired[str]


class AssistantMessageParam(TypedDict):
    role: Literal["assistant"]
    content: NotRequired[str | list[TextContentPartParam] | None]
    tool_calls: NotRequired[list[ChatCompletionMessageToolCallParam]]
    name: NotRequired[str]


class ToolMessageParam(TypedDict):
    role: Literal["tool"]
    content: str | list[TextContentPartParam]
    tool_call_id: str


MessageParam: TypeAlias = (
    SystemMessageParam | DeveloperMessageParam | UserMessageParam | AssistantMessageParam | ToolMessageParam
)


# --- tools and formats ----------------------------------------------------------------------------
class FunctionDefinitionParam(TypedDict, total=False):
    name: Required[str]
    description: str
    parameters: dict[str, Any]
    """A JSON Schema object describing the arguments."""
    strict: bool


class ToolParam(TypedDict):
    type: Literal["function"]
    function: FunctionDefinitionParam


class NamedToolChoiceFunctionParam(TypedDict):
    name: str


class NamedToolChoiceParam(TypedDict):
    type: Literal["function"]
    function: NamedToolChoiceFunctionParam


ToolChoiceParam: TypeAlias = Literal["none", "auto", "required"] | NamedToolChoiceParam


class ResponseFormatTextParam(TypedDict):
    type: Literal["text"]


class ResponseFormatJSONObjectParam(TypedDict):
    type: Literal["json_object"]


class JSONSchemaParam(TypedDict, total=False):
    name: Required[str]
    schema: Required[dict[str, Any]]
    description: str
    strict: bool


class ResponseFormatJSONSchemaParam(TypedDict):
    type: Literal["json_schema"]
    json_schema: JSONSchemaParam


ResponseFormatParam: TypeAlias = (
    ResponseFormatTextParam | ResponseFormatJSONObjectParam | ResponseFormatJSONSchemaParam
)


class StreamOptionsParam(TypedDict, total=False):
    include_usage: bool


# --- typed message objects ------------------------------------------------------------------------
class _Message(BaseModel):
    # Subclasses take ``content`` positionally; their ``**data`` passes other keys through because
    # ``model_validate`` calls an overridden ``__init__`` with every key (``role`` included).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """The wire form, with ``None`` fields omitted."""
        return self.model_dump(mode="json", exclude_none=True)


class SystemMessage(_Message):
    """A system instruction."""

    role: Literal["system"] = "system"
    content: str | list[TextContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[TextContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class DeveloperMessage(_Message):
    """A developer instruction (the newer name for a system message)."""

    role: Literal["developer"] = "developer"
    content: str | list[TextContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[TextContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class UserMessage(_Message):
    """A user turn: text, or a list of text and image parts."""

    role: Literal["user"] = "user"
    content: str | list[ContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[ContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class AssistantMessage(_Message):
    """An earlier assistant turn; needs content, tool calls, or both."""

    role: Literal["assistant"] = "assistant"
    content: str | list[TextContentPartParam] | None = None
    tool_calls: list[ChatCompletionMessageToolCallParam] | None = None
    name: str | None = None

    def __init__(
        self,
        content: str | list[TextContentPartParam] | None = None,
        *,
        tool_calls: list[ChatCompletionMessageToolCallParam]
        | list[ChatCompletionMessageToolCall]
        | None = None,
        name: str | None = None,
        **data: Any,
    ) -> None:
        BaseModel.__init__(self, content=content, tool_calls=tool_calls, name=name, **data)

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _response_tool_calls_to_params(cls, value: Any) -> Any:
        # Tool calls copied from a response carry response-only extras (Azure's ``call_id``); strip them.
        if isinstance(value, list):
            return [
                item.to_param() if isinstance(item, ChatCompletionMessageToolCall) else item for item in value
            ]
        return value

    @model_validator(mode="after")
    def _content_or_tool_calls(self) -> Self:
        if self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs content or tool_calls")
        return self


class ToolMessage(_Message):
    """The result of a tool call, matched to it by ``tool_call_id``."""

    role: Literal["tool"] = "tool"
    content: str | list[TextContentPartParam]
    tool_call_id: str

    def __init__(self, content: str | list[TextContentPartParam], tool_call_id: str, **data: Any) -> None:
        BaseModel.__init__(self, content=content, tool_call_id=tool_call_id, **data)


ChatMessage: TypeAlias = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage

# Everything ``messages=`` accepts; azure.ai.inference message objects are Mappings, so they fit here too.
MessageLike: TypeAlias = MessageParam | ChatMessage | ChatCompletionMessage | BaseModel | Mapping[str, Any]
