"""The core is plain numpy: the same batch gives the same bits in this process and in a Ray worker."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from cluster.core import simulate
from cluster.plan import Plan
from cluster.runs import builtin_config

pytestmark = pytest.mark.integration


def _run(ids: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The core's metrics for scenarios ``ids`` of ``shock simulate``'s built-in package (every lever on)."""
    plan = Plan.from_config(builtin_config("synthetic", draws=32, days=120, seed=seed))
    return simulate(plan.baseline, plan.shocks(ids, plan.draw(ids)), plan.steps, extensions=plan.extensions).metrics


def test_ray_worker_gives_identical_bits(ray_local: Any) -> None:
    ids = np.arange(10, 26)
    here = _run(ids, seed=7)
    # This test module is not importable in a worker: ship the function by value.
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    remote = ray_local.remote(_run)
    there = ray_local.get([remote.remote(ids[:8], 7), remote.remote(ids[8:], 7)])
    for name, value in here.items():
        joined = np.concatenate([there[0][name], there[1][name]])
        assert np.array_equal(value, joined, equal_nan=True), name


def test_shock_simulate_as_a_real_command() -> None:
    """``python -m cluster simulate`` runs end to end and prints one row per region."""
    out = subprocess.run(
        [sys.executable, "-m", "cluster", "simulate", "--economy", "synthetic", "--draws", "8", "--days", "60"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("economy synthetic-22x10-0: 22 regions x 10 sectors; 8 draws x 60 days")
    rows = [line.split() for line in lines if line.startswith("levers ")]
    assert [row[1] for row in rows] == [f"R{i:02d}" for i in range(22)]
    bad = subprocess.run(
        [sys.executable, "-m", "cluster", "simulate", "--economy", "nope"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert "nope" in bad.stderr
    assert "Traceback" not in bad.stderr
