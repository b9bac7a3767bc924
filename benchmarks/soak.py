"""Fault soak: thousands of calls through a chaos proxy to two emulated deployments, and nothing lost.

Run from the repository root (see docs/soak.md):

    python benchmarks/soak.py --calls 4000 --seed 1          # the full soak, a few minutes on 2 cores
    python benchmarks/soak.py --calls 300 --seed 7 --json    # a small one (the test suite's: tests/soak)

Two FoundryEmulator resources each serve the deployment ``grok-soak``; a seeded chaos proxy in front of each
(benchmarks/_chaos.py) answers a share of requests with 429s in every header form, 5xx, HTML 502s, 408s and
resets, or relays the answer with a slow first byte, a body cut short or a body that stalls past the read
timeout. Half the calls run on a GrokClient from worker threads, half on an AsyncGrokClient as asyncio tasks;
half of each are streamed. Each call must return exactly the completion the emulator gives (it echoes a unique
prompt) or raise a ``GrokError``, within its budget (the deadline plus ``--grace``). A watchdog bounds every
call, and a second one the whole run, so the soak itself never hangs. After the clients are closed the open
file descriptors, the connections the proxies still hold and the live threads must be back where they started.

The outcome table counts every result; the exit status is 1 on any wrong content, overrun, hang, exception that
is not a GrokError, or leak (and 2 when fewer than ``--min-ok`` of the calls succeeded).

With a client that has ``deployments=`` (failover) and ``deadline=``, both deployments go in one client with
retries on; otherwise (the client before retries) each call goes to one of two single-endpoint clients and the
per-call budget is the single attempt's timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import gc
import inspect
import json
import os
import queue
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

# Sibling modules import as top-level names because this file runs as a script (benchmarks/ is sys.path[0]).
from _chaos import ACTIONS, ChaosRunner, ChaosSettings
from _soak_calls import MODEL, OK, CallSpec, Verdict, make_spec, run_async, run_sync

import grok_azure
from grok_azure import AsyncGrokClient, GrokClient
from grok_azure.testing import FoundryEmulator

FAILURE_OUTCOMES = ("wrong content", "overrun", "hang")
# Outcomes named with their details, each a failure too.
_FAILURE_PREFIXES = ("NOT a GrokError", "wrong error type")


def is_failure(outcome: str) -> bool:
    """Whether a call's outcome fails the soak (wrong content, an overrun or a hang, an untyped or mistyped error)."""
    return outcome in FAILURE_OUTCOMES or outcome.startswith(_FAILURE_PREFIXES)


_FD_TOLERANCE = 4  # the interpreter and aiohttp may keep a cached fd or two (a resolver, an epoll)


@dataclass(frozen=True)
class Options:
    calls: int
    seed: int
    fault_rate: float
    threads: int
    tasks: int
    deadline: float
    read_timeout: float
    grace: float
    max_retries: int
    modes: tuple[str, ...]
    legacy: bool  # force the one-endpoint-per-client shape even when the client supports deployments
    min_ok: float
    sabotage: str | None = None  # break things on purpose to prove the checks work (see --sabotage)
    watchdog: float = 5.0  # a call still running this long after its budget is a hang
    rpm: int | None = None  # the emulators' own quotas (1-second windows), for 429s and counters that move
    tpm: int | None = None
    settle: float = 3.0  # how long closed connections may take to be seen closed


