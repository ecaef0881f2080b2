"""Time the core's step against another revision of it, interleaved in one process: changes of 5% show.

    python scripts/ab_step.py [REV] [--batch 64] [--rounds 9] [--plain] [--kernel numpy] [--trade]

On a shared machine, timings of separate runs drift by more than a small change of the code (``bench_core.py``'s
"full" ratio moved 7.2-7.8x across runs of one commit). This script loads ``cluster/core`` as it is in the git
revision ``REV`` (default ``HEAD``) beside the working tree's, as a second package, and steps the same batch (the
"full" batch of ``bench_core.py``: n = 220, B = 64, a sanctions package and every extension on) through a year
with each, alternating which goes first, ``--rounds`` times (``--trade``: recording the trade by partner each
day, as a run with calendar periods steps). Noise then hits both alike, and each round gives one
ratio. Prints each round, then the medians of the milliseconds per step and of the per-round ratios
``ref / new`` (above 1: the working tree is faster). The last line is
``ms_per_step_ref=<median> ms_per_step_new=<median> ratio=<median of rounds>``.

The reference's compiled kernels are built once per run, in a temporary directory (about 8 s). The reference must
accept the working tree's shocks (``ShockBatch``): revisions that changed its fields cannot be compared this way.
BLAS on one thread, as the runner pins it.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single-threaded BLAS, set before numpy loads

import argparse  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import cluster.core as core_new  # noqa: E402
from cluster.core.model import Stepper  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import add_step_options, step_batch  # noqa: E402
from blas import blas_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORE = "cluster/core"


def reference(rev: str, into: Path) -> ModuleType:
    """``cluster/core`` at ``rev``, written under ``into`` and imported as the package ``core_ref``."""
    try:
        names = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{rev}:{CORE}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
    except subprocess.CalledProcessError as exc:
        print(f"ab_step.py: no {CORE} at git revision {rev!r} ({exc.stderr.strip()}); give a commit, tag or branch",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)
    pkg = into / "core_ref"
    pkg.mkdir()
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{rev}:{CORE}/{name}"], capture_output=True, text=True, check=True
            ).stdout
            (pkg / name).write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("core_ref")


def year(stepper: Any, steps: int) -> float:
    """Milliseconds per step over ``steps`` steps of a fresh stepper."""
    start = time.perf_counter()
    for t in range(steps):
        stepper.step(t)
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", nargs="?", default="HEAD", help="the git revision to compare with (default HEAD)")
    ap.add_argument("--rounds", type=int, default=9)
    add_step_options(ap)
    args = ap.parse_args()
    _, bl, batch = step_batch(args)
    with tempfile.TemporaryDirectory() as tmp:
        ref = reference(args.rev, Path(tmp))
        ref_model = importlib.import_module("core_ref.model")
        kinds = {
            "ref": lambda: ref_model.Stepper(bl, batch, _ext(ref, args.plain), kernel=args.kernel, trade=args.trade),
            "new": lambda: Stepper(bl, batch, _ext(core_new, args.plain), kernel=args.kernel, trade=args.trade),
        }
        for make in kinds.values():  # a year each untimed: every kernel compiled (the reference's) or loaded
            year(make(), args.steps)
        what = ("plain" if args.plain else "every mechanism on") + (", trade by partner" if args.trade else "")
        print(f"economy synthetic-22x10-0, B = {args.batch}, {what}, kernel {args.kernel}; reference {args.rev}, "
              f"new the working tree; {args.steps} steps a round")  # fmt: skip
        print(blas_line())
        times: dict[str, list[float]] = {"ref": [], "new": []}
        ratios = []
        for i in range(args.rounds):
            order = ("ref", "new") if i % 2 == 0 else ("new", "ref")
            got = {kind: year(kinds[kind](), args.steps) for kind in order}
            for kind, ms in got.items():
                times[kind].append(ms)
            ratios.append(got["ref"] / got["new"])
            print(f"round {i + 1}: ref {got['ref']:.3f} ms, new {got['new']:.3f} ms, ratio {ratios[-1]:.3f}")
    ms_ref, ms_new = statistics.median(times["ref"]), statistics.median(times["new"])
    print(f"medians: ref {ms_ref:.3f} ms a step, new {ms_new:.3f} ms; per-round ratios "
          f"{min(ratios):.3f}-{max(ratios):.3f}")  # fmt: skip
    print(f"ms_per_step_ref={ms_ref:.3f} ms_per_step_new={ms_new:.3f} ratio={statistics.median(ratios):.3f}")


def _ext(core: Any, plain: bool) -> Any:
    """Every extension on (``Extensions()``), or every one off, in the given revision's own class."""
    return core.Extensions.none() if plain else core.Extensions()


if __name__ == "__main__":
    main()
