"""A canned-bytes HTTP/1.1 loopback server that stands in for an Azure AI Foundry deployment.

It runs in its own process (``python benchmarks/_server.py``) so its CPU time never counts against the
client being measured, and it is a raw ``asyncio.Protocol`` with every response pre-encoded so it is never
the bottleneck. Routes: ``POST /openai/v1/chat/completions`` and ``POST /models/chat/completions`` (any
query string, any api-key). A body with ``"stream": true`` gets the canned SSE stream (chunked transfer),
anything else the canned completion. The process exits on SIGTERM, SIGINT, or when its stdin closes, so a
crashed harness never leaves it behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator

from _payloads import MODELS_PATH, OPENAI_PATH, STREAM_EVENTS, completion_body, stream_events

_ROUTES = frozenset({OPENAI_PATH.encode(), MODELS_PATH.encode()})
_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
_AZURE_HEADERS = (
    b"apim-request-id: 0f6a7c1e-6a51-4b0e-9d1c-1a2b3c4d5e6f\r\n"
    b"x-ms-region: East US 2\r\n"
    b"x-ms-rai-invoked: true\r\n"
    b"x-ratelimit-limit-requests: 1000\r\n"
    b"x-ratelimit-remaining-requests: 999\r\n"
    b"x-ratelimit-limit-tokens: 400000\r\n"
    b"x-ratelimit-remaining-tokens: 399000\r\n"
    b"x-request-id: 5b1d2f0c-0d8e-4c11-8f6e-2b3c4d5e6f70\r\n"
)


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type + b"\r\n"
    return head + _AZURE_HEADERS + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _stream_response(events: list[bytes]) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
    )
    # One HTTP chunk per SSE event, as a server flushing each token would send it.
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events)
    return head + _AZURE_HEADERS + b"\r\n" + chunks + b"0\r\n\r\n"


class _Canned:
    def __init__(self, events: int) -> None:
        self.completion = _response(b"200 OK", b"application/json", completion_body())
        self.stream = _stream_response(stream_events(events))
        self.not_found = _response(
            b"404 Not Found", b"application/json", b'{"error":{"code":"404","message":"Resource not found"}}'
        )
        self.unsupported = _response(
            b"411 Length Required",
            b"application/json",
            b'{"error":{"code":"411","message":"Length Required"}}',
        )


class _Connection(asyncio.Protocol):
    def __init__(self, canned: _Canned) -> None:
        self._canned = canned
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None and not self._transport.is_closing():
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self._buffer[:end]).split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            length, close, chunked = 0, False, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
                elif name == b"transfer-encoding":
                    chunked = True
            if chunked:
                # Every client under test sends Content-Length; refusing keeps the parser tiny.
                self._transport.write(self._canned.unsupported)
                self._transport.close()
                return
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            self._transport.write(self._reply(method, target, body))
            if close:
                self._transport.close()

    def _reply(self, method: bytes, target: bytes, body: bytes) -> bytes:
        if method != b"POST" or target.split(b"?", 1)[0] not in _ROUTES:
            return self._canned.not_found
        return self._canned.stream if _STREAM_FLAG.search(body) else self._canned.completion


async def _serve(host: str, port: int, events: int) -> None:
    loop = asyncio.get_running_loop()
    canned = _Canned(events)
    server = await loop.create_server(lambda: _Connection(canned), host, port, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stdin = sys.stdin.fileno()

    def on_stdin() -> None:
        if not os.read(stdin, 4096):
            stop.set()

    loop.add_reader(stdin, on_stdin)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await stop.wait()


class ServerHandle:
    """The running server: its root URL, and its CPU time so rows can show it was not the bottleneck."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self._stat = f"/proc/{pid}/stat"

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the server has used so far (None where /proc is unavailable)."""
        try:
            with open(self._stat) as f:
                # Fields 14 and 15 (utime, stime) counted after the parenthesised command name.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running_server(events: int = STREAM_EVENTS, startup_timeout: float = 20.0) -> Iterator[ServerHandle]:
    """Start the server in a child process on a free loopback port; yield a handle to it; stop it."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--port", "0", "--events", str(events)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = _read_line(proc, startup_timeout)
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server failed to start (got {line!r}, exit code {proc.poll()})")
        yield ServerHandle(f"http://127.0.0.1:{int(line.split()[1])}", proc.pid)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"benchmark server did not report its port within {timeout:.0f} s")
    return proc.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=STREAM_EVENTS)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.events))


if __name__ == "__main__":
    main()
