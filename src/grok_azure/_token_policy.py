"""When to ask the credential for a token: every decision of the Entra ID auth, free of I/O.

:class:`TokenPolicy` decides; :class:`~grok_azure._auth.SyncTokenAuth` and
:class:`~grok_azure._auth.AsyncTokenAuth` only carry out its steps (ask the credential, or wait for another
caller's answer), so the two clients cannot drift apart. A decision is a generator (a :data:`Plan`) that yields
:class:`Fetch` and :class:`Wait` steps and receives their outcomes.

The rules:

* A token is reused until its refresh time: five minutes before it expires, or the ``refresh_on`` azure-identity
  suggests, whichever comes first. A token at or past its expiry is never used.
* Between its refresh time and its expiry, one caller asks the credential again while the others keep using the
  still-valid token. If that attempt fails, or the credential hands back another short-lived token, nobody asks
  again for :data:`REFRESH_RETRY_DELAY_SECONDS` (as azure-identity backs off), so a credential that only has
  short-lived tokens is not asked on every request.
* Without a usable token, one caller asks the credential and the others wait for its answer, success or failure.
* After a 401, the credential is asked again only if the cache still holds the rejected token (otherwise another
  caller already replaced it, and the request is resent with the new one). Callers rejected with the same token
  wait for that one refresh. The claims of a ``WWW-Authenticate: Bearer ... claims="..."`` challenge (continuous
  access evaluation) go to the credential, which makes azure-identity bypass its own cache. If the credential
  still returns the rejected token, the request is not resent, and that answer is remembered for
  :data:`REFRESH_RETRY_DELAY_SECONDS` so further 401s with it do not ask again.
* A bare ``() -> str`` provider gives no expiry: it is asked for every request (concurrent requests share one
  call), and caches for itself.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ._errors import CredentialError

__all__ = [
    "REFRESH_MARGIN_SECONDS",
    "REFRESH_RETRY_DELAY_SECONDS",
    "Failure",
    "Fetch",
    "Outcome",
    "Plan",
    "TokenPolicy",
    "Wait",
    "challenge_claims",
]

REFRESH_MARGIN_SECONDS = 300.0
# azure-identity's DEFAULT_TOKEN_REFRESH_RETRY_DELAY: how long a refresh attempt holds off the next one.
REFRESH_RETRY_DELAY_SECONDS = 30.0


class Event(Protocol):
    """What a waiter waits on: ``threading.Event`` for the sync client, ``asyncio.Event`` for the async one."""

    def set(self) -> None: ...


E = TypeVar("E", bound=Event)
R = TypeVar("R")


class TokenLike(Protocol):
    """An azure.core ``AccessToken`` or ``AccessTokenInfo`` (which adds ``refresh_on``)."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


@dataclass(frozen=True)
class Failure:
    """The credential raised: what to tell the caller, with the original already reduced to a safe stand-in.

    ``interrupt`` is set for a ``KeyboardInterrupt`` or a cancellation, which must escape as itself.
    """

    error: CredentialError | None = None
    interrupt: BaseException | None = None


# What carrying out a step produced: the credential's answer (a token, or a bare string from a provider), a
# Failure, or None after a Wait.
Outcome = TokenLike | str | Failure | None


@dataclass(eq=False)
class _Flight(Generic[E]):
    """One call to the credential, whose answer the callers that need it wait for."""

    event: E
    claims: str | None
    proactive: bool  # the cached token stays usable meanwhile: its failure is not the caller's
    rejected: str | None = field(default=None, repr=False)  # the token a 401 refused, when replacing it
    token: str | None = field(default=None, repr=False)
    error: CredentialError | None = None
    done: bool = False


@dataclass(frozen=True)
class Fetch(Generic[E]):
    """Ask the credential for a token (with ``claims`` when set) and send back the Outcome."""

    flight: _Flight[E]

    @property
    def claims(self) -> str | None:
        return self.flight.claims


@dataclass(frozen=True)
class Wait(Generic[E]):
    """Wait until ``flight.event`` is set (another caller is asking the credential), then send back None."""

    flight: _Flight[E]


