"""Benchmark the trade core against BoARIO 0.7.2 on a 22-region x 10-sector synthetic economy.

Runs, single-threaded and side by side in one process:
  * BoARIO on one scenario (a capacity shock: 30% of one industry's capital, linear recovery), 365 steps;
  * the core on B = 256 copies of the same shock, every sanctions extension off;
  * the core on the same 256 scenarios with a sanctions package and every extension on;
  * both again with the numpy reference path (``kernel="numpy"``) instead of the fused kernels;
  * the same, asking for quarterly periods (period tables and trade by partner: the origin-resolved
    contraction runs every day), and the same without periods but with world prices moving (real income
    needs the trade across bloc borders by product, the same contraction), and the same with a final-demand
    push on the domestic regions (every final-demand flow is scaled by the day's multiplier).
Prints wall times (medians of --repeats runs), milliseconds per step, scenario-days per second and the ratios;
the last line is ``speedup_vs_boario=<plain core / BoARIO> speedup_full=<every extension on / BoARIO>
peak_rss_mb=<process peak>``.

    python scripts/bench_core.py [--batch 256] [--steps 365] [--repeats 3]

Needs the test extra (boario, pymrio). The machine is shared: quote medians and ratios, not single runs.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single-threaded BLAS, set before numpy loads

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from cluster.core import Baseline, Extensions, ShockBatch, embargo_links, simulate  # noqa: E402
from cluster.core.baseline import DAYS_PER_YEAR  # noqa: E402
from cluster.economy import Economy, synthetic  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from blas import blas_line  # noqa: E402

REGION, SECTOR, SHARE, OCCURRENCE, DURATION, RECOVERY = "R03", "S02", 0.3, 5, 10, 90


def boario_once(economy: Economy, steps: int) -> float:
    """Wall time of one BoARIO simulation of the capacity shock."""
    import pandas as pd
    from boario.event import from_series
    from boario.extended_models import ARIOPsiModel
    from boario.simulation import Simulation

    io = economy.to_pymrio()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model = ARIOPsiModel(io)
        sim = Simulation(model, n_temporal_units_to_sim=steps, boario_output_dir=tmp)
        capital = pd.Series(model.productive_capital, index=model.industries)
        impact = pd.Series(
            [SHARE * capital[(REGION, SECTOR)]],
            index=pd.MultiIndex.from_tuples([(REGION, SECTOR)], names=["region", "sector"]),
        )
        sim.add_event(
            from_series(
                impact,
                event_type="recovery",
                occurrence=OCCURRENCE,
                duration=DURATION,
                recovery_tau=RECOVERY,
                event_monetary_factor=model.monetary_factor,
            )
        )
        sim.loop()
        return time.perf_counter() - start


def shocks(economy: Economy, bl: Baseline, batch: int, sanctions: bool) -> ShockBatch:
    """B copies of the capacity shock; with ``sanctions``, plus a varied sanctions package."""
    f = economy.industry(REGION, SECTOR)
    quiet = ShockBatch.quiet(bl, batch)
    sh = replace(
        quiet,
        events=replace(
            quiet.events,
            industry=np.full((batch, 1), f),
            share=np.full((batch, 1), SHARE),
            onset=np.full((batch, 1), OCCURRENCE),
            duration=np.full((batch, 1), DURATION),
            recovery=np.full((batch, 1), RECOVERY),
        ),
    )
    if not sanctions:
        return sh
    rng = np.random.default_rng(0)
    r, s = bl.n_regions, bl.n_sectors
    target = economy.domestic.copy()
    coalition = (np.arange(r) >= 8) & (np.arange(r) < 14)
    bans = rng.uniform(size=(batch, s)) < 0.5
    project = economy.industry("R04", "S04")
    return replace(
        sh,
        target=target,
        sanctions=replace(
            sh.sanctions,
            embargo=embargo_links(target, np.broadcast_to(coalition, (batch, r)), bans, bans)[:, None],
            onset=np.full((batch, 1), 10),
            leakage=rng.uniform(0, 0.3, (batch, 1, s)),
            leakage_premium=np.full((batch, s), 0.3),
            substitutability=rng.uniform(0, 1, (batch, s)),
            substitution_tau=np.full((batch, s), 90.0),
        ),
        cooperation=replace(sh.cooperation, weight=np.full(batch, 2.0), speedup=np.full(batch, 2.0)),
        adaptation=replace(
            sh.adaptation,
            buyers=np.broadcast_to(np.arange(r) >= 14, (batch, r)).copy(),
            diversion=np.full((batch, s), 0.5),
            expansion=np.full((batch, s), 0.5),
        ),
        counter_trade=replace(
            sh.counter_trade,
            friendly=np.broadcast_to(np.arange(r) >= 14, (batch, r)).copy(),
            capacity=np.full(batch, 0.02),
            efficiency=np.full(batch, 0.5),
            discount=np.full(batch, 0.1),
            lag=np.full(batch, 30),
        ),
        projects=replace(
            sh.projects,
            industry=np.full((batch, 1), project),
            capacity=np.full((batch, 1), 0.2 * bl.x0[project]),
            online=np.full((batch, 1), 100),
            ramp=np.full((batch, 1), 60),
            success=np.ones((batch, 1), dtype=bool),
            capex=np.full((batch, 1), 1000.0),
            capex_mix=np.full((batch, 1, bl.n_sectors), 1.0 / bl.n_sectors),
        ),
    )


def add_step_options(ap: argparse.ArgumentParser) -> None:
    """The options of the scripts that step the benchmark batch with one ``Stepper`` (``profile_step.py``,
    ``ab_step.py``): its size, the days, every extension off, the kernel, the trade by partner."""
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=365)
    ap.add_argument("--plain", action="store_true", help="the plain batch, every extension off")
    ap.add_argument("--kernel", choices=("fused", "numpy"), default="fused")
    ap.add_argument("--trade", action="store_true", help="with trade by partner, as runs with periods step")


def step_batch(args: argparse.Namespace) -> tuple[Economy, Baseline, ShockBatch]:
    """The benchmark economy, its baseline and the batch ``add_step_options``' arguments ask for: the "full" batch
    (a sanctions package, every extension on) or, with ``--plain``, the capacity shock alone."""
    economy = synthetic(22, 10, seed=0, n_domestic=8)
    bl = economy.baseline()
    return economy, bl, shocks(economy, bl, args.batch, not args.plain)


def with_prices(sh: ShockBatch) -> ShockBatch:
    """``sh`` with world prices moving: +40% on product 0 from day 20, decaying over 90 days."""
    level = np.zeros_like(sh.prices.level)
    level[:, 0] = 0.4
    prices = replace(sh.prices, level=level, onset=np.full(sh.batch, 20), tau=np.full(sh.batch, 90.0))
    return replace(sh, prices=prices)


def with_demand(sh: ShockBatch, economy: Economy) -> ShockBatch:
    """``sh`` with a final-demand shock: +10% on the domestic regions' final demand from day 20, over 30 days."""
    change = np.zeros_like(sh.demand.change)
    change[:, :, economy.domestic] = 0.1
    b = sh.batch
    demand = replace(sh.demand, change=change, onset=np.full((b, 1), 20), ramp=np.full((b, 1), 30))
    return replace(sh, demand=demand)


