"""Choosing a configured deployment by what a call needs (no I/O).

``client.models.select(needs=..., min_context=..., prefer=...)`` and ``model="auto"`` (with the client's
``auto_model=ModelSelection(...)``) pick among the deployments the client has a model for: you can only call what
is deployed. A candidate is out when a *stated* catalog fact rules it out (no image input, too small a window, a
parameter the request uses that the model rejects, retired). A fact the catalog does not confirm never rules one
out; it only ranks the candidate after those whose support is stated. Among the rest, ``prefer`` orders them:

- ``"cost"``: the lowest blended price, 3 input tokens to 1 output token (the convention of public price
  comparisons); a model without a price comes last.
- ``"context"``: the largest context window; unknown comes last.
- ``"quality"``: a rule of thumb, not a measurement: reasoning models first, then the most recently released
  (the catalog's ``released`` date; unknown last), then the larger context window. No benchmark is consulted.

Ties go to the cheaper, then the larger window, then the deployment configured first.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ._catalog import ModelSpec
from ._errors import ConfigurationError
from ._model_checks import findings, sends_images
from ._model_directory import DeployedModel

__all__ = [
    "NEEDS",
    "PREFERENCES",
    "ModelSelection",
    "ModelSelectionError",
    "Need",
    "Preference",
    "infer_needs",
    "select",
]

Need = Literal["tools", "vision", "reasoning", "structured_output"]
Preference = Literal["cost", "context", "quality"]
NEEDS: frozenset[str] = frozenset(get_args(Need))
PREFERENCES: tuple[str, ...] = get_args(Preference)


@dataclass(frozen=True)
class ModelSelection:
    """What a deployment must offer, and how to choose among those that do.

    Args:
        needs: any of ``"tools"`` (function calling), ``"vision"`` (image input), ``"reasoning"`` (a reasoning
            model) and ``"structured_output"`` (``response_format`` ``json_schema``).
        min_context: the smallest acceptable context window in tokens, or None.
        prefer: ``"cost"`` (default), ``"context"`` or ``"quality"`` (see the module docs for the orderings).

    Raises:
        ConfigurationError: an unknown need or preference, or a ``min_context`` that is not a positive int.
    """

    needs: Collection[Need] = field(default_factory=frozenset)  # stored as a frozenset
    min_context: int | None = None
    prefer: Preference = "cost"

    def __post_init__(self) -> None:
        needs = self.needs
        if isinstance(needs, str) or not isinstance(needs, Iterable):
            raise ConfigurationError(f"needs must be a set of {_names(NEEDS)}; got {needs!r}")
        needs = frozenset(needs)
        unknown = sorted(str(need) for need in needs - NEEDS)
        if unknown:
            raise ConfigurationError(f"unknown need(s) {', '.join(unknown)}: needs are {_names(NEEDS)}")
        object.__setattr__(self, "needs", needs)
        minimum = self.min_context
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1):
            raise ConfigurationError(f"min_context must be a positive int (tokens) or None; got {minimum!r}")
        if self.prefer not in PREFERENCES:
            raise ConfigurationError(f"prefer must be one of {', '.join(PREFERENCES)}; got {self.prefer!r}")


class ModelSelectionError(ConfigurationError):
    """No configured deployment meets a selection; nothing was sent.

    Attributes:
        needs: the needs asked for (given and inferred from the request).
        min_context: the smallest window asked for, or None.
        missing: deployment name -> what it lacks, one phrase per reason (empty when none are configured).
    """

    def __init__(
        self,
        message: str,
        *,
        needs: frozenset[str],
        min_context: int | None,
        missing: Mapping[str, tuple[str, ...]],
    ) -> None:
        super().__init__(message)
        self.needs = needs
        self.min_context = min_context
        self.missing = dict(missing)


def infer_needs(body: Mapping[str, Any]) -> frozenset[str]:
    """The needs a request body shows: tools -> "tools", json_schema -> "structured_output", image parts ->
    "vision", reasoning_effort -> "reasoning"."""
    needs = set()
    if body.get("tools") or body.get("functions"):
        needs.add("tools")
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        needs.add("structured_output")
    if sends_images(body):
        needs.add("vision")
    if body.get("reasoning_effort") is not None:
        needs.add("reasoning")
    return frozenset(needs)


def _names(values: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in sorted(values))


def _need(spec: ModelSpec, need: str) -> tuple[bool | None, str]:
    """Whether ``spec`` meets ``need`` (None: unknown) and the phrase for its absence."""
    if need == "tools":
        return _known(spec, "function_calling", spec.function_calling), "no function calling (tools)"
    if need == "vision":
        return _known(spec, "input_modalities", "image" in spec.input_modalities), "no image input (vision)"
    if need == "reasoning":
        return _known(spec, "reasons", spec.reasons), "not a reasoning model"
    return _known(spec, "json_schema", spec.json_schema), "no json_schema response format (structured_output)"


def _known(spec: ModelSpec, fact: str, value: bool | None) -> bool | None:
    return value if value is not None and spec.is_stated(fact) else None


@dataclass(frozen=True, slots=True)
class _Verdict:
    candidate: DeployedModel
    missing: tuple[str, ...]
    unknown: tuple[str, ...]


def _judge(
    candidate: DeployedModel, needs: frozenset[str], min_context: int | None, body: Mapping[str, Any] | None
) -> _Verdict:
    spec = candidate.spec
    missing: list[str] = []
    unknown: list[str] = []
    if spec.status == "retired":
        missing.append(f"retired (replacement: {spec.replacement})" if spec.replacement else "retired")
    for need in sorted(needs):
        met, absent = _need(spec, need)
        if met is None:
            unknown.append(need)
        elif not met:
            missing.append(absent)
    if min_context is not None:
        window = spec.context_window
        if window is None or not spec.is_stated("context_window"):
            unknown.append("context window")
        elif window < min_context:
            missing.append(f"context window {window:,} < {min_context:,}")
    if body is not None:
        effort = body.get("reasoning_effort")
        if isinstance(effort, str) and spec.knows_accepts_effort(effort) is None:
            unknown.append(f"reasoning_effort {effort!r}")
        # The request itself: a parameter the model rejects, a prompt too long for it (stated facts only).
        missing.extend(
            finding.message
            for finding in findings(spec, body)
            if finding.stated and finding.kind != "retired"
        )
    return _Verdict(candidate, tuple(missing), tuple(unknown))


def _blended_price(spec: ModelSpec) -> float:
    price = spec.price
    return math.inf if price is None else (3 * price.input + price.output) / 4


def _window(spec: ModelSpec) -> float:
    return -spec.context_window if spec.context_window is not None else math.inf


def _released(spec: ModelSpec) -> int:
    """The release date as YYYYMMDD ("2026-05" -> 20260500), 0 when unknown: larger is newer."""
    digits = (spec.released or "").replace("-", "")
    return int(digits.ljust(8, "0")) if digits else 0


def _rank(verdict: _Verdict, prefer: str, order: int) -> tuple[Any, ...]:
    spec = verdict.candidate.spec
    cost, window = _blended_price(spec), _window(spec)
    if prefer == "cost":
        main: tuple[Any, ...] = (cost,)
    elif prefer == "context":
        main = (window,)
    else:
        main = (not spec.reasons, -_released(spec))
    return (len(verdict.unknown), *main, cost, window, order)


def select(
    candidates: Sequence[DeployedModel], selection: ModelSelection, body: Mapping[str, Any] | None = None
) -> tuple[DeployedModel, tuple[str, ...]]:
    """The best candidate for ``selection`` (and, for ``model="auto"``, for ``body``), and what is unknown of it.

    Args:
        candidates: the configured deployments, in configuration order.
        selection: the needs, minimum window and preference.
        body: the request, for ``model="auto"``: its own needs are added and candidates it does not suit (a
            stated rejection of one of its parameters, a prompt that cannot fit) are out.

    Returns:
        The chosen deployment and the needs whose support by it the catalog does not confirm (warn about them).

    Raises:
        ModelSelectionError: no candidate qualifies (or there are none); the message lists what each lacks.
    """
    needs = frozenset(selection.needs) | (infer_needs(body) if body is not None else frozenset())
    verdicts = [_judge(candidate, needs, selection.min_context, body) for candidate in candidates]
    fit = [(n, v) for n, v in enumerate(verdicts) if not v.missing]
    if fit:
        _, best = min(fit, key=lambda item: _rank(item[1], selection.prefer, item[0]))
        return best.candidate, best.unknown
    raise _no_match(verdicts, needs, selection.min_context)


def _no_match(
    verdicts: list[_Verdict], needs: frozenset[str], min_context: int | None
) -> ModelSelectionError:
    wanted = []
    if needs:
        wanted.append(f"needs {_names(needs)}")
    if min_context is not None:
        wanted.append(f"a context window of at least {min_context:,} tokens")
    asked = " and ".join(wanted) or "this request"
    if not verdicts:
        message = (
            f"No deployment to choose from for {asked}: selection only chooses among deployments mapped to a "
            "model (deployment_models={'my-deployment': 'grok-4-1-fast-reasoning'}, GROK_AZURE_DEPLOYMENTS or "
            "GROK_AZURE_DEPLOYMENTS_FILE)."
        )
    else:
        lines = [
            f"  - {v.candidate.deployment!r} ({v.candidate.spec.id}): {'; '.join(v.missing)}"
            for v in verdicts
        ]
        message = f"No configured deployment meets {asked}:\n" + "\n".join(lines)
    missing = {v.candidate.deployment: v.missing for v in verdicts}
    return ModelSelectionError(message, needs=needs, min_context=min_context, missing=missing)
