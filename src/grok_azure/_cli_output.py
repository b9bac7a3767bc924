"""What the ``grok-azure`` command prints: exit codes, plain-words failures, the model table, answers."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from ._catalog import Catalog, ModelSpec
from ._chat_params import ChatParams
from ._endpoint import AI_FOUNDRY_SCOPE, COGNITIVE_SERVICES_SCOPE
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentFilterError,
    ContextLengthExceededError,
    CredentialError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    StreamError,
    StreamInterruptedError,
    UnprocessableEntityError,
)
from ._model_directory import DeployedModel
from ._streaming._events import ContentDeltaEvent, ReasoningDeltaEvent
from .resources.chat import Completions
from .types.chat_completion import ChatCompletion
from .types.chat_params import MessageParam
from .types.completion_usage import CompletionUsage

# The one mapping from failure to exit code; the most specific class in an exception's MRO wins.
EXIT_CODES: dict[type[BaseException], int] = {
    ConfigurationError: 2,
    AuthenticationError: 3,
    PermissionDeniedError: 3,
    NotFoundError: 4,
    RateLimitError: 5,
    APIConnectionError: 6,
    BadRequestError: 7,
    UnprocessableEntityError: 7,
    RequestValidationError: 7,
    InternalServerError: 8,
    StreamError: 9,
    StreamInterruptedError: 9,
}
EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    unexpected error
  2    usage or configuration error (bad arguments, no endpoint or deployment configured)
  3    authentication or permission (401, 403, no Entra ID token)
  4    not found (404: no such deployment)
  5    rate limited (429)
  6    connection failure or timeout
  7    request refused (400, 422, content filter, invalid parameter)
  8    server error (5xx)
  9    stream interrupted, or an error event in the middle of a stream
  130  interrupted (Ctrl-C)"""

DIM, RESET = "\x1b[2m", "\x1b[0m"


def exit_code(kind: type[BaseException]) -> int:
    """The exit code of a failure of type ``kind`` (1 when it is not in the table)."""
    return next((EXIT_CODES[cls] for cls in kind.__mro__ if cls in EXIT_CODES), EXIT_UNEXPECTED)


@dataclass(frozen=True)
class Situation:
    """What a failure is explained against; ``scope`` is set only when Entra ID is in use."""

    deployment: str | None = None
    host: str | None = None
    scope: str | None = None


def _hint(exc: BaseException, where: Situation) -> str | None:
    if isinstance(exc, CredentialError):
        return None  # no token, nothing sent: its message already says how to fix it
    if isinstance(exc, AuthenticationError):
        if where.scope is not None:
            return (
                f"the service rejected the Entra ID token, requested for the scope {where.scope}. A token is "
                f"accepted only for the audience the host expects: *.services.ai.azure.com wants "
                f"{AI_FOUNDRY_SCOPE}, *.openai.azure.com and *.cognitiveservices.azure.com want "
                f"{COGNITIVE_SERVICES_SCOPE}. An expired token or the wrong tenant also gives 401."
            )
        return (
            "the service rejected the API key: copy a key of this resource (Foundry portal, your resource, "
            "Keys and Endpoint) into GROK_AZURE_API_KEY, or unset it to sign in with Entra ID instead."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            "you are authenticated but not allowed in: give your identity the 'Cognitive Services User' role on "
            "the resource (Owner or Contributor do not grant data access). A network rule (firewall, private "
            "endpoint) also answers 403."
        )
    if isinstance(exc, NotFoundError):
        if exc.code == "DeploymentNotFound":
            return (
                f"this resource has no deployment named {where.deployment!r}: use the deployment name shown "
                "under Models + endpoints in the Foundry portal (it may differ from the model name), "
                "in --model or GROK_AZURE_DEPLOYMENT."
            )
        return "nothing answers at this URL: check the endpoint URL and the route, then the deployment name."
    if isinstance(exc, RateLimitError):
        wait = "" if exc.retry_after is None else f"; the service asks to retry after {exc.retry_after:g} s"
        return (
            f"the deployment's quota (tokens or requests per minute) is used up{wait}. Raise the deployment's "
            "rate limit in the portal if this keeps happening."
        )
    if isinstance(exc, ContentFilterError):
        categories = ", ".join(exc.filtered_categories) or "unspecified"
        return f"Azure content filtering blocked the prompt (categories: {categories}); rephrase it."
    if isinstance(exc, ContextLengthExceededError):
        return "the prompt plus the requested output does not fit the model's context window."
    if isinstance(exc, StreamInterruptedError):
        return "the connection dropped before the answer was complete; what arrived is shown above."
    if isinstance(exc, StreamError):
        return "the service reported an error in the middle of the answer; try again."
    if isinstance(exc, APITimeoutError):
        return "no answer in time: the service may be busy or the network slow; try again or raise --timeout."
    if isinstance(exc, APIConnectionError):
        host = where.host or "the endpoint"
        return (
            f"could not connect to {host}: check the endpoint URL (GROK_AZURE_ENDPOINT), your network, "
            "proxy and firewall."
        )
    if isinstance(exc, InternalServerError):
        return "the service failed on its side; try again in a moment."
    if isinstance(exc, (BadRequestError, UnprocessableEntityError, RequestValidationError)):
        return (
            "the request was refused as invalid: check the parameters against the model (grok-azure models)."
        )
    return None


