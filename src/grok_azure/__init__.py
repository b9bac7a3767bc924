"""grok-azure: a typed Python SDK for xAI's Grok models on Azure AI Foundry.

>>> from grok_azure import GrokClient
>>> with GrokClient() as client:  # GROK_AZURE_ENDPOINT + GROK_AZURE_API_KEY, or Entra ID
...     print(client.chat.completions.create(model="grok-4", messages=[{"role": "user", "content": "Hi"}]).text)
"""

# Public names load on first use (PEP 562): `import grok_azure` stays cheap for code that needs only a part of it,
# such as the pytest plugin every pytest run loads, or the command line's --help. Type checkers read the imports.
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._catalog import Catalog, CatalogError, ModelSpec, Price, UnknownModelError, load_catalog
    from ._client import AsyncGrokClient, GrokClient
    from ._constants import NOT_GIVEN, NotGiven
    from ._cost import Cost, cost_of, estimate_prompt_tokens
    from ._deployments import Deployment, DeploymentPool
    from ._endpoint import (
        AI_FOUNDRY_SCOPE,
        COGNITIVE_SERVICES_SCOPE,
        DEFAULT_MODEL_INFERENCE_API_VERSION,
        Endpoint,
        Route,
    )
    from ._errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        ClientClosedError,
        ConfigurationError,
        ConflictError,
        ContentFilterError,
        ContextLengthExceededError,
        CredentialError,
        GrokError,
        InternalServerError,
        ModelRetiredError,
        NotFoundError,
        PermissionDeniedError,
        PromptTooLongError,
        RateLimitError,
        RedirectError,
        RequestValidationError,
        ResponseDecodeError,
        ResponseTooLargeError,
        StreamClosedError,
        StreamError,
        StreamInterruptedError,
        UnprocessableEntityError,
        UnsupportedParameterError,
    )
    from ._limits import ResponseLimits
    from ._model_directory import DeployedModel
    from ._retry import RetryPolicy
    from ._selection import ModelSelection, ModelSelectionError
    from ._streaming._events import (
        ChunkEvent,
        ContentDeltaEvent,
        DoneEvent,
        ReasoningDeltaEvent,
        StreamEvent,
        ToolCallArgumentsDeltaEvent,
        ToolCallArgumentsDoneEvent,
        UsageEvent,
    )
    from ._streaming._stream import (
        AsyncChatCompletionStream,
        AsyncChatCompletionStreamManager,
        AsyncStream,
        ChatCompletionStream,
        ChatCompletionStreamManager,
        Stream,
    )
    from ._usage import Reservation, UsageSummary, UsageTracker
    from ._warnings import GrokAzureWarning
    from .types import (
        AssistantMessage,
        AssistantMessageParam,
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        CompletionUsage,
        DeveloperMessage,
        DeveloperMessageParam,
        MessageLike,
        MessageParam,
        ResponseFormatParam,
        SystemMessage,
        SystemMessageParam,
        ToolChoiceParam,
        ToolMessage,
        ToolMessageParam,
        ToolParam,
        UserMessage,
        UserMessageParam,
    )