def core_once(
    bl: Baseline,
    sh: ShockBatch,
    steps: int,
    ext: Extensions,
    periods: np.ndarray | None = None,
    kernel: str = "fused",
) -> float:
    start = time.perf_counter()
    simulate(bl, sh, steps, extensions=ext, periods=periods, kernel=kernel)
    return time.perf_counter() - start


def core_peak_mb(bl: Baseline, sh: ShockBatch, steps: int, ext: Extensions) -> float:
    """Peak memory allocated by numpy during a (shortened) core run, MB."""
    tracemalloc.start()
    simulate(bl, sh, steps, extensions=ext)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    economy = synthetic(22, 10, seed=0, n_domestic=8)
    bl = economy.baseline()
    plain, full = shocks(economy, bl, args.batch, False), shocks(economy, bl, args.batch, True)
    priced = with_prices(full)
    pushed = with_demand(full, economy)
    quarters = np.arange(args.steps) * 4 // DAYS_PER_YEAR  # quarter-like periods
    names = ("boario", "plain", "full", "periods", "prices", "demand", "plain_numpy", "full_numpy")
    times: dict[str, list[float]] = {name: [] for name in names}
    simulate(bl, full, 3)  # the compiled kernels loaded (or compiled, once per machine) before anything is timed
    for _ in range(args.repeats):  # interleaved, so that machine noise hits all of them alike
        times["boario"].append(boario_once(economy, args.steps))
        times["plain"].append(core_once(bl, plain, args.steps, Extensions.none()))
        times["full"].append(core_once(bl, full, args.steps, Extensions()))
        times["periods"].append(core_once(bl, full, args.steps, Extensions(), quarters))
        times["prices"].append(core_once(bl, priced, args.steps, Extensions()))
        times["demand"].append(core_once(bl, pushed, args.steps, Extensions()))
        times["plain_numpy"].append(core_once(bl, plain, args.steps, Extensions.none(), kernel="numpy"))
        times["full_numpy"].append(core_once(bl, full, args.steps, Extensions(), kernel="numpy"))
    med = {name: statistics.median(v) for name, v in times.items()}
    rate = {
        "boario": args.steps / med["boario"],
        "plain": args.batch * args.steps / med["plain"],
        "full": args.batch * args.steps / med["full"],
    }
    peak_alloc = core_peak_mb(bl, full, 30, Extensions())
    print(f"economy: {economy.id}, n = {bl.n} industries; {args.steps} steps; medians of {args.repeats} runs")
    print(blas_line())
    print(f"BoARIO 0.7.2, 1 scenario:           {med['boario']:8.2f} s  {rate['boario']:10.0f} scenario-days/s")
    print(
        f"core, B={args.batch}, extensions off:    {med['plain']:8.2f} s  {rate['plain']:10.0f} scenario-days/s"
        f"  ({rate['plain'] / rate['boario']:.1f}x BoARIO)"
    )
    print(
        f"core, B={args.batch}, every extension on: {med['full']:8.2f} s  {rate['full']:10.0f} scenario-days/s"
        f"  ({rate['full'] / rate['boario']:.1f}x BoARIO)"
    )
    for name, what in (("periods", "with periods"), ("prices", "world prices"), ("demand", "demand push")):
        print(
            f"core, B={args.batch}, every extension on, {what}: {med[name]:8.2f} s"
            f"  ({med[name] / med['full'] - 1:+.1%} vs. without)"
        )
    for name in ("plain", "full"):
        ref = med[f"{name}_numpy"]
        print(
            f"core, B={args.batch}, {name}, numpy reference path: {ref:8.2f} s  "
            f"{args.batch * args.steps / ref:10.0f} scenario-days/s  (fused kernels {ref / med[name]:.2f}x faster)"
        )
    step_ms = {name: 1e3 * med[name] / args.steps for name in names if name != "boario"}
    print("median step time, ms: " + ", ".join(f"{name} {ms:.2f}" for name, ms in step_ms.items()))
    print(f"core peak numpy allocation, B={args.batch}, every extension on: {peak_alloc:.0f} MB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"speedup_vs_boario={rate['plain'] / rate['boario']:.2f} speedup_full={rate['full'] / rate['boario']:.2f} "
        f"peak_rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    main()
