"""One quota for the whole cluster: a Ray actor that owns the pacer every worker asks before it sends.

The actor is async (Ray runs its methods concurrently on one event loop), so a worker waiting for its turn
holds no thread: :meth:`QuotaCoordinator.acquire` returns when the request may go. The worker's client tells
the actor about every attempt as it happens (:meth:`~QuotaCoordinator.on_response` with the status and the
rate-limit headers, :meth:`~QuotaCoordinator.charge` for a retry the client sends by itself) and reports the
call's end with :meth:`~QuotaCoordinator.release` (the tokens it really used). Each admitted call holds a
*lease* that expires: a worker that dies never releases, and its slots come back when their leases run out. Every decision is the batch
runner's pacer's (``grok_azure._batch._pacer``, the same object ``client.batches.run`` uses); this actor adds
only the count of calls in flight across the cluster and the totals for :meth:`~QuotaCoordinator.summary`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import ray

from .._batch._pacer import Pacer, positive

__all__ = ["QuotaCoordinator", "QuotaSummary"]

# How long a waiter sleeps before looking again when every concurrency slot is taken (a release wakes it sooner).
_SLOT_POLL = 0.05
# How long an admitted call may hold its slot unreported by default: longer than a call with the client's
# defaults can take (its timeout times its attempts); a dead worker's slots come back after it.
DEFAULT_LEASE_SECONDS = 900.0


@dataclass(frozen=True)
class QuotaSummary:
    """What the cluster did under one :class:`QuotaCoordinator`.

    Attributes:
        calls: calls that finished (succeeded or failed) after being admitted.
        failed: calls that ended in an error.
        attempts: attempts answered by the service (the client's retries included).
        rate_limited: attempts answered 429.
        in_flight: calls admitted and not yet reported back (leases not yet run out).
        allowed_concurrency: the pacer's current limit of calls in flight across the cluster.
        rpm: the requests-per-minute limit in force (given or learned from the headers), or None.
        tpm: the tokens-per-minute limit in force, or None.
        prompt_tokens: prompt tokens of the answered calls.
        completion_tokens: completion tokens of the answered calls.
        cost: USD over the answered calls whose price was known.
        unpriced_calls: answered calls with usage but no known price (not in ``cost``).
    """

    calls: int = 0
    failed: int = 0
    attempts: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    allowed_concurrency: int = 0
    rpm: float | None = None
    tpm: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    unpriced_calls: int = 0


@ray.remote(num_cpus=0)
class QuotaCoordinator:
    """The cluster's one pacer, as a Ray actor: every :class:`GrokBatchProcessor` asks it before each call.

    Start one per deployment quota and hand it to the processors::

        coordinator = QuotaCoordinator.remote(rpm=600, tpm=200_000)
        ds.map_batches(GrokBatchProcessor, fn_constructor_kwargs={"coordinator": coordinator}, ...)

    It takes no CPU (``num_cpus=0``), so it never holds a slot the workers need; its methods run on one event
    loop, so a thousand workers waiting for their turn (Ray's default for an async actor) hold no thread. To
    share it between jobs, name it: ``QuotaCoordinator.options(name="grok-quota", get_if_exists=True)``.

    Args:
        rpm: the requests per minute the cluster may use, in total over the workers' deployments; None: learned
            from each deployment's ``x-ratelimit-*`` headers and summed.
        tpm: the tokens per minute, in total likewise; None: learned per deployment and summed.
        concurrency: the most calls in flight across the whole cluster; the pacer halves it after a 429 and
            wins it back after successes.
        utilization: the share of each limit to aim at (default 0.95; the rest absorbs timing jitter).
        lease_seconds: how long an admitted call may hold its slot without being reported back; then the slot is
            reclaimed (its worker died, or lost the answer to :meth:`acquire`). Set it above the longest a call
            can take (the client's ``timeout`` x its attempts, or its ``deadline``): a slot reclaimed from a call
            still running lets one more call in than ``concurrency``. Default 900 s.
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        concurrency: int = 64,
        utilization: float = 0.95,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        lease_seconds = positive("lease_seconds", lease_seconds, "seconds")
        self._pacer = Pacer(rpm=rpm, tpm=tpm, concurrency=concurrency, utilization=utilization)
        self._lease_seconds = float(lease_seconds)
        self._leases: dict[str, float] = {}  # admitted call -> when its slot is reclaimed
        self._cancelled: dict[str, float] = {}  # gave up before admission -> when to forget it
        self._released = asyncio.Event()
        self._counts = dict.fromkeys(("calls", "failed", "attempts", "rate_limited", "unpriced_calls"), 0)
        self._tokens = [0, 0]
        self._cost = 0.0

    async def acquire(self, estimated_tokens: int, lease: str | None = None) -> str:
        """Return when a call estimated at ``estimated_tokens`` may be sent; it then holds a slot (a lease) until
        :meth:`release` or :meth:`cancel`, or until ``lease_seconds`` pass.

        Args:
            estimated_tokens: the call's token estimate (``grok_azure._batch._pacer.estimate_tokens``).
            lease: the caller's name for this call (unique), so it can :meth:`cancel` it even if it never sees
                the answer; None: a new one.

        Returns:
            The lease, to pass to :meth:`release`. Already cancelled: returned at once, holding nothing.
        """
        lease = lease or uuid.uuid4().hex
        while True:
            if self._cancelled.pop(lease, None) is not None:  # the caller gave up waiting: it never counts
                return lease
            now = self._reclaim()
            if len(self._leases) < self._pacer.allowed_concurrency:
                wait = self._pacer.reserve(estimated_tokens)
                if wait <= 0:
                    self._leases[lease] = now + self._lease_seconds
                    return lease
            else:
                wait = _SLOT_POLL
            self._released.clear()
            # A release frees a slot: look again then rather than at the end of the wait.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._released.wait(), timeout=wait)

    def cancel(self, lease: str) -> None:
        """Give up a call: free its slot if it was admitted, else make its pending or later :meth:`acquire`
        return without admitting it (the caller stopped waiting, e.g. its task was cancelled). Counts nothing.

        Args:
            lease: the lease given to (or returned by) :meth:`acquire`.
        """
        now = self._reclaim()
        if self._leases.pop(lease, None) is None:
            self._cancelled[lease] = now + self._lease_seconds
        self._released.set()

    def _reclaim(self) -> float:
        """Free the slots whose lease ran out and forget old cancellations; returns the time now."""
        now = time.monotonic()
        for table in (self._leases, self._cancelled):
            for lease in [lease for lease, until in table.items() if until <= now]:
                del table[lease]
        return now

    def charge(self, estimated_tokens: int) -> None:
        """Count a request a worker's client sent without asking (a retry): it spent quota all the same.

        Args:
            estimated_tokens: the request's token estimate.
        """
        self._pacer.charge(estimated_tokens)

    def on_response(self, status: int, headers: Mapping[str, str], source: str | None = None) -> None:
        """Show the pacer one attempt's answer: it learns limits from the headers and backs off on 429.

        Args:
            status: the HTTP status.
            headers: the answer's ``x-ratelimit-*`` and ``retry-after*`` headers.
            source: the deployment that answered (``CallInfo.deployment``): learned limits are per deployment
                and the coordinator paces to their sum.
        """
        self._pacer.on_response(status, headers, source)
        self._counts["attempts"] += 1
        self._counts["rate_limited"] += status == 429

    def release(
        self,
        lease: str,
        estimated_tokens: int,
        tokens: tuple[int, int] | None,
        cost: float | None,
        failed: bool,
    ) -> None:
        """Report the end of a call :meth:`acquire` admitted (counted even if its lease had run out).

        Args:
            lease: what :meth:`acquire` returned.
            estimated_tokens: what :meth:`acquire` was given.
            tokens: the call's (prompt, completion) tokens from its usage, or None (no answer, no usage).
            cost: its cost in USD, or None when unknown.
            failed: whether the call ended in an error.
        """
        self._leases.pop(lease, None)
        if tokens is not None:
            self._pacer.settle(estimated_tokens, sum(tokens))
            self._tokens[0] += tokens[0]
            self._tokens[1] += tokens[1]
            if cost is None:
                self._counts["unpriced_calls"] += 1
        if cost is not None:
            self._cost += cost
        self._counts["calls"] += 1
        self._counts["failed"] += failed
        self._released.set()

    def summary(self) -> QuotaSummary:
        """The totals so far (:class:`QuotaSummary`)."""
        self._reclaim()
        return QuotaSummary(
            **self._counts,
            in_flight=len(self._leases),
            allowed_concurrency=self._pacer.allowed_concurrency,
            rpm=self._pacer.rpm,
            tpm=self._pacer.tpm,
            prompt_tokens=self._tokens[0],
            completion_tokens=self._tokens[1],
            cost=self._cost,
        )
