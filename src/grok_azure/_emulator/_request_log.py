"""The emulator's request log: one INFO line per request on the ``grok_azure.emulator`` logger.

An ASGI middleware around the app, so that it times the whole exchange (a stream's body included) and sees the
status that was really sent, while the app stays unaware of it. The deployment a request resolved to comes from
the request the app records (:meth:`EmulatorCore.record` drops it into this request's slot), so nothing is
parsed twice. A line holds the method, path, deployment, model, stream flag, status and duration, and never a
header, query or message: credentials and prompts stay out of logs.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from .._catalog import ModelSpec
from ._state import RecordedRequest

logger = logging.getLogger("grok_azure.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The request the app recorded for the exchange in progress; a list so the middleware sees what the handler,
# running in the same task, puts there.
_recorded: contextvars.ContextVar[list[RecordedRequest] | None] = contextvars.ContextVar(
    "grok_azure_emulator_recorded", default=None
)


def note_recorded(request: RecordedRequest) -> None:
    """Hand ``request`` to the request log of the exchange in progress (nothing when the log is off)."""
    slot = _recorded.get()
    if slot is not None:
        slot.append(request)


def _line(
    method: str,
    path: str,
    recorded: RecordedRequest | None,
    deployments: Mapping[str, ModelSpec],
    status: int | None,
    seconds: float,
    error: BaseException | None,
) -> str:
    deployment = recorded.deployment if recorded is not None else None
    spec = deployments.get(deployment) if deployment is not None else None
    body = recorded.json if recorded is not None else None
    stream = isinstance(body, dict) and body.get("stream") is True
    outcome = "no response" if status is None else str(status)
    if error is not None:
        outcome += f" cut ({type(error).__name__})"
    return (
        f"{method} {path} deployment={deployment or '-'} model={spec.id if spec else '-'} "
        f"stream={str(stream).lower()} -> {outcome} duration={seconds:.3f}s"
    )


class RequestLog:
    """ASGI middleware that logs each HTTP exchange of ``app`` once it ends.

    The line is written before the final body message is passed on, so a client that has its whole answer can
    rely on the line being there (tests read it right after a call).

    Args:
        app: the emulator's ASGI app.
        deployments: deployment name -> model served, to name the model of each request.
    """

    def __init__(self, app: ASGIApp, deployments: Mapping[str, ModelSpec]) -> None:
        self._app = app
        self._deployments = deployments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        slot: list[RecordedRequest] = []
        token = _recorded.set(slot)
        status: int | None = None
        logged = False

        def log(error: BaseException | None) -> None:
            nonlocal logged
            logged = True
            recorded = slot[-1] if slot else None
            seconds = time.perf_counter() - started
            logger.info(
                _line(scope["method"], scope["path"], recorded, self._deployments, status, seconds, error)
            )

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log(None)
            await send(message)

        try:
            await self._app(scope, receive, logging_send)
        except BaseException as exc:
            if not logged:
                log(exc)
            raise
        finally:
            _recorded.reset(token)
            if not logged:
                log(None)