def parse_args(argv: list[str] | None = None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="total calls (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the chaos and of the call mix")
    parser.add_argument("--fault-rate", type=float, default=0.3, help="share of requests that meet a fault")
    parser.add_argument("--threads", type=int, default=8, help="sync worker threads")
    parser.add_argument("--tasks", type=int, default=32, help="async tasks in flight")
    parser.add_argument("--deadline", type=float, default=4.0, help="each call's deadline, seconds")
    parser.add_argument("--read-timeout", type=float, default=0.5, help="the clients' read timeout, seconds")
    parser.add_argument("--grace", type=float, default=0.75, help="lateness tolerated past the deadline")
    parser.add_argument("--max-retries", type=int, default=2, help="the clients' max_retries")
    parser.add_argument("--modes", default="sync,async", help="sync, async or both (comma-separated)")
    parser.add_argument("--legacy", action="store_true", help="one endpoint per client, even with failover")
    parser.add_argument("--min-ok", type=float, default=0.0, help="fail (exit 2) below this share of ok")
    parser.add_argument(
        "--sabotage",
        choices=("corrupt", "unclosed", "hang", "no-deadline", "no-retries"),
        help="self-test, the soak must then fail: corrupt relayed content; leave the sync client unclosed; make "
        "stalls last an hour for clients without timeouts or deadline; give the clients no deadline (or no "
        "retries) while the soak expects them",
    )
    parser.add_argument(
        "--watchdog", type=float, default=5.0, help="seconds past its budget after which a call is a hang"
    )
    parser.add_argument("--rpm", type=int, help="each emulated deployment's requests-per-minute quota")
    parser.add_argument("--tpm", type=int, help="each emulated deployment's tokens-per-minute quota")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds allowed for closed connections to be seen closed"
    )
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or set(modes) - {"sync", "async"}:
        parser.error("--modes takes sync, async or sync,async")
    options = Options(
        args.calls,
        args.seed,
        args.fault_rate,
        args.threads,
        args.tasks,
        args.deadline,
        args.read_timeout,
        args.grace,
        args.max_retries,
        modes,
        args.legacy,
        args.min_ok,
        args.sabotage,
        args.watchdog,
        args.rpm,
        args.tpm,
        args.settle,
    )
    return options, args.json


# -- the clients under test ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the proxies listen and the keys of the emulators behind them."""

    urls: tuple[str, str]
    keys: tuple[str, str]
    names: tuple[str, str] = ("east", "west")


def _supports(function: Callable[..., Any], name: str) -> bool:
    return name in inspect.signature(function).parameters


def failover_supported() -> bool:
    return hasattr(grok_azure, "Deployment") and _supports(GrokClient.__init__, "deployments")


def deadline_supported() -> bool:
    return _supports(GrokClient.__init__, "deadline")


def build_clients(cls: type[Any], target: Target, options: Options) -> list[Any]:
    """One client over both deployments (failover), or one single-endpoint client per deployment."""
    timeout = httpx.Timeout(connect=1.0, read=options.read_timeout, write=1.0, pool=1.0)
    if options.sabotage == "hang":  # nothing left to bound a stall
        timeout = httpx.Timeout(None)
    common: dict[str, Any] = {"timeout": timeout, "environ": {}}
    if deadline_supported() and options.sabotage not in ("hang", "no-deadline"):
        common["deadline"] = options.deadline
    if _supports(cls.__init__, "max_retries"):
        common["max_retries"] = 0 if options.sabotage == "no-retries" else options.max_retries
    if failover_supported() and not options.legacy:
        deployments = [
            grok_azure.Deployment(url, api_key=key, name=name)  # type: ignore[attr-defined,unused-ignore]
            for url, key, name in zip(target.urls, target.keys, target.names, strict=True)
        ]
        return [cls(deployments=deployments, **common)]
    return [
        cls(endpoint=url, api_key=key, **common) for url, key in zip(target.urls, target.keys, strict=True)
    ]


def call_options(options: Options) -> dict[str, Any]:
    """Per-call deadline arguments, when ``create`` takes them (the stream's total time is bounded too)."""
    from grok_azure.resources.chat import Completions
    from grok_azure.types import ChatParams

    fields = set(getattr(ChatParams, "__optional_keys__", ())) | set(
        getattr(ChatParams, "__required_keys__", ())
    )
    fields |= set(inspect.signature(Completions.create).parameters)
    per_call: dict[str, Any] = {}
    if options.sabotage in ("hang", "no-deadline"):
        return per_call
    if "deadline" in fields:
        per_call["deadline"] = options.deadline
    if "stream_deadline" in fields:
        per_call["stream_deadline"] = options.deadline
    return per_call


def budget(options: Options) -> float:
    """How long a call may take before it counts as an overrun.

    With ``deadline=`` it is the deadline. Without it (one attempt, no retries) a call waits at most for one
    slow first byte or one stall, each cut by the read timeout, so the deadline still bounds it.
    """
    return options.deadline + options.grace


# -- running the calls ----------------------------------------------------------------------------------------


