"""The core on a large synthetic economy: 100 regions x 30 sectors (n = 3,000 industries) for a year.

    python scripts/bench_large.py [--regions 100] [--sectors 30] [--steps 365] [--full-steps 365] [--budget-gb 2]

The batch is sized to fit ``--budget-gb``: a pilot runs 8, then 16 scenarios over the first ``PILOT_DAYS`` days
(past the sanction's onset on day 10, where the sanctioned path's arrays appear) and reads the process's peak
resident memory after each; the batch is the largest multiple of 8 whose projected peak fits ``MARGIN`` of the
budget, and at most ``simulate``'s chunk (larger batches are stepped a chunk at a time, so their memory stops
growing there). Then the
plain core (every extension off, the capacity shock of ``scripts/bench_core.py``) runs ``--steps`` days and the
full core (a sanctions package, every extension on) ``--full-steps`` days, one thread. Prints scenario-days per
second and the process's peak resident memory; the last line is
``n=<industries> batch=<B> plain_scenario_days_per_s=<..> full_scenario_days_per_s=<..> peak_rss_mb=<..>``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single-threaded BLAS, set before numpy loads

import argparse  # noqa: E402
import importlib  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from cluster.core import Extensions, simulate  # noqa: E402
from cluster.economy import synthetic  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import shocks  # noqa: E402
from blas import blas_line  # noqa: E402

PILOT_DAYS = 15
#: Share of the budget the projection may fill: the pilot's days do not reach every allocation of a year.
MARGIN = 0.85


def _rss_mb() -> float:
    """The process's peak resident memory so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--sectors", type=int, default=30)
    ap.add_argument("--steps", type=int, default=365)
    ap.add_argument("--full-steps", type=int, default=365)
    ap.add_argument("--budget-gb", type=float, default=2.0)
    args = ap.parse_args()
    start = time.perf_counter()
    economy = synthetic(args.regions, args.sectors, seed=0, n_domestic=8)
    bl = economy.baseline()
    print(f"economy {economy.id}: n = {bl.n} industries; built in {time.perf_counter() - start:.1f} s")
    print(blas_line())
    chunk = importlib.import_module("cluster.core.simulate")._CHUNK
    base_mb = _rss_mb()  # the economy and the imports, before any run
    pilot = {}
    for b in (8, 16):  # the process's peak after each: its memory, allocator and all, not only numpy's
        simulate(bl, shocks(economy, bl, b, True), PILOT_DAYS)
        pilot[b] = _rss_mb()
    per = (pilot[16] - pilot[8]) / 8
    fits = int((MARGIN * args.budget_gb * 1024 - pilot[8]) // per + 8) // 8 * 8
    batch = max(8, min(fits, chunk))
    print(
        f"before any run: {base_mb:.0f} MB; pilot (every extension on, {PILOT_DAYS} days): peak {pilot[8]:.0f} MB "
        f"with 8 scenarios, {pilot[16]:.0f} MB with 16 ({per:.1f} MB a scenario); {fits} scenarios would fit "
        f"{MARGIN:.0%} of {args.budget_gb:g} GB, the chunk is {chunk}: batch B = {batch}"
    )
    rates = {}
    for name, ext, steps in (
        ("plain", Extensions.none(), args.steps),
        ("full", Extensions(), args.full_steps),
    ):
        sh = shocks(economy, bl, batch, name == "full")
        t0 = time.perf_counter()
        simulate(bl, sh, steps, extensions=ext)
        dt = time.perf_counter() - t0
        rates[name] = batch * steps / dt
        print(f"{name}: B = {batch}, {steps} days in {dt:.1f} s, {rates[name]:.0f} scenario-days/s")
    peak = _rss_mb()
    print(
        f"n={bl.n} batch={batch} plain_scenario_days_per_s={rates['plain']:.0f} "
        f"full_scenario_days_per_s={rates['full']:.0f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
