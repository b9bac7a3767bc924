"""Benchmark 3: cold import time of each package, in a fresh interpreter per sample.

A sample is the wall time of ``python -c "import X"`` minus the median of ``python -c "pass"``, so the
interpreter's own start-up cancels out. Runs are interleaved across packages, after one untimed run each that
writes any missing bytecode caches.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _report import Row, Section

GROK = "grok_azure"
OPENAI = "openai"
MODULES = ("httpx", GROK, OPENAI, "azure.ai.inference")
_TIMEOUT_S = 60.0


def _wall(statement: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1])
    return elapsed


def _grok_note() -> str | None:
    probe = "import grok_azure as g, sys; sys.exit(0 if hasattr(g, 'GrokClient') else 3)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=_TIMEOUT_S, check=False)
    return "package skeleton only: GrokClient not exported yet" if done.returncode == 3 else None


def run_imports(runs: int, budget_s: float) -> Section:
    section = Section(
        "import_time",
        "3. Cold import time in a fresh interpreter, seconds (lower is better)",
        "s",
        OPENAI,
        GROK,
        1 / 3,
    )
    rows = {name: Row(name) for name in MODULES}
    section.rows.extend(rows.values())
    live = {}
    for name, row in rows.items():
        try:
            _wall(f"import {name}")
        except Exception as exc:
            row.fail(exc)
        else:
            live[name] = row
    if GROK in live:
        live[GROK].note = _grok_note()
    baseline: list[float] = []
    raw: dict[str, list[float]] = {name: [] for name in live}
    deadline = time.perf_counter() + budget_s
    for _ in range(runs):
        baseline.append(_wall("pass"))
        for name in live:
            raw[name].append(_wall(f"import {name}"))
        if time.perf_counter() > deadline:
            break
    startup = statistics.median(baseline)
    section.extra["interpreter_startup_s"] = startup
    for name, row in live.items():
        row.samples = [max(0.0, sample - startup) for sample in raw[name]]
    section.finish()
    return section
