"""Profile one async throughput row (benchmark 4) under cProfile, against the canned loopback server.

Run from the repository root:

    python benchmarks/profile_async.py                      # AsyncGrokClient, 256 in flight
    python benchmarks/profile_async.py --row aiohttp        # the raw aiohttp baseline, for comparison
    python benchmarks/profile_async.py --top 40 --sort tottime

It warms the row up, then profiles ``--requests`` requests and prints the top functions. Profiling slows
Python code several times over, so the rates it prints are not the benchmark's; the shares of time are what
matter. Not run by ``run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys

from _async_bench import GROK, RAW_AIOHTTP, _aiohttp, _drive, _grok, _httpx_aiohttp
from _server import running_server

_ROWS = {
    "grok": (GROK, _grok),
    "aiohttp": (RAW_AIOHTTP, _aiohttp),
    "httpx-aiohttp": ("httpx", _httpx_aiohttp),
}


async def _profile(url: str, row: str, concurrency: int, requests: int, profiler: cProfile.Profile) -> float:
    _, factory = _ROWS[row]
    async with factory(url, concurrency) as call:
        await _drive(call, concurrency * 4, concurrency, 30.0)
        profiler.enable()
        rate = await _drive(call, requests, concurrency, 60.0)
        profiler.disable()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", choices=sorted(_ROWS), default="grok")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", help="a pstats sort key: tottime, cumulative...")
    parser.add_argument("--output", help="also write the raw profile here (for snakeviz or pstats)")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    profiler = cProfile.Profile()
    with running_server() as server:
        rate = asyncio.run(_profile(server.url, args.row, args.concurrency, args.requests, profiler))
    print(f"{args.row} at {args.concurrency} in flight: {rate:.0f} r/s under the profiler\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    if args.output:
        stats.dump_stats(args.output)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
