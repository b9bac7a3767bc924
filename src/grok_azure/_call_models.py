"""What a call does with the deployment's model, for both clients (no I/O).

Before sending: resolve ``model="auto"`` to a configured deployment, check the body against the model of every
deployment the call may reach, and reserve its worst-case cost (:meth:`ModelPolicy.admit`, :meth:`Meter.reserve`).
After a success: record the usage with the tracker and give the completion its cost (:meth:`Meter.settle`); after
a failure: give the reservation back (:meth:`Meter.release`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from ._catalog import ModelSpec
from ._cost import PendingCost, worst_case_cost
from ._errors import ConfigurationError
from ._model_checks import check_request, nothing_to_find
from ._model_directory import DEPLOYMENTS_ENV, DeployedModel, ModelDirectory
from ._selection import ModelSelection, select
from ._usage import Cost, Reservation, UsageTracker, cost_of
from ._warnings import OnceRegistry, warn_once
from ._wire import SERVED_BY
from .types.completion_usage import CompletionUsage

if TYPE_CHECKING:
    from ._hooks import CallObserver
    from .types.chat_completion import ChatCompletion

__all__ = ["AUTO", "Meter", "ModelPolicy"]

AUTO = "auto"
_MAX_ROUTES = 64


@dataclass(frozen=True, slots=True)
class _Routes:
    """The deployments a call to one model may reach: ``served_by`` label -> (deployment name sent, its model or
    None); ``first`` and ``others`` are the distinct ones, each checked once."""

    by_label: Mapping[str | None, tuple[str, ModelSpec | None]]
    first: tuple[str, ModelSpec | None]
    others: tuple[tuple[str, ModelSpec | None], ...]


@dataclass(frozen=True, slots=True)
class ModelPolicy:
    """A client's model configuration, shared by its ``with_options`` copies.

    Args:
        directory: deployment name -> catalog model.
        validate: run the checks before sending (``validate=False``: no model checks, no unknown-deployment
            warning).
        tracker: where usage and cost are counted (and the budget enforced).
        auto: the selection ``model="auto"`` uses, or None (then "auto" is an ordinary deployment name, which
            must be mapped).
        warned: the client's "warn once" registry.
    """

    directory: ModelDirectory
    validate: bool
    tracker: UsageTracker
    auto: ModelSelection | None
    warned: OnceRegistry
    routes: dict[tuple[str, tuple[str | None, ...], tuple[str | None, ...]], _Routes] = field(
        default_factory=dict, repr=False, compare=False
    )

    def admit(
        self,
        body: dict[str, Any],
        fixed: tuple[str | None, ...],
        labels: tuple[str | None, ...],
        encoded: bytes | None = None,
    ) -> Meter:
        """Make ``body`` ready to send, or raise; the call's :class:`Meter`.

        ``body["model"]`` is replaced by the chosen deployment when it is ``"auto"``.

        Args:
            body: the request body (changed in place for "auto").
            fixed: per target of the call, the deployment name it sends instead of ``body["model"]`` (None: it
                sends ``body["model"]``).
            labels: per target, its ``served_by`` label (None without ``deployments=``).
            encoded: ``body`` as JSON (its ``model`` may differ), which spares the checks a walk of the messages;
                or None.

        Raises:
            ModelSelectionError: ``model="auto"`` and no configured deployment suits the request.
            ModelRetiredError, UnsupportedParameterError, PromptTooLongError: a stated fact of the model forbids
                the request (only with ``validate``).
        """
        if body["model"] == AUTO and (self.auto is not None or self.directory.resolve(AUTO) is None):
            body["model"] = self._choose(body)
        key = (body["model"], fixed, labels)
        routes = self.routes.get(key)
        if routes is None:
            routes = self._routes(*key)
        if self.validate:
            deployment, spec = routes.first
            self._check(deployment, spec, body, encoded)
            for deployment, spec in routes.others:
                self._check(deployment, spec, body, encoded)
        return Meter(self.tracker, routes.by_label, body)

    def _routes(self, model: str, fixed: tuple[str | None, ...], labels: tuple[str | None, ...]) -> _Routes:
        """Where a call to ``model`` may go, kept for the next call (the directory never changes)."""
        by_label: dict[str | None, tuple[str, ModelSpec | None]] = {}
        for target_name, label in zip(fixed, labels, strict=True):
            deployment = target_name or model
            known = self.directory.resolve(deployment)
            by_label[label] = (deployment, None if known is None else known.spec)
        distinct: dict[str, ModelSpec | None] = {}
        for deployment, spec in by_label.values():
            distinct.setdefault(deployment, spec)
        unique = list(distinct.items())
        routes = _Routes(by_label, unique[0], tuple(unique[1:]))
        if len(self.routes) >= _MAX_ROUTES:  # a caller may send to ever new deployment names: keep it bounded
            self.routes.clear()
        self.routes[(model, fixed, labels)] = routes
        return routes

    def _choose(self, body: Mapping[str, Any]) -> str:
        if self.auto is None:
            raise ConfigurationError(
                "model='auto' needs a selection policy: pass auto_model=ModelSelection(needs=..., prefer=...) to "
                "the client (or map a deployment named 'auto')."
            )
        chosen, unknown = select(self.directory.configured(), self.auto, body)
        if unknown:
            self._warn_unknown(chosen.deployment, chosen.spec, unknown)
        return chosen.deployment

    def _warn_unknown(self, deployment: str, spec: ModelSpec, unknown: tuple[str, ...]) -> None:
        warn_once(
            ("selection-unknown", deployment, unknown),
            f"Selected deployment {deployment!r} ({spec.id}), although the catalog does not confirm its "
            f"{', '.join(unknown)}: no configured deployment is known to have it.",
            registry=self.warned,
        )

    def _check(
        self, deployment: str, spec: ModelSpec | None, body: Mapping[str, Any], encoded: bytes | None
    ) -> None:
        if spec is None:
            warn_once(
                ("unknown-deployment", deployment),
                f"Deployment {deployment!r} is not mapped to a catalog model, so its requests are not checked "
                f"and their cost is unknown. Map it: deployment_models={{{deployment!r}: '<model id>'}} or "
                f"{DEPLOYMENTS_ENV}={deployment}=<model id>.",
                registry=self.warned,
            )
            return
        if nothing_to_find(spec, body, encoded):  # most calls: no generator walk, no closure
            return

        def warn(key: tuple[str, ...], message: str) -> None:
            warn_once(key, message, registry=self.warned)

        check_request(deployment, spec, body, warn)

    def select(self, selection: ModelSelection) -> DeployedModel:
        """``client.models.select``: the best configured deployment for ``selection`` (see ``_selection.select``)."""
        chosen, unknown = select(self.directory.configured(), selection)
        if unknown:
            self._warn_unknown(chosen.deployment, chosen.spec, unknown)
        return chosen


class _NoHold:
    """A call's :class:`Reservation` on a tracker without a budget, where there is nothing to hold: it records the
    usage once, as a Reservation does, without the tracker's reserve step (made for every call, so kept small),
    and leaves the cost to be priced when it is read (``UsageTracker._defer``)."""

    __slots__ = ("_cost", "_settled", "_tracker")

    def __init__(self, tracker: UsageTracker) -> None:
        self._tracker = tracker
        self._settled = False
        self._cost: PendingCost | None = None

    def record(
        self, usage: CompletionUsage | None, *, deployment: str, spec: ModelSpec | None
    ) -> PendingCost | None:
        if not self._settled:
            self._settled = True
            self._cost = self._tracker._defer(deployment, spec, usage)
        return self._cost

    def release(self) -> None:
        self._settled = True


class Meter:
    """One call's usage bookkeeping: its reservation, then its record (or release).

    Args:
        tracker: the client's tracker.
        routes: ``served_by`` label -> (deployment name sent, its model or None), for every target of the call.
        body: the body to reserve for.
    """

    __slots__ = ("_body", "_first", "_reservation", "_routes", "_tracker", "hides_usage_chunk", "observer")

    def __init__(
        self,
        tracker: UsageTracker,
        routes: Mapping[str | None, tuple[str, ModelSpec | None]],
        body: Mapping[str, Any],
    ) -> None:
        self._tracker = tracker
        self._routes = routes
        self._first = next(iter(routes.values()))
        self._body = body
        self._reservation: Reservation | _NoHold | None = None
        # The call's hooks (None: none), told of the call's end here, where its usage is settled or released.
        self.observer: CallObserver | None = None
        # The SDK asked for a stream's usage for the budget: its usage-only chunk is not the caller's to see.
        self.hides_usage_chunk = False

    def reserve(self) -> None:
        """Hold the call's worst case against the budget: call right before sending.

        Raises:
            BudgetExceededError: the call may cost more than what is left.
        """
        if self._tracker.budget is None:
            self._reservation = _NoHold(self._tracker)
            return
        route = self._first
        if len(self._routes) > 1:
            # Failover may take the call to any of its deployments: hold the dearest one's worst case.
            route = max(self._routes.values(), key=lambda each: _worst(each[1], self._body))
        deployment, spec = route
        self._reservation = self._tracker.reserve(deployment, spec, self._body)

    def settle(self, usage: CompletionUsage | None, response: httpx.Response) -> Cost | PendingCost | None:
        """Record a successful call's usage; its cost, maybe still to be priced (``ChatCompletion._set_cost`` takes
        either), or None when the usage, the model or its price is unknown.

        Args:
            usage: the completion's usage (a stream's from its usage event).
            response: the response that answered, whose ``served_by`` names the deployment.
        """
        deployment, spec = self._routes.get(response.extensions.get(SERVED_BY), self._first)
        if self._reservation is not None:
            return self._reservation.record(usage, deployment=deployment, spec=spec)
        # Not reserved (a completion decoded outside the usual path): cost it without counting it.
        if usage is None or spec is None or spec.price is None:
            return None
        return cost_of(usage, spec.price)

    def release(self, error: BaseException | None = None) -> None:
        """Give back the reservation of a call that failed or was abandoned (nothing once it was recorded).

        Args:
            error: why the call ended (for its hooks' ``on_end``), or None (closed early, or already settled).
        """
        if self._reservation is not None:
            self._reservation.release()
        if self.observer is not None:
            self.observer.failed(error)

    def succeeded(self, completion: ChatCompletion) -> None:
        """The call's completion, once settled and costed: its hooks' ``on_end``."""
        if self.observer is not None:
            self.observer.succeeded(completion)


def _worst(spec: ModelSpec | None, body: Mapping[str, Any]) -> float:
    """A route's worst-case cost for ranking; unknown counts as highest (it cannot be bounded)."""
    cost = worst_case_cost(spec, body)
    return float("inf") if cost is None else cost