def run_sync_calls(clients: list[GrokClient], specs: list[CallSpec], options: Options) -> list[Verdict]:
    """``specs`` on worker threads; a call that outlives the hard watchdog is recorded as a hang and its worker
    abandoned (daemon threads, so a real hang cannot keep the process alive)."""
    todo: queue.Queue[CallSpec] = queue.Queue()
    for spec in specs:
        todo.put(spec)
    verdicts: list[Verdict] = []
    running: dict[int, tuple[CallSpec, float]] = {}  # worker id -> (call, started)
    lock = threading.Lock()
    hard = budget(options) + options.watchdog

    def work(worker: int) -> None:
        while True:
            try:
                spec = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                running[worker] = (spec, time.monotonic())
            verdict = run_sync(clients[spec.call_id % len(clients)], spec)
            with lock:
                if running.pop(worker, None) is not None:  # None: the watchdog already called it a hang
                    verdicts.append(verdict)

    workers = {n: _start_thread(work, n) for n in range(options.threads)}
    next_id = options.threads
    while any(t.is_alive() for t in workers.values()):
        time.sleep(0.05)
        with lock:
            for worker, (spec, started) in list(running.items()):
                if time.monotonic() - started > hard:
                    del running[worker]
                    verdicts.append(Verdict(spec, "hang", time.monotonic() - started))
                    workers.pop(worker)
                    workers[next_id] = _start_thread(work, next_id)  # replace the stuck worker
                    next_id += 1
    return verdicts


def _start_thread(target: Callable[[int], None], n: int) -> threading.Thread:
    thread = threading.Thread(target=target, args=(n,), name=f"soak-sync-{n}", daemon=True)
    thread.start()
    return thread


async def run_async_calls(
    clients: list[AsyncGrokClient], specs: list[CallSpec], options: Options
) -> list[Verdict]:
    """``specs`` as tasks, ``options.tasks`` in flight; a task past the hard watchdog is cancelled and recorded
    as a hang (without waiting for the cancellation, which a real hang might ignore)."""
    gate = asyncio.Semaphore(options.tasks)
    hard = budget(options) + options.watchdog
    abandoned: list[asyncio.Task[Verdict]] = []

    async def one(spec: CallSpec) -> Verdict:
        async with gate:
            started = time.monotonic()
            task = asyncio.ensure_future(run_async(clients[spec.call_id % len(clients)], spec))
            done, _ = await asyncio.wait({task}, timeout=hard)
            if not done:
                task.cancel()
                abandoned.append(task)
                return Verdict(spec, "hang", time.monotonic() - started)
            return task.result()

    verdicts = list(await asyncio.gather(*(one(spec) for spec in specs)))
    if abandoned:
        await asyncio.wait(abandoned, timeout=1.0)
    return verdicts


async def _async_phase(target: Target, specs: list[CallSpec], options: Options) -> list[Verdict]:
    clients = build_clients(AsyncGrokClient, target, options)
    try:
        return await run_async_calls(clients, specs, options)
    finally:
        for client in clients:
            await client.close()


def _sync_phase(target: Target, specs: list[CallSpec], options: Options) -> list[Verdict]:
    clients = build_clients(GrokClient, target, options)
    try:
        return run_sync_calls(clients, specs, options)
    finally:
        if options.sabotage != "unclosed":
            for client in clients:
                client.close()


# -- leaks ----------------------------------------------------------------------------------------------------


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: no fd check
        return 0


@dataclass
class Snapshot:
    fds: int
    connections: int
    threads: frozenset[str]


def snapshot(chaos: ChaosRunner) -> Snapshot:
    names = frozenset(t.name for t in threading.enumerate() if not t.name.startswith("soak-sync-"))
    return Snapshot(open_fds(), chaos.open_connections(), names)


def settle(chaos: ChaosRunner, baseline: Snapshot, seconds: float = 3.0) -> Snapshot:
    """The state once closing has finished (sockets a peer closes take a moment to be noticed)."""
    end = time.monotonic() + seconds
    while True:
        now = snapshot(chaos)
        clean = now.connections == 0 and now.fds <= baseline.fds + _FD_TOLERANCE
        if clean or time.monotonic() > end:
            return now
        time.sleep(0.05)


# -- the run --------------------------------------------------------------------------------------------------


