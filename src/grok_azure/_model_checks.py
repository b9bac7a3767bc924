"""Checks of a request against the deployment's model before anything is sent (no I/O).

Both clients run :func:`check_request` on the body they are about to send, once per call. A fact the catalog
*states* (an Azure source says so) becomes an error; a fact it only infers (``ModelSpec.unconfirmed``) becomes a
one-time :class:`~grok_azure._warnings.GrokAzureWarning` and the request is sent. What is checked:

- a retired model (:class:`~grok_azure.ModelRetiredError`, naming the replacement);
- parameters the model rejects, ``reasoning_effort`` values it does not accept, ``max_tokens`` /
  ``max_completion_tokens`` above its ``max_output_tokens``, image parts to a text-only model, ``tools`` to a
  model without function calling, ``response_format`` kinds it does not support
  (:class:`~grok_azure.UnsupportedParameterError`);
- a prompt that plainly cannot fit the context window (:class:`~grok_azure.PromptTooLongError`): the local
  estimate, less :data:`CONTEXT_MARGIN` of it, plus the requested output, is over the window.

The same findings tell selection (``_selection.py``) which deployments a request cannot go to.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._catalog import ModelSpec
from ._cost import is_image_part, prompt_tokens_at_most
from ._errors import GrokError, ModelRetiredError, PromptTooLongError, UnsupportedParameterError
from ._usage import estimate_prompt_tokens
from ._validate import ONLY_STR

__all__ = [
    "CONTEXT_MARGIN",
    "Finding",
    "check_request",
    "findings",
    "nothing_to_find",
    "requested_output",
    "sends_images",
]

# The prompt estimate (bytes / 4) can run above the real count: English prose averages 4 to 5 bytes per token
# for Grok-class tokenizers, and repetitive text even more. A prompt is refused only when it would not fit even
# if the real count were this much below the estimate, so "plainly cannot fit" holds for ordinary text.
CONTEXT_MARGIN = 0.25

# The body fields that are the request itself, never "a parameter the model rejects".
_STRUCTURAL = frozenset({"model", "messages", "stream"})

Kind = Literal["retired", "parameter", "value", "context", "schedule"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One way a request does not suit a model.

    Attributes:
        kind: "retired", "parameter" (a field the model rejects), "value" (a value outside what it accepts),
            "context" (the prompt plainly does not fit), or "schedule" (a scheduled retirement date has passed:
            always only a warning).
        param: the body field concerned ("model" for retirement, "messages" for images and the context).
        message: what is wrong and how to fix it.
        stated: a source states the fact (refuse the request); False: it is inferred (warn once, send).
        allowed: the values accepted, when there is a list (``reasoning_effort``), a bound ("1..8192") or
            the modalities; None when the parameter is not accepted at all.
        estimated_tokens: for "context", the prompt estimate.
    """

    kind: Kind
    param: str
    message: str
    stated: bool
    allowed: tuple[str, ...] | None = None
    estimated_tokens: int | None = None


def requested_output(body: Mapping[str, Any]) -> int:
    """The output tokens the request asks room for: ``max_completion_tokens`` or ``max_tokens`` (the larger), else 0."""
    largest = 0
    for value in (body.get("max_completion_tokens"), body.get("max_tokens")):
        if isinstance(value, int) and not isinstance(value, bool) and value > largest:
            largest = value
    return largest


