"""Build the embedded economy ``ru-by`` from its calibration table, deterministically, in a few seconds.

    python scripts/build_default_economy.py            # writes cluster/data/ru-by.parquet, prints the marginals
    python scripts/build_default_economy.py --check    # rebuilds and compares with the shipped file (exit 1 if stale)

The calibration itself lives in ``cluster.calibration`` (docs/data.md explains each step and its figures); this
script resolves the default paths in the repository, runs it, prints the marginals and writes or checks the file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cluster.calibration import REBUILD_RTOL, build, compare
from cluster.economy import Economy

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "configs" / "calibration" / "ru_by.toml"
OUTPUT = ROOT / "cluster" / "data" / "ru-by.parquet"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the embedded economy 'ru-by' from its calibration table.")
    parser.add_argument("--calibration", type=Path, default=CALIBRATION, help="calibration table (TOML)")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="Parquet file to write (or to check)")
    parser.add_argument("--check", action="store_true", help="rebuild and compare with --out instead of writing")
    parser.add_argument("--quiet", action="store_true", help="do not print the marginals")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    econ = build(args.calibration)
    elapsed = time.perf_counter() - start
    bal = econ.provenance["balancing"]
    if not args.quiet:
        print(f"{'marginal':<55} {'target':>10} {'achieved':>16} {'rel. error':>10}")
        for row in econ.provenance["marginals"]:
            err = abs(row["achieved"] / row["target"] - 1.0)
            print(f"{row['name']:<55} {row['target']:>10.4f} {row['achieved']:>16.10f} {err:>10.1e}")
    nonzero = int((econ.z > 0).sum() + (econ.y > 0).sum())
    print(
        f"built {econ.id}: {len(econ.regions)} regions x {len(econ.sectors)} sectors, {nonzero} non-zero flows, "
        f"{bal['sweeps']} IPF sweeps, max residual {bal['max_relative_residual']:.1e}, {elapsed:.1f} s"
    )
    if args.check:
        shipped = Economy.read_parquet(args.out)
        diff = compare(econ, shipped)
        fresh = shipped.provenance.get("calibration_sha256") == econ.provenance["calibration_sha256"]
        print(
            f"{args.out}: max relative difference {diff:.1e} (allowed {REBUILD_RTOL:.0e}); calibration table "
            f"{'unchanged' if fresh else 'CHANGED since the file was built: rebuild it'}"
        )
        return 0 if diff <= REBUILD_RTOL and fresh else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    econ.to_parquet(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
