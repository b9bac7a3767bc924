"""Side-by-side speed harness: grok_azure against raw httpx/aiohttp, openai and azure-ai-inference.

Run from the repository root:

    python benchmarks/run.py            # full run, about 9 minutes on 2 cores
    python benchmarks/run.py --quick    # smoke run, about 30 seconds
    python benchmarks/run.py --install  # first pip-install benchmarks/requirements.txt

It starts a canned loopback server in its own process, runs each benchmark with every client side by side,
prints a table per benchmark and writes the numbers to benchmarks/results/latest.json. A client that fails
shows "error: ..." in its row; the other rows still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# Sibling modules import as top-level names because this file runs as a script (benchmarks/ is sys.path[0]).
from _async_bench import run_throughput
from _import_bench import run_imports
from _report import Section
from _server import running_server
from _sync_bench import run_non_streaming, run_streaming

HERE = Path(__file__).resolve().parent

BENCHMARKS = ("call", "stream", "import", "async")
PACKAGES = ("grok-azure", "httpx", "openai", "azure-ai-inference", "azure-core", "aiohttp", "httpx-aiohttp")


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much work each benchmark does; every loop is bounded by both a count and a time budget."""

    call_rounds: int
    call_per_round: int
    stream_rounds: int
    stream_per_round: int
    stream_budget_s: float  # the whole section: 9 rounds of the four clients took 85 s on a slow day
    import_runs: int
    async_requests: int
    async_rounds: int
    target_rounds: int  # the target's two rows at 256 in flight: more rounds, for a steadier ratio
    async_round_s: float
    watchdog_s: float  # the whole run is killed (with tracebacks) past this


FULL = Plan(5, 300, 9, 3, 240, 9, 4000, 9, 27, 2.5, 1200)
QUICK = Plan(2, 50, 2, 1, 90, 3, 1000, 1, 1, 0.5, 120)


def _install() -> None:
    requirements = HERE / "requirements.txt"
    # `-e .` inside the file is resolved against the working directory, hence the repo root.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-r", str(requirements)], cwd=HERE.parent, check=True
    )


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _run(plan: Plan, only: set[str]) -> list[Section]:
    sections: list[Section] = []

    def show(run: Callable[..., Section], *args: Any) -> None:
        started = time.perf_counter()
        section = run(*args)
        section.extra["elapsed_s"] = round(time.perf_counter() - started, 1)
        sections.append(section)
        print(f"{section.render()}\n  ({section.extra['elapsed_s']} s)\n", flush=True)

    if "import" in only:
        show(run_imports, plan.import_runs, 60)
    if not only & {"call", "stream", "async"}:
        return sections
    with running_server() as server:
        if "call" in only:
            show(run_non_streaming, server.url, plan.call_rounds, plan.call_per_round, 20, 60)
        if "stream" in only:
            show(
                run_streaming, server.url, plan.stream_rounds, plan.stream_per_round, 1, plan.stream_budget_s
            )
        if "async" in only:
            for concurrency in (16, 256):
                show(
                    run_throughput,
                    server,
                    concurrency,
                    plan.async_requests,
                    plan.async_rounds,
                    plan.async_round_s,
                    plan.target_rounds,
                )
    return sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark grok_azure against the reference HTTP clients.")
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (about 30 s instead of 9 min)"
    )
    parser.add_argument(
        "--install", action="store_true", help="pip-install benchmarks/requirements.txt first"
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {','.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "latest.json", help="JSON results path"
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="grok_azure clients trace every call (TracingHook, SDK provider, BatchSpanProcessor; see tracing.py)",
    )
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.install:
        _install()

    plan = QUICK if args.quick else FULL
    # Loopback only: a proxy configured for package registries must not sit between client and server.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    faulthandler.dump_traceback_later(plan.watchdog_s, exit=True)
    started = time.perf_counter()
    print(
        f"grok-azure benchmarks ({'quick' if args.quick else 'full'}) on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}\n",
        flush=True,
    )
    provider = None
    if args.tracing:
        from tracing import enable

        provider = enable()
    sections = _run(plan, only)
    if provider is not None:
        provider.shutdown()  # flush: a span the exporter never saw would flatter the run
    duration = time.perf_counter() - started
    faulthandler.cancel_dump_traceback_later()

    results = {
        "meta": {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "tracing": args.tracing,
            "plan": dataclasses.asdict(plan),
            "duration_s": round(duration, 1),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "packages": _versions(),
        },
        **{section.key: section.to_json() for section in sections},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"finished in {duration:.0f} s; results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
