"""The cut-off timers' watchdog: one thread runs every sync timer, soonest first; a cancelled timer never runs; a
cancel that meets its callback running waits for it to finish (so a connection is handed back to the pool only
after a cut already under way)."""

from __future__ import annotations

import threading

from grok_azure._cutoff import _Watchdog


def test_timers_run_soonest_first_and_cancelled_ones_never() -> None:
    watchdog = _Watchdog()
    ran: list[str] = []
    done = threading.Event()
    watchdog.arm(0.2, lambda: (ran.append("late"), done.set()))
    cancel = watchdog.arm(0.05, lambda: ran.append("cancelled"))
    watchdog.arm(0.1, lambda: ran.append("soon"))
    cancel()
    assert done.wait(10)
    assert ran == ["soon", "late"]


def test_a_cancel_that_meets_its_callback_running_waits_for_it() -> None:
    watchdog = _Watchdog()
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow_cut() -> None:
        started.set()
        release.wait(10)
        finished.append(True)

    cancel = watchdog.arm(0.0, slow_cut)
    assert started.wait(10)
    returned = threading.Event()

    def cancel_then_note() -> None:
        cancel()
        returned.set()

    canceller = threading.Thread(target=cancel_then_note)
    canceller.start()
    assert not returned.wait(0.2)  # the callback is still running: cancel() waits
    release.set()
    canceller.join(10)
    assert returned.is_set()
    assert finished == [True]  # cancel() returned only once the cut was done


def test_cancelled_timers_do_not_pile_up() -> None:
    watchdog = _Watchdog()
    for _ in range(10_000):  # a deadline of an hour, on calls that each end in time
        watchdog.arm(3600, lambda: None)()
    assert len(watchdog._heap) < 300


def test_a_callback_that_raises_does_not_stop_the_others() -> None:
    watchdog = _Watchdog()
    done = threading.Event()

    def broken() -> None:
        raise OSError("the socket was gone already")

    watchdog.arm(0.01, broken)
    watchdog.arm(0.05, done.set)
    assert done.wait(10)
