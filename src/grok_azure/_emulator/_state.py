"""Recorded requests, scripted replies and the thread-safe queues that hold them."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ._errors import Route

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
_FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter")
# How a stream delivers tool calls: whole, one call per delta (as Grok does), or id and name first and then the
# arguments in pieces (as other gateways do).
ToolCallDeltas = Literal["whole", "fragmented"]
TOOL_CALL_DELTAS: tuple[ToolCallDeltas, ...] = ("whole", "fragmented")
_SECRET_HEADERS = frozenset({"api-key", "authorization"})

T = TypeVar("T")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, with the status it answered.

    ``headers`` has lower-case names and includes credentials (tests may check them), but ``repr`` hides
    them. ``json`` is the decoded body (None when absent or not JSON). ``deployment`` is the deployment the
    request resolved to, if any; ``route`` is None for unknown paths. ``dropped_parameters`` lists body
    fields dropped because of ``extra-parameters: drop``.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any | None
    deployment: str | None
    route: Route | None
    status: int
    dropped_parameters: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = {k: ("[redacted]" if k in _SECRET_HEADERS else v) for k, v in self.headers.items()}
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, query={self.query!r}, "
            f"headers={shown!r}, json={self.json!r}, deployment={self.deployment!r}, route={self.route!r}, "
            f"status={self.status!r}, dropped_parameters={self.dropped_parameters!r})"
        )


@dataclass(frozen=True)
class Reply:
    """A scripted answer for the next chat request(s); queue it with ``FoundryEmulator.reply``.

    ``text`` None means the default (an echo, or "" when tool calls are scripted). Each tool call is a
    mapping with ``name`` and optional ``arguments`` (a dict, a JSON string, or absent to generate arguments
    valid for the offered tool's schema). A script is taken literally: its tool calls are returned even
    when the request offered no tools. ``finish_reason`` None picks the natural one. ``tool_call_deltas``
    streams this reply's tool calls ``"whole"`` or ``"fragmented"`` (None: the emulator's setting).
    """

    text: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = field(default=())
    finish_reason: FinishReason | None = None
    tool_call_deltas: ToolCallDeltas | None = None

    def __post_init__(self) -> None:
        calls = tuple(dict(call) for call in self.tool_calls)
        for call in calls:
            if not isinstance(call.get("name"), str) or not call["name"]:
                raise ValueError(f"each tool call needs a non-empty 'name', got {call!r}")
            arguments = call.get("arguments")
            if arguments is not None and not isinstance(arguments, (str, Mapping)):
                raise ValueError(f"tool call arguments must be a dict or a JSON string, got {arguments!r}")
        object.__setattr__(self, "tool_calls", calls)
        if self.finish_reason is not None and self.finish_reason not in _FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {_FINISH_REASONS}, got {self.finish_reason!r}")
        if self.tool_call_deltas is not None and self.tool_call_deltas not in TOOL_CALL_DELTAS:
            raise ValueError(
                f"tool_call_deltas must be one of {TOOL_CALL_DELTAS}, got {self.tool_call_deltas!r}"
            )


class ScriptQueue(Generic[T]):
    """FIFO of items, each usable ``times`` times, optionally only for one deployment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[list[Any]] = []  # [item, remaining, deployment]

    def push(self, item: T, times: int, deployment: str | None) -> None:
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times!r}")
        with self._lock:
            self._entries.append([item, times, deployment])

    def take(self, deployment: str) -> T | None:
        """The first item for ``deployment`` (or for any deployment), consuming one use of it."""
        with self._lock:
            for index, entry in enumerate(self._entries):
                if entry[2] is None or entry[2] == deployment:
                    entry[1] -= 1
                    if entry[1] == 0:
                        del self._entries[index]
                    item: T = entry[0]
                    return item
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(entry[1] for entry in self._entries)
