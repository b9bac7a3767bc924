"""Result rows, ratios against a baseline, target checks, and the printed table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One client's result in one benchmark; ``error`` set means the row could not run."""

    client: str
    samples: list[float] = field(default_factory=list)
    error: str | None = None
    note: str | None = None
    value: float | None = None
    ratio: float | None = None

    def fail(self, exc: BaseException) -> None:
        self.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]


@dataclass
class Section:
    """A benchmark: its rows, how a row's samples reduce to a value, and the target it is judged by."""

    key: str
    title: str
    unit: str  # "s" (lower is better) or "req/s" (higher is better)
    baseline: str
    target_client: str | None = None
    target_limit: float | None = None  # compared with target_client's ratio to the baseline
    rows: list[Row] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return self.unit == "req/s"

    def finish(self) -> None:
        """Reduce samples to medians and compute every row's ratio to the baseline."""
        for row in self.rows:
            if row.error is None and row.samples:
                row.value = statistics.median(row.samples)
            elif row.error is None:
                row.error = "no samples collected"
        base = next((r.value for r in self.rows if r.client == self.baseline), None)
        for row in self.rows:
            if row.value is not None and base:
                row.ratio = row.value / base

    def verdict(self) -> str | None:
        if self.target_client is None or self.target_limit is None:
            return None
        row = next((r for r in self.rows if r.client == self.target_client), None)
        op = ">=" if self.higher_is_better else "<="
        want = f"{self.target_client} {op} {self.target_limit:.3g}x {self.baseline}"
        if row is None or row.ratio is None:
            return f"target: {want}: pending ({row.error if row and row.error else 'no result'})"
        ok = row.ratio >= self.target_limit if self.higher_is_better else row.ratio <= self.target_limit
        return f"target: {want}: {'PASS' if ok else 'FAIL'} ({row.ratio:.2f}x)"

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "unit": self.unit,
            "baseline": self.baseline,
            **self.extra,
            "target": {
                "client": self.target_client,
                "ratio_limit": self.target_limit,
                "verdict": self.verdict(),
            }
            if self.target_client
            else None,
            "rows": [
                {
                    "client": r.client,
                    "median": r.value,
                    "p90": _quantile(r.samples, 0.9),
                    "min": min(r.samples) if r.samples else None,
                    "max": max(r.samples) if r.samples else None,
                    "samples": len(r.samples),
                    "ratio": r.ratio,
                    "error": r.error,
                    "note": r.note,
                }
                for r in self.rows
            ],
        }

    def render(self) -> str:
        spread = "min" if self.higher_is_better else "p90"
        lines = [self.title, f"  {'client':<44} {'median':>12} {spread:>12} {'ratio':>8} {'n':>6}"]
        for r in self.rows:
            if r.error is not None:
                lines.append(f"  {r.client:<44} error: {r.error}")
                continue
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
            figures = f"{self._fmt(r.value)} {self._fmt(self._spread(r))} {ratio:>8} {len(r.samples):>6}"
            line = f"  {r.client:<44} {figures}"
            lines.append(line + (f"  ({r.note})" if r.note else ""))
        verdict = self.verdict()
        if verdict:
            lines.append("  " + verdict)
        return "\n".join(lines)

    def _spread(self, row: Row) -> float | None:
        # The unfavourable tail: slow calls for latencies, the slowest round for throughput.
        return min(row.samples) if self.higher_is_better else _quantile(row.samples, 0.9)

    def _fmt(self, value: float | None) -> str:
        if value is None:
            return f"{'-':>12}"
        if self.unit == "req/s":
            return f"{value:>8.0f} r/s"
        return f"{value * 1e3:>9.2f} ms"


def _quantile(samples: list[float], q: float) -> float | None:
    if len(samples) < 2:
        return samples[0] if samples else None
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q * 100) - 1]
