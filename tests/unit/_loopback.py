"""Tiny HTTP/1.1 servers on 127.0.0.1 for tests that need real sockets (aiohttp, proxies, resets, huge bodies).

Each connection runs in a daemon thread. ``respond(request)`` returns the raw bytes to send, as an iterable so a
huge body can be generated lazily; it may yield :data:`RESET` to abort the connection with a TCP reset, and may
set ``request.close`` to end the connection after the response. The server counts connections, requests and
bytes sent, and whether the client hung up while a response was being sent.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

RESET = b"<reset>"


@dataclass
class SeenRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    close: bool = field(default=False)


Respond = Callable[[SeenRequest], Iterable[bytes]]


def response_bytes(
    request: SeenRequest, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> list[bytes]:
    """One complete response with a Content-Length; honours ``Connection: close`` from the client."""
    head = {"content-type": "application/json", "content-length": str(len(body)), **(headers or {})}
    if request.headers.get("connection", "").lower() == "close":
        head["connection"] = "close"
        request.close = True
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return [f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode("latin-1") + body]


def json_response(request: SeenRequest, payload: Any, *, status: int = 200, **kw: Any) -> list[bytes]:
    return response_bytes(request, json.dumps(payload).encode(), status=status, **kw)


class LoopbackServer:
    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.requests: list[SeenRequest] = []
        self.connections = 0
        self.client_hung_up = 0
        self.sent_bytes = 0
        self._sock: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self._sock = sock
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._sock is not None
        self._sock.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if not self._send(conn, self.respond(request)) or request.close:
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _send(self, conn: socket.socket, pieces: Iterable[bytes]) -> bool:
        try:
            for piece in pieces:
                if piece is RESET:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    return False
                conn.sendall(piece)
                self.sent_bytes += len(piece)
        except OSError:
            self.client_hung_up += 1
            return False
        return True


def _read_request(reader: Any) -> SeenRequest | None:
    line = reader.readline(65536)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline(65536)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0") or 0))
    return SeenRequest(method, target, headers, body)


class ForwardProxy(LoopbackServer):
    """A forward HTTP proxy for ``http://`` targets: relays each request to its origin and counts it.

    It asks the origin to close after answering and ends the client's connection too, so every relayed
    request is visible in ``relayed`` (absolute-form targets, as clients send them to a proxy).
    """

    def __init__(self) -> None:
        super().__init__(self._relay)
        self.relayed: list[str] = []

    def _relay(self, request: SeenRequest) -> Iterator[bytes]:
        request.close = True
        assert request.target.startswith("http://"), request.target
        host_port, _, path = request.target[len("http://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.relayed.append(request.target)
        headers = {k: v for k, v in request.headers.items() if not k.startswith("proxy-")}
        headers["connection"] = "close"
        headers["content-length"] = str(len(request.body))
        head = f"{request.method} /{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        with socket.create_connection((host, int(port or 80))) as upstream:
            upstream.sendall(head.encode("latin-1") + b"\r\n" + request.body)
            while data := upstream.recv(65536):
                yield data
