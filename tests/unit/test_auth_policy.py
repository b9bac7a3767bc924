"""TokenPolicy on a fake clock: the time rules (margin, back-off, expiry) that the client tests cannot wait for."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from azure.core.credentials import AccessToken, AccessTokenInfo

from grok_azure._token_policy import (
    REFRESH_MARGIN_SECONDS,
    REFRESH_RETRY_DELAY_SECONDS,
    Fetch,
    Plan,
    TokenPolicy,
    challenge_claims,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(plan: Plan[threading.Event, Any], answers: list[Any]) -> tuple[Any, int]:
    """Drive ``plan``, answering each Fetch from ``answers``; return its result and how many fetches it made."""
    fetches = 0
    try:
        step = next(plan)
        while True:
            assert isinstance(step, Fetch)
            fetches += 1
            step = plan.send(answers.pop(0))
    except StopIteration as done:
        return done.value, fetches


def test_tokens_are_reused_until_the_margin_then_refreshed_with_back_off_and_never_past_expiry() -> None:
    clock = Clock()
    policy = TokenPolicy(threading.Event, clock)
    expires = clock.now + 3600
    assert run(policy.token(), [AccessToken("a", int(expires))]) == ("a", 1)
    clock.now = expires - REFRESH_MARGIN_SECONDS - 1
    assert run(policy.token(), []) == ("a", 0)
    clock.now = expires - REFRESH_MARGIN_SECONDS
    # Due: this caller asks; the credential only has the same short-lived token.
    assert run(policy.token(), [AccessToken("a", int(expires))]) == ("a", 1)
    clock.now += REFRESH_RETRY_DELAY_SECONDS - 1
    assert run(policy.token(), []) == ("a", 0)  # backing off
    clock.now += 1
    assert run(policy.token(), [AccessToken("a", int(expires))]) == ("a", 1)  # tries again
    clock.now = expires  # expired: never sent, whatever the back-off says
    assert run(policy.token(), [AccessToken("b", int(expires + 3600))]) == ("b", 1)


def test_refresh_on_wins_when_it_is_earlier_than_the_margin() -> None:
    clock = Clock()
    policy = TokenPolicy(threading.Event, clock)
    info = AccessTokenInfo("a", int(clock.now + 3600), refresh_on=int(clock.now + 60))
    run(policy.token(), [info])
    clock.now += 59
    assert run(policy.token(), []) == ("a", 0)
    clock.now += 1
    assert run(policy.token(), [AccessToken("b", int(clock.now + 3600))]) == ("b", 1)


def test_a_token_the_credential_insisted_on_is_not_asked_about_again_until_the_delay_passes() -> None:
    clock = Clock()
    policy = TokenPolicy(threading.Event, clock)
    token = AccessToken("a", int(clock.now + 3600))
    run(policy.token(), [token])
    sent = httpx.Headers({"Authorization": "Bearer a"})
    assert run(policy.after_unauthorized(sent, None), [token]) == (False, 1)
    assert run(policy.after_unauthorized(sent, None), []) == (False, 0)
    # A claims challenge is a new question: ask it.
    assert run(policy.after_unauthorized(sent, '{"x":1}'), [AccessToken("b", int(clock.now + 3600))]) == (
        True,
        1,
    )


def test_challenge_parsing_is_bounded_and_picks_the_bearer_claims() -> None:
    assert challenge_claims(httpx.Headers({"WWW-Authenticate": 'Bearer claims="e30"'})) == "{}"
    assert (
        challenge_claims(httpx.Headers({"WWW-Authenticate": 'Basic claims="e30", Bearer realm=""'})) is None
    )
    assert (
        challenge_claims(httpx.Headers({"WWW-Authenticate": 'Bearer claims="' + "A" * 20_000 + '"'})) is None
    )
    assert challenge_claims(httpx.Headers({"WWW-Authenticate": 'Bearer claims="/w"'})) is None  # not UTF-8
    assert challenge_claims(httpx.Headers()) is None
