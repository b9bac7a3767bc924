"""Request-side types: message, tool and format parameters, and typed message objects.

The ``*Param`` TypedDicts describe the plain-dict wire form. The message classes (``UserMessage`` etc.) are
frozen pydantic objects for callers who prefer constructors; ``to_dict()`` gives their wire form.

The ``*Like`` aliases are what ``chat.completions.create`` / ``stream`` declare they accept: the TypedDicts keyed by
``Literal`` tags (so a type checker rejects ``{"role": "usr"}`` or ``tool_choice=42``, as in openai-python), plus
the objects the SDK converts. Runtime validation (``_convert.py``) stays the authority and accepts a little more
than these types say (any mapping, azure enums, tuples), so untyped code keeps working.

Plain dicts stored in a variable first are inferred as ``dict[str, str]``, which no TypedDict accepts; annotate
the variable (``messages: list[MessageParam] = [...]``), as with openai-python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from typing_extensions import NotRequired, Required, Self, TypedDict

from .chat_completion import ChatCompletionMessage, ChatCompletionMessageToolCall

if TYPE_CHECKING:  # only annotations name httpx; importing it here would slow `import grok_azure.types`
    import httpx

__all__ = [
    "AssistantMessage",
    "AssistantMessageParam",
    "AzureInferenceModel",
    "ChatCompletionMessageToolCallParam",
    "ChatMessage",
    "ChatParams",
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
    "RefusalContentPartParam",
    "ResponseFormatJSONObjectParam",
    "ResponseFormatJSONSchemaParam",
    "ResponseFormatLike",
    "ResponseFormatParam",
    "ResponseFormatTextParam",
    "StopParam",
    "StreamOptionsParam",
    "SystemMessage",
    "SystemMessageParam",
    "TextContentPartParam",
    "ToolChoiceLike",
    "ToolChoiceParam",
    "ToolLike",
    "ToolMessage",
    "ToolMessageParam",
    "ToolParam",
    "UserMessage",
    "UserMessageParam",
]

# Every value a source documents for a Grok model (xAI: none/low/medium/high/xhigh; Azure grok-4.6 and 4.7:
# low/medium/high/xhigh). Only the static type is this strict: the runtime sends any non-empty string, so a value
# a new model adds works through a ``cast`` or an untyped call without waiting for a release.
ReasoningEffort: TypeAlias = Literal["none", "low", "medium", "high", "xhigh"]


class AzureInferenceModel(Protocol):
    """The static shape of an ``azure.ai.inference`` model object (``UserMessage``, a tool definition...).

    A structural type, so this package never imports azure-ai-inference. Plain dicts do not match it (they have
    no ``as_dict``), so they are checked against the TypedDicts instead. At runtime only objects from
    ``azure.ai.inference`` are converted through ``as_dict()``.
    """

    def as_dict(self) -> dict[str, Any]:
        """The object's JSON form."""
        ...


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


class RefusalContentPartParam(TypedDict):
    """A refusal part, only in an earlier assistant turn sent back in the history."""

    type: Literal["refusal"]
    refusal: str


ContentPartParam: TypeAlias = TextContentPartParam | ImageContentPartParam


# --- message dicts --------------------------------------------------------------------------------
# Content and tool-call lists are ``Sequence`` (covariant): a ``list[TextContentPartParam]`` is then accepted
# where text-or-image parts are, which an invariant ``list[...]`` would reject. Lists and tuples both convert.
class FunctionCallParam(TypedDict):
    name: str
    arguments: str
    """The arguments as a JSON-encoded string (``json.dumps``)."""