Step = Fetch[E] | Wait[E]
Plan = Generator[Step[E], Outcome, R]


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_on: float | None  # None: a bare provider's token, never reused
    refresh_at: float


class TokenPolicy(Generic[E]):
    """The token cache and every rule about when to ask the credential; thread-safe, and does no I/O.

    Args:
        new_event: makes the event a :class:`Fetch` sets for its waiters (``threading.Event`` or
            ``asyncio.Event``).
        clock: the time in seconds since the epoch (the credential's ``expires_on`` is on that clock).
    """

    def __init__(self, new_event: Callable[[], E], clock: Callable[[], float] = time.time) -> None:
        self._new_event = new_event
        self._clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held across I/O
        self._current: _Token | None = None
        self._flight: _Flight[E] | None = None
        self._hold_refresh_until = 0.0
        self._insisted: tuple[str, str | None, float] | None = None  # (token, claims, until)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cached={self._current is not None})"

    # -- plans: what the auth classes drive ---------------------------------------------------------------

    def token(self) -> Plan[E, str]:
        """The token to send now."""
        while True:
            step = self._token_step()
            if isinstance(step, str):
                return step
            if isinstance(step, Fetch):
                return self._finish(step.flight, (yield step))
            self._check_wait((yield step))
            token = self._joined(step.flight)
            if token is not None:
                return token

    def after_unauthorized(self, sent_headers: Mapping[str, str], claims: str | None) -> Plan[E, bool]:
        """After a 401 to a request sent with ``sent_headers``: True when resending it with a new token is worth it."""
        while True:
            step = self._unauthorized_step(sent_headers, claims)
            if isinstance(step, bool):
                return step
            if isinstance(step, Fetch):
                # The comparison runs inside the policy: no frame on an error's path holds a token.
                return self._finish_replacement(step.flight, (yield step))
            self._check_wait((yield step))
            self._joined(step.flight)

    # -- decisions ----------------------------------------------------------------------------------------

    def _token_step(self) -> str | Step[E]:
        now = self._clock()
        with self._lock:
            current, flight = self._current, self._flight
            if current is not None and current.expires_on is not None and now < current.expires_on:
                if now < current.refresh_at or now < self._hold_refresh_until or flight is not None:
                    return current.value
                self._hold_refresh_until = now + REFRESH_RETRY_DELAY_SECONDS
                return Fetch(self._launch(None, proactive=True))
            if flight is not None:
                return Wait(flight)
            return Fetch(self._launch(None, proactive=False))

    def _unauthorized_step(self, sent_headers: Mapping[str, str], claims: str | None) -> bool | Step[E]:
        now = self._clock()
        with self._lock:
            if self._flight is not None:
                return Wait(self._flight)
            current = self._current
            sent = _bearer(sent_headers)
            if current is None or sent is None or current.value != sent:
                return True  # another caller already replaced the rejected token
            insisted = self._insisted
            if insisted is not None and insisted[:2] == (sent, claims) and now < insisted[2]:
                return False  # the credential just gave this very token back when asked for a new one
            self._current = None  # never hand out the rejected token while its replacement is fetched
            flight = self._launch(claims, proactive=False)
            flight.rejected = sent
            return Fetch(flight)

    def _launch(self, claims: str | None, *, proactive: bool) -> _Flight[E]:
        flight = _Flight(self._new_event(), claims, proactive)
        self._flight = flight
        return flight

    # -- outcomes -----------------------------------------------------------------------------------------

    def _finish(self, flight: _Flight[E], outcome: Outcome) -> str:
        """Record the answer to ``flight``, wake its waiters, and return the token (or raise)."""
        failure = outcome if isinstance(outcome, Failure) else None
        token = None if failure is not None else _store(outcome, self._clock())
        if isinstance(token, CredentialError):
            failure, token = Failure(token), None
        with self._lock:
            if token is not None:
                self._current = token
                flight.token = token.value
            elif failure is not None and failure.error is not None and not flight.proactive:
                flight.error = failure.error
            flight.done = True
            self._flight = None
            current = self._current
            usable = (
                current is not None and current.expires_on is not None and self._clock() < current.expires_on
            )
        flight.event.set()
        if token is not None:
            return token.value
        assert failure is not None
        if failure.interrupt is not None:
            raise failure.interrupt
        if flight.proactive and usable:
            assert current is not None
            return current.value  # the old token is still valid: its owner keeps it and tries again later
        assert failure.error is not None
        raise _fresh(failure.error)

    def _finish_replacement(self, flight: _Flight[E], outcome: Outcome) -> bool:
        token = self._finish(flight, outcome)
        if token != flight.rejected:
            return True
        with self._lock:
            self._insisted = (token, flight.claims, self._clock() + REFRESH_RETRY_DELAY_SECONDS)
        return False

    def _joined(self, flight: _Flight[E]) -> str | None:
        """After waiting for ``flight``: its token, its failure raised, or None to decide again."""
        if flight.error is not None:
            raise _fresh(flight.error)
        return flight.token

    @staticmethod
    def _check_wait(outcome: Outcome) -> None:
        if isinstance(outcome, Failure) and outcome.interrupt is not None:
            raise outcome.interrupt