def sends_images(body: Mapping[str, Any]) -> bool:
    """Whether any message carries an image part."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        content = message.get("content") if type(message) is dict or isinstance(message, Mapping) else None
        if isinstance(content, list) and any(
            isinstance(part, Mapping) and is_image_part(part) for part in content
        ):
            return True
    return False


def _response_format(body: Mapping[str, Any]) -> str | None:
    value = body.get("response_format")
    kind = value.get("type") if isinstance(value, Mapping) else None
    return kind if isinstance(kind, str) else None


def findings(
    spec: ModelSpec, body: Mapping[str, Any], *, today: datetime.date | None = None
) -> Iterator[Finding]:
    """Every way ``body`` does not suit ``spec``, stated ones and inferred ones, most serious first.

    Args:
        spec: the catalog entry of the deployment's model.
        body: the JSON body about to be sent.
        today: the date a scheduled retirement is compared with (default: today).
    """
    model = spec.id
    if spec.status == "retired":
        replacement = f"deploy {spec.replacement} instead" if spec.replacement else "deploy a current model"
        when = f" on {spec.retired_on.isoformat()}" if spec.retired_on else ""
        yield Finding(
            "retired",
            "model",
            f"{model} was retired on Azure{when}: deployments of a retired model only answer errors. "
            f"{replacement[0].upper()}{replacement[1:]} and call that deployment.",
            stated=True,
        )
    elif spec.retired_on is not None and spec.retired_on <= (today or datetime.date.today()):
        yield Finding(
            "schedule",
            "model",
            f"{model} was scheduled to retire on {spec.retired_on.isoformat()}, which has passed; its deployments "
            "may only answer errors. The catalog may be out of date (see Catalog.with_models).",
            stated=False,
        )
    yield from _parameters(spec, body)
    yield from _features(spec, body)
    context = _context(spec, body)
    if context is not None:
        yield context


# A parameter sent at the value that means "off" asks nothing of the model: Azure refused grok-4.6's penalties and
# logprobs only at non-default values ([P4] in the catalog's references), and generic callers send these zeros.
_NEUTRAL: dict[str, tuple[object, ...]] = {
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logprobs": (False,),
}


def _neutral(param: str, value: object) -> bool:
    """Whether ``value`` is ``param``'s neutral value (None counts as left out)."""
    if value is None:
        return True
    neutral = _NEUTRAL.get(param)
    return neutral is not None and type(value) in (int, float, bool) and value in neutral


def _parameters(spec: ModelSpec, body: Mapping[str, Any]) -> Iterator[Finding]:
    model = spec.id
    for param in sorted(body):
        if param in _STRUCTURAL or _neutral(param, body[param]):
            continue
        verdict = spec.rejection(param)
        if verdict is not None:
            stated = verdict == "stated"
            source = "" if stated else " (the catalog infers this; no Azure source confirms it)"
            yield Finding(
                "parameter", param, f"{model} does not accept {param}{source}: leave it out.", stated=stated
            )
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and spec.rejection("reasoning_effort") is None:
        values = spec.effort_values
        if values and effort not in values:
            stated = spec.is_stated("effort_values")
            note = "" if stated else " (documented for the xAI API; Azure unconfirmed)"
            yield Finding(
                "value",
                "reasoning_effort",
                f"{model} accepts reasoning_effort {', '.join(repr(v) for v in values)}{note}; got {effort!r}.",
                stated=stated,
                allowed=tuple(values),
            )
    limit = spec.max_output_tokens
    for param in ("max_tokens", "max_completion_tokens"):
        value = body.get(param)
        if limit is not None and isinstance(value, int) and not isinstance(value, bool) and value > limit:
            yield Finding(
                "value",
                param,
                f"{model} produces at most {limit:,} output tokens; {param}={value:,} asks for more.",
                stated=spec.is_stated("max_output_tokens"),
                allowed=(f"1..{limit}",),
            )


def _features(spec: ModelSpec, body: Mapping[str, Any]) -> Iterator[Finding]:
    model = spec.id
    if "image" not in spec.input_modalities and sends_images(body):
        yield Finding(
            "value",
            "messages",
            f"{model} takes text only: remove the image parts, or use a model with image input.",
            stated=spec.is_stated("input_modalities"),
            allowed=tuple(sorted(spec.input_modalities)),
        )
    for param in ("tools", "functions"):
        if body.get(param) and not spec.function_calling:
            yield Finding(
                "parameter",
                param,
                f"{model} does not support function calling: leave {param} out.",
                stated=spec.is_stated("function_calling"),
            )
    kind = _response_format(body)
    if kind is None:
        return
    for fact, supported in (("json_schema", spec.json_schema), ("json_object", spec.json_object)):
        if kind == fact and supported is False:
            yield Finding(
                "value",
                "response_format",
                f"{model} does not support response_format {fact}.",
                stated=spec.is_stated(fact),
                allowed=("text",),
            )


def _context(spec: ModelSpec, body: Mapping[str, Any]) -> Finding | None:
    window = spec.context_window
    if window is None:
        return None
    output = requested_output(body)
    bound = _plain_text_bound(body)
    if bound is not None and bound * (1 - CONTEXT_MARGIN) + output <= window:
        return None  # fits even if every character were a token: no need for the estimate's walk
    estimate = estimate_prompt_tokens(body)
    if estimate * (1 - CONTEXT_MARGIN) + output <= window:
        return None
    asked = f" plus max_tokens={output:,}" if output else ""
    return Finding(
        "context",
        "messages",
        f"The prompt (about {estimate:,} tokens by the SDK's local estimate){asked} cannot fit {spec.id}'s context "
        f"window of {window:,} tokens. Shorten the prompt, lower max_tokens, or use a model with a larger window.",
        stated=spec.is_stated("context_window"),
        estimated_tokens=estimate,
    )


