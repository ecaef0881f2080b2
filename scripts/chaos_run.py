"""Chaos run: kill Ray workers, then the driver, mid-run; the tables must still be those of a clean run.

    python scripts/chaos_run.py [CONFIG] [--draws N] [--days D] [--batch-size B] [--seed S]
                                [--worker-kills K] [--driver-kills K] [--keep DIR]

First a clean run: the config serially, in this process. Then:

* phase 1, workers: the config on a private local Ray (``run_config(executor="ray")`` in this process) while a
  thread SIGKILLs, at seeded random moments, Ray worker processes of that Ray that are running a task (title
  ``ray::run_batch``); Ray retries the task elsewhere.
* phase 2, driver: ``shock run CONFIG --out RUN`` in a subprocess (on its own private local Ray), SIGKILLed once a
  few more shards are in ``RUN/results``; then the same command with ``--resume``, itself killed the same way
  until ``--driver-kills`` kills are done; the last resume runs to the end. After each kill, the processes the
  killed driver had started (its private Ray) are listed, alive or gone a few seconds later; the living are killed.

Each phase prints what was killed and when (seconds since the phase started). The last line is exactly::

    lost=<n> duplicated=<n> identical=<true|false> resumed=<n>

``lost``: rows of the clean run's results and params tables (keys scenario, policy, region) missing from a
chaos run's, summed over both phases; ``duplicated``: rows present more than once in a chaos run's tables, as
read from every ``part-*.parquet`` file on disk; ``identical``: both phases' results and params tables, read
back with pyarrow and sorted by their keys, ``Table.equals`` the clean run's; ``resumed``: ``--resume`` runs
made in phase 2. The exit code is 0 only when lost=0, duplicated=0 and identical=true.

Default: configs/smoke.toml, 96 draws of 120 days in batches of 2, two worker kills and two driver kills: a few
minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cluster.runs import run_config

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"results": ("scenario_id", "policy", "region"), "params": ("scenario_id", "policy")}
#: Seconds after a driver's death before its leftover processes are listed: time for them to notice.
LINGER_WAIT = 5.0


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it."""

    pid: int
    ppid: int
    sid: int
    start: str  # start time in clock ticks: a (pid, start) pair names one process, even once the pid is reused
    title: str  # command line, as the process set it (Ray workers set theirs to ``ray::...``)


def _processes() -> dict[int, Proc]:
    procs = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat[0] == "Z":  # a zombie: dead, waiting for its parent to reap it
            continue
        title = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        procs[int(entry.name)] = Proc(int(entry.name), int(stat[1]), int(stat[3]), stat[19], title)
    return procs


def _below(root: int, procs: dict[int, Proc]) -> list[Proc]:
    """The processes under ``root`` (not itself)."""
    children: dict[int, list[Proc]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def _rss_mb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _kill(procs: list[Proc]) -> None:
    """SIGKILL these processes, unless their pid now names another process."""
    alive = _processes()
    for p in procs:
        if p.pid in alive and alive[p.pid].start == p.start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)


def _read(run: Path, table: str, like: pa.Schema | None = None) -> pa.Table:
    """Every ``part-*.parquet`` file of ``run/table``, read with pyarrow, as one table sorted by its keys."""
    parts = [pq.read_table(f).replace_schema_metadata(None) for f in sorted((run / table).glob("part-*.parquet"))]
    if not parts:
        assert like is not None
        return like.empty_table()
    return pa.concat_tables(parts).sort_by([(k, "ascending") for k in KEYS[table]])


def _compare(name: str, run: Path, clean: Path) -> tuple[int, int, bool]:
    """(rows lost, rows duplicated, tables identical) of a chaos run against the clean run."""
    lost = dup = 0
    same = True
    for table in KEYS:
        theirs = _read(clean, table)
        ours = _read(run, table, theirs.schema)
        keys = [ours.column(k).to_pylist() for k in KEYS[table]]
        counts = Counter(zip(*keys, strict=True))
        clean_keys = set(zip(*(theirs.column(k).to_pylist() for k in KEYS[table]), strict=True))
        lost += len(clean_keys - counts.keys())
        dup += sum(n - 1 for n in counts.values() if n > 1)
        equal = ours.equals(theirs)
        same &= equal
        print(f"{name}: {table}: {ours.num_rows} rows (clean {theirs.num_rows}), identical={str(equal).lower()}")
    return lost, dup, same


def _shards(run: Path) -> int:
    folder = run / "results"
    return len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0


class WorkerKiller(threading.Thread):
    """SIGKILLs up to ``kills`` Ray workers running a task, below this process, at seeded random moments."""

    def __init__(self, kills: int, rng: random.Random, start: float) -> None:
        super().__init__(daemon=True)
        self.kills, self.rng, self.t0 = kills, rng, start
        self.stop = threading.Event()
        self.killed: list[tuple[float, Proc]] = []

    def run(self) -> None:
        while len(self.killed) < self.kills and not self.stop.wait(self.rng.uniform(0.5, 2.5)):
            busy = [p for p in _below(os.getpid(), _processes()) if p.title.startswith("ray::run_batch")]
            if not busy:
                continue
            victim = self.rng.choice(sorted(busy, key=lambda p: p.pid))
            _kill([victim])
            at = time.perf_counter() - self.t0
            self.killed.append((at, victim))
            print(f"phase 1: +{at:5.1f} s  SIGKILL pid {victim.pid} ({victim.title}) of {len(busy)} busy")


