"""One deployment's health (no I/O): its rests, stated or guessed, and its circuit breaker.

:class:`~grok_azure._deployments.DeploymentPool` keeps one :class:`Health` per deployment and calls it under its
own lock; nothing here locks or sleeps. The rules (``docs/failover.md`` has the why):

- **Two kinds of rest.** A rest whose end a server *stated* (a ``retry-after`` family header, an
  ``x-ratelimit-reset-*`` on a 429 or with a counter at 0) is *firm*: a call may wait for it. A rest the pool
  *guessed* (the breaker below, a 429 that named no wait) only steers traffic: no call waits for a guess, and a
  success from the deployment ends it at once. Each kind only ever gets longer until it ends.
- **The breaker.** The recent outcomes of a deployment are those of the last ``window`` seconds, and in any case
  its last ``threshold`` outcomes, at most :data:`OUTCOMES_KEPT` of them. It is rested when at least
  ``threshold`` of them are failures (408, 5xx, no response) *and* failures are at least half of them. So a
  deployment that fails every request is rested after ``threshold`` failures (sooner or later it has no recent
  success), while one that fails 10 % of a busy stream of requests never is: a run of failures from concurrent
  calls is outweighed by the successes between them. A 429 counts as an answer (the deployment is up).
- **Half-open.** When a breaker rest is over, the pool lends the deployment to one attempt, the trial, and
  rests it again (guessed) until that trial's outcome arrives, so a busy client does not send a burst of calls
  to a deployment that may still be dead. A success (or a 429) closes the breaker and forgets the failures; a
  failure rests the deployment again at once, for twice as long as the time before (up to ``max_cooldown``),
  so a dead deployment is tried less and less often. Other failures that arrive while a breaker rest runs were
  sent before it began and change nothing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["OUTCOMES_KEPT", "BreakerRules", "Health"]

# The breaker looks at no more than this many outcomes: it bounds the memory and the work under the pool's lock,
# and how many failures a deployment that had been answering well needs before it is rested (about half of it).
OUTCOMES_KEPT = 100


@dataclass(frozen=True, slots=True)
class BreakerRules:
    """The breaker's numbers (validated by the pool).

    Args:
        threshold: the fewest failures among the recent outcomes that rest a deployment (>= 1).
        window: seconds an outcome stays recent (the last ``threshold`` outcomes stay recent whatever their age).
        cooldown: seconds of a guessed rest: the first breaker rest, and a 429 that named no wait.
        max_cooldown: the longest a breaker rest grows to after failed trials (never below ``cooldown``).
    """

    threshold: int
    window: float
    cooldown: float
    max_cooldown: float

    def breaker_rest(self, trips: int) -> float:
        """Seconds of the ``trips``-th breaker rest in a row: ``cooldown`` doubled per failed trial, capped."""
        # The exponent is capped so that the float stays finite however long a deployment stays dead.
        doubled = self.cooldown * 2.0 ** min(trips - 1, 64)
        return min(doubled, max(self.max_cooldown, self.cooldown))


class Health:
    """The rests and breaker of one deployment; the caller serialises access (the pool's lock).

    Args:
        rules: the breaker's numbers, shared by every deployment of the pool.
    """

    __slots__ = ("_failures", "_outcomes", "_rules", "_trial", "_trips", "firm_until", "guess_until")

    def __init__(self, rules: BreakerRules) -> None:
        self.firm_until = -math.inf  # clock time a server-stated rest ends
        self.guess_until = -math.inf  # clock time a guessed rest ends
        self._rules = rules
        # The recent outcomes, (clock time, failed), oldest first, and how many of them failed: both kept up to
        # date as outcomes arrive and age, so a check costs the same whatever the threshold or the traffic.
        self._outcomes: deque[tuple[float, bool]] = deque(maxlen=max(OUTCOMES_KEPT, rules.threshold))
        self._failures = 0
        self._trips = 0  # breaker rests in a row without a success since; 0: the breaker is closed
        self._trial = False  # a trial attempt is out (the breaker is open and lent the deployment)

    @property
    def until(self) -> float:
        """Clock time the deployment may be used freely again (both kinds of rest over)."""
        return max(self.firm_until, self.guess_until)

    def rest(self, now: float, seconds: float, *, firm: bool) -> None:
        """Rest for ``seconds`` from ``now``; never shortens a running rest of the same kind."""
        if firm:
            self.firm_until = max(self.firm_until, now + seconds)
        else:
            self.guess_until = max(self.guess_until, now + seconds)

    def lend(self, now: float) -> None:
        """The pool sends an attempt here; with the breaker open, that attempt is the half-open trial.

        A trial on a deployment whose rest is over rests it again until the trial's outcome arrives (at most the
        current breaker rest, in case it never does); a trial sent while everything rests leaves the rest as is.
        """
        if self._trips:
            self._trial = True
            if self.until <= now:
                self.rest(now, self._rules.breaker_rest(self._trips), firm=False)

    def answered(self, now: float) -> None:
        """A success (or a 429): close the breaker, and end a guessed rest (the guess was wrong)."""
        if self._trips:
            self._trips = 0
            self._trial = False
            self._outcomes.clear()  # the failures that tripped it are forgiven, not held against the next run
            self._failures = 0
        self.guess_until = -math.inf
        self._push(now, failed=False)

    def failed(self, now: float, hint: float | None) -> None:
        """A 408/5xx or no response; ``hint`` is the wait the response asked for, if any."""
        if self._trips:
            if self.until > now and not self._trial:
                return  # sent before this rest began: the rest stands
            # The trial failed (or an attempt older than it did: the outcomes carry no attempt id, and either way
            # the deployment failed after its rest).
            self._trial = False
            self._trips += 1  # the half-open trial failed: rest again at once, longer
            self._rest_after(now, hint)
            return
        self._push(now, failed=True)
        if self._failures >= self._rules.threshold and 2 * self._failures >= len(self._outcomes):
            self._trips = 1
            self._rest_after(now, hint)

    def _rest_after(self, now: float, hint: float | None) -> None:
        # The server's own wait, when the failing response gave one, is firm; otherwise the breaker guesses.
        if hint is not None:
            self.rest(now, hint, firm=True)
        else:
            self.rest(now, self._rules.breaker_rest(self._trips), firm=False)

    def _push(self, now: float, *, failed: bool) -> None:
        """Record an outcome, then forget those no longer recent (but never the last ``threshold``)."""
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen:
            self._failures -= outcomes[0][1]  # append() is about to drop it
        outcomes.append((now, failed))
        self._failures += failed
        cutoff = now - self._rules.window
        keep = self._rules.threshold
        while len(outcomes) > keep and outcomes[0][0] <= cutoff:  # oldest first: times never decrease
            self._failures -= outcomes.popleft()[1]
