"""Several deployments of one model: which to call next, and which to rest (no I/O).

A :class:`DeploymentPool` holds the health and quota state of each :class:`Deployment` for one client. The call
loop asks :meth:`DeploymentPool.pick` where to send an attempt and reports every outcome back with
:meth:`~DeploymentPool.record_response` or :meth:`~DeploymentPool.record_failure`. The rules (see
``docs/failover.md``):

- **Rests.** A 429 rests the deployment for the wait the server asked for (``retry-after-ms``,
  ``x-ms-retry-after-ms``, ``retry-after``, else ``x-ratelimit-reset-*``): a *firm* rest. A 429 that named no
  wait rests it for ``default_cooldown`` (1 s): a *guessed* rest.
- **Breaker** (``_health.py``). Failures (408, 5xx, no response) rest a deployment when at least
  ``failure_threshold`` (2) of its recent outcomes failed and failures are at least half of them; recent means
  the last ``failure_window`` (5 s), and at least the last ``failure_threshold`` outcomes, at most 100. The rest
  is the response's retry-after (firm) or ``default_cooldown`` (guessed), doubled after each failed trial up to
  ``max_cooldown`` (30 s); one success closes the breaker. So a deployment that fails every request rests after
  two failures, while 10 % of random failures over a busy stream of calls never rest one.
- **Pacing.** Every response's ``x-ratelimit-remaining-requests`` / ``-tokens`` against ``x-ratelimit-limit-*``
  scale the deployment's ``weight``: at 10 % of its quota left it gets 10 % of its share. ``-1`` means unknown.
  A counter at 0 with a reset header rests the deployment until the reset (firm).
- **Credentials.** A deployment whose credential fails rests for ``default_cooldown`` (guessed) and counts a
  failure; the call avoids it from then on (``pick(avoid=...)``) and goes on elsewhere, unsent.
- **Failover.** ``pick`` prefers deployments not yet tried in the current call. When every deployment rests it
  answers :class:`WaitFor`: ``firm=False`` with one resting on a guess alone (try it now, a half-open trial: a
  guess must never make a call wait), else ``firm=True`` with the one whose stated rest ends soonest.

State changes happen under one :class:`threading.Lock` held for a few arithmetic operations, never across I/O or
an ``await``, so one pool serves threads and asyncio tasks alike.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._auth import is_key_credential
from ._endpoint import resolve_endpoint
from ._errors import ConfigurationError
from ._health import BreakerRules, Health
from ._ratelimit import lower, quota_reading, reset_after_seconds
from ._retry_after import retry_after_seconds
from ._secrets import scrub_url_text

if TYPE_CHECKING:
    from azure.core.credentials import AzureKeyCredential

__all__ = [
    "Deployment",
    "DeploymentPool",
    "Pick",
    "WaitFor",
    "reset_after_seconds",
]

# Pacing data without a reset time is trusted this long: Azure refills quotas over 1 s or 10 s windows, so an old
# "nearly empty" reading must not starve a deployment that has long since refilled.
DEFAULT_PACING_TTL = 10.0
# A guessed rest (no server named a time) only steers traffic away for a while, and no call waits for it: one
# second matches Azure's shortest quota window, and failed trials double it up to DEFAULT_MAX_COOLDOWN.
DEFAULT_COOLDOWN = 1.0
DEFAULT_MAX_COOLDOWN = 30.0
# Outcomes this recent are weighed together by the breaker: long enough to hold many answers of a busy client
# (so a few failures among them do not rest a healthy deployment), short enough that old successes do not hide
# a deployment that has just died for more than a few seconds.
DEFAULT_FAILURE_WINDOW = 5.0


@dataclass(frozen=True)
class Deployment:
    """One deployment of the model: an endpoint, its credential and its share of traffic.

    Args:
        endpoint: the resource root or any URL form the client's ``endpoint=`` accepts.
        api_key: the API key (or an ``AzureKeyCredential``) for this resource. Give at most one of ``api_key``
            and ``credential``; with neither, the client's own credential rules apply.
        credential: an Entra ID ``TokenCredential`` / ``AsyncTokenCredential`` or a token provider.
        deployment: the deployment name on this resource, when it differs from the ``model`` of the call.
        weight: the share of traffic while healthy (positive, finite; relative to the other deployments).
        name: the label reported back as ``served_by`` (default: the host, plus ``/deployment`` if given).
        route: ``"openai_v1"`` or ``"model_inference"``, as for the client.
        api_version: the ``api-version`` for the ``/models`` route.

    Raises:
        ConfigurationError: for an unresolvable endpoint, a bad weight, both ``api_key`` and ``credential``, or
            an empty or non-string ``deployment`` / ``name`` / ``api_version``.
    """

    endpoint: str
    api_key: str | AzureKeyCredential | None = field(default=None, repr=False, compare=False)
    credential: Any = field(default=None, repr=False, compare=False)
    deployment: str | None = None
    weight: float = 1.0
    name: str | None = None
    route: str | None = None
    api_version: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str):
            raise ConfigurationError("Deployment endpoint must be a str URL")
        resolved = resolve_endpoint(self.endpoint, self.route)  # raises ConfigurationError, URL scrubbed
        for label in ("deployment", "name", "api_version"):
            value = getattr(self, label)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"Deployment {label} must be a non-empty str or None")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ConfigurationError(f"Deployment weight must be a positive finite number; got {weight!r}")
        if weight <= 0:
            raise ConfigurationError(f"Deployment weight must be a positive finite number; got {weight!r}")
        if self.api_key is not None and self.credential is not None:
            raise ConfigurationError("Pass either api_key or credential to a Deployment, not both")
        if self.api_key is not None:
            if isinstance(self.api_key, str):
                if not self.api_key.strip():
                    raise ConfigurationError("Deployment api_key is empty")
            elif not is_key_credential(self.api_key):
                raise ConfigurationError(
                    "Deployment api_key must be a str or an azure.core.credentials.AzureKeyCredential"
                )
        if self.name is None:
            label = resolved.host if self.deployment is None else f"{resolved.host}/{self.deployment}"
            object.__setattr__(self, "name", label)

    def __repr__(self) -> str:
        # Keys and credentials never render; the endpoint is shown without a URL password.
        auth = (
            "api_key" if self.api_key is not None else "credential" if self.credential is not None else "env"
        )
        return (
            f"Deployment(name={self.name!r}, endpoint={scrub_url_text(repr(self.endpoint))}, "
            f"deployment={self.deployment!r}, weight={self.weight!r}, route={self.route!r}, "
            f"api_version={self.api_version!r}, auth={auth})"
        )


@dataclass(frozen=True)
class Pick:
    """Send the attempt to ``deployments[index]`` now."""

    index: int


@dataclass(frozen=True)
class WaitFor:
    """Every deployment is resting; ``deployments[index]`` is the one to go to next.

    Attributes:
        seconds: how long its rest has left.
        index: which deployment.
        firm: True when a server stated that time (a retry-after, a quota reset): worth waiting for, if it fits
            the call's budget. False when the rest is only the pool's guess (a breaker rest, a 429 that named no
            wait): the call should not wait for it but try that deployment after its ordinary retry backoff (a
            half-open trial); ``index`` then prefers a deployment the call has not tried.
    """

    seconds: float
    index: int
    firm: bool


class _State:
    """Mutable per-deployment state; touched only under the pool's lock."""

    __slots__ = ("health", "pace", "pace_until")

    def __init__(self, rules: BreakerRules) -> None:
        self.health = Health(rules)  # rests and the failure breaker
        self.pace = 1.0  # fraction of the quota left, 0..1
        self.pace_until = -math.inf  # clock time the pacing reading goes stale


