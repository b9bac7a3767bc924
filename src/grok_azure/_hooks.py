"""Hooks: one small middleware interface that runs inside the call loop, for both clients.

A :class:`Hook` sees every attempt of a call (the request before it is sent, the response, the failure, the
decision to retry) and the call's end (its completion, or its final error). The SDK's own logging and the
OpenTelemetry tracing of :mod:`grok_azure.otel` are hooks too, and ``RetryPolicy(on_retry=...)`` is dispatched
through the same path.

The loop (``_call_flow``) only asks :class:`CallObserver` to dispatch; with no hook, no logging and no
``on_retry``, a call has no observer and pays for none of this.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ._errors import GrokError, HookError

if TYPE_CHECKING:
    from ._call_flow import Target
    from .types.chat_completion import ChatCompletion

__all__ = ["CallInfo", "CallObserver", "Hook", "HookSet", "check_hooks", "observing"]

_log = logging.getLogger("grok_azure")


class Hook:
    """Subclass and override the methods you need; the base methods do nothing.

    Every method runs on the caller's thread (the event loop, for :class:`~grok_azure.AsyncGrokClient`), inside
    the call: keep it quick and never block. A method that raises ends the call with :class:`~grok_azure.HookError`
    (the hook's exception is its ``__cause__``), except :meth:`on_end` of a call that already failed, whose
    error stands (the hook's failure is logged).

    Pass hooks as ``GrokClient(hooks=[...])`` or ``client.with_options(hooks=[...])``.
    """

    def on_request(self, request: httpx.Request, call: CallInfo) -> None:
        """Before each attempt is sent (a retry or failover sends a new request).

        Args:
            request: the request about to be sent; add or change headers in ``request.headers``. It carries the
                credentials: never log its headers unredacted.
            call: the call, with ``call.attempt`` the number of this attempt (1 for the first).
        """

    def on_response(self, response: httpx.Response, call: CallInfo) -> None:
        """When an attempt gets an answer, whatever its status (a stream's before its body is read).

        Args:
            response: the answer; its body is read unless it is a 2xx stream.
            call: the call.
        """

    def on_error(self, error: GrokError, call: CallInfo) -> None:
        """When an attempt fails: an error status, a connection or timeout failure, a body that could not be read,
        a stream that broke before its first chunk. (A stream that breaks later is no failed attempt: the call ends,
        and :meth:`on_end` gets its error.)

        Args:
            error: the attempt's error (what the call raises if it is not retried).
            call: the call.
        """

    def on_retry(self, error: GrokError, wait: float, call: CallInfo) -> None:
        """When the call will try again (on the same deployment, or another one: a failover), before the wait.

        Args:
            error: the failed attempt's error.
            wait: seconds until the next attempt.
            call: the call; ``call.attempt`` is still the failed attempt's number.
        """

    def on_end(self, call: CallInfo, completion: ChatCompletion | None, error: GrokError | None) -> None:
        """Once per call, when it ends.

        Args:
            call: the call.
            completion: the completion (for a stream, the accumulated one, when the stream completes), or None.
            error: the error the call failed with, or None. Both are None for a stream closed before its end.
        """


class CallInfo:
    """One call as hooks see it: the same object for every attempt of the call.

    Attributes:
        request_id: the ``x-ms-client-request-id`` every attempt of the call sends.
        model: the ``model`` of the request body (the deployment name, or the one ``"auto"`` chose).
        stream: whether the call streams.
        body: the request body (messages included): read it, do not change it.
        attempt: the current attempt's number, from 1 (0 before the first is sent).
        deployment: the label of the current attempt's deployment (``Deployment.name``, or the endpoint's host).
        route: the current attempt's chat route, ``"openai_v1"`` or ``"model_inference"`` (the legacy ``/models``).
        server_address: the host the current attempt was sent to.
        server_port: its port.
        started: ``time.perf_counter()`` when the call started.
        wait: the seconds waited before the current attempt (0.0 for the first).
        retry: in ``on_retry``, the number of the retry about to be made (1 for the first); a resend after a token
            refresh is an attempt but not a retry. 0 until the first ``on_retry``.
        state: a dict for hooks' own per-call data (key it by something of your hook's).
    """

    __slots__ = (
        "attempt",
        "body",
        "deployment",
        "model",
        "request_id",
        "retry",
        "route",
        "server_address",
        "server_port",
        "started",
        "state",
        "stream",
        "wait",
    )

    def __init__(self, request_id: str, body: Mapping[str, Any], stream: bool) -> None:
        self.request_id = request_id
        self.model: str = body["model"]
        self.stream = stream
        self.body = body
        self.attempt = 0
        self.deployment: str | None = None
        self.route: str | None = None
        self.server_address: str | None = None
        self.server_port: int | None = None
        self.started = time.perf_counter()
        self.wait = 0.0
        self.retry = 0
        self.state: dict[Any, Any] = {}

    def __repr__(self) -> str:  # no body: it holds the prompt
        return (
            f"CallInfo(request_id={self.request_id!r}, model={self.model!r}, attempt={self.attempt}, "
            f"deployment={self.deployment!r})"
        )


class _RetryCallback(Hook):
    """``RetryPolicy(on_retry=fn)``: ``fn(attempt, error, wait)``, as step 5 defined it."""

    def __init__(self, callback: Callable[[int, GrokError, float], Any]) -> None:
        self.callback = callback

    def on_retry(self, error: GrokError, wait: float, call: CallInfo) -> None:
        self.callback(call.retry, error, wait)


class HookSet:
    """A client's hooks, sorted by event once (so a call only calls the methods a hook overrides).

    Args:
        hooks: the client's hooks, in the order they run.
    """

    __slots__ = ("hooks", "on_end", "on_error", "on_request", "on_response", "on_retry")

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.hooks = tuple(hooks)
        self.on_request = self._overriding("on_request")
        self.on_response = self._overriding("on_response")
        self.on_error = self._overriding("on_error")
        self.on_retry = self._overriding("on_retry")
        self.on_end = self._overriding("on_end")

    def _overriding(self, event: str) -> tuple[Callable[..., Any], ...]:
        base = getattr(Hook, event)
        return tuple(getattr(h, event) for h in self.hooks if getattr(type(h), event) is not base)


NO_HOOKS = HookSet(())


def check_hooks(value: object) -> HookSet:
    """The hooks of ``hooks=``, checked: a sequence of :class:`Hook` objects (None: none)."""
    from ._errors import ConfigurationError

    if value is None:
        return NO_HOOKS
    if isinstance(value, (str, bytes, Hook)) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"hooks must be a list of grok_azure.Hook objects; got {type(value).__name__}"
        )
    for hook in value:
        if not isinstance(hook, Hook):
            raise ConfigurationError(f"hooks must be grok_azure.Hook objects; got {type(hook).__name__}")
        for event in ("on_request", "on_response", "on_error", "on_retry", "on_end"):
            if inspect.iscoroutinefunction(getattr(hook, event)):
                # It would never be awaited: whatever it does (a header, a metric) would silently not happen.
                raise ConfigurationError(
                    f"{type(hook).__name__}.{event} is async: hook methods are plain methods, called inside the "
                    "call on both clients (hand slow work to a queue or a task)"
                )
    return HookSet(value)


def observing(hooks: HookSet, on_retry: Callable[[int, GrokError, float], Any] | None) -> ObservedHooks:
    """A client's hooks for a call, indexed by whether the ``grok_azure`` logger logs INFO (None: no hooks at all).

    The SDK's logging hook goes first (it times the attempt the other hooks see), the caller's hooks next, and
    ``RetryPolicy.on_retry`` last.
    """
    from ._logging import LOG_HOOK

    own = (*hooks.hooks, *((_RetryCallback(on_retry),) if on_retry is not None else ()))
    return (HookSet(own) if own else None, HookSet((LOG_HOOK, *own)))


ObservedHooks = tuple["HookSet | None", "HookSet"]


class CallObserver:
    """Dispatches one call's events to its hooks (see :class:`Hook` for when each fires).

    Args:
        hooks: the hooks of the call.
        info: the call as hooks see it.
    """

    __slots__ = ("ended", "hooks", "info")

    def __init__(self, hooks: HookSet, info: CallInfo) -> None:
        self.hooks = hooks
        self.info = info
        self.ended = False

    def request(self, request: httpx.Request, target: Target, attempt: int, wait: float) -> None:
        info = self.info
        info.attempt = attempt
        info.wait = wait
        info.deployment = target.name
        endpoint = target.endpoint
        info.route = endpoint.route
        # From the endpoint, not the request's URL: parsed once, and no URL (whose query may hold a credential)
        # sits in a local that a traceback rendered with its frames' locals would show.
        info.server_address = endpoint.host
        info.server_port = endpoint.port
        _run(self.hooks.on_request, "on_request", request, info)

    def response(self, response: httpx.Response) -> None:
        _run(self.hooks.on_response, "on_response", response, self.info)

    def error(self, error: GrokError) -> None:
        _run(self.hooks.on_error, "on_error", error, self.info)

    def retry(self, error: GrokError, wait: float, number: int) -> None:
        """Before retry ``number`` (1 for the first), ``wait`` seconds from now."""
        self.info.retry = number
        _run(self.hooks.on_retry, "on_retry", error, wait, self.info)

    def succeeded(self, completion: ChatCompletion) -> None:
        if not self.ended:
            self.ended = True
            _run(self.hooks.on_end, "on_end", self.info, completion, None)

    def failed(self, error: BaseException | None) -> None:
        """The call ended without a completion: ``error`` (a GrokError), or None (closed early, cancelled)."""
        if self.ended:
            return
        self.ended = True
        failure = error if isinstance(error, GrokError) else None
        for method in self.hooks.on_end:
            try:
                method(self.info, None, failure)
            except Exception as exc:  # the call's own error stands
                _log.warning(
                    "grok_azure hook %s.on_end raised %s", _owner(method), type(exc).__name__, exc_info=False
                )


def _run(methods: tuple[Callable[..., Any], ...], event: str, *args: Any) -> None:
    for method in methods:
        try:
            method(*args)
        except Exception as exc:
            # The hook's own message stays on the cause: it is the caller's text, which the SDK cannot vouch for.
            raise HookError(f"Hook {_owner(method)}.{event} raised {type(exc).__name__}") from exc


def _owner(method: Callable[..., Any]) -> str:
    return type(getattr(method, "__self__", method)).__name__
