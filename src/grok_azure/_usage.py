"""The usage tracker: tokens and USD per deployment, and an optional budget enforced before each call.

Nothing here does I/O, so the sync and async clients share every line. The arithmetic lives in
:mod:`grok_azure._cost` and is re-exported here (``cost_of``, ``estimate_prompt_tokens``...), the one import the
client needs.
"""

from __future__ import annotations

import math
import threading
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._cost import (
    Cost,
    PendingCost,
    _Tokens,
    cost_of,
    estimate_prompt_tokens,
    worst_case_cost,
)
from ._errors import BudgetExceededError, ConfigurationError
from ._warnings import OnceRegistry, warn_once
from .types.completion_usage import CompletionUsage, UsageCounts, usage_counts

if TYPE_CHECKING:
    from ._catalog import ModelSpec, Price

__all__ = [
    "Cost",
    "Reservation",
    "UsageSummary",
    "UsageTracker",
    "cost_of",
    "estimate_prompt_tokens",
    "worst_case_cost",
]

# Float sums of USD amounts drift by ~1e-16; a budget is not "exceeded" by that (a picodollar of slack).
_BUDGET_SLACK = 1e-12
# Calls recorded without a budget are added up in batches of this many (see UsageTracker._defer).
_FOLD_AT = 64


# --- the tracker -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Tokens and cost summed over the completions a :class:`UsageTracker` recorded (all or one deployment's).

    Attributes:
        requests: Completions recorded.
        prompt_tokens: Prompt tokens, cached ones included.
        cached_tokens: The cached part of ``prompt_tokens``.
        output_tokens: Answer tokens, reasoning excluded (under either usage convention).
        reasoning_tokens: Reasoning tokens.
        cost: USD over the requests whose price was known.
        unpriced_requests: Requests counted in tokens but not in ``cost`` (unknown model or price).
        unmetered_requests: Requests that completed without reporting usage (counted in neither).
        cost_confirmed: True when every price used came from an Azure price meter (True when none was used).
    """

    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    unpriced_requests: int = 0
    unmetered_requests: int = 0
    cost_confirmed: bool = True

    @property
    def billed_output_tokens(self) -> int:
        """Tokens billed at the output price: answer plus reasoning."""
        return self.output_tokens + self.reasoning_tokens

    @property
    def total_tokens(self) -> int:
        """Every billed token: prompt plus billed output."""
        return self.prompt_tokens + self.billed_output_tokens


class _Account:
    """One deployment's counters. Costs are kept as token counts per price and priced when read, so a total does
    not depend on the order in which threads recorded (float sums would)."""

    __slots__ = ("priced", "requests", "tokens", "unmetered", "unpriced")

    def __init__(self) -> None:
        self.requests = self.unmetered = self.unpriced = 0
        self.tokens = _Tokens()
        self.priced: dict[tuple[float, float, float | None, bool], tuple[Price, _Tokens]] = {}

    def add(self, usage: _Tokens | None, price: Price | None) -> None:
        self.requests += 1
        if usage is None:
            self.unmetered += 1
            return
        self.tokens.add(usage)
        if price is None:
            self.unpriced += 1
            return
        # Keyed by value: a user-built Price equal to the catalog's shares its bucket.
        key = (price.input, price.output, price.cached_input, bool(price.confirmed))
        bucket = self.priced.get(key)
        if bucket is None:
            bucket = self.priced[key] = (price, _Tokens())
        bucket[1].add(usage)

    def costs(self) -> Iterator[Cost]:
        return (tokens.priced(price) for price, tokens in self.priced.values())


def _summarize(accounts: list[_Account]) -> UsageSummary:
    tokens = _Tokens()
    requests = unpriced = unmetered = 0
    costs: list[Cost] = []
    for account in accounts:
        requests += account.requests
        unpriced += account.unpriced
        unmetered += account.unmetered
        tokens.add(account.tokens)
        costs.extend(account.costs())
    return UsageSummary(
        requests=requests,
        prompt_tokens=tokens.uncached + tokens.cached,
        cached_tokens=tokens.cached,
        output_tokens=tokens.output,
        reasoning_tokens=tokens.reasoning,
        cost=math.fsum(cost.total for cost in costs),
        unpriced_requests=unpriced,
        unmetered_requests=unmetered,
        cost_confirmed=all(cost.confirmed for cost in costs),
    )


def _check_budget(budget: object) -> float | None:
    if budget is None:
        return None
    if (
        isinstance(budget, bool)
        or not isinstance(budget, (int, float))
        or not math.isfinite(budget)
        or budget < 0
    ):
        raise ConfigurationError(
            f"UsageTracker budget must be None or a finite number of USD >= 0; got {budget!r}"
        )
    return float(budget)


def _usd(amount: float) -> str:
    return f"${amount:.6f}"


class UsageTracker:
    """Sums tokens and USD per deployment across calls, threads and asyncio tasks; optionally enforces a budget.

    One ``threading.Lock`` guards the counters and is never held across I/O or an ``await``, so one tracker can
    be shared by sync and async clients, threads and tasks. Costs come from catalog prices (see :class:`Cost`);
    a deployment whose model or price is unknown is counted in tokens only.

    With a ``budget`` (USD), :meth:`reserve` raises :class:`~grok_azure.BudgetExceededError` before a call whose
    worst case (:func:`worst_case_cost`) would take what was spent plus the worst cases of calls still in flight
    past the budget. The real cost is recorded when the call completes and may be lower (usually) or, for a
    model that reasons past its output cap, higher: the budget stops new calls, it cannot claw back a call
    already sent. A call whose worst case cannot be computed (unknown model or price) is let through with a
    one-time warning per deployment.

    Args:
        budget: The most USD the tracked calls may spend, or None (the default) to count without a limit.
    """

    __slots__ = (
        "__weakref__",
        "_accounts",
        "_assumed",
        "_budget",
        "_in_flight",
        "_lock",
        "_pending",
        "_reserved",
        "_warned",
    )

    def __init__(self, budget: float | None = None) -> None:
        self._budget = _check_budget(budget)
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        # Calls recorded by _defer and not yet added to their accounts: (deployment, price, usage counts).
        self._pending: list[tuple[str, Price | None, UsageCounts | None]] = []
        self._reserved = 0.0  # sum of the estimates of reservations still open
        self._assumed = 0.0  # worst cases counted for calls that completed under the budget without usage
        self._in_flight = 0  # open reservations that hold an estimate
        self._warned = OnceRegistry()  # warnings are once per tracker and deployment

    @property
    def budget(self) -> float | None:
        """The budget in USD, or None."""
        return self._budget

    @property
    def spent(self) -> float:
        """USD counted against the budget so far: the priced requests, plus the worst case held by each call that
        completed without reporting its usage (a gateway that strips it; see :meth:`reserve`)."""
        with self._lock:
            return self._spent()

    @property
    def reserved(self) -> float:
        """USD held by calls in flight: the sum of their worst cases (0.0 without a budget)."""
        with self._lock:
            return self._reserved

    @property
    def remaining(self) -> float | None:
        """USD still available for new calls (budget - spent - reserved, not below 0), or None without a budget."""
        if self._budget is None:
            return None
        with self._lock:
            return max(self._budget - self._spent() - self._reserved, 0.0)

    def reserve(self, deployment: str, spec: ModelSpec | None, body: Mapping[str, Any]) -> Reservation:
        """Hold a call's worst-case cost against the budget before it is sent; nothing is held without a budget.

        Settle the returned :class:`Reservation` exactly once: :meth:`Reservation.record` when the call
        completes, :meth:`Reservation.release` when it fails or is abandoned (using it as a context manager
        releases on exit whatever happens, unless it was recorded).

        Args:
            deployment: The deployment the call goes to.
            spec: The catalog entry of the deployment's model, or None when unknown.
            body: The JSON body about to be sent.

        Raises:
            BudgetExceededError: The call's worst case does not fit in what remains of the budget.
        """
        budget = self._budget
        if budget is None:
            return Reservation(self, deployment, spec, None)
        estimate = worst_case_cost(spec, body)  # outside the lock: it walks the whole body
        if estimate is None:
            # This call's cost cannot be bounded; it is let through (with a warning) only while the budget is not
            # already used up, so an overspend is followed by a refusal whatever the next call costs.
            with self._lock:
                spent = self._spent()
                if spent + self._reserved > budget + _BUDGET_SLACK:
                    raise self._over_budget(deployment, budget, spent, 0.0)
            self._warn_unbounded(deployment, spec)
            return Reservation(self, deployment, spec, None)
        with self._lock:
            spent = self._spent()
            if spent + self._reserved + estimate > budget + _BUDGET_SLACK:
                raise self._over_budget(deployment, budget, spent, estimate)
            self._reserved += estimate
            self._in_flight += 1
        return Reservation(self, deployment, spec, estimate)

    def record(self, deployment: str, spec: ModelSpec | None, usage: CompletionUsage | None) -> Cost | None:
        """Add a completed call's usage (no reservation involved) and return its cost.

        Args:
            deployment: The deployment that answered.
            spec: The catalog entry of its model, or None when unknown.
            usage: The completion's usage, or None when the service reported none.

        Returns:
            The call's :class:`Cost`, or None when the usage or the price is unknown.
        """
        return self._settle(None, deployment, spec, usage)

    def totals(self) -> UsageSummary:
        """Everything recorded, all deployments together."""
        with self._lock:
            self._fold()
            return _summarize(list(self._accounts.values()))

    def by_deployment(self) -> Mapping[str, UsageSummary]:
        """A read-only snapshot: deployment name -> its :class:`UsageSummary`, in order of first use."""
        with self._lock:
            self._fold()
            return types.MappingProxyType({name: _summarize([acc]) for name, acc in self._accounts.items()})

    def __repr__(self) -> str:
        totals = self.totals()
        budget = "None" if self._budget is None else _usd(self._budget)
        return f"UsageTracker(budget={budget}, spent={_usd(totals.cost)}, requests={totals.requests})"

    # -- internals: under the lock only arithmetic on a few counters; usage is read and warnings issued outside it

    def _spent(self) -> float:
        self._fold()
        return (
            math.fsum(cost.total for account in self._accounts.values() for cost in account.costs())
            + self._assumed
        )

    def _settle(
        self,
        reservation: Reservation | None,
        deployment: str,
        spec: ModelSpec | None,
        usage: CompletionUsage | None,
    ) -> Cost | None:
        price = spec.price if spec is not None else None
        tokens = _Tokens.of(usage) if usage is not None else None  # read the usage outside the lock
        cost = tokens.priced(price) if tokens is not None and price is not None else None
        unreported = None
        with self._lock:
            if reservation is not None:
                if not self._close(reservation):
                    return reservation._cost
                reservation._cost = cost
                if tokens is None and reservation.estimate is not None:
                    # The service said nothing of what it billed: the budget counts the worst case it held, so
                    # that a gateway that strips usage cannot let calls through for ever.
                    unreported = reservation.estimate
                    self._assumed += unreported
            self._account(deployment).add(tokens, price)
        if unreported is not None:
            self._warn_unreported(deployment)
        return cost

    def _defer(
        self, deployment: str, spec: ModelSpec | None, usage: CompletionUsage | None
    ) -> PendingCost | None:
        """:meth:`record` for a call made without a budget, which nothing reads until the totals are asked for:
        the usage's counts are kept and added to the account with others, and the cost is priced when it is read.

        Adding up a batch at a time is the cheaper for the client's calls: each call does the least here, and the
        arithmetic runs in one loop (see docs/performance.md). The counts are read now, so what the tracker adds
        is what the service sent, whatever happens to the completion afterwards.
        """
        counts = usage_counts(usage) if usage is not None else None
        price = spec.price if spec is not None else None
        with self._lock:
            self._account(deployment)  # opened now: by_deployment() lists deployments in order of first use
            pending = self._pending
            pending.append((deployment, price, counts))
            if len(pending) >= _FOLD_AT:
                self._fold()
        return PendingCost(counts, price) if counts is not None and price is not None else None

    def _fold(self) -> None:
        """Add what :meth:`_defer` kept to the accounts. Lock held."""
        pending = self._pending
        if pending:
            self._pending = []
            for deployment, price, counts in pending:
                self._account(deployment).add(None if counts is None else _Tokens.of_counts(counts), price)

    def _account(self, deployment: str) -> _Account:
        """``deployment``'s account, opened on first use. Lock held."""
        account = self._accounts.get(deployment)
        if account is None:
            account = self._accounts[deployment] = _Account()
        return account

    def _release(self, reservation: Reservation) -> None:
        with self._lock:
            self._close(reservation)

    def _close(self, reservation: Reservation) -> bool:
        """Mark ``reservation`` settled and give back its estimate; False if it already was. Lock held."""
        if reservation._settled:
            return False
        reservation._settled = True
        if reservation.estimate is not None:
            self._in_flight -= 1
            # Back to an exact 0.0 when nothing is in flight, so float residue cannot build up over time.
            self._reserved = self._reserved - reservation.estimate if self._in_flight else 0.0
        return True

    def _over_budget(
        self, deployment: str, budget: float, spent: float, estimate: float
    ) -> BudgetExceededError:
        return BudgetExceededError(
            f"Budget exceeded: a call to deployment {deployment!r} may cost up to {_usd(estimate)}, and "
            f"{_usd(spent)} spent plus {_usd(self._reserved)} held by calls in flight leaves "
            f"{_usd(max(budget - spent - self._reserved, 0.0))} of the {_usd(budget)} budget. Nothing was sent; "
            "lower max_tokens / max_completion_tokens, or raise the budget.",
            budget=budget,
            spent=spent,
            estimate=estimate,
        )

    def _warn_unreported(self, deployment: str) -> None:
        warn_once(
            ("usage-unreported", deployment),
            f"Deployment {deployment!r} answered a call without usage (a gateway that strips it, or a stream asked "
            "without stream_options include_usage): the budget counts that call's worst case instead, as spent.",
            registry=self._warned,
        )

    def _warn_unbounded(self, deployment: str, spec: ModelSpec | None) -> None:
        if spec is None:
            why = "its model is not in the catalog"
        elif spec.price is None:
            why = f"the catalog has no price for {spec.id!r}"
        else:
            why = f"neither the request nor the catalog entry of {spec.id!r} bounds its output tokens"
        warn_once(
            ("usage-unbounded", deployment),
            f"UsageTracker cannot enforce its budget on deployment {deployment!r}: {why}. Its calls are let "
            "through and counted in tokens, not in USD. Add the model or its price to the catalog "
            "(Catalog.with_models) to enforce the budget.",
            registry=self._warned,
        )


