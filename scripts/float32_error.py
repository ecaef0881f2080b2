"""What float32 state would cost in accuracy: the core with its state rounded to float32 after every day, against
float64, over two years.

    python scripts/float32_error.py [--batch 64] [--steps 730]

The state a step carries to the next (inventories, order intensities, overproduction, production, capacity ratios,
built capacity, redirected orders, counter-trade credit) is rounded to float32 at the end of every day; the
arithmetic stays float64, so this is a lower bound on the error of a float32 core. Both runs use the batches of
``scripts/bench_core.py`` (the plain core, and a sanctions package with every extension on). For every metric it
prints the largest difference relative to the metric's scale (its largest magnitude, or the flows it accounts for
a metric that is a small difference of large ones, as ``tests/unit/test_fused.py`` judges the fused kernels), and
the accounting residual (``diagnostics``) of each run. The last line is ``worst_relative_error=<..>``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from cluster.core import Extensions, simulate  # noqa: E402
from cluster.core.metrics import METRICS  # noqa: E402
from cluster.core.model import Stepper, StepRecord  # noqa: E402
from cluster.economy import synthetic  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import shocks  # noqa: E402

_STATE = ("stock", "v", "alpha", "x", "c_o", "k_new", "credit", "credit_ring", "ct_q")


def _round(a: Any) -> None:
    if isinstance(a, np.ndarray) and a.dtype == np.float64 and a.flags.writeable:
        a[...] = a.astype(np.float32)


class Float32State(Stepper):
    """A ``Stepper`` whose state is rounded to float32 at the end of every day."""

    def step(self, t: int) -> StepRecord:
        rec = super().step(t)
        for name in _STATE:
            _round(getattr(self, name, None))
        for u in self.u or []:
            _round(u)
        self.p_next = {}  # products of the unrounded V are not reused the next day
        return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=730)
    args = ap.parse_args()
    economy = synthetic(22, 10, seed=0, n_domestic=8)
    bl = economy.baseline()
    module = importlib.import_module("cluster.core.simulate")
    worst = 0.0
    for name, ext, sanctions in (("plain", Extensions.none(), False), ("full", Extensions(), True)):
        sh = shocks(economy, bl, args.batch, sanctions)
        ref = simulate(bl, sh, args.steps, extensions=ext, diagnostics=True)
        module.Stepper = Float32State
        try:
            low = simulate(bl, sh, args.steps, extensions=ext, diagnostics=True)
        finally:
            module.Stepper = Stepper
        money = float(ref.va0.sum()) * args.steps
        print(f"{name}: {args.batch} scenarios x {args.steps} days, state rounded to float32 every day")
        for metric, value in ref.metrics.items():
            floor = {"flow": money, "money": money, "percent": 100.0}.get(METRICS[metric].kind, 0.0)
            scale = max(float(np.abs(value).max(initial=0.0)), floor, 1e-300)
            rel = float(np.abs(low.metrics[metric] - value).max(initial=0.0)) / scale
            if METRICS[metric].kind != "day":
                worst = max(worst, rel)
            print(f"  {metric:<22} {rel:9.2e}")
        changed = int((low.recovery_day != ref.recovery_day).sum())
        print(f"  recovery_day: {changed} of {ref.recovery_day.size} differ")
        assert ref.balance_residual is not None
        assert low.balance_residual is not None
        print(
            f"  accounting residual (max over days and scenarios): float64 {ref.balance_residual.max():.1e}, "
            f"float32 state {low.balance_residual.max():.1e}"
        )
    print(f"worst_relative_error={worst:.2e}")


if __name__ == "__main__":
    main()