def _plain_text_bound(body: Mapping[str, Any]) -> int | None:
    """An upper bound of :func:`estimate_prompt_tokens` for a body of plain-text messages, from their lengths alone
    (a token is never fewer than one character's UTF-8 bytes / 4); None for any other body (parts, tools...)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not body.keys().isdisjoint(_COUNTED_BESIDE_MESSAGES):
        return None
    chars = 0
    for message in messages:
        if not isinstance(message, dict):
            return None
        values = message.values()
        if ONLY_STR.issuperset(map(type, values)):  # the common message: strings only
            chars += sum(map(len, values))
        else:
            for value in values:
                if isinstance(value, str):
                    chars += len(value)
                elif value is not None:
                    return None
    return chars + (len(messages) + 1) * 8


_COUNTED_BESIDE_MESSAGES = ("tools", "functions", "response_format")
# Body fields whose value a check reads, besides the output caps (see nothing_to_find) and the messages.
_VALUE_CHECKED = frozenset({"reasoning_effort", *_COUNTED_BESIDE_MESSAGES})


def nothing_to_find(spec: ModelSpec, body: Mapping[str, Any], encoded: bytes | None = None) -> bool:
    """True when :func:`findings` would find nothing, read from the body's shape alone: a model not retired (nor
    past its retirement date), no field it rejects and none whose value is checked, output caps within its
    limit, and messages without image parts that fit its window with the requested output even if every byte of
    the body's encoding (or, without it, every character of plain-text messages) were text. Most calls are such
    a body; they skip the walk of every check (a test checks the two against each other on generated bodies:
    tests/unit/test_model_checks.py). False says nothing.

    Args:
        spec: the catalog entry of the deployment's model.
        body: the JSON body about to be sent.
        encoded: ``body`` as JSON (as sent, or with another ``model``), or None: then the messages are walked.
    """
    if spec.status == "retired" or (spec.retired_on is not None and spec.retired_on <= datetime.date.today()):
        return False
    keys = body.keys()
    if not keys.isdisjoint(_VALUE_CHECKED) or not keys.isdisjoint(spec.rejected_parameters):
        return False
    output = requested_output(body)
    limit = spec.max_output_tokens
    if limit is not None and output > limit:
        return False
    messages = body.get("messages")
    bound = None
    if encoded is not None and isinstance(messages, list):
        bound = prompt_tokens_at_most(len(messages), encoded)  # None if an image part may be there
    if bound is None:
        bound = _plain_text_bound(body)  # None unless every message is plain text (so: no image)
    window = spec.context_window
    return bound is not None and (window is None or bound * (1 - CONTEXT_MARGIN) + output <= window)


def check_request(
    deployment: str,
    spec: ModelSpec,
    body: Mapping[str, Any],
    warn: Callable[[tuple[str, ...], str], object],
) -> None:
    """Refuse ``body`` if it breaks a stated fact of ``spec``; warn once for each inferred one.

    Args:
        deployment: the deployment name, for messages.
        spec: the catalog entry of its model.
        body: the JSON body about to be sent.
        warn: ``warn(key, message)``, which warns once per key (the client's registry).

    Raises:
        ModelRetiredError, UnsupportedParameterError, PromptTooLongError: for the first stated finding.
    """
    for finding in findings(spec, body):
        if finding.stated:
            raise _error(deployment, spec, finding)
        warn(
            ("model-check", deployment, finding.kind, finding.param),
            f"Deployment {deployment!r}: {finding.message} Sent anyway.",
        )


def _error(deployment: str, spec: ModelSpec, finding: Finding) -> GrokError:
    # Every message says nothing was sent and how to send anyway, so a user who knows better is never stuck.
    text = (
        f"Deployment {deployment!r}: {finding.message} Nothing was sent (validate=False skips these checks)."
    )
    if finding.kind == "retired":
        return ModelRetiredError(
            text, model=spec.id, replacement=spec.replacement, retired_on=spec.retired_on
        )
    if finding.kind == "context":
        return PromptTooLongError(
            text,
            model=spec.id,
            estimated_tokens=finding.estimated_tokens or 0,
            context_window=spec.context_window or 0,
        )
    return UnsupportedParameterError(text, model=spec.id, param=finding.param, allowed=finding.allowed)
