"""Instructions per unit of work, counted by valgrind (callgrind), for the clients the targets compare.

The wall-clock benchmarks (``run.py``) run on a shared machine and move from run to run: the 256-in-flight ratio
spread from 0.54x to 0.77x over a day's full runs of the same code. Instruction counts do not: valgrind counts
what the client's process executes, whatever else the machine does, so two builds of the SDK (or the SDK and its
baseline) compare to within a fraction of a percent. They leave out what instructions cannot show (cache misses,
which the garbage collector's walks cause; the kernel's work), so they complement the timings and do not replace
them: the targets stay wall-clock.

Run from the repository root (about 3 minutes per benchmark on 2 cores; needs valgrind):

    python benchmarks/instructions.py                   # stream and async
    python benchmarks/instructions.py --only async

Each client runs in its own process under callgrind, twice, with a small and a large amount of work after the
same warm-up; the difference divided by the extra work is its count per unit (start-up, imports and warm-up
cancel out). The canned server runs natively in its own process, as for ``run.py``. Not run by ``run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _async_bench import GROK as ASYNC_GROK
from _async_bench import RAW_AIOHTTP, _aiohttp, _drive, _grok
from _server import running_server
from _sync_bench import GROK as SYNC_GROK
from _sync_bench import RAW_HTTPX, _check_answer, _check_chunks, _raw_httpx
from _sync_bench import _grok as _grok_sync

HERE = Path(__file__).resolve().parent
IN_FLIGHT = 256
# Under valgrind a large async run takes about 2 minutes: the budget only stops a client that hangs.
_ASYNC_BUDGET_S = 3600.0

# benchmark: (unit, (baseline, other), small and large amounts of work)
_BENCHMARKS: dict[str, tuple[str, tuple[str, str], tuple[int, int]]] = {
    "call": ("call", (RAW_HTTPX, SYNC_GROK), (200, 1200)),
    "stream": ("5,000-chunk stream", (RAW_HTTPX, SYNC_GROK), (1, 3)),
    "async": (f"request at {IN_FLIGHT} in flight", (RAW_AIOHTTP, ASYNC_GROK), (1000, 3000)),
}
_SYNC_FACTORIES = {RAW_HTTPX: _raw_httpx, SYNC_GROK: _grok_sync}
_ASYNC_FACTORIES = {RAW_AIOHTTP: _aiohttp, ASYNC_GROK: _grok}


def _work(benchmark: str, client: str, url: str, amount: int) -> None:
    """In the child: a warm-up, then ``amount`` units of ``benchmark`` with ``client``, every result checked as
    ``run.py`` checks it (a client that skipped work would count fewer instructions)."""
    if benchmark == "async":

        async def drive() -> None:
            async with _ASYNC_FACTORIES[client](url, IN_FLIGHT) as call:
                await _drive(call, 2 * IN_FLIGHT, IN_FLIGHT, _ASYNC_BUDGET_S)
                started = time.perf_counter()
                await _drive(call, amount, IN_FLIGHT, _ASYNC_BUDGET_S)
                if time.perf_counter() - started >= _ASYNC_BUDGET_S:  # _drive stops quietly at its budget
                    raise RuntimeError(
                        f"{client} did not send {amount} requests within {_ASYNC_BUDGET_S:.0f} s"
                    )

        asyncio.run(drive())
        return
    stream = benchmark == "stream"
    check = _check_chunks if stream else _check_answer
    with _SYNC_FACTORIES[client](url, stream) as call:
        for _ in range(2 if stream else 50):
            check(call())
        for _ in range(amount):
            check(call())


def _count(benchmark: str, client: str, url: str, amount: int) -> int:
    """Instructions the child executed (callgrind's total)."""
    env = dict(os.environ, PYTHONHASHSEED="0", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE / "instructions.py"),
        "--child",
        benchmark,
        client,
        url,
        str(amount),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{client} under callgrind failed (exit {done.returncode}): {done.stderr[-400:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="stream,async", help="comma-separated subset of call, stream, async"
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("BENCHMARK", "CLIENT", "URL", "AMOUNT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        benchmark, client, url, amount = args.child
        _work(benchmark, client, url, int(amount))
        return 0
    chosen = list(dict.fromkeys(name.strip() for name in args.only.split(",") if name.strip()))
    unknown = set(chosen) - set(_BENCHMARKS)
    if unknown or not chosen:
        parser.error(f"--only takes a comma-separated subset of {', '.join(_BENCHMARKS)}; got {args.only!r}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    with running_server() as server, ThreadPoolExecutor(max_workers=2) as pool:
        for name in chosen:
            unit, clients, (small, large) = _BENCHMARKS[name]
            jobs = [(client, amount) for client in clients for amount in (small, large)]
            counted = {job: pool.submit(_count, name, job[0], server.url, job[1]) for job in jobs}
            totals = {job: future.result() for job, future in counted.items()}
            per = {
                client: (totals[client, large] - totals[client, small]) / (large - small)
                for client in clients
            }
            baseline, other = clients
            print(f"{name}: instructions per {unit}")
            for client in clients:
                print(f"  {client:<45} {per[client] / 1e3:>12,.0f} k")
            ratio = per[other] / per[baseline]
            line = f"  {other} / {baseline}: {ratio:.3f}x the instructions"
            if name == "async":  # the target is a throughput ratio: requests/s, the inverse
                line += f" ({1 / ratio:.3f}x the requests/s, if time followed instructions)"
            print(line + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
