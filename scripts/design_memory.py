"""Peak memory of the driver and of one Ray worker for a Latin-hypercube run of 1,000 and of 100,000 draws.

A run's memory must not grow with its draws: the design gives each batch its rows alone, the runner makes
batch ids on demand and the driver writes each batch as it comes. This runs ``configs/eu_embargo.toml`` (a
Latin hypercube of 66 dimensions) through ``cluster.runs.run_config`` on a private local Ray with 2 workers,
each size in a fresh process, and reports:

- driver: the peak resident set of that process (``getrusage``), Ray's start-up included;
- worker: the largest peak resident set (``VmHWM``) of the Ray workers it started (``ray::`` processes but
  Ray's agents), read every 0.1 s on a thread;
- for both, the largest private (anonymous) and shared-memory resident sets seen: the shared part is the
  pages of Ray's object store the process has touched (Linux ``/proc``).

To keep a 100,000-draw run to about two minutes on two CPUs it is made cheaper, not smaller: a short horizon
(``--days``, default 3) with the sanctions' onset moved to day 1 (the config's day 30 must fall inside the
horizon), only the ``status_quo`` policy (``--all-policies`` keeps the five), and a fixed batch size
(``--batch-size``, default 256): the automatic one grows with the draws up to ``runner.MAX_BATCH`` and with
it a worker's memory, which is not what this measures.

    python scripts/design_memory.py                           # 1,000 and 100,000 draws
    python scripts/design_memory.py --sizes 1000 10000 100000

The last line is ``driver_ratio=<last/first> worker_ratio=<last/first>`` (peaks, last size over the first);
the target is both within 1.2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "eu_embargo.toml"
MB = 1024.0**2
COLUMNS = ("driver_peak", "driver_private", "driver_shared", "worker_peak", "worker_private", "worker_shared")


def _status(pid: int | str) -> dict[str, int]:
    """A process's peak, private and shared resident sets now, in bytes (``/proc/PID/status``)."""
    fields = {"VmHWM": "peak", "RssAnon": "private", "RssShmem": "shared"}
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in fields:
                out[fields[key]] = int(value.split()[0]) * 1024  # kB
    return out


class Sampler(threading.Thread):
    """Until stopped: the largest peak, private and shared resident sets of this process (``"driver"``) and of
    each Ray worker it started, by process id."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.seen: dict[int | str, dict[str, int]] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        import ray

        psutil = importlib.import_module("psutil")  # the copy Ray ships, on the path once ray is imported
        assert ray is not None
        me = psutil.Process()
        while not self._stop_event.is_set():
            self._keep("driver", _status("self"))
            for proc in me.children(recursive=True):
                try:
                    title = " ".join(proc.cmdline())
                    if title.startswith("ray::") and not title.split()[0].endswith("Agent"):
                        self._keep(proc.pid, _status(proc.pid))
                except (OSError, psutil.Error):  # gone meanwhile
                    continue
            self._stop_event.wait(self.every)

    def _keep(self, key: int | str, status: dict[str, int]) -> None:
        old = self.seen.setdefault(key, {})
        for name, value in status.items():
            old[name] = max(old.get(name, 0), value)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def workers(self, name: str) -> int:
        """The largest ``name`` (peak, private, shared) over the workers."""
        return max((v.get(name, 0) for k, v in self.seen.items() if k != "driver"), default=0)


def child(draws: int, days: int, batch_size: int, all_policies: bool, out: str) -> dict[str, Any]:
    """One run in this (fresh) process: its peak memory and wall time."""
    from cluster.config import from_dict
    from cluster.runs import run_config

    raw = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    raw["sanctions"]["onset"] = 1
    if not all_policies:
        raw["policies"] = {"status_quo": {}}
    # In the document, not as from_dict's overrides: run_config validates the document again with its own.
    raw["run"].update(draws=draws, days=days)
    config = from_dict(raw, source=str(CONFIG), base=CONFIG.parent, name=CONFIG.stem)
    assert (config.design, config.draws, config.days) == ("latin_hypercube", draws, days)
    sampler = Sampler()
    sampler.start()
    start = time.perf_counter()
    try:
        result = run_config(config, executor="ray", workers=2, out=out, overwrite=True, batch_size=batch_size)
    finally:
        wall = time.perf_counter() - start
        sampler.stop()
    assert (result.config.draws, result.config.days) == (draws, days)
    driver = sampler.seen["driver"]
    return {
        "draws": draws,
        "batches": result.stats.n_batches,
        "driver_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: kilobytes
        "driver_private": driver.get("private", 0),
        "driver_shared": driver.get("shared", 0),
        "worker_peak": sampler.workers("peak"),
        "worker_private": sampler.workers("private"),
        "worker_shared": sampler.workers("shared"),
        "workers": len(sampler.seen) - 1,
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000], help="draws of each run")
    parser.add_argument("--days", type=int, default=3, help="horizon of the runs (default 3)")
    parser.add_argument("--batch-size", type=int, default=256, help="scenarios per batch, the same for every size")
    parser.add_argument("--all-policies", action="store_true", help="keep the config's five policies")
    parser.add_argument("--child", type=int, metavar="DRAWS", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.days, args.batch_size, args.all_policies, args.out)))
        return 0
    begin = time.perf_counter()
    rows = []
    for draws in args.sizes:
        with tempfile.TemporaryDirectory(prefix="design_memory_") as tmp:
            cmd = [sys.executable, __file__, "--child", str(draws), "--days", str(args.days)]
            cmd += ["--batch-size", str(args.batch_size), "--out", str(Path(tmp) / "run")]
            cmd += ["--all-policies"] if args.all_policies else []
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ})
            if done.returncode != 0:
                print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
                return done.returncode
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'draws':>8} {'batches':>8} " + " ".join(f"{c:>15}" for c in COLUMNS) + f" {'wall s':>7}")
    for r in rows:
        sizes = " ".join(f"{r[c] / MB:>12.1f} MB" for c in COLUMNS)
        print(f"{r['draws']:>8} {r['batches']:>8} {sizes} {r['wall']:>7.1f}")
    print(
        f"{rows[0]['workers']} workers, {args.days} days, batches of {args.batch_size}; peak: peak resident set; "
        "private, shared: largest anonymous and shared-memory (object store) resident sets seen"
    )
    print(f"total wall time {time.perf_counter() - begin:.1f} s")
    first, last = rows[0], rows[-1]
    print(
        f"driver_ratio={last['driver_peak'] / first['driver_peak']:.2f} "
        f"worker_ratio={last['worker_peak'] / first['worker_peak']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