@contextmanager
def deployments_under_chaos(options: Options) -> Iterator[tuple[Target, ChaosRunner, list[FoundryEmulator]]]:
    with ExitStack() as stack:
        emulators = [
            stack.enter_context(
                FoundryEmulator(
                    api_key=f"soak-key-{n}-0123456789",
                    deployments={MODEL: "grok-4"},
                    rpm=options.rpm,
                    tpm=options.tpm,
                    quota_window=1,
                )
            )
            for n in range(2)
        ]
        upstreams = [
            (e.url.rsplit(":", 1)[0].removeprefix("http://"), int(e.url.rsplit(":", 1)[1])) for e in emulators
        ]
        settings = ChaosSettings(
            seed=options.seed,
            fault_rate=options.fault_rate,
            read_timeout=options.read_timeout,
            deadline=options.deadline,
            corrupt=options.sabotage == "corrupt",
            stall_forever=options.sabotage == "hang",
        )
        chaos = stack.enter_context(ChaosRunner(upstreams, settings))
        urls = (chaos.proxies[0].url, chaos.proxies[1].url)
        yield Target(urls, (emulators[0].api_key, emulators[1].api_key)), chaos, emulators


def warm_up(target: Target, options: Options) -> None:
    """One clean call per mode, so lazily created process-wide state is not counted as a leak."""
    quiet = Options(**{**options.__dict__, "fault_rate": 0.0})
    spec = CallSpec(-1, "sync", False, "warm-up")  # no soak-call id: the proxies let it through
    for client in build_clients(GrokClient, target, quiet):
        with client:
            run_sync(client, spec)

    async def warm() -> None:
        for client in build_clients(AsyncGrokClient, target, quiet):
            async with client:
                await run_async(client, spec)

    asyncio.run(warm())


def run(options: Options) -> dict[str, Any]:
    rng = random.Random(options.seed)
    per_call = call_options(options)
    specs = [make_spec(n, options.modes[n % len(options.modes)], rng, per_call) for n in range(options.calls)]
    with deployments_under_chaos(options) as (target, chaos, emulators):
        warm_up(target, options)
        gc.collect()
        baseline = snapshot(chaos)
        started = time.monotonic()
        verdicts: list[Verdict] = []
        if "sync" in options.modes:
            verdicts += _sync_phase(target, [s for s in specs if s.mode == "sync"], options)
        if "async" in options.modes:
            verdicts += asyncio.run(_async_phase(target, [s for s in specs if s.mode == "async"], options))
        wall = time.monotonic() - started
        after = settle(chaos, baseline, options.settle)
        requests = sum(len(e.requests) for e in emulators)
        actions = dict(chaos.log.actions)
        retried = sum(1 for seen in chaos.log.per_call.values() if seen > 1)
    summary = summarise(options, verdicts, baseline, after, wall, requests, actions, per_call)
    summary["retries"] = retry_check(options, actions, retried)
    return summary


def retry_check(options: Options, actions: dict[str, int], retried: int) -> dict[str, Any]:
    """Whether calls were retried as they should have been: with retries on, a soak whose proxies answered some
    call with a retryable fault before its first byte (a 429, a 5xx, a reset) must have seen some call sent again.
    A client that never retries would otherwise pass, its failures all typed and in time."""
    retryable = sum(n for name, n in actions.items() if name.startswith(("429", "5", "408", "reset")))
    expected = retryable > 0 and options.max_retries > 0 and _supports(GrokClient.__init__, "max_retries")
    return {"calls_sent_again": retried, "retryable_faults": retryable, "ok": retried > 0 or not expected}


