"""A seeded chaos proxy: loopback HTTP/1.1 in front of FoundryEmulator instances, for the fault soak.

Each :class:`ChaosProxy` listens on 127.0.0.1 and relays to one emulator. For every request it draws one
:data:`ACTIONS` entry and either answers itself (a 429 in one of Azure's header forms, a 5xx, an HTML 502, a 408,
a TCP reset) or relays the emulator's answer while shaping it (a slow first byte, a body cut short, a body that
stalls past the client's read timeout, a body that drips in past the client's deadline). Everything the emulator's own ``Fault``s do, plus what they cannot: a
``retry-after`` given as an HTTP date, and a reset before any response.

Why a proxy and not ``emu.fault(...)``: the emulator's faults are a queue that the next request consumes,
whichever call it belongs to, so with many calls in flight a fault cannot be tied to a call. Here the draw is
keyed by (seed, call id, how many requests of that call the proxies have seen), so a call meets the same chaos
whatever the interleaving; the call id is read from the prompt (``soak-call-<n>``).

Client connections are kept alive across requests (each one pairs with one upstream connection), so pooled
connections that a client forgets show up in :attr:`ChaosProxy.open_connections` after the clients close.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")

_CALL_ID = re.compile(rb"soak-call-(\d+)")
_HEAD_LIMIT = 64 * 1024

# (name, relative weight) of the faults; "pass" takes the rest of the draw.
FAULTS: tuple[tuple[str, float], ...] = (
    ("429 retry-after", 1.0),
    ("429 retry-after-ms", 1.0),
    ("429 x-ms-retry-after-ms", 1.0),
    ("429 retry-after http-date", 1.0),
    ("429 reset-tokens only", 1.0),
    ("429 reset-requests only", 0.5),
    ("500", 1.0),
    ("503", 1.0),
    ("504", 0.5),
    ("502 html", 1.0),
    ("408", 0.5),
    ("reset", 1.0),
    ("slow first byte", 1.0),
    ("slow first byte past read timeout", 0.5),
    ("drop mid-body", 1.5),
    ("stall mid-body", 1.0),
    ("drip past the deadline", 0.5),
)
ACTIONS = ("pass", *(name for name, _ in FAULTS))


@dataclass(frozen=True)
class ChaosSettings:
    """What the proxies do. ``fault_rate`` is the share of requests that meet a fault; ``read_timeout`` is the
    client's, so "past read timeout" faults outlast it by ``overshoot`` seconds. ``retry_after_ms`` bounds the
    millisecond waits the 429s ask for; the whole-second forms ask for 0 or 1 s (the only values worth waiting for
    in a soak)."""

    seed: int = 0
    fault_rate: float = 0.3
    read_timeout: float = 0.5
    overshoot: float = 0.4
    retry_after_ms: tuple[int, int] = (20, 300)
    deadline: float = 4.0  # the clients': a drip lasts past it, each piece within the read timeout
    corrupt: bool = False  # sabotage, to prove the soak notices: relayed bodies say "ALPHA" for "alpha"
    stall_forever: bool = False  # sabotage: stalls and slow first bytes last an hour

    @property
    def stall(self) -> float:
        """How long a stall (or a first byte past the read timeout) lasts."""
        return 3600.0 if self.stall_forever else self.read_timeout + self.overshoot


@dataclass
class ChaosLog:
    """What the proxies did, shared by all of them (they run on one event loop, so no lock is needed)."""

    actions: Counter[str] = field(default_factory=Counter)
    per_call: Counter[int] = field(default_factory=Counter)

    def draw(self, settings: ChaosSettings, call_id: int | None) -> tuple[str, random.Random]:
        """The action for the next request of ``call_id``, and the generator that shapes it."""
        if call_id is None:  # warm-up or unknown traffic passes untouched
            return "pass", random.Random(0)
        attempt = self.per_call[call_id]
        self.per_call[call_id] += 1
        rng = random.Random(f"{settings.seed}:{call_id}:{attempt}")
        action = "pass"
        if rng.random() < settings.fault_rate:
            names, weights = zip(*FAULTS, strict=True)
            action = rng.choices(names, weights)[0]
        self.actions[action] += 1
        return action, rng


class ChaosProxy:
    """One proxy in front of ``upstream`` (``(host, port)``); started and stopped by :class:`ChaosRunner`."""

    def __init__(self, upstream: tuple[str, int], settings: ChaosSettings, log: ChaosLog) -> None:
        self.upstream = upstream
        self.settings = settings
        self.log = log
        self.open_connections = 0
        self.total_connections = 0
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):  # connections a client left open end with the proxy
                writer.transport.abort()
            for task in list(self._tasks):  # and so do relays still sleeping in a stall
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=2)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.total_connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                match = _CALL_ID.search(request)
                action, rng = self.log.draw(self.settings, int(match[1]) if match else None)
                answer = _local_answer(action, rng, self.settings)
                if answer is not None:
                    writer.write(answer)
                    await writer.drain()
                    continue
                if action == "reset":
                    _reset(writer)
                    return
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                upstream[1].write(request)
                await upstream[1].drain()
                if not await self._relay(upstream[0], writer, action, rng):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            return
        except asyncio.CancelledError:  # the proxy is stopping; ending quietly keeps asyncio from logging it
            return
        finally:
            self.open_connections -= 1
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            for w in (writer, None if upstream is None else upstream[1]):
                if w is not None:
                    w.close()

    async def _relay(
        self, up: asyncio.StreamReader, writer: asyncio.StreamWriter, action: str, rng: random.Random
    ) -> bool:
        """Relay one response, shaped by ``action``; False when the connection must end."""
        head = await up.readuntil(b"\r\n\r\n")
        settings = self.settings
        if action == "slow first byte":
            await asyncio.sleep(rng.uniform(0.05, settings.read_timeout * 0.6))
        elif action == "slow first byte past read timeout":
            await asyncio.sleep(settings.stall)
        writer.write(head)
        headers = head.lower()
        chunked = b"transfer-encoding: chunked" in headers
        pieces = _chunks(up) if chunked else _fixed(up, headers)
        if action == "drip past the deadline":
            return await self._drip(pieces, writer, headers)
        # 0: right after the headers, before any event (a stream the client resends); then after that many pieces
        # (SSE events, or the first half of a JSON body).
        cut_at = None
        if action in ("drop mid-body", "stall mid-body"):
            cut_at = rng.randint(0, 6) if chunked else rng.randint(0, 1)
        index = 0
        async for piece in pieces:
            if writer.is_closing():  # the client gave up (a stall outlasted its timeout): stop writing
                return False
            if index == cut_at:
                if action == "drop mid-body":
                    await writer.drain()
                    return False  # the connection closes without the rest of the body
                await writer.drain()
                await asyncio.sleep(settings.stall)
            writer.write(piece.replace(b"alpha", b"ALPHA") if settings.corrupt else piece)
            index += 1
        if cut_at is not None and index <= cut_at:  # a stream with fewer events: the fault never happened
            self.log.actions[action] -= 1
            self.log.actions["pass"] += 1
        await writer.drain()
        return b"connection: close" not in headers

    async def _drip(self, pieces: AsyncIterator[bytes], writer: asyncio.StreamWriter, headers: bytes) -> bool:
        """The body in small pieces, each within the read timeout of the last, for longer than the deadline: only
        the deadline (``stream_deadline`` for a stream past its first event) can end the call in time."""
        body = b"".join([piece async for piece in pieces])
        gap = self.settings.read_timeout * 0.8
        count = max(1, min(len(body), int((self.settings.deadline + 2.0) / gap) + 1))
        size = -(-len(body) // count)
        for start in range(0, len(body), size):
            await asyncio.sleep(gap)
            if writer.is_closing():  # the client gave up: its deadline ended the call
                return False
            writer.write(body[start : start + size])
            await writer.drain()
        return b"connection: close" not in headers


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One whole request (head and Content-Length body), or None at a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    if len(head) > _HEAD_LIMIT:
        raise ConnectionError("request head too large")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(length[1])) if length else b""
    return head + body


async def _fixed(up: asyncio.StreamReader, headers: bytes) -> AsyncIterator[bytes]:
    """A Content-Length body, in two halves (so a drop or stall can fall in the middle of it)."""
    length = re.search(rb"(?m)^content-length:\s*(\d+)", headers)
    body = await up.readexactly(int(length[1])) if length else b""
    half = len(body) // 2
    yield body[:half]
    yield body[half:]


async def _chunks(up: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """A chunked body, one HTTP chunk (one SSE event from uvicorn) at a time, the final 0-chunk included."""
    while True:
        size_line = await up.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        data = await up.readexactly(size + 2)
        if size == 0:
            yield size_line + data
            return
        yield size_line + data


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort with a TCP RST (SO_LINGER 0), as a load balancer does to a connection it drops."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _response(status: int, reason: str, body: bytes, headers: dict[str, str], ctype: str) -> bytes:
    head = {"content-type": ctype, "content-length": str(len(body)), "x-ms-region": "chaos", **headers}
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return f"HTTP/1.1 {status} {reason}\r\n{lines}\r\n".encode("latin-1") + body


def _azure_error(status: int, reason: str, code: str, message: str, headers: dict[str, str]) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return _response(status, reason, body, {"x-ms-error-code": code, **headers}, "application/json")


def _rate_limited(action: str, rng: random.Random, settings: ChaosSettings) -> bytes:
    seconds = rng.choice((0, 1))
    millis = rng.randint(*settings.retry_after_ms)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "0"}
    if action == "429 retry-after":
        headers["retry-after"] = str(seconds)
    elif action == "429 retry-after-ms":
        headers["retry-after-ms"] = str(millis)
    elif action == "429 x-ms-retry-after-ms":
        headers["x-ms-retry-after-ms"] = str(millis)
    elif action == "429 retry-after http-date":
        headers["retry-after"] = email.utils.formatdate(time.time() + 1, usegmt=True)
    else:
        dimension = "tokens" if "tokens" in action else "requests"
        headers[f"x-ratelimit-reset-{dimension}"] = "1"
        headers["policy-id"] = f"DeploymentRatelimit-{'Token' if dimension == 'tokens' else 'Call'}"
    message = (
        "Requests to the ChatCompletions_Create Operation have exceeded the rate limit. Please retry later."
    )
    return _azure_error(429, "Too Many Requests", "429", message, headers)


_SERVER_ERRORS = {
    "500": (500, "Internal Server Error", "InternalServerError"),
    "503": (503, "Service Unavailable", "ServiceUnavailable"),
    "504": (504, "Gateway Timeout", "GatewayTimeout"),
    "408": (408, "Request Timeout", "Timeout"),
}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    b"</center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n"
)


def _local_answer(action: str, rng: random.Random, settings: ChaosSettings) -> bytes | None:
    """The proxy's own answer for ``action``, or None when the request goes on to the emulator (or is reset)."""
    if action.startswith("429"):
        return _rate_limited(action, rng, settings)
    if action in _SERVER_ERRORS:
        status, reason, code = _SERVER_ERRORS[action]
        return _azure_error(status, reason, code, f"chaos: {reason}", {})
    if action == "502 html":
        return _response(502, "Bad Gateway", _HTML_502, {}, "text/html")
    return None


class ChaosRunner:
    """Runs proxies on one event loop in a daemon thread: ``with ChaosRunner([(host, port), ...], s) as r:``."""

    def __init__(self, upstreams: Sequence[tuple[str, int]], settings: ChaosSettings) -> None:
        self.log = ChaosLog()
        self.proxies = [ChaosProxy(upstream, settings, self.log) for upstream in upstreams]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chaos-proxy", daemon=True)

    def __enter__(self) -> ChaosRunner:
        self._thread.start()
        for proxy in self.proxies:
            self.call(proxy.start)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for proxy in self.proxies:
            with contextlib.suppress(Exception):
                self.call(proxy.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def call(self, function: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run the coroutine function ``function`` on the proxies' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(function(), self._loop).result(10)

    def open_connections(self) -> int:
        """Client connections the proxies still hold open (read on their own loop, where they change)."""

        async def count() -> int:
            return sum(proxy.open_connections for proxy in self.proxies)

        return self.call(count)
