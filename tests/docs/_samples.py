"""Finding the Python samples of the documentation: every ```python block of docs/*.md and README.md.

A block preceded by the line ``<!-- sample: pending -->`` shows an API that has not landed yet; the test runs it
and expects it may fail. A block sees the names the blocks above it on the same page defined, as a reader does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PENDING = "<!-- sample: pending -->"
_FENCE = re.compile(r"^```\s*(\S*)\s*$")


@dataclass(frozen=True)
class Sample:
    """One ```python block: where it is, its code and whether it is marked pending."""

    path: Path
    line: int  # 1-based line of the first line of code
    code: str
    pending: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def pages() -> list[Path]:
    """The Markdown pages whose samples run: the documentation site and the README."""
    return [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


def samples(path: Path) -> list[Sample]:
    """The ```python blocks of one page, in order; an indented block (in a list item, a tab) is dedented."""
    found: list[Sample] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index].strip())
        if match is None or not lines[index].lstrip().startswith("```"):
            index += 1
            continue
        language = match.group(1)
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if language == "python":
            before = [line.strip() for line in lines[:index] if line.strip()]
            pending = bool(before) and before[-1] == PENDING
            indent = len(lines[index]) - len(lines[index].lstrip())
            code = "\n".join(line[indent:] for line in lines[start:end])
            found.append(Sample(path, start + 1, code, pending))
        index = end + 1
    return found


def all_samples() -> list[Sample]:
    return [sample for page in pages() for sample in samples(page)]
