"""Several deployments of one model: which to call next, and which to rest (no I/O).

A :class:`DeploymentPool` holds the health and quota state of each :class:`Deployment` for one client. The call
loop asks :meth:`DeploymentPool.pick` where to send an attempt and reports every outcome back with
:meth:`~DeploymentPool.record_response` or :meth:`~DeploymentPool.record_failure`. The rules (see
``docs/failover.md``):

- **Cooldown.** A 429 rests the deployment for the wait the server asked for (``retry-after-ms``,
  ``x-ms-retry-after-ms``, ``retry-after``, else ``x-ratelimit-reset-*``, else ``default_cooldown``).
  ``failure_threshold`` consecutive 408/5xx responses or connection failures rest it for ``default_cooldown`` (or
  the server's retry-after, when it sent one). A success resets the count. A cooldown ends by the clock.
- **Pacing.** Every response's ``x-ratelimit-remaining-requests`` / ``-tokens`` against ``x-ratelimit-limit-*``
  scale the deployment's ``weight``: at 10 % of its quota left it gets 10 % of its share. ``-1`` means unknown.
  A counter at 0 with a reset header rests the deployment until the reset.
- **Failover.** ``pick`` prefers deployments not yet tried in the current call; when every deployment is resting
  it answers :class:`WaitFor` with the soonest one.

State changes happen under one :class:`threading.Lock` held for a few arithmetic operations, never across I/O or
an ``await``, so one pool serves threads and asyncio tasks alike.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._auth import is_key_credential
from ._endpoint import resolve_endpoint
from ._errors import ConfigurationError
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
_KINDS = ("requests", "tokens")

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _parse_duration(value: str) -> float | None:
    """Seconds from ``"1"``, ``"0.5"``, ``"20ms"``, ``"6m0s"`` or ``"1h2m3.5s"``; ``None`` if unparsable."""
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if match is None:
                return None
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
    return seconds if math.isfinite(seconds) else None


def _header(lowered: Mapping[str, str], name: str) -> float | None:
    raw = lowered.get(name)
    return None if raw is None else _parse_duration(raw)


def _counter(lowered: Mapping[str, str], name: str) -> float | None:
    """A rate-limit counter, or ``None`` when missing, unparsable or negative (``-1`` is Azure's "unknown")."""
    raw = lowered.get(name)
    if raw is None:
        return None
    try:
        number = float(raw.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _exhausted(lowered: Mapping[str, str], kind: str) -> bool:
    """Whether the ``kind`` counter really is at zero (``0`` of a limit of ``0`` is a placeholder, not a quota)."""
    remaining = _counter(lowered, f"x-ratelimit-remaining-{kind}")
    limit = _counter(lowered, f"x-ratelimit-limit-{kind}")
    return remaining == 0 and limit != 0


def reset_after_seconds(headers: Mapping[str, str]) -> float | None:
    """When the exhausted quota refills, from ``x-ratelimit-reset-requests`` / ``-tokens``, in seconds.

    Values may be seconds (``"1"``, ``"0.5"``) or duration strings (``"6m0s"``, ``"1s"``, ``"20ms"``). When the
    remaining-headers say which counter ran out, only that counter's reset counts; otherwise the longest reset
    given (the one that surely frees the quota). Zero, negative (``-1``), unparsable or missing values give
    ``None``: such a header is no hint, and never means "wait forever".

    Args:
        headers: the response headers (names case-insensitive).
    """
    lowered = _lower(headers)
    resets = {kind: _header(lowered, f"x-ratelimit-reset-{kind}") for kind in _KINDS}
    usable = {kind: value for kind, value in resets.items() if value is not None and value > 0}
    exhausted = [usable[kind] for kind in _KINDS if kind in usable and _exhausted(lowered, kind)]
    chosen = exhausted or list(usable.values())
    return max(chosen) if chosen else None


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
    """Every candidate is resting; ``deployments[index]`` is the soonest free, in ``seconds``."""

    seconds: float
    index: int


class _State:
    """Mutable per-deployment state; touched only under the pool's lock."""

    __slots__ = ("cool_until", "failures", "pace", "pace_until")

    def __init__(self) -> None:
        self.cool_until = -math.inf  # clock time the cooldown ends
        self.failures = 0  # consecutive 408/5xx/connection failures
        self.pace = 1.0  # fraction of the quota left, 0..1
        self.pace_until = -math.inf  # clock time the pacing reading goes stale


class DeploymentPool:
    """Health, cooldown and pacing state for a set of deployments, shared by every call of one client.

    Args:
        deployments: one or more :class:`Deployment` with distinct names.
        failure_threshold: consecutive 408/5xx responses or connection failures that rest a deployment (>= 1).
        default_cooldown: seconds a deployment rests after those failures, or after a 429 that named no wait.
        clock: monotonic seconds; inject a fake one in tests.
        rng: the source of the weighted choice; pass ``random.Random(seed)`` for deterministic tests.
        pacing_ttl: seconds a remaining-quota reading without a reset header stays trusted.

    Raises:
        ConfigurationError: no deployments, a non-Deployment item, duplicate names or bad numbers.
    """

    def __init__(
        self,
        deployments: Sequence[Deployment],
        *,
        failure_threshold: int = 2,
        default_cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        pacing_ttl: float = DEFAULT_PACING_TTL,
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
        for label, value in (("default_cooldown", default_cooldown), ("pacing_ttl", pacing_ttl)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigurationError(f"{label} must be a finite number >= 0; got {value!r}")
            if value < 0:
                raise ConfigurationError(f"{label} must be a finite number >= 0; got {value!r}")
        self.deployments: tuple[Deployment, ...] = items
        self.failure_threshold = failure_threshold
        self.default_cooldown = float(default_cooldown)
        self.pacing_ttl = float(pacing_ttl)
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._states = tuple(_State() for _ in items)

    def __repr__(self) -> str:
        # getattr: a traceback may render a pool whose __init__ raised before the attribute was set.
        return f"DeploymentPool({[d.name for d in getattr(self, 'deployments', ())]!r})"

    def __len__(self) -> int:
        return len(self.deployments)

    # --- choosing ---------------------------------------------------------------------------------------------

    def pick(self, *, tried: Collection[int] = ()) -> Pick | WaitFor:
        """Where the next attempt of a call should go.

        Args:
            tried: indexes this call has already sent to; they are chosen only when no other deployment is
                free (a single-deployment pool always answers ``Pick(0)``: the retry rules pace that case).

        Returns:
            :class:`Pick` with a free deployment, chosen at random in proportion to ``weight`` times the share
            of quota it has left; or :class:`WaitFor` the soonest free one when every deployment is resting.
        """
        if len(self._states) == 1:
            return Pick(0)
        with self._lock:
            now = self._clock()
            free = [i for i, state in enumerate(self._states) if state.cool_until <= now]
            if not free:
                soonest = min(range(len(self._states)), key=lambda i: (self._states[i].cool_until, i))
                return WaitFor(seconds=self._states[soonest].cool_until - now, index=soonest)
            fresh = [i for i in free if i not in tried]
            candidates = fresh or free
            weights = [self.deployments[i].weight * self._pace(i, now) for i in candidates]
            if sum(weights) <= 0:  # every candidate reads empty and none says when it refills: plain weights
                weights = [self.deployments[i].weight for i in candidates]
            return Pick(self._rng.choices(candidates, weights=weights)[0])

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
        lowered = _lower(headers)
        hint = retry_after
        if hint is None and (status == 429 or status == 408 or status >= 500):
            hint = retry_after_seconds(lowered)
        if hint is None and status == 429:
            hint = reset_after_seconds(lowered)
        reading = self._reading(lowered)
        with self._lock:
            now = self._clock()
            state = self._states[index]
            if reading is not None:
                state.pace, rest, refill = reading
                state.pace_until = now + (refill if refill is not None else self.pacing_ttl)
                if rest is not None:
                    state.cool_until = max(state.cool_until, now + rest)
            if status == 429:
                state.failures = 0  # the server is alive and answering; only the quota is spent
                wait = hint if hint is not None else self.default_cooldown
                state.cool_until = max(state.cool_until, now + wait)
            elif status == 408 or status >= 500:
                self._fail(state, now, hint)
            elif status < 400:
                state.failures = 0

    def record_failure(self, index: int) -> None:
        """Learn that an attempt on ``deployments[index]`` got no response (connection error or timeout)."""
        with self._lock:
            self._fail(self._states[index], self._clock(), None)

    def _fail(self, state: _State, now: float, hint: float | None) -> None:
        state.failures += 1
        # The count is kept at the threshold after a cooldown, so the first failure after it rests the deployment
        # again at once (a circuit breaker's half-open trial); one success clears it.
        if state.failures >= self.failure_threshold:
            state.failures = self.failure_threshold
            wait = hint if hint is not None else self.default_cooldown
            state.cool_until = max(state.cool_until, now + wait)

    @staticmethod
    def _reading(lowered: Mapping[str, str]) -> tuple[float, float | None, float | None] | None:
        """(share of quota left, rest until refill if a counter is at zero, seconds the reading holds), or None."""
        shares: list[float] = []
        rests: list[float] = []
        refills: list[float] = []
        for kind in _KINDS:
            remaining = _counter(lowered, f"x-ratelimit-remaining-{kind}")
            limit = _counter(lowered, f"x-ratelimit-limit-{kind}")
            reset = _header(lowered, f"x-ratelimit-reset-{kind}")
            reset = reset if reset is not None and reset > 0 else None
            if remaining is None or limit == 0:
                continue  # -1 / missing / 0-of-0: unknown, not empty
            if limit is not None:
                shares.append(min(1.0, remaining / limit))
                if reset is not None:
                    refills.append(reset)
            if remaining == 0 and reset is not None:
                rests.append(reset)
        if not shares and not rests:
            return None
        share = min(shares) if shares else 1.0
        return share, (max(rests) if rests else None), (min(refills) if refills else None)

    # --- introspection ----------------------------------------------------------------------------------------

    def cooling(self) -> dict[int, float]:
        """Deployments resting now: index -> seconds left."""
        with self._lock:
            now = self._clock()
            return {i: s.cool_until - now for i, s in enumerate(self._states) if s.cool_until > now}