def phase_workers(args: argparse.Namespace, out: Path, rng: random.Random) -> bool:
    """Run on a local Ray while killing its busy workers; whether the run ended without an error."""
    print(f"phase 1: {args.draws} draws on a private local Ray; killing up to {args.worker_kills} busy workers")
    start = time.perf_counter()
    killer = WorkerKiller(args.worker_kills, rng, start)
    killer.start()
    try:
        run_config(
            args.config,
            out=str(out),
            executor="ray",
            workers=2,
            draws=args.draws,
            days=args.days,
            batch_size=args.batch_size,
        )
    except Exception as err:  # a run that fails under chaos is a finding: report it, compare what is on disk
        print(f"phase 1: the run failed: {type(err).__name__}: {err}")
        return False
    finally:
        killer.stop.set()
        killer.join()
        print(f"phase 1: {len(killer.killed)} workers killed; {time.perf_counter() - start:.1f} s in all")
    return True


def phase_driver(args: argparse.Namespace, out: Path, rng: random.Random) -> tuple[int, bool]:
    """Kill the driver ``--driver-kills`` times, resume after each; (resumes made, whether the last one ended 0)."""
    base = [sys.executable, "-m", "cluster", "run", str(args.config), "--out", str(out)]
    base += ["--draws", str(args.draws), "--days", str(args.days)]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    print(f"phase 2: `shock run` in a subprocess; killing the driver {args.driver_kills} times, resuming after each")
    start = time.perf_counter()
    resumes = 0
    proc: subprocess.Popen[str] | None = None
    try:
        for attempt in range(args.driver_kills + 1):
            cmd = [*base, "--resume"] if attempt else [*base, "--batch-size", str(args.batch_size)]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            resumes += bool(attempt)
            what = "resume" if attempt else "run"
            if attempt == args.driver_kills:  # the last one runs to the end
                _, err = proc.communicate()
                print(f"phase 2: +{time.perf_counter() - start:5.1f} s  {what} {attempt} exited {proc.returncode}")
                if proc.returncode:
                    print(f"phase 2: its stderr:\n{err.strip()}")
                return resumes, proc.returncode == 0
            before = _shards(out)
            wanted = before + rng.randint(2, 5)
            while _shards(out) < wanted and proc.poll() is None:
                time.sleep(0.02)
            tree = _below(proc.pid, _processes())  # what the driver started: its private Ray
            if proc.poll() is not None:
                _, err = proc.communicate()
                print(f"phase 2: {what} {attempt} ended (exit {proc.returncode}) before the kill:\n{err.strip()}")
                return resumes, False
            proc.kill()
            proc.wait()
            at = time.perf_counter() - start
            print(f"phase 2: +{at:5.1f} s  SIGKILL driver pid {proc.pid} ({what} {attempt}) at {_shards(out)} shards")
            time.sleep(LINGER_WAIT)
            alive = _processes()
            print(f"phase 2:     it had started {len(tree)} processes; {LINGER_WAIT:g} s after its death:")
            for p in tree:
                here = p.pid in alive and alive[p.pid].start == p.start
                state = f"ALIVE ppid {alive[p.pid].ppid} rss {_rss_mb(p.pid):.0f} MB" if here else "gone"
                print(f"phase 2:     pid {p.pid:>7} {state:<28} {p.title[:90]}")
            left = [p for p in tree if p.pid in alive and alive[p.pid].start == p.start]
            _kill(left)
    finally:  # this script interrupted: leave no driver nor its Ray behind
        if proc is not None and proc.poll() is None:
            _kill([*_below(proc.pid, _processes())])
            proc.kill()
            proc.wait()
    raise AssertionError("unreachable")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", type=Path, default=ROOT / "configs" / "smoke.toml")
    ap.add_argument("--draws", type=int, default=96)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="seeds the moments and the victims of the kills")
    ap.add_argument("--worker-kills", type=int, default=2, help="Ray workers to kill in phase 1")
    ap.add_argument("--driver-kills", type=int, default=2, help="driver kills (and resumes) in phase 2")
    ap.add_argument("--keep", type=Path, help="write the runs here and keep them (default: a temporary folder)")
    args = ap.parse_args()
    os.environ.pop("RAY_ADDRESS", None)  # both phases run on a private local Ray, never on a cluster
    work = args.keep or Path(tempfile.mkdtemp(prefix="chaos-"))
    rng = random.Random(args.seed)
    try:
        start = time.perf_counter()
        clean = work / "clean"
        run_config(
            args.config,
            out=str(clean),
            executor="serial",
            draws=args.draws,
            days=args.days,
            batch_size=args.batch_size,
            overwrite=True,
        )
        print(f"clean: {args.draws} draws serially in {time.perf_counter() - start:.1f} s")
        ended = phase_workers(args, work / "workers", rng)
        lost, dup, same = _compare("phase 1", work / "workers", clean)
        resumed, ended2 = phase_driver(args, work / "driver", rng)
        more = _compare("phase 2", work / "driver", clean)
        lost, dup, same = lost + more[0], dup + more[1], same and more[2] and ended and ended2
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"lost={lost} duplicated={dup} identical={str(same).lower()} resumed={resumed}")
    return 0 if lost == dup == 0 and same else 1


if __name__ == "__main__":
    sys.exit(main())
