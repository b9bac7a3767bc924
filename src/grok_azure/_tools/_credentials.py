"""The client's own credentials, kept out of what a tool's failure sends back to the model or raises.

A tool can quote a credential in its exception (a config dump, a nested client's auth failure). Its text goes to
the model, into the transcript, and into :class:`~grok_azure.ToolCallError`; so it is scrubbed as API errors are:
every credential value the client sends (:func:`~grok_azure._secrets.secret_values` of the requests it would
make), plus credential-shaped text whose value is unknown (JWTs, ``Bearer x``, ``?sig=x``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from .._auth import KeyAuth
from .._secrets import sanitized_cause, scrub_credential_text, scrub_text, secret_values

__all__ = ["Secrets", "client_secrets", "safe_cause", "scrubbed"]

Secrets = Callable[[], list[str]]
"""The credential values to scrub, asked for when a failure is recorded (a token may have been renewed)."""


def client_secrets(client: Any, params: Mapping[str, Any]) -> list[str]:
    """Every credential value ``client`` sends with a call made with ``params``, longest first; no I/O.

    Per deployment: its api key (an ``AzureKeyCredential`` read now, so a rotated key counts), its cached bearer
    token if one was fetched, the secret-named ``default_headers`` / ``extra_headers`` and ``extra_query`` values,
    and the endpoint's URL password or secret query values.
    """
    found: set[str] = set()
    for target in client._targets:
        headers = [*_auth_headers(target.auth), *client.default_headers.items()]
        headers += list((params.get("extra_headers") or {}).items())
        try:
            request = httpx.Request(
                "POST",
                httpx.URL(target.endpoint.chat_completions_url, params=params.get("extra_query") or {}),
                headers=[(k, v) for k, v in headers if isinstance(k, str) and isinstance(v, str)],
            )
        except (TypeError, ValueError):  # httpx refuses a value: the call itself fails, sending nothing
            continue
        found.update(secret_values(request))
    return sorted(found, key=len, reverse=True)


def _auth_headers(auth: Any) -> list[tuple[str, str]]:
    """The auth headers sent now, known without I/O: a key's header, or the cached token (not fetched here)."""
    if isinstance(auth, KeyAuth):
        return list(auth.headers().items())  # reads the key (or the AzureKeyCredential's current one): no I/O
    cached = getattr(getattr(auth, "_policy", None), "_current", None)  # TokenPolicy's cache (may be None)
    token = getattr(cached, "value", None)
    return [("Authorization", f"Bearer {token}")] if isinstance(token, str) else []


def scrubbed(text: str, secrets: list[str]) -> str:
    """``text`` without ``secrets`` and without credential-shaped parts."""
    return scrub_credential_text(scrub_text(text, secrets))


def safe_cause(exc: BaseException | None, secrets: list[str]) -> BaseException | None:
    """What a :class:`~grok_azure.ToolCallError` chains: the tool's own exception (traceback and all, for
    debugging) when nothing in it or its chain quotes a credential; otherwise a credential-free stand-in of the
    same type and scrubbed message, without traceback or chain (:func:`~grok_azure._secrets.sanitized_cause`)."""
    if exc is None or not any(_quotes_credential(item, secrets) for item in _chain(exc)):
        return exc
    stand_in = sanitized_cause(exc)
    stand_in.args = tuple(scrubbed(str(arg), secrets) for arg in stand_in.args)
    return stand_in


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is not None and id(item) not in seen:
            seen.add(id(item))
            yield item
            stack += [item.__cause__, item.__context__]


def _quotes_credential(exc: BaseException, secrets: list[str]) -> bool:
    try:
        # Notes too (add_note): a traceback prints them under the message.
        texts = (str(exc), repr(exc.args), *map(str, getattr(exc, "__notes__", None) or ()))
    except Exception:  # a broken __str__ / __repr__: what it would show is unknown, so use the stand-in
        return True
    return any(scrubbed(text, secrets) != text for text in texts)
