"""The Ray tests. Modules that need Ray Data skip when it is not installed (``pip install "grok-azure[ray]"``);
CI installs it. ``local_ray`` is one local Ray instance per module (two CPUs, no dashboard), shut down after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray instance with two CPUs: room for two map workers (the coordinator takes no CPU)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield ray
    finally:
        ray.shutdown()
