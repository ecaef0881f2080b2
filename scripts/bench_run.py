"""Benchmark the driver: the same config serially in-process and through a local Ray on 2 workers.

    python scripts/bench_run.py [CONFIG] [--draws N] [--batch-size B] [--repeats K] [--encoded]

Both executors run the same batches (same batch size) of the same plan; results are discarded. ``--encoded``:
the tables come back as Parquet bytes, encoded where the batch ran, as ``run_config``'s do
(``store.EncodedJob``); without it, as Arrow tables (``run_in_memory``). Prints, for each, the wall time
(medians of --repeats interleaved runs), scenarios per second, the Ray start-up time, and the speed-up; Ray's
overhead per worker is the Ray run's time beyond the serial time divided by the workers, as a share of that.
The last line is ``speedup=<serial time / Ray time>``.

Default: configs/eu_embargo.toml with 64 draws, about a minute serially on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from cluster.config import load
from cluster.plan import Plan
from cluster.runner import RunStats, execute
from cluster.schema import RESULT_SCHEMA, with_provenance
from cluster.store import EncodedJob

sys.path.insert(0, str(Path(__file__).parent))
from blas import blas_line

WORKERS = 2


def _discard(index: int, ids: Any, *tables: Any) -> None:
    """Results are dropped: the benchmark times the simulation and the transport, not the disk."""


def _shown(path: str) -> str:
    """A config path as the project names it: relative to the repository when inside it."""
    root = Path(__file__).resolve().parents[1]
    full = Path(path).resolve()
    return str(full.relative_to(root)) if full.is_relative_to(root) else path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(Path(__file__).parents[1] / "configs" / "eu_embargo.toml"))
    ap.add_argument("--draws", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--encoded", action="store_true", help="return Parquet bytes, as run_config does")
    args = ap.parse_args()
    plan = Plan.from_config(load(args.config, draws=args.draws))
    job: Any = EncodedJob(plan, with_provenance(RESULT_SCHEMA, {}).metadata) if args.encoded else plan
    runs: dict[str, list[RunStats]] = {"serial": [], "ray": []}
    for _ in range(args.repeats):
        runs["serial"].append(execute(job, executor="serial", batch_size=args.batch_size, on_batch=_discard))
        runs["ray"].append(execute(job, executor="ray", batch_size=args.batch_size, workers=WORKERS, on_batch=_discard))
    serial = statistics.median(s.elapsed for s in runs["serial"])
    ray = statistics.median(s.elapsed for s in runs["ray"])
    startup = statistics.median(s.startup for s in runs["ray"])
    compute_serial = statistics.median(s.compute for s in runs["serial"])
    compute_ray = statistics.median(s.compute for s in runs["ray"])
    n = args.draws
    print(
        f"config {_shown(args.config)}: {n} draws x {len(plan.policies)} policies x {plan.steps} days, batches of "
        f"{args.batch_size}; medians of {args.repeats}" + ("; tables encoded to Parquet bytes" if args.encoded else "")
    )
    print(blas_line())
    print(f"serial, in-process:   {serial:8.2f} s  {n / serial:8.2f} scenarios/s")
    print(f"Ray, {WORKERS} workers:        {ray:8.2f} s  {n / ray:8.2f} scenarios/s  (+ {startup:.2f} s to start Ray)")
    per_worker = serial / WORKERS
    overhead, with_startup = (ray - per_worker) / per_worker, (ray + startup - per_worker) / per_worker
    print(
        f"Ray run beyond serial time / {WORKERS}: {100 * overhead:.1f}% of the serial time per worker "
        f"(start-up excluded); {100 * with_startup:.1f}% with it"
    )
    # Split that: the simulation itself runs slower when both cores compute (shared caches and memory), which
    # is the machine, not Ray; what is left is Ray's own cost (scheduling, transport, idle workers).
    contention = compute_ray / compute_serial - 1.0
    own = (ray - compute_ray / WORKERS) / per_worker
    print(
        f"  of which: the simulation {100 * contention:.1f}% slower with {WORKERS} cores busy "
        f"({compute_ray:.1f} s vs {compute_serial:.1f} s of compute); Ray's own overhead {100 * own:.1f}% "
        "(wall time not spent computing, per worker)"
    )
    print(f"speedup={serial / ray:.2f}")


if __name__ == "__main__":
    main()