def report_failure(exc: BaseException, where: Situation, err: TextIO) -> int:
    """Print ``exc`` with a plain-words hint on ``err``; return its exit code."""
    # SDK exceptions already scrub credentials from their messages.
    print(f"error: {exc}", file=err)
    hint = _hint(exc, where)
    if hint:
        print(f"hint: {hint}", file=err)
    err.flush()
    return exit_code(type(exc))


def use_color(stream: TextIO) -> bool:
    """Styling only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


class AnswerWriter:
    """Writes reasoning (optionally, dimmed on a terminal) and then the answer, flushing as text arrives."""

    def __init__(self, out: TextIO, *, show_reasoning: bool, styled: bool) -> None:
        self._out = out
        self._show_reasoning = show_reasoning
        self._styled = styled
        self._in_reasoning = False
        self.wrote = False

    def reasoning(self, text: str) -> None:
        if not self._show_reasoning or not text:
            return
        if not self._in_reasoning and self._styled:
            self._out.write(DIM)
        self._in_reasoning = True
        self._write(text)

    def content(self, text: str) -> None:
        if not text:
            return
        self._end_reasoning(separator="\n\n")
        self._write(text)

    def close(self) -> None:
        """End the answer with a newline (and leave the terminal unstyled)."""
        self._end_reasoning(separator="")
        self._out.write("\n")
        self._out.flush()

    def abort(self) -> None:
        """After a failure: end what was already written, print nothing otherwise."""
        if self.wrote:
            self.close()

    def _end_reasoning(self, separator: str) -> None:
        if not self._in_reasoning:
            return
        self._in_reasoning = False
        self._out.write((RESET if self._styled else "") + separator)

    def _write(self, text: str) -> None:
        self.wrote = True
        self._out.write(text)
        self._out.flush()


def answer(
    completions: Completions,
    deployment: str,
    messages: list[MessageParam],
    params: ChatParams,
    *,
    stream: bool,
    as_json: bool,
    show_reasoning: bool,
    out: TextIO,
) -> ChatCompletion:
    """Run one chat; unless ``as_json``, print the answer on ``out`` (as it arrives when streaming)."""
    if as_json:
        if not stream:
            return completions.create(model=deployment, messages=messages, **params)
        with completions.stream(model=deployment, messages=messages, **params) as events:
            return events.get_final_completion()
    writer = AnswerWriter(out, show_reasoning=show_reasoning, styled=use_color(out))
    try:
        if not stream:
            completion = completions.create(model=deployment, messages=messages, **params)
            writer.reasoning(completion.reasoning or "")
            writer.content(completion.text)
        else:
            with completions.stream(model=deployment, messages=messages, **params) as events:
                for event in events:
                    if isinstance(event, ReasoningDeltaEvent):
                        writer.reasoning(event.delta)
                    elif isinstance(event, ContentDeltaEvent):
                        writer.content(event.delta)
                completion = events.get_final_completion()
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return completion


def usage_line(usage: CompletionUsage | None) -> str:
    if usage is None:
        return "usage: not reported"
    reasoning = f" ({usage.reasoning_tokens} reasoning)" if usage.reasoning_tokens else ""
    return (
        f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion{reasoning} "
        f"= {usage.total_tokens} tokens"
    )


# -- grok-azure models --------------------------------------------------------------------------------------


def _tokens(value: int | None) -> str:
    if value is None:
        return "?"
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000}M"
    if value >= 1000 and value % 1000 == 0:
        return f"{value // 1000}K"
    return f"{value / 1000:.0f}K" if value >= 10_000 else str(value)


def _status(spec: ModelSpec) -> str:
    if spec.status == "retired":
        text = f"retired {spec.retired_on or ''}".strip()
        return f"{text} -> {spec.replacement}" if spec.replacement else text
    label = "GA" if spec.status == "ga" else "preview"
    return f"{label}, retires {spec.retired_on}" if spec.retired_on else label


def _reasoning(spec: ModelSpec) -> str:
    if not spec.reasons:
        return "no"
    if not spec.effort_values:
        return "yes (no documented effort values)"
    default = f", default {spec.default_effort}" if spec.default_effort else ""
    return f"yes ({'/'.join(spec.effort_values)}{default})"


def _price(spec: ModelSpec) -> str:
    if spec.price is None:
        return "?"
    return f"${spec.price.input:.2f} / ${spec.price.output:.2f}"


def _marked(spec: ModelSpec, name: str, text: str) -> str:
    unconfirmed = name in spec.unconfirmed or (
        name == "price" and spec.price is not None and not spec.price.confirmed
    )
    return f"{text} *" if unconfirmed else text


def _by_model(deployments: Iterable[DeployedModel]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for deployed in deployments:
        names.setdefault(deployed.spec.id, []).append(deployed.deployment)
    return names


def model_rows(
    models: Iterable[ModelSpec], deployments: Iterable[DeployedModel] = ()
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("MODEL", "STATUS", "CONTEXT", "MAX OUT", "REASONING", "PRICE IN/OUT PER 1M", "YOUR DEPLOYMENTS")
    ]
    deployed = _by_model(deployments)
    for spec in models:
        rows.append(
            (
                spec.id,
                _status(spec),
                _marked(spec, "context_window", _tokens(spec.context_window)),
                _marked(spec, "max_output_tokens", _tokens(spec.max_output_tokens)),
                _marked(spec, "effort_values", _reasoning(spec)),
                _marked(spec, "price", _price(spec)),
                ", ".join(deployed.get(spec.id, ())) or "-",
            )
        )
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def catalog_text(catalog: Catalog, deployments: Iterable[DeployedModel] = ()) -> str:
    """The model table, each model with the configured deployments that run it."""
    deployments = list(deployments)
    # A deployment mapped to a model the catalog lacks (a user's ModelSpec) still gets its row.
    known = {spec.id for spec in catalog.models}
    extra = list({d.spec.id: d.spec for d in deployments if d.spec.id not in known}.values())
    if deployments:
        where = "\n".join(f"  {d.deployment} -> {d.spec.id} ({_SOURCES[d.source]})" for d in deployments)
        configured = f"Your deployments:\n{where}"
    else:
        configured = (
            "No deployments configured: set GROK_AZURE_DEPLOYMENTS=name=model,... (or GROK_AZURE_DEPLOYMENTS_FILE)"
            "; a deployment named after a model id needs no mapping."
        )
    return (
        f"Grok models on Azure AI Foundry (catalog as of {catalog.as_of}; prices USD, Global Standard)\n\n"
        f"{format_table(model_rows([*catalog.models, *extra], deployments))}\n\n"
        "* unconfirmed: no Azure source (for prices, no Azure price meter) confirms this value.\n"
        f"? unknown.\n\n{configured}"
    )


_SOURCES = {
    "deployment_models": "deployment_models=",
    "file": "GROK_AZURE_DEPLOYMENTS_FILE",
    "environment": "GROK_AZURE_DEPLOYMENTS",
    "deployments": "deployments=",
    "catalog": "named after the model",
}


def catalog_json(catalog: Catalog, deployments: Iterable[DeployedModel] = ()) -> dict[str, Any]:
    """The catalog as JSON, with ``deployments`` per model and a top-level list of them."""
    deployments = list(deployments)
    deployed = _by_model(deployments)

    def one(spec: ModelSpec) -> dict[str, Any]:
        price = spec.price
        return {
            "id": spec.id,
            "aliases": list(spec.aliases),
            "status": spec.status,
            "retired_on": spec.retired_on.isoformat() if spec.retired_on else None,
            "replacement": spec.replacement,
            "context_window": spec.context_window,
            "max_output_tokens": spec.max_output_tokens,
            "input_modalities": sorted(spec.input_modalities),
            "reasoning": spec.reasons,
            "effort_values": list(spec.effort_values),
            "default_effort": spec.default_effort,
            "price_per_1m": None
            if price is None
            else {
                "input": price.input,
                "output": price.output,
                "cached_input": price.cached_input,
                "confirmed": price.confirmed,
            },
            "unconfirmed": sorted(spec.unconfirmed),
            "notes": spec.notes,
            "deployments": deployed.get(spec.id, []),
        }

    known = {spec.id for spec in catalog.models}
    extra = list({d.spec.id: d.spec for d in deployments if d.spec.id not in known}.values())
    return {
        "as_of": catalog.as_of.isoformat(),
        "models": [one(spec) for spec in [*catalog.models, *extra]],
        "deployments": [
            {"deployment": d.deployment, "model": d.spec.id, "source": d.source} for d in deployments
        ],
    }
