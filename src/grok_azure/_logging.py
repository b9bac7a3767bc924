"""The SDK's logging: one line per attempt under the ``grok_azure`` logger, and a filter that keeps credentials out.

- INFO: one line per attempt (route, deployment, status or failure, attempt, wait, request ids, duration).
- DEBUG: the request's headers (credentials redacted), body sizes, the retry decisions; and the messages and the
  completion only when ``GROK_AZURE_LOG_CONTENT`` is true.
- ``GROK_AZURE_LOG=info|debug`` (read when the client module is imported) attaches a stderr handler at that level;
  otherwise records go wherever the application's ``logging`` configuration sends them.

Credentials never reach a record: :class:`RedactingFilter` sits on the SDK's logger and on those of the libraries
it drives (httpx, httpcore, aiohttp, azure-identity), and scrubs API keys this process configured, bearer tokens,
JWTs and secret-named query values from every record they log.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import weakref
from typing import TYPE_CHECKING, Any

import httpx

from ._error_mapping import service_request_id
from ._hooks import CallInfo, Hook
from ._secrets import (
    MIN_SECRET_LEN,
    REDACTED,
    hide_secret_values,
    scrub_credential_text,
    scrub_text,
    scrubbed_headers,
    secret_values,
)

if TYPE_CHECKING:
    from ._errors import GrokError
    from .types.chat_completion import ChatCompletion

__all__ = ["LOG_HOOK", "RedactingFilter", "remember_key"]

logger = logging.getLogger("grok_azure")

# Loggers whose records may quote a request (a URL with a query, a header): the filter sits on each of them and on
# every existing logger below them (a logger's filters do not see its children's records; azure-identity logs under
# its module names, `azure.identity._credentials.managed_identity`...).
GUARDED_PREFIXES = ("grok_azure", "httpx", "httpcore", "aiohttp", "azure")
# The loggers those libraries log to by name (guarded even before the library is imported).
GUARDED_LOGGERS = (
    *GUARDED_PREFIXES,
    "grok_azure.emulator",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "azure.identity",
    "azure.core.pipeline.policies.http_logging_policy",
)
# `api-key: value`, `'authorization': 'Bearer value'`, `(b'api-key', b'value')`: the value (and a scheme word
# before it) of a credential header quoted in text. The b of a bytes literal is lower case only.
_HEADER_PAIR_RE = re.compile(
    r"((?i:api-key|ocp-apim-subscription-key|authorization|x-api-key)['\"]?\s*[:=,]\s*b?['\"]?)"
    r"(?!\[redacted\])(?i:(?:bearer|basic|sharedkey)\s+)?([^'\"\s,;&)}\]]+)"
)
# The key auths of the clients this process built (each registers itself): their keys are the one shape no pattern
# recognises. Weak: a client gone takes its key out; read when a record is scrubbed, so a rotated
# AzureKeyCredential's new key is scrubbed too.
_KEY_SOURCES: weakref.WeakSet[Any] = weakref.WeakSet()


def remember_key(auth: Any) -> None:
    """Scrub ``auth``'s key (``auth.headers()``'s values) from every guarded record while ``auth`` lives."""
    _KEY_SOURCES.add(auth)


def _known_keys() -> list[str]:
    keys = []
    for auth in list(_KEY_SOURCES):
        try:
            keys += [value for value in auth.headers().values() if len(value) >= MIN_SECRET_LEN]
        except Exception:  # a credential that fails to give its key has none to hide now
            continue
    return keys


def redact(text: str) -> str:
    """``text`` without configured keys, ``api-key: x`` pairs, bearer tokens, JWTs and secret query values."""
    keys = _known_keys()
    if keys:  # a short key (< MIN_SECRET_LEN) is left out: it would mangle any text
        text = scrub_text(text, keys)
    # The shapes first: a header pair's rewrite must not hide a scheme word the token patterns look for.
    text = scrub_credential_text(text)
    return _HEADER_PAIR_RE.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record whose rendered message, exception or stack holds a credential; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: rendered and scrubbed once here, the traceback never shows the original.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_FILTER = RedactingFilter()


def guard_loggers() -> None:
    """Put the redacting filter on the guarded loggers and on every logger created below them so far.

    Run when this module loads and again when a client is built (by then, the credential's modules have made
    their loggers).
    """
    names = [*GUARDED_LOGGERS]
    names += [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(GUARDED_PREFIXES) and name.split(".", 1)[0] in GUARDED_PREFIXES
    ]
    for name in names:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


def configure_from_env(environ: Any = os.environ) -> None:
    """``GROK_AZURE_LOG=info|debug``: a stderr handler on the ``grok_azure`` logger at that level."""
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(str(environ.get("GROK_AZURE_LOG", "")).lower())
    if level is None:
        return
    logger.setLevel(level)
    if not any(getattr(h, "_grok_azure_env", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler._grok_azure_env = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def content_logging(environ: Any = os.environ) -> bool:
    return str(environ.get("GROK_AZURE_LOG_CONTENT", "")).lower() in {"1", "true", "yes", "on"}


_STARTED = object()  # this hook's key in CallInfo.state


class _LogHook(Hook):
    """The SDK's own logging, as a hook: included in a call when the ``grok_azure`` logger logs INFO."""

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        call.state[_STARTED] = time.perf_counter()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request %s attempt=%d %s %s headers=%s body_bytes=%d",
                call.request_id,
                call.attempt,
                request.method,
                redact(str(request.url)),
                dict(hide_secret_values(request.headers)),
                len(request.content),
            )
            if content_logging():
                logger.debug("request %s messages=%s", call.request_id, call.body.get("messages"))

    def on_response(self, response: httpx.Response, call: CallInfo) -> None:
        headers = response.headers
        logger.info(
            "%s %s -> %d attempt=%d wait=%.2fs duration=%.3fs request_id=%s apim-request-id=%s",
            call.route,
            call.deployment or call.model,
            response.status_code,
            call.attempt,
            call.wait,
            self._duration(call),
            call.request_id,
            service_request_id(headers) or "-",
        )
        if logger.isEnabledFor(logging.DEBUG):
            # Scrubbed of what the request carried too (an extra_headers key, a sig query value) that the service
            # echoed in a header, as the errors for such a response are.
            shown = scrubbed_headers(response.headers, secret_values(response.request))
            logger.debug("response %s headers=%s", call.request_id, dict(hide_secret_values(shown)))

    def on_error(self, error: GrokError, call: CallInfo) -> None:
        if getattr(error, "status_code", None) is not None:
            return  # its status was logged with the response
        logger.info(
            "%s %s -> %s attempt=%d wait=%.2fs duration=%.3fs request_id=%s",
            call.route,
            call.deployment or call.model,
            type(error).__name__,
            call.attempt,
            call.wait,
            self._duration(call),
            call.request_id,
        )

    def on_retry(self, error: GrokError, wait: float, call: CallInfo) -> None:
        logger.debug(
            "retry %s after attempt %d (%s): next attempt in %.2fs",
            call.request_id,
            call.attempt,
            type(error).__name__,
            wait,
        )

    def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
        # A failed call gets a line of its own: the attempts' lines do not show a stream that broke after its first
        # chunk.
        if error is not None:
            logger.warning(
                "call %s failed after %d attempt(s): %s", call.request_id, call.attempt, type(error).__name__
            )
        if not logger.isEnabledFor(logging.DEBUG):
            return
        outcome = type(error).__name__ if error is not None else ("completed" if completion else "closed")
        logger.debug(
            "call %s %s after %d attempt(s), %.3fs",
            call.request_id,
            outcome,
            call.attempt,
            time.perf_counter() - call.started,
        )
        if completion is not None and content_logging():
            logger.debug("call %s completion=%s", call.request_id, completion.text)

    @staticmethod
    def _duration(call: CallInfo) -> float:
        started = call.state.get(_STARTED)
        return time.perf_counter() - started if started is not None else 0.0


LOG_HOOK = _LogHook()


guard_loggers()
configure_from_env()
