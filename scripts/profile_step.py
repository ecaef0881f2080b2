"""Per-pass profile of the core's step with every mechanism on: the lines that take the time, and what they touch.

    python scripts/profile_step.py [--batch 64] [--steps 365] [--top 25] [--repeats 3] [--plain] [--kernel numpy]
                                   [--trade]

The "full" batch of ``scripts/bench_core.py`` (22 regions x 10 sectors, n = 220, a sanctions package and every
extension on, no periods, world prices still), stepped with one ``Stepper`` for a year under line_profiler, every
method of ``Stepper`` profiled. Lines that call another ``Stepper`` method are left out of the table (their time is
in the callee's lines), so every row is a pass and the rows add up to at most 100% of the step. Columns: share of
the step's time under the profiler, microseconds per step, the distinct array shapes the line reads or writes
(caught once, on day ``--trace-day``), the source. The totals come from separate runs without the profiler (medians
of ``--repeats``). ``--plain``: the plain batch instead (every extension off); ``--kernel numpy``: the reference
path instead of the fused kernels (whose compiled loops count as one line each); ``--trade``: with each day's
trade by partner, as a run with calendar periods steps. Needs line_profiler
(``pip install line_profiler``). BLAS on one thread, as the runner pins it.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # single-threaded BLAS, set before numpy loads

import argparse  # noqa: E402
import inspect  # noqa: E402
import linecache  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import FrameType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from cluster.core import Extensions  # noqa: E402
from cluster.core.model import Stepper  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import add_step_options, step_batch  # noqa: E402
from blas import blas_line  # noqa: E402

_NAME = re.compile(r"\b(self\.)?([A-Za-z_]\w*)")


def _methods() -> dict[str, Any]:
    """Every function defined in ``Stepper`` (static methods unwrapped), by name."""
    out = {}
    for name, value in vars(Stepper).items():
        func = value.__func__ if isinstance(value, staticmethod) else value
        if inspect.isfunction(func):
            out[name] = func
    return out


def _year(st: Stepper, steps: int) -> float:
    start = time.perf_counter()
    for t in range(steps):
        st.step(t)
    return time.perf_counter() - start


def _shapes_on(make: Any, day: int, lines: set[tuple[str, int]]) -> dict[tuple[str, int], set[tuple[int, ...]]]:
    """Shapes of the arrays each of ``lines`` names (locals and ``self.`` attributes), read on day ``day``."""
    seen: dict[tuple[str, int], set[tuple[int, ...]]] = {key: set() for key in lines}
    last: dict[int, tuple[str, int]] = {}  # frame id -> the line it ran last (its outputs are bound now)

    def grab(frame: FrameType, key: tuple[str, int]) -> None:
        self_ = frame.f_locals.get("self")
        for attr, name in _NAME.findall(linecache.getline(*key)):
            value = getattr(self_, name, None) if attr else frame.f_locals.get(name)
            for item in value if isinstance(value, list | tuple) else (value,):
                if isinstance(item, np.ndarray) and item.size > 1:
                    seen[key].add(item.shape)

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            prev = last.get(id(frame))
            if prev is not None:
                grab(frame, prev)
            key = (frame.f_code.co_filename, frame.f_lineno)
            if key in seen:
                grab(frame, key)
                last[id(frame)] = key
            else:
                last.pop(id(frame), None)
        return tracer

    st = make()
    for t in range(day):
        st.step(t)
    sys.settrace(tracer)
    try:
        st.step(day)
    finally:
        sys.settrace(None)
    return seen


def main() -> None:
    from line_profiler import LineProfiler

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trace-day", type=int, default=120)
    add_step_options(ap)
    args = ap.parse_args()
    economy, bl, batch = step_batch(args)
    ext = Extensions.none() if args.plain else Extensions()

    def make() -> Stepper:
        return Stepper(bl, batch, ext, kernel=args.kernel, trade=args.trade)

    _year(make(), 3)  # the compiled kernels loaded before anything is timed

    plain = [_year(make(), args.steps) for _ in range(args.repeats)]
    methods = _methods()
    prof = LineProfiler(*methods.values())
    st = make()
    prof.runcall(_year, st, args.steps)
    stats = prof.get_stats()
    unit = stats.unit
    calls = re.compile(r"self\.(" + "|".join(methods) + r")\(|\b(" + "|".join(methods) + r")\(")
    rows: list[tuple[float, str, int, str]] = []
    step_total = 0.0
    for (filename, _, qualname), timings in stats.timings.items():
        func = qualname.rpartition(".")[2]
        for lineno, _, total in timings:
            seconds = total * unit
            if func == "step":
                step_total += seconds
            src = linecache.getline(filename, lineno).strip()
            if not calls.search(src):
                rows.append((seconds, filename, lineno, f"{func}: {src}"))
    rows.sort(reverse=True)
    top = rows[: args.top]
    shapes = _shapes_on(make, args.trace_day, {(f, ln) for _, f, ln, _ in rows})
    ms = 1e3 * statistics.median(plain) / args.steps
    r, s, b, n = bl.n_regions, bl.n_sectors, args.batch, bl.n
    what = ("every mechanism off" if args.plain else "every mechanism on") + (
        ", trade by partner" if args.trade else ""
    )
    print(f"economy {economy.id}: R = {r}, S = {s}, n = {n}; B = {b}; {what}; kernel {args.kernel}; {args.steps} steps")
    print(blas_line())
    print(
        f"step without the profiler: {ms:.2f} ms (median of {args.repeats} years), "
        f"{b * args.steps / statistics.median(plain):.0f} scenario-days/s; under it: "
        f"{1e3 * step_total / args.steps:.2f} ms"
    )
    print(f"{'%':>5} {'us/step':>8}  {'line':>5}  {'shapes':<34} source")
    covered = 0.0
    for seconds, filename, lineno, what in top:
        covered += seconds
        dims = ", ".join(str(sh).replace(" ", "") for sh in sorted(shapes[(filename, lineno)], key=np.prod)[::-1][:2])
        print(f"{100 * seconds / step_total:5.1f} {1e6 * seconds / args.steps:8.1f}  {lineno:5d}  {dims:<34} {what}")
    print(f"top {len(top)} lines: {100 * covered / step_total:.1f}% of the step; {len(rows)} lines profiled in all")
    by_method: dict[str, float] = {}
    for sec, _, _, what in rows:
        by_method[what.partition(":")[0]] = by_method.get(what.partition(":")[0], 0.0) + sec
    ranked = sorted(by_method.items(), key=lambda kv: -kv[1])[:10]
    print("own lines by method: " + ", ".join(f"{name} {100 * sec / step_total:.1f}%" for name, sec in ranked))
    # Passes by the largest array they touch: state-sized (S x n x B), medium, small (under n x B: call overhead).
    big = {(f, ln): max((int(np.prod(sh)) for sh in shapes[(f, ln)]), default=0) for _, f, ln, _ in rows}
    for name, lo, hi in (("S x n x B", s * n * b, np.inf), ("medium", n * b, s * n * b), ("small", 0, n * b)):
        part = [sec for sec, f, ln, _ in rows if lo <= big[(f, ln)] < hi]
        print(f"lines whose largest array is {name}: {len(part)}, {100 * sum(part) / step_total:.1f}% of the step")


if __name__ == "__main__":
    main()
