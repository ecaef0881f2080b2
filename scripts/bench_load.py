"""Benchmark loading a large table: 100 regions x 30 sectors (3,000 industries), dense Z, 2 categories.

Generates the table in a temporary folder, writes it in the plain-matrix Parquet format (and CSV with
--csv) and as one ``Economy.to_parquet`` file, then times, as medians of --repeats runs:
  * ``load_table(folder)`` on the plain Parquet matrices (labels checked, cells checked, Economy built);
  * ``load_table(file)`` on the economy file (``Economy.read_parquet`` plus the same checks);
  * the plain CSV matrices, with --csv;
  * ``aggregate`` onto 10 regions x 10 sectors.
Prints file sizes and wall times; the last line is ``plain_parquet_s=<t> economy_parquet_s=<t>``.

    python scripts/bench_load.py [--regions 100] [--sectors 30] [--repeats 3] [--csv]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cluster.aggregate import Concordance, aggregate
from cluster.economy import Economy
from cluster.loaders import load_table, write_matrices


def dense(n_regions: int, n_sectors: int, n_categories: int, seed: int = 0) -> Economy:
    """A dense random table with positive value added everywhere (inputs about a third of output)."""
    rng = np.random.default_rng(seed)
    n = n_regions * n_sectors
    z = rng.uniform(0.0, 1.0, (n, n))
    y = rng.uniform(1.0, 2.0, (n, n_regions * n_categories)) * (n / (n_regions * n_categories))
    return Economy(
        id=f"dense-{n_regions}x{n_sectors}",
        regions=tuple(f"R{i:03d}" for i in range(n_regions)),
        sectors=tuple(f"S{i:02d}" for i in range(n_sectors)),
        z=z,
        y=y,
        fd_categories=tuple(f"C{i}" for i in range(n_categories)),
        domestic=np.arange(n_regions) < 8,
    )


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def size_mb(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--sectors", type=int, default=30)
    parser.add_argument("--categories", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="also write and time the CSV matrices (slower)")
    args = parser.parse_args()

    economy = dense(args.regions, args.sectors, args.categories)
    print(
        f"table: {args.regions} regions x {args.sectors} sectors = {economy.n} industries, "
        f"{args.categories} final-demand categories, {np.count_nonzero(economy.z):,} non-zero Z cells"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        write_matrices(economy, root / "plain", fmt="parquet")
        print(
            f"write plain Parquet      {time.perf_counter() - start:7.2f} s  "
            f"{size_mb(root / 'plain' / 'Z.parquet', root / 'plain' / 'Y.parquet'):7.1f} MB"
        )
        start = time.perf_counter()
        economy.to_parquet(root / "economy.parquet")
        print(
            f"write Economy.to_parquet {time.perf_counter() - start:7.2f} s  "
            f"{size_mb(root / 'economy.parquet'):7.1f} MB"
        )

        plain = timed(lambda: load_table(root / "plain", domestic=["R000"]), args.repeats)
        print(f"load plain Parquet       {plain:7.2f} s  (median of {args.repeats})")
        stored = timed(lambda: load_table(root / "economy.parquet"), args.repeats)
        print(f"load economy Parquet     {stored:7.2f} s  (median of {args.repeats})")
        loaded = load_table(root / "plain")
        assert np.array_equal(loaded.z, economy.z)
        assert np.array_equal(loaded.y, economy.y)

        if args.csv:
            start = time.perf_counter()
            write_matrices(economy, root / "csv", fmt="csv")
            print(
                f"write plain CSV          {time.perf_counter() - start:7.2f} s  "
                f"{size_mb(root / 'csv' / 'Z.csv', root / 'csv' / 'Y.csv'):7.1f} MB"
            )
            csv = timed(lambda: load_table(root / "csv"), args.repeats)
            print(f"load plain CSV           {csv:7.2f} s  (median of {args.repeats})")

    groups = Concordance(
        regions={r: f"G{i * 10 // args.regions}" for i, r in enumerate(economy.regions)},
        sectors={s: f"T{i * 10 // args.sectors}" for i, s in enumerate(economy.sectors)},
        keep_unlisted=False,
        path="bench",
    )
    untagged = Economy(
        **{
            **{k: getattr(economy, k) for k in ("id", "regions", "sectors", "z", "y")},
            "fd_categories": economy.fd_categories,
        }
    )
    agg = timed(lambda: aggregate(untagged, groups), args.repeats)
    print(f"aggregate to 10 x 10     {agg:7.2f} s  (median of {args.repeats})")
    print(f"plain_parquet_s={plain:.2f} economy_parquet_s={stored:.2f}")


if __name__ == "__main__":
    main()
