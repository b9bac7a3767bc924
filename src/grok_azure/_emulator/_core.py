"""The emulator's shared state, used from the test's thread and from the server's event loop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import threading
from collections.abc import Mapping, Sequence

from .._catalog import ModelSpec
from ._auth import TokenValidator
from ._completions import USAGE_CONVENTIONS, UsageConvention
from ._faults import Fault, random_fault
from ._quota import Quotas
from ._request_log import note_recorded
from ._state import TOOL_CALL_DELTAS, RecordedRequest, Reply, ScriptQueue, ToolCallDeltas


class ConnectionCut(Exception):
    """Raised inside a response to make the server close the connection mid-body."""


def _is_cut(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    if isinstance(exc, ConnectionCut):
        return True
    return any(_is_cut(inner) for inner in getattr(exc, "exceptions", ()))


SERVER_THREAD = "foundry-emulator"


class _QuietServer(logging.Filter):
    """Hide the emulator's own server chatter (below WARNING) and the tracebacks of connections it cuts on
    purpose; uvicorn's loggers are process-wide, so other servers' records pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_cut(record.exc_info[1]):
            return False
        return not (record.threadName == SERVER_THREAD and record.levelno < logging.WARNING)


_filter_installed = False
_filter_lock = threading.Lock()


def install_log_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("uvicorn.error").addFilter(_QuietServer())
            _filter_installed = True


class EmulatorCore:
    """Configuration, scripts, faults, quotas and the request log of one emulator.

    ``retired_api_versions`` are answered as retired on ``/models``; ``serve_retired`` serves deployments of
    retired models as if they were current (to replay traffic recorded before the retirement);
    ``enforce_unconfirmed`` refuses requests on the catalog's unconfirmed facts too.
    """

    def __init__(
        self,
        *,
        api_key: str,
        deployments: Mapping[str, ModelSpec],
        token_validator: TokenValidator | None,
        api_versions: Sequence[str],
        fault_rate: float,
        seed: int | None,
        quotas: Quotas,
        retired_api_versions: Sequence[str] = (),
        serve_retired: bool = False,
        enforce_unconfirmed: bool = False,
        tool_call_deltas: ToolCallDeltas = "whole",
        usage_convention: UsageConvention = "grok",
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within [0, 1], got {fault_rate!r}")
        if tool_call_deltas not in TOOL_CALL_DELTAS:
            raise ValueError(f"tool_call_deltas must be one of {TOOL_CALL_DELTAS}, got {tool_call_deltas!r}")
        if usage_convention not in USAGE_CONVENTIONS:
            raise ValueError(f"usage_convention must be one of {USAGE_CONVENTIONS}, got {usage_convention!r}")
        self.api_key = api_key
        self.deployments = dict(deployments)
        self.token_validator = token_validator
        self.api_versions = tuple(api_versions)
        self.retired_api_versions = tuple(retired_api_versions)
        self.serve_retired = serve_retired
        self.enforce_unconfirmed = enforce_unconfirmed
        self.tool_call_deltas: ToolCallDeltas = tool_call_deltas
        self.usage_convention: UsageConvention = usage_convention
        self.fault_rate = fault_rate
        self.quotas = quotas
        self.replies: ScriptQueue[Reply] = ScriptQueue()
        self.faults: ScriptQueue[Fault] = ScriptQueue()
        self._seed = seed
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._rng = random.Random(seed)
        self._calls = itertools.count(1)
        self.closing: asyncio.Event | None = None  # created on the server's loop

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
        note_recorded(request)  # the request log, when on, names the deployment from it

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def next_call_id(self) -> str:
        with self._lock:
            return f"call_{next(self._calls)}"

    def take_fault(self, deployment: str) -> Fault | None:
        """A scripted fault first; otherwise a random one for ``fault_rate`` of the requests."""
        fault = self.faults.take(deployment)
        if fault is not None or self.fault_rate == 0.0:
            return fault
        with self._lock:
            if self._rng.random() < self.fault_rate:
                return random_fault(self._rng)
        return None

    def reset(self) -> None:
        self.replies.clear()
        self.quotas.reset()
        self.faults.clear()
        with self._lock:
            self._requests.clear()
            self._rng = random.Random(self._seed)
            self._calls = itertools.count(1)

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise ConnectionCut as soon as the emulator is stopping."""
        closing = self.closing
        if closing is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(closing.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise ConnectionCut()

    def check_open(self) -> None:
        if self.closing is not None and self.closing.is_set():
            raise ConnectionCut()