_LAZY: dict[str, str] = {
    "Catalog": "._catalog",
    "CatalogError": "._catalog",
    "Cost": "._cost",
    "DeployedModel": "._model_directory",
    "GrokAzureWarning": "._warnings",
    "ModelSelection": "._selection",
    "ModelSelectionError": "._selection",
    "ModelSpec": "._catalog",
    "Price": "._catalog",
    "Reservation": "._usage",
    "UnknownModelError": "._catalog",
    "UsageSummary": "._usage",
    "UsageTracker": "._usage",
    "cost_of": "._cost",
    "estimate_prompt_tokens": "._cost",
    "load_catalog": "._catalog",
    "AI_FOUNDRY_SCOPE": "._endpoint",
    "APIConnectionError": "._errors",
    "APIError": "._errors",
    "APIStatusError": "._errors",
    "APITimeoutError": "._errors",
    "AssistantMessage": ".types",
    "AssistantMessageParam": ".types",
    "AsyncChatCompletionStream": "._streaming._stream",
    "AsyncChatCompletionStreamManager": "._streaming._stream",
    "AsyncGrokClient": "._client",
    "AsyncStream": "._streaming._stream",
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "COGNITIVE_SERVICES_SCOPE": "._endpoint",
    "ChatCompletion": ".types",
    "ChatCompletionChunk": ".types",
    "ChatCompletionMessage": ".types",
    "ChatCompletionStream": "._streaming._stream",
    "ChatCompletionStreamManager": "._streaming._stream",
    "ChunkEvent": "._streaming._events",
    "ClientClosedError": "._errors",
    "CompletionUsage": ".types",
    "ConfigurationError": "._errors",
    "ConflictError": "._errors",
    "ContentDeltaEvent": "._streaming._events",
    "ContentFilterError": "._errors",
    "ContextLengthExceededError": "._errors",
    "BudgetExceededError": "._errors",
    "ModelRetiredError": "._errors",
    "PromptTooLongError": "._errors",
    "UnsupportedParameterError": "._errors",
    "CredentialError": "._errors",
    "DEFAULT_MODEL_INFERENCE_API_VERSION": "._endpoint",
    "DeveloperMessage": ".types",
    "DeveloperMessageParam": ".types",
    "DoneEvent": "._streaming._events",
    "Endpoint": "._endpoint",
    "GrokClient": "._client",
    "GrokError": "._errors",
    "InternalServerError": "._errors",
    "MessageLike": ".types",
    "MessageParam": ".types",
    "NOT_GIVEN": "._constants",
    "NotFoundError": "._errors",
    "NotGiven": "._constants",
    "PermissionDeniedError": "._errors",
    "RateLimitError": "._errors",
    "ReasoningDeltaEvent": "._streaming._events",
    "RedirectError": "._errors",
    "RequestValidationError": "._errors",
    "ResponseDecodeError": "._errors",
    "ResponseFormatParam": ".types",
    "ResponseLimits": "._limits",
    "ResponseTooLargeError": "._errors",
    "Route": "._endpoint",
    "Stream": "._streaming._stream",
    "StreamClosedError": "._errors",
    "StreamError": "._errors",
    "StreamEvent": "._streaming._events",
    "RetryPolicy": "._retry",
    "Deployment": "._deployments",
    "DeploymentPool": "._deployments",
    "StreamInterruptedError": "._errors",
    "SystemMessage": ".types",
    "SystemMessageParam": ".types",
    "ToolCallArgumentsDeltaEvent": "._streaming._events",
    "ToolCallArgumentsDoneEvent": "._streaming._events",
    "ToolChoiceParam": ".types",
    "ToolMessage": ".types",
    "ToolMessageParam": ".types",
    "ToolParam": ".types",
    "UnprocessableEntityError": "._errors",
    "UsageEvent": "._streaming._events",
    "UserMessage": ".types",
    "UserMessageParam": ".types",
}


# Hidden from type checkers: a module-level __getattr__ would make them accept any name (a misspelt
# `from grok_azure import MesageParam` would silently be Any). They read the imports above instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AI_FOUNDRY_SCOPE",
    "COGNITIVE_SERVICES_SCOPE",
    "DEFAULT_MODEL_INFERENCE_API_VERSION",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantMessage",
    "AssistantMessageParam",
    "AsyncChatCompletionStream",
    "AsyncChatCompletionStreamManager",
    "AsyncGrokClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "Catalog",
    "CatalogError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionStream",
    "ChatCompletionStreamManager",
    "ChunkEvent",
    "ClientClosedError",
    "CompletionUsage",
    "ConfigurationError",
    "ConflictError",
    "ContentDeltaEvent",
    "ContentFilterError",
    "ContextLengthExceededError",
    "Cost",
    "CredentialError",
    "DeployedModel",
    "Deployment",
    "DeploymentPool",
    "DeveloperMessage",
    "DeveloperMessageParam",
    "DoneEvent",
    "Endpoint",
    "GrokAzureWarning",
    "GrokClient",
    "GrokError",
    "InternalServerError",
    "MessageLike",
    "MessageParam",
    "ModelRetiredError",
    "ModelSelection",
    "ModelSelectionError",
    "ModelSpec",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "Price",
    "PromptTooLongError",
    "RateLimitError",
    "ReasoningDeltaEvent",
    "RedirectError",
    "RequestValidationError",
    "Reservation",
    "ResponseDecodeError",
    "ResponseFormatParam",
    "ResponseLimits",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Route",
    "Stream",
    "StreamClosedError",
    "StreamError",
    "StreamEvent",
    "StreamInterruptedError",
    "SystemMessage",
    "SystemMessageParam",
    "ToolCallArgumentsDeltaEvent",
    "ToolCallArgumentsDoneEvent",
    "ToolChoiceParam",
    "ToolMessage",
    "ToolMessageParam",
    "ToolParam",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
    "UsageEvent",
    "UsageSummary",
    "UsageTracker",
    "UserMessage",
    "UserMessageParam",
    "__version__",
    "cost_of",
    "estimate_prompt_tokens",
    "load_catalog",
]

# --- tools and the tool runner (issue 9) ---
if TYPE_CHECKING:
    from ._tools import (
        Tool,
        ToolCallError,
        ToolCallsRefusedError,
        ToolDefinitionError,
        ToolRoundsExceededError,
        tool,
    )
    from ._tools._stream import AsyncToolRunStream, ToolRunStream
    from .types.tool_run import (
        ToolCallRecord,
        ToolResultEvent,
        ToolRound,
        ToolRunDoneEvent,
        ToolRunEvent,
        ToolRunResult,
    )