def _store(outcome: Outcome, now: float) -> _Token | CredentialError:
    if isinstance(outcome, str):
        if not outcome:
            return CredentialError("The credential returned an empty token; nothing was sent.")
        return _Token(outcome, None, now)
    value = getattr(outcome, "token", None)
    expires_on = getattr(outcome, "expires_on", None)
    if not isinstance(value, str) or not value or not isinstance(expires_on, (int, float)):
        return CredentialError(
            "The credential returned no token (expected an AccessToken with a token and expires_on); "
            "nothing was sent."
        )
    if expires_on <= now:
        return CredentialError("The credential returned an expired token; nothing was sent.")
    refresh_at = expires_on - REFRESH_MARGIN_SECONDS
    refresh_on = getattr(outcome, "refresh_on", None)
    if isinstance(refresh_on, (int, float)) and refresh_on:
        refresh_at = min(refresh_at, refresh_on)
    return _Token(value, float(expires_on), refresh_at)


def _fresh(error: CredentialError) -> CredentialError:
    """A new exception per raise: one object raised in several threads would share (and grow) a traceback."""
    copy = CredentialError(error.message)
    copy.__cause__ = error.__cause__
    return copy


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization")
    if value is None or value[:7].lower() != "bearer ":
        return None
    return value[7:]


# One auth-param of a challenge: name=token or name="quoted string" (RFC 9110, section 11.2).
_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*,?')
_SCHEME = re.compile(r"\s*,?\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+|$)")
_MAX_CHALLENGE_CHARS = 16_384  # a CAE challenge is well under 1 KiB; ignore anything absurd


def challenge_claims(headers: Mapping[str, str]) -> str | None:
    """The decoded ``claims`` of a ``WWW-Authenticate: Bearer`` challenge, or None.

    As azure-core's bearer policy does, the base64url value (padding optional) is decoded to the JSON text the
    credential expects as ``claims``. A challenge that cannot be parsed or decoded counts as no challenge.
    """
    header = headers.get("www-authenticate") or headers.get("WWW-Authenticate")
    if not header or len(header) > _MAX_CHALLENGE_CHARS:
        return None
    params = _bearer_params(header)
    encoded = params.get("claims")
    if not encoded:
        return None
    try:
        claims = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return claims or None


def _bearer_params(header: str) -> dict[str, str]:
    """The parameters of the Bearer challenge in a WWW-Authenticate header (which may hold several)."""
    position, scheme = 0, ""
    params: dict[str, str] = {}
    while position < len(header):
        param = _PARAM.match(header, position)
        if param is not None and scheme:
            name, value = param.group(1).lower(), param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            if scheme == "bearer":
                params.setdefault(name, value)
            position = param.end()
            continue
        found = _SCHEME.match(header, position)
        if found is None or found.end() == position:
            break
        if scheme == "bearer":
            break  # the next challenge starts: the Bearer one is complete
        scheme, position = found.group(1).lower(), found.end()
    return params