class DeploymentPool:
    """Health, cooldown and pacing state for a set of deployments, shared by every call of one client.

    Args:
        deployments: one or more :class:`Deployment` with distinct names.
        failure_threshold: the fewest failures (408, 5xx, no response) among a deployment's recent outcomes that
            rest it, when they are also at least half of those outcomes (>= 1; default 2).
        default_cooldown: seconds of a guessed rest: the breaker's first, and a 429's that named no wait (>= 0;
            default 1). A call never waits for a guessed rest.
        clock: monotonic seconds; inject a fake one in tests.
        rng: the source of the weighted choice; pass ``random.Random(seed)`` for deterministic tests.
        pacing_ttl: seconds a remaining-quota reading without a reset header stays trusted.
        failure_window: seconds an outcome counts as recent for the breaker (>= 0; default 5); the last
            ``failure_threshold`` outcomes count whatever their age. ``0`` gives the plain rule
            "``failure_threshold`` failures in a row".
        max_cooldown: the longest a breaker rest grows to, doubling after each failed trial (default 30; never
            below ``default_cooldown``).

    Raises:
        ConfigurationError: no deployments, a non-Deployment item, duplicate names or bad numbers.
    """

    def __init__(
        self,
        deployments: Sequence[Deployment],
        *,
        failure_threshold: int = 2,
        default_cooldown: float = DEFAULT_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        pacing_ttl: float = DEFAULT_PACING_TTL,
        failure_window: float = DEFAULT_FAILURE_WINDOW,
        max_cooldown: float = DEFAULT_MAX_COOLDOWN,
    ) -> None:
        if isinstance(deployments, (str, bytes, Deployment)) or not isinstance(deployments, Sequence):
            raise ConfigurationError("deployments must be a sequence of Deployment")
        items = tuple(deployments)
        if not items:
            raise ConfigurationError("deployments must name at least one Deployment")
        for item in items:
            if not isinstance(item, Deployment):
                raise ConfigurationError(
                    f"deployments must hold Deployment objects; got {type(item).__name__}"
                )
        names = [item.name for item in items]
        duplicates = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(f"Deployment names must be unique; repeated: {', '.join(duplicates)}")
        if (
            isinstance(failure_threshold, bool)
            or not isinstance(failure_threshold, int)
            or failure_threshold < 1
        ):
            raise ConfigurationError(f"failure_threshold must be an int >= 1; got {failure_threshold!r}")
        numbers = {
            "default_cooldown": default_cooldown,
            "pacing_ttl": pacing_ttl,
            "failure_window": failure_window,
            "max_cooldown": max_cooldown,
        }
        for label, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigurationError(f"{label} must be a finite number >= 0; got {value!r}")
            if value < 0:
                raise ConfigurationError(f"{label} must be a finite number >= 0; got {value!r}")
        self.deployments: tuple[Deployment, ...] = items
        self.failure_threshold = failure_threshold
        self.default_cooldown = float(default_cooldown)
        self.pacing_ttl = float(pacing_ttl)
        self.failure_window = float(failure_window)
        self.max_cooldown = float(max_cooldown)
        self._rules = BreakerRules(
            failure_threshold, self.failure_window, self.default_cooldown, self.max_cooldown
        )
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._states = tuple(_State(self._rules) for _ in items)

    def __repr__(self) -> str:
        # getattr: a traceback may render a pool whose __init__ raised before the attribute was set.
        return f"DeploymentPool({[d.name for d in getattr(self, 'deployments', ())]!r})"

    def __len__(self) -> int:
        return len(self.deployments)

    # --- choosing ---------------------------------------------------------------------------------------------

    def pick(self, *, tried: Collection[int] = (), avoid: Collection[int] = ()) -> Pick | WaitFor:
        """Where the next attempt of a call should go.

        Args:
            tried: indexes this call has already sent to; they are chosen only when no other deployment is
                free (a single-deployment pool always answers ``Pick(0)``: the retry rules pace that case).
            avoid: indexes never chosen while any other deployment is left, resting or not (those whose
                credential failed in this call).

        Returns:
            :class:`Pick` with a free deployment, chosen at random in proportion to ``weight`` times the share
            of quota it has left; or, when every deployment is resting, :class:`WaitFor` with ``firm=False`` and
            one resting on a guess alone (untried first, then the one whose guess ends soonest), or else with
            ``firm=True`` and the one whose server-stated rest ends soonest.
        """
        if len(self._states) == 1:
            return Pick(0)
        with self._lock:
            now = self._clock()
            usable: Sequence[int] = range(len(self._states))
            if avoid:
                usable = [i for i in usable if i not in avoid] or usable
            free = [i for i in usable if self._states[i].health.until <= now]
            if not free:
                return self._wait(now, tried, usable)
            fresh = [i for i in free if i not in tried]
            candidates = fresh or free
            weights = [self.deployments[i].weight * self._pace(i, now) for i in candidates]
            if sum(weights) <= 0:  # every candidate reads empty and none says when it refills: plain weights
                weights = [self.deployments[i].weight for i in candidates]
            index = self._rng.choices(candidates, weights=weights)[0]
            self._states[index].health.lend(now)
            return Pick(index)

    def _wait(self, now: float, tried: Collection[int], usable: Sequence[int]) -> WaitFor:
        """Every ``usable`` deployment rests: where to go next, and whether its rest is worth waiting for."""
        health = [state.health for state in self._states]
        # Only a server's stated time is worth a wait; one resting on the pool's guess alone may be tried now.
        guessed = [i for i in usable if health[i].firm_until <= now]
        if guessed:
            candidates = [i for i in guessed if i not in tried] or guessed
            index = min(candidates, key=lambda i: (health[i].guess_until, i))
            health[index].lend(now)
            return WaitFor(seconds=health[index].guess_until - now, index=index, firm=False)
        # The soonest a stated rest ends (a guessed rest running past it will not make the call wait longer).
        index = min(usable, key=lambda i: (health[i].firm_until, i))
        return WaitFor(seconds=health[index].firm_until - now, index=index, firm=True)

    def _pace(self, index: int, now: float) -> float:
        state = self._states[index]
        return state.pace if state.pace_until > now else 1.0

    # --- recording --------------------------------------------------------------------------------------------

    def record_response(
        self, index: int, status: int, headers: Mapping[str, str], retry_after: float | None = None
    ) -> None:
        """Learn from a response (any status) that ``deployments[index]`` sent.

        Args:
            index: which deployment answered.
            status: the HTTP status.
            headers: the response headers (``x-ratelimit-*`` and the retry-after family are read).
            retry_after: the wait the retry rules already computed for this response, if any; otherwise the
                headers are read here with the same rules.
        """
        lowered = lower(headers)
        hint = retry_after
        if hint is None and (status == 429 or status == 408 or status >= 500):
            hint = retry_after_seconds(lowered)
        if hint is None and status == 429:
            hint = reset_after_seconds(lowered)
        reading = quota_reading(lowered)
        with self._lock:
            now = self._clock()
            state = self._states[index]
            health = state.health
            if reading is not None:
                state.pace, rest, refill = reading
                state.pace_until = now + (refill if refill is not None else self.pacing_ttl)
                if rest is not None:  # a counter at 0 with its reset time: stated by the server
                    health.rest(now, rest, firm=True)
            if status == 429:
                health.answered(now)  # the deployment is up and answering; only its quota is spent
                if hint is not None:
                    health.rest(now, hint, firm=True)
                else:
                    health.rest(now, self.default_cooldown, firm=False)
            elif status == 408 or status >= 500:
                health.failed(now, hint)
            elif status < 400:
                health.answered(now)
            # Other 4xx (400, 401, 404, 422...) say nothing about the deployment's health.

    def record_failure(self, index: int) -> None:
        """Learn that an attempt on ``deployments[index]`` got no response (connection error or timeout).

        Counted as a failure, like a 5xx without a stated wait: enough recent failures rest the deployment (the
        circuit breaker: ``failure_threshold``, ``failure_window``, ``max_cooldown``).

        Args:
            index: which deployment the attempt went to (its position in ``deployments``).
        """
        with self._lock:
            self._states[index].health.failed(self._clock(), None)

    def record_credential_failure(self, index: int) -> None:
        """Learn that the credential of ``deployments[index]`` could not get a token, so nothing was sent there.

        Counted as a failure (the breaker), and the deployment rests for ``default_cooldown`` (a guessed rest):
        calls go to the others meanwhile, and ask the credential again once the rest is over.

        Args:
            index: which deployment's credential failed (its position in ``deployments``).
        """
        with self._lock:
            now = self._clock()
            health = self._states[index].health
            health.failed(now, None)
            health.rest(now, self.default_cooldown, firm=False)

    # --- introspection ----------------------------------------------------------------------------------------

    def cooling(self) -> dict[int, float]:
        """Deployments resting now: index -> seconds left."""
        with self._lock:
            now = self._clock()
            return {i: s.health.until - now for i, s in enumerate(self._states) if s.health.until > now}