class Reservation:
    """A call's worst-case cost held against a :class:`UsageTracker` budget until the call is settled.

    Settle it once: :meth:`record` on success, :meth:`release` on failure. Later calls of either do nothing
    (``record`` then returns the first result), so a failure path may release unconditionally. As a context
    manager it releases on exit unless it was recorded.
    """

    __slots__ = ("_cost", "_settled", "_tracker", "deployment", "estimate", "spec")

    def __init__(
        self, tracker: UsageTracker, deployment: str, spec: ModelSpec | None, estimate: float | None
    ) -> None:
        self._tracker = tracker
        self.deployment = deployment
        self.spec = spec
        self.estimate = estimate  # the worst case held in USD, None when nothing is held
        self._settled = False
        self._cost: Cost | None = None

    def record(
        self, usage: CompletionUsage | None, *, deployment: str | None = None, spec: ModelSpec | None = None
    ) -> Cost | None:
        """Release the hold and add the call's real usage; return its cost (None if usage or price is unknown).

        Args:
            usage: The completion's usage, or None when the service reported none.
            deployment: The deployment that answered when it is not the one reserved for (failover); ``spec``
                is then its model's entry (None when unknown). Omitted: the reserved deployment and spec.
            spec: See ``deployment``; ignored without it.
        """
        if deployment is None:
            deployment, spec = self.deployment, self.spec
        return self._tracker._settle(self, deployment, spec, usage)

    def release(self) -> None:
        """Give the hold back without recording anything (the call failed, or was abandoned)."""
        self._tracker._release(self)

    @property
    def settled(self) -> bool:
        """Whether :meth:`record` or :meth:`release` was called."""
        return self._settled

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        held = "nothing" if self.estimate is None else _usd(self.estimate)
        state = "settled" if self._settled else "open"
        return f"Reservation(deployment={self.deployment!r}, holds={held}, {state})"
