"""Peak memory and wall time of ``shock report`` on a 1,000-draw and a 10,000-draw run folder.

The report reads a run one unit (region or country) at a time with column projection and row filters, and draws
every figure from reductions (quantiles, means, intervals), so its memory should hardly grow with the draws:
what grows is one unit's vector of losses, one country's trajectories under one policy, and the drawn parameters
of one country's sensitivity analysis. This makes real run folders of ``configs/eu_embargo.toml`` (five policies,
weekly trajectories) through ``cluster.runs.run_config`` on a private local Ray with 2 workers, then builds
each one's report in a fresh process and reports its wall time and peak resident set (``getrusage``).

To keep the 10,000-draw run to a few minutes on two CPUs it is made cheaper, not smaller: a short horizon
(``--days``, default 28) with the sanctions' onset moved to day 3 (the config's day 30 must fall inside it), and
a fixed batch size (``--batch-size``, default 250: shards of the same size for both runs, so that what differs
is the number of draws). ``--work DIR`` keeps the run folders and reuses them on the next call.

    python scripts/report_memory.py                      # 1,000 and 10,000 draws
    python scripts/report_memory.py --work /tmp/report_memory

The last line is ``report_memory_ratio=<10k/1k> wall_10k_s=<seconds>`` (peak resident sets, last size over the
first, and the last size's wall time); the target is a ratio within 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "eu_embargo.toml"
MB = 1024.0**2


def make_run(draws: int, days: int, batch_size: int, out: str) -> dict[str, Any]:
    """One run folder of ``draws`` draws (in this process; the caller starts a fresh one)."""
    from cluster.config import from_dict
    from cluster.runs import run_config

    raw = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    raw["sanctions"]["onset"] = 3
    raw["output"] = {"trajectories": "weekly"}
    raw["run"].update(draws=draws, days=days)
    config = from_dict(raw, source=str(CONFIG), base=CONFIG.parent, name=CONFIG.stem)
    start = time.perf_counter()
    run_config(config, executor="ray", workers=2, out=out, overwrite=True, batch_size=batch_size)
    return {"draws": draws, "wall": time.perf_counter() - start}


def build_report(run: str, out: str) -> dict[str, Any]:
    """The report of ``run`` in this (fresh) process: wall time and peak resident set, imports included."""
    start = time.perf_counter()
    from cluster.report import report

    imported = time.perf_counter()
    report(run, out)
    return {
        "wall": time.perf_counter() - start,
        "import": imported - start,
        "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: kilobytes
        "bytes": os.path.getsize(out),
    }


def _reusable(path: Path, draws: int, days: int) -> bool:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    run = (manifest.get("config") or {}).get("run") or {}
    return manifest.get("status") == "complete" and manifest.get("draws") == draws and run.get("days") == days


def _child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, env={**os.environ}
    )
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(done.returncode)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000], help="draws of each run")
    parser.add_argument("--days", type=int, default=28, help="horizon of the runs (default 28)")
    parser.add_argument("--batch-size", type=int, default=250, help="scenarios per batch, the same for every size")
    parser.add_argument("--work", help="folder for the run folders, kept and reused (default: a temporary one)")
    parser.add_argument("--make", type=int, metavar="DRAWS", help=argparse.SUPPRESS)
    parser.add_argument("--report", metavar="RUN", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make is not None:
        print(json.dumps(make_run(args.make, args.days, args.batch_size, args.out)))
        return 0
    if args.report is not None:
        print(json.dumps(build_report(args.report, args.out)))
        return 0

    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="report_memory_") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for draws in args.sizes:
            run = work / f"run-{draws}-{args.days}d"
            made = "reused"
            if not _reusable(run, draws, args.days):
                common = ["--days", str(args.days), "--batch-size", str(args.batch_size)]
                made = f"{_child(['--make', str(draws), *common, '--out', str(run)])['wall']:.1f} s"
            html = work / f"report-{draws}.html"
            row = _child(["--report", str(run), "--out", str(html)])
            rows.append({"draws": draws, "made": made, **row})
            print(
                f"{draws:>7,} draws (run {made}): report {row['wall']:6.1f} s (imports {row['import']:.1f} s), "
                f"peak {row['peak'] / MB:7.1f} MB, page {row['bytes'] / MB:.2f} MB",
                flush=True,
            )
    print(f"{args.days} days, batches of {args.batch_size}; total wall time {time.perf_counter() - begin:.1f} s")
    first, last = rows[0], rows[-1]
    print(f"report_memory_ratio={last['peak'] / first['peak']:.2f} wall_10k_s={last['wall']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