class ChatCompletionMessageToolCallParam(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCallParam


class SystemMessageParam(TypedDict):
    role: Literal["system"]
    content: str | Sequence[TextContentPartParam]
    name: NotRequired[str]


class DeveloperMessageParam(TypedDict):
    role: Literal["developer"]
    content: str | Sequence[TextContentPartParam]
    name: NotRequired[str]


class UserMessageParam(TypedDict):
    role: Literal["user"]
    content: str | Sequence[ContentPartParam]
    name: NotRequired[str]


class AssistantMessageParam(TypedDict):
    """An earlier assistant turn; needs ``content``, ``tool_calls`` or both (checked at runtime)."""

    role: Literal["assistant"]
    content: NotRequired[str | Sequence[TextContentPartParam | RefusalContentPartParam] | None]
    tool_calls: NotRequired[Sequence[ChatCompletionMessageToolCallParam]]
    name: NotRequired[str]


class ToolMessageParam(TypedDict):
    role: Literal["tool"]
    content: str | Sequence[TextContentPartParam]
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


StopParam: TypeAlias = str | Sequence[str]
"""One stop sequence, or up to four (the count and emptiness are checked at runtime)."""

ToolLike: TypeAlias = ToolParam | AzureInferenceModel
"""One entry of ``tools=``: a tool dict, or an azure-ai-inference ``ChatCompletionsToolDefinition``."""

ToolChoiceLike: TypeAlias = ToolChoiceParam | AzureInferenceModel
"""``tool_choice=``: a mode, a named tool dict, or an azure-ai-inference ``ChatCompletionsNamedToolChoice``."""

ResponseFormatLike: TypeAlias = ResponseFormatParam | Literal["text", "json_object"] | AzureInferenceModel
"""``response_format=``: a format dict, the shorthand ``"text"`` / ``"json_object"``, or an azure format."""


# --- typed message objects ------------------------------------------------------------------------
class _Message(BaseModel):
    # Subclasses take ``content`` positionally; their ``**data`` passes other keys through because
    # ``model_validate`` calls an overridden ``__init__`` with every key (``role`` included).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """The wire form, with ``None`` fields omitted."""
        return self.model_dump(mode="json", exclude_none=True)


class SystemMessage(_Message):
    """A system instruction.

    Args:
        content: the instruction: text, or a list of ``{"type": "text", "text": ...}`` parts.
        name: an optional name for the author, sent as the message's ``name``; None leaves it out.
        **data: other fields by name: only ``role`` (``"system"``, already set), so that ``model_validate`` can
            build the message from its dict; any other key raises pydantic's ``ValidationError``.
    """

    role: Literal["system"] = "system"
    content: str | list[TextContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[TextContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class DeveloperMessage(_Message):
    """A developer instruction (the newer name for a system message).

    Args:
        content: the instruction: text, or a list of ``{"type": "text", "text": ...}`` parts.
        name: an optional name for the author, sent as the message's ``name``; None leaves it out.
        **data: other fields by name: only ``role`` (``"developer"``, already set), so that ``model_validate`` can
            build the message from its dict; any other key raises pydantic's ``ValidationError``.
    """

    role: Literal["developer"] = "developer"
    content: str | list[TextContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[TextContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class UserMessage(_Message):
    """A user turn: text, or a list of text and image parts.

    Args:
        content: the text, or a list of parts: ``{"type": "text", "text": ...}`` and
            ``{"type": "image_url", "image_url": {"url": ..., "detail": "auto" | "low" | "high"}}`` (an https URL
            or a ``data:image/...;base64,`` URL).
        name: an optional name for the user, sent as the message's ``name``; None leaves it out.
        **data: other fields by name: only ``role`` (``"user"``, already set), so that ``model_validate`` can
            build the message from its dict; any other key raises pydantic's ``ValidationError``.
    """

    role: Literal["user"] = "user"
    content: str | list[ContentPartParam]
    name: str | None = None

    def __init__(
        self, content: str | list[ContentPartParam], *, name: str | None = None, **data: Any
    ) -> None:
        BaseModel.__init__(self, content=content, name=name, **data)


class AssistantMessage(_Message):
    """An earlier assistant turn; needs content, tool calls, or both (neither raises pydantic's
    ``ValidationError``).

    Args:
        content: what the assistant said: text or a list of text parts; None (default) for a turn of tool calls
            only.
        tool_calls: the tool calls the assistant asked for: ``{"id", "type": "function", "function": {"name",
            "arguments"}}`` dicts, or a response's ``message.tool_calls`` as they are (response-only extras are
            dropped); None (default): none.
        name: an optional name for the assistant, sent as the message's ``name``; None leaves it out.
        **data: other fields by name: only ``role`` (``"assistant"``, already set), so that ``model_validate`` can
            build the message from its dict; any other key raises pydantic's ``ValidationError``.
    """

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
    """The result of a tool call, matched to it by ``tool_call_id``.

    Args:
        content: the tool's result: text (JSON, usually) or a list of text parts.
        tool_call_id: the ``id`` of the assistant's tool call this answers.
        **data: other fields by name: only ``role`` (``"tool"``, already set), so that ``model_validate`` can
            build the message from its dict; any other key raises pydantic's ``ValidationError``.
    """

    role: Literal["tool"] = "tool"
    content: str | list[TextContentPartParam]
    tool_call_id: str

    def __init__(self, content: str | list[TextContentPartParam], tool_call_id: str, **data: Any) -> None:
        BaseModel.__init__(self, content=content, tool_call_id=tool_call_id, **data)


ChatMessage: TypeAlias = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage

# What ``messages=`` accepts. No ``Mapping[str, Any]`` member: it would let every misspelt dict through, since a
# dict literal that fits no TypedDict still fits it. ``BaseModel`` stays (the runtime dumps any pydantic model,
# e.g. another SDK's response message); dicts never match it.
MessageLike: TypeAlias = MessageParam | ChatMessage | ChatCompletionMessage | AzureInferenceModel | BaseModel
"""One entry of ``messages=``: a message dict, a typed message object, a response message, or an azure one."""


# --- the optional arguments of create() / stream() ----------------------------------------------------
class ChatParams(TypedDict, total=False):
    """Optional parameters of ``chat.completions.create`` (everything except model, messages and stream).

    The types are what a type checker enforces (``Literal`` tags, the ``*Param`` TypedDicts); the runtime checks
    in ``build_chat_body`` stay as lenient as before, so untyped callers are unaffected. ``None`` means "not
    sent", as in openai-python, except for ``timeout`` and ``deadline`` where it means no bound. Fields the SDK
    does not know go in ``extra_body``.

    Request options (never sent): ``timeout`` bounds each attempt's connect/read/write/pool phases; ``deadline``
    (seconds) the whole call, retries and waits included, overriding the client's; ``stream_deadline``
    (seconds, ``stream=True`` only) a whole stream, from the call's start to its last chunk.
    """

    max_tokens: int | None
    max_completion_tokens: int | None
    temperature: float | None
    top_p: float | None
    n: int | None
    reasoning_effort: ReasoningEffort | None
    tools: Iterable[ToolLike] | None
    tool_choice: ToolChoiceLike | None
    parallel_tool_calls: bool | None
    response_format: ResponseFormatLike | None
    seed: int | None
    stop: StopParam | None
    presence_penalty: float | None
    frequency_penalty: float | None
    logprobs: bool | None
    top_logprobs: int | None
    user: str | None
    stream_options: StreamOptionsParam | None
    extra_body: Mapping[str, object] | None
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None
    timeout: float | httpx.Timeout | None
    deadline: float | None
    stream_deadline: float | None
