"""Cut-off timers: end a read that is blocked past the call's budget.

A deadline is checked as data arrives, but a server that sends nothing (or a byte at a time, each within the read
timeout) would keep a read waiting past it. When the budget runs out, the timer shuts the response's socket down,
so that the blocked read fails at once and the reader reports the budget's error.

The sync client's timers all run on one daemon thread (:class:`_Watchdog`): a thread per timer would cost a thread
start on every call made with a deadline. The async client's are the event loop's own (``loop.call_later``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

__all__ = ["arm", "arm_on_loop", "bounded", "cut_read"]

_T = TypeVar("_T")

Cancel = Callable[[], None]


def arm(seconds: float, callback: Callable[[], None]) -> Cancel:
    """Run ``callback`` on the watchdog thread in ``seconds``; returns the function that cancels it (which does
    nothing once it ran). ``callback`` must be quick and must not raise (what it raises is dropped)."""
    return _watchdog.arm(seconds, callback)


def arm_on_loop(seconds: float, callback: Callable[[], None]) -> Cancel:
    """:func:`arm` on the running event loop."""
    import asyncio  # here: the sync client must not load asyncio

    return asyncio.get_running_loop().call_later(seconds, callback).cancel


def cut_read(response: httpx.Response) -> None:
    """End a read of ``response``'s body blocked in another thread or task, now: shut its socket down.

    Closing the socket alone does not wake a thread blocked in ``recv`` (on Linux the read waits on), so it is shut
    down first. A body that has no socket of its own (the aiohttp transport's) is cut by its own ``cut()``, which
    says whether it could, and must then be called on its event loop. A transport that exposes neither (a test
    transport) is left alone: its reader stops at its next read, when the deadline is checked.
    """
    cut = getattr(response.stream, "cut", None)
    if cut is not None and cut():
        return
    with contextlib.suppress(Exception):
        sock = response.extensions["network_stream"].get_extra_info("socket")
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(order=True, slots=True)
class _Timer:
    when: float
    order: int  # ties keep the order they were armed in, and a callback is never compared
    callback: Callable[[], None] | None = field(compare=False)


class _Watchdog:
    """One thread running every sync cut-off timer of the process, soonest first.

    A timer is a heap entry (:class:`_Timer`); cancelling one empties its callback where it stands (and
    the heap is rebuilt without such entries once they are most of it), so arming and cancelling cost a heap push
    and an assignment under a lock. The thread starts with the first timer and waits on a condition for the next.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._heap: list[_Timer] = []
        self._order = itertools.count()
        self._cancelled = 0
        self._thread: threading.Thread | None = None
        self._running: _Timer | None = None  # the timer whose callback runs now, outside the lock

    def arm(self, seconds: float, callback: Callable[[], None]) -> Cancel:
        entry = _Timer(time.monotonic() + seconds, next(self._order), callback)
        with self._lock:
            heap = self._heap
            if self._cancelled > 64 and self._cancelled * 2 > len(heap):
                heap[:] = [item for item in heap if item.callback is not None]
                heapq.heapify(heap)
                self._cancelled = 0
            heapq.heappush(heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="grok-azure-cutoff", daemon=True)
                self._thread.start()
            elif heap[0] is entry:  # sooner than what the thread waits for (cancel()s may wait here too: all)
                self._changed.notify_all()
        return lambda: self._cancel(entry)

    def _cancel(self, entry: _Timer) -> None:
        """Once this returns, ``entry``'s callback will not run, or has finished: a read that ended just before its
        deadline hands its connection back to the pool only after a cut that was already under way."""
        with self._lock:
            if entry.callback is not None:
                entry.callback = None
                self._cancelled += 1
            while self._running is entry:
                self._changed.wait()

    def _run(self) -> None:
        heap = self._heap
        with self._lock:
            while True:
                while heap and heap[0].callback is None:
                    heapq.heappop(heap)
                    self._cancelled -= 1
                if not heap:
                    self._changed.wait()
                    continue
                delay = heap[0].when - time.monotonic()
                if delay > 0:
                    self._changed.wait(delay)
                    continue
                entry = heapq.heappop(heap)
                callback, entry.callback = entry.callback, None
                self._running = entry
                self._lock.release()
                try:
                    if callback is not None:
                        callback()
                except Exception:  # a cut that fails leaves the read to its own timeout
                    pass
                finally:
                    self._lock.acquire()
                    self._running = None
                    self._changed.notify_all()  # a cancel() waiting for this callback to finish


_watchdog = _Watchdog()


def _after_fork() -> None:
    # The child has no watchdog thread (and the lock may have been held by it at the fork): start afresh.
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork)


async def bounded(seconds: float, awaitable: Awaitable[_T], request: httpx.Request) -> _T:
    """Await ``awaitable`` for at most ``seconds``: past them it is cancelled, and ``httpx.TimeoutException``
    raised (the caller maps it as any timeout; the call loop names the budget that ran out).

    For the async client's sends and body reads under a deadline: aiohttp bounds neither the upload of a body nor
    the whole of a body that drips in slowly, only each read.
    """
    import asyncio  # here: the sync client must not load asyncio

    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(seconds):
                return await awaitable
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        pass
    # Raised outside the except block: the cancellation that ended the wait is no cause worth keeping.
    raise httpx.TimeoutException(f"No answer within the {seconds:.3g} s the call had left", request=request)
