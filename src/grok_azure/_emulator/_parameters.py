"""Each route's own parameter list: ``extra-parameters`` on /models, unrecognised arguments on /openai/v1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import Route, bad_request

# ChatCompletionsOptions properties of the official 2025-05-01 /models spec; anything else is an
# "extra parameter" handled according to the extra-parameters header.
MODEL_INFERENCE_PARAMETERS = frozenset(
    {
        "messages", "frequency_penalty", "stream", "presence_penalty", "temperature", "top_p", "max_tokens",
        "response_format", "stop", "tools", "tool_choice", "seed", "model", "modalities",
        "user_security_context",
    }
)  # fmt: skip
# OpenAI CreateChatCompletionRequest properties that Foundry's /openai/v1 route accepts (OpenAI-only
# moderation and prompt-cache options are not served there).
OPENAI_PARAMETERS = frozenset(
    {
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
        "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
        "verbosity", "web_search_options",
    }
)  # fmt: skip
EXTRA_PARAMETER_MODES = ("error", "drop", "pass-through")


def split_extra_parameters(
    route: Route, body: Mapping[str, Any], header: str | None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Apply the ``extra-parameters`` header of the /models route; return the body and dropped names."""
    mode = "error" if header is None else header.strip().lower()
    if mode not in EXTRA_PARAMETER_MODES:
        raise bad_request(
            route,
            f"Invalid value for header 'extra-parameters': '{header}'. Supported values are: 'error', 'drop', "
            "'pass-through'.",
            param="extra-parameters",
        )
    extras = [name for name in body if name not in MODEL_INFERENCE_PARAMETERS]
    if not extras or mode == "pass-through":
        return dict(body), ()
    if mode == "drop":
        return {k: v for k, v in body.items() if k not in extras}, tuple(extras)
    raise bad_request(
        route,
        f"Extra parameters {extras!r} are not allowed when extra-parameters is not set or set to be 'error'. "
        "Set extra-parameters to 'pass-through' to pass to the model.",
        param=extras[0],
    )


def reject_unknown_openai_parameters(route: Route, body: Mapping[str, Any]) -> None:
    unknown = [name for name in body if name not in OPENAI_PARAMETERS]
    if len(unknown) == 1:
        raise bad_request(route, f"Unrecognized request argument supplied: {unknown[0]}")
    if unknown:
        raise bad_request(route, f"Unrecognized request arguments supplied: {', '.join(unknown)}")
