"""Executors: split scenario ids into batches, run the core on each, gather in scenario order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from cluster.core import Baseline, Extensions, ShockBatch, simulate

__all__ = ["batches", "run_serial"]

F64 = NDArray[np.float64]


def batches(n_scenarios: int, batch_size: int) -> list[NDArray[np.int64]]:
    """Scenario ids 0..n-1 cut into consecutive batches (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    ids = np.arange(n_scenarios, dtype=np.int64)
    return [ids[i : i + batch_size] for i in range(0, n_scenarios, batch_size)]


def run_serial(
    baseline: Baseline,
    make_batch: Callable[[NDArray[np.int64]], ShockBatch],
    n_scenarios: int,
    steps: int,
    *,
    batch_size: int = 64,
    extensions: Extensions | None = None,
) -> dict[str, F64]:
    """Run every batch in this process; metrics (scenarios, regions) in scenario-id order."""
    parts = []
    for ids in batches(n_scenarios, batch_size):
        out = simulate(baseline, make_batch(ids), steps, extensions=extensions)
        parts.append(out.metrics)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