def summarise(
    options: Options,
    verdicts: list[Verdict],
    baseline: Snapshot,
    after: Snapshot,
    wall: float,
    emulator_requests: int,
    actions: dict[str, int],
    per_call: dict[str, Any],
) -> dict[str, Any]:
    limit = budget(options)
    table: dict[str, Counter[str]] = {}
    overruns: list[Verdict] = []
    for verdict in verdicts:
        table.setdefault(verdict.outcome, Counter())[verdict.spec.kind] += 1
        if verdict.elapsed > limit and verdict.outcome != "hang":
            overruns.append(verdict)
    for verdict in overruns:
        table.setdefault("overrun", Counter())[verdict.spec.kind] += 1
    outcomes = Counter(v.outcome for v in verdicts)
    leaks = {
        "fds": max(0, after.fds - baseline.fds - _FD_TOLERANCE),
        "connections": after.connections,
        "threads": sorted(after.threads - baseline.threads),
    }
    bad = [v for v in verdicts if is_failure(v.outcome)]
    elapsed = sorted(v.elapsed for v in verdicts) or [0.0]
    return {
        "calls": len(verdicts),
        "expected_calls": options.calls,
        "ok": outcomes[OK],
        "outcomes": dict(outcomes),
        "overruns": len(overruns),
        "table": {outcome: dict(kinds) for outcome, kinds in table.items()},
        "served_by": dict(Counter(v.served_by for v in verdicts if v.served_by is not None)),
        "chaos": actions,
        "emulator_requests": emulator_requests,
        "leaks": leaks,
        "fds": {"baseline": baseline.fds, "after": after.fds},
        "latency": {
            "p50": elapsed[len(elapsed) // 2],
            "p99": elapsed[int(len(elapsed) * 0.99)],
            "max": elapsed[-1],
        },
        "wall_seconds": round(wall, 2),
        "budget_seconds": limit,
        "client": {
            "failover": failover_supported() and not options.legacy,
            "deadline": deadline_supported(),
            "per_call": sorted(per_call),
        },
        "first_of_each": {v.outcome: v.detail for v in reversed(verdicts) if v.outcome != OK},
        "examples": [
            f"#{v.spec.call_id} {v.spec.kind}: {v.outcome} {v.elapsed:.2f}s {v.detail}"
            for v in (bad + overruns)[:10]
        ],
    }


def verdict_code(summary: dict[str, Any], options: Options) -> int:
    outcomes = summary["outcomes"]
    failures = (
        summary["overruns"]
        + sum(n for name, n in outcomes.items() if is_failure(name))
        + (not summary["retries"]["ok"])
        + summary["leaks"]["fds"]
        + summary["leaks"]["connections"]
        + len(summary["leaks"]["threads"])
        + (summary["calls"] != summary["expected_calls"])
    )
    if failures:
        return 1
    if summary["calls"] and summary["ok"] / summary["calls"] < options.min_ok:
        return 2
    return 0


def print_report(summary: dict[str, Any]) -> None:
    kinds = ["sync plain", "sync stream", "async plain", "async stream"]
    # The failure rows always show, zeros included, so a clean run says so explicitly.
    table = {name: {} for name in (OK, "NOT a GrokError", *FAILURE_OUTCOMES)} | summary["table"]
    rows = sorted(table.items(), key=lambda item: (item[0] != OK, is_failure(item[0]), item[0]))
    width = max([len(name) for name, _ in rows] + [24])
    print(f"{'outcome':<{width}} " + " ".join(f"{k:>12}" for k in kinds) + f" {'total':>8}")
    for name, counts in rows:
        cells = " ".join(f"{counts.get(k, 0):>12}" for k in kinds)
        print(f"{name:<{width}} {cells} {sum(counts.values()):>8}")
    leaks = summary["leaks"]
    print(
        f"\ncalls {summary['calls']}/{summary['expected_calls']}, ok {summary['ok']}, overruns {summary['overruns']}, "
        f"leaks: fds {leaks['fds']} (baseline {summary['fds']['baseline']}, after {summary['fds']['after']}), "
        f"connections {leaks['connections']}, threads {leaks['threads'] or 0}"
    )
    lat = summary["latency"]
    print(
        f"latency p50 {lat['p50']:.3f}s p99 {lat['p99']:.3f}s max {lat['max']:.3f}s (budget {summary['budget_seconds']}s); "
        f"wall {summary['wall_seconds']}s; emulator requests {summary['emulator_requests']}"
    )
    print(f"client: {summary['client']}; served_by: {summary['served_by'] or 'n/a'}")
    retries = summary["retries"]
    print(
        f"retries: {retries['calls_sent_again']} calls sent again after {retries['retryable_faults']} retryable "
        f"faults{'' if retries['ok'] else ' (NONE RETRIED: FAIL)'}"
    )
    chaos = summary["chaos"]
    print("chaos: " + ", ".join(f"{name} {chaos[name]}" for name in ACTIONS if chaos.get(name)))
    for line in summary["examples"]:
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse_args(argv)
    # The soak must never hang: past this, dump every thread's stack and exit.
    faulthandler.dump_traceback_later(60 + options.calls * 0.1, exit=True)
    try:
        summary = run(options)
    finally:
        faulthandler.cancel_dump_traceback_later()
    print_report(summary)
    if as_json:
        print(json.dumps(summary, sort_keys=True))
    code = verdict_code(summary, options)
    print(f"\nsoak: {'PASS' if code == 0 else 'FAIL'} (exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