_LAZY.update(
    {
        "AsyncToolRunStream": "._tools._stream",
        "Tool": "._tools",
        "ToolCallError": "._tools",
        "ToolCallsRefusedError": "._tools",
        "ToolCallRecord": ".types.tool_run",
        "ToolDefinitionError": "._tools",
        "ToolResultEvent": ".types.tool_run",
        "ToolRound": ".types.tool_run",
        "ToolRoundsExceededError": "._tools",
        "ToolRunDoneEvent": ".types.tool_run",
        "ToolRunEvent": ".types.tool_run",
        "ToolRunResult": ".types.tool_run",
        "ToolRunStream": "._tools._stream",
        "tool": "._tools",
    }
)
__all__ += [
    "AsyncToolRunStream",
    "Tool",
    "ToolCallError",
    "ToolCallRecord",
    "ToolCallsRefusedError",
    "ToolDefinitionError",
    "ToolResultEvent",
    "ToolRound",
    "ToolRoundsExceededError",
    "ToolRunDoneEvent",
    "ToolRunEvent",
    "ToolRunResult",
    "ToolRunStream",
    "tool",
]

# --- structured outputs (chat.completions.parse, stream(response_format=Model)) -------------------------------------
if TYPE_CHECKING:
    from ._errors import (
        ContentFilterFinishReasonError,
        LengthFinishReasonError,
        OutputValidationError,
        StructuredOutputError,
    )
    from ._structured._partial import ContentParsedEvent, ContentPartialEvent, StructuredStreamEvent
    from ._structured._stream import (
        AsyncStructuredChatCompletionStream,
        AsyncStructuredStreamManager,
        StructuredChatCompletionStream,
        StructuredStreamManager,
    )
    from .types.parsed_chat_completion import (
        ParsedChatCompletion,
        ParsedChatCompletionMessage,
        ParsedChoice,
        StructuredAttempt,
    )

_STRUCTURED_EXPORTS = {
    "ContentFilterFinishReasonError": "._errors",
    "LengthFinishReasonError": "._errors",
    "OutputValidationError": "._errors",
    "StructuredOutputError": "._errors",
    "ContentParsedEvent": "._structured._partial",
    "ContentPartialEvent": "._structured._partial",
    "StructuredStreamEvent": "._structured._partial",
    "AsyncStructuredChatCompletionStream": "._structured._stream",
    "AsyncStructuredStreamManager": "._structured._stream",
    "StructuredChatCompletionStream": "._structured._stream",
    "StructuredStreamManager": "._structured._stream",
    "ParsedChatCompletion": ".types.parsed_chat_completion",
    "ParsedChatCompletionMessage": ".types.parsed_chat_completion",
    "ParsedChoice": ".types.parsed_chat_completion",
    "StructuredAttempt": ".types.parsed_chat_completion",
}
_LAZY.update(_STRUCTURED_EXPORTS)
__all__ += [
    "AsyncStructuredChatCompletionStream",
    "AsyncStructuredStreamManager",
    "ContentFilterFinishReasonError",
    "ContentParsedEvent",
    "ContentPartialEvent",
    "LengthFinishReasonError",
    "OutputValidationError",
    "ParsedChatCompletion",
    "ParsedChatCompletionMessage",
    "ParsedChoice",
    "StructuredAttempt",
    "StructuredChatCompletionStream",
    "StructuredOutputError",
    "StructuredStreamEvent",
    "StructuredStreamManager",
]

if TYPE_CHECKING:
    from ._errors import HookError
    from ._hooks import CallInfo, Hook

_OBSERVABILITY_EXPORTS = {"CallInfo": "._hooks", "Hook": "._hooks", "HookError": "._errors"}
_LAZY.update(_OBSERVABILITY_EXPORTS)
__all__ += ["CallInfo", "Hook", "HookError"]

# --- raw responses (chat.completions.with_raw_response) ------------------------------------------------------------
if TYPE_CHECKING:
    from ._raw_response import AsyncRawStreamManager, RawResponse, RawStreamManager

_LAZY.update(
    {
        "AsyncRawStreamManager": "._raw_response",
        "RawResponse": "._raw_response",
        "RawStreamManager": "._raw_response",
    }
)
__all__ += ["AsyncRawStreamManager", "RawResponse", "RawStreamManager"]

# --- batches (client.batches.run, issue 11) ---------------------------------------------------------------------
if TYPE_CHECKING:
    from ._batch._format import BatchInputError, BatchOutputError, BatchRequest, BatchResult
    from ._batch._summary import BatchInterrupted, BatchProgress, BatchSummary

_LAZY.update(
    {
        "BatchInputError": "._batch._format",
        "BatchOutputError": "._batch._format",
        "BatchInterrupted": "._batch._summary",
        "BatchProgress": "._batch._summary",
        "BatchRequest": "._batch._format",
        "BatchResult": "._batch._format",
        "BatchSummary": "._batch._summary",
    }
)
__all__ += [
    "BatchInputError",
    "BatchInterrupted",
    "BatchOutputError",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchSummary",
]
