#!/usr/bin/env python
"""Peer-reproduction check: our core with every extension off against BoARIO 0.7.2.

What is compared
----------------
Both models run on pymrio's test MRIO (``lexico_reindex(pymrio.load_test().calc_all())``: 6 regions, 8
sectors) for ``--steps`` days, with one capital-destruction event and linear recovery:

* BoARIO: ``ARIOPsiModel`` (default parameters) + ``Simulation``, one ``EventKapitalRecover`` built by
  ``boario.event.from_series(impact, event_type="recovery", ...)`` where ``impact`` is ``--share`` times
  the productive capital of the industry (``--region``, ``--sector``), in the model's monetary factor;
* ours: ``Baseline.from_annual(Z, Y, R, S)`` and ``ShockBatch.quiet`` with the same event in
  ``cap_industry``/``cap_share``/``cap_onset``/``cap_duration``/``cap_recovery``, run by
  ``simulate(..., extensions=Extensions.none(), trajectories="daily")``.

The quantity compared is realised production summed by region, day by day, shape (T, R). The error of
region r on day t is ``|ours - ref| / |ref|``; the script reports its maximum over days and regions.

Conventions of BoARIO that the core matches
-------------------------------------------
* Event timing: an event with occurrence o, duration d and recovery r removes the share of capacity
  from day o through day o + d; then it recovers linearly over r days, the recovery being applied at
  the end of a step and so seen with one day's lag (share x (1 - (t - 1 - o - d) / r) on day t > o + d).
* Overproduction is updated from the third step on (BoARIO skips it while ``current_temporal_unit <= 1``).
* Inventories are left unchanged on a day when ``numpy.allclose(deliveries, use)``.
* Order gaps (inventory goal minus stock) are set to zero when ``numpy.allclose(stock, goal)``.
* Intermediate orders are split among suppliers by Z0 times the suppliers' capacity ratio ("alt").

Not matched, on purpose: BoARIO rounds a recovering damage to ``int(log10(monetary_factor)) + 1`` decimals
(1e-7 of a model unit here), the core does not; that is ~1e-13 of an industry's capital. Because that
rounding can push a share of 1 above the capital, which BoARIO refuses, the damage handed to BoARIO is
capped at the capital rounded down to that grid, and our core gets the same (capped) share.

BoARIO's own noise is kept out of the way: its warnings and log records are suppressed, and its
simulation writes its log file into a ``tempfile.TemporaryDirectory`` that is removed afterwards.

The last line printed is exactly ``max_rel_err=<repr of a float>``. Invalid input (an unknown region
or sector, a share outside (0, 1], an event that does not fit in the run, ...) gives a one-line message
on stderr and exit code 2.

Example::

    python scripts/crosscheck_boario.py --region reg3 --sector mining --share 0.2 --steps 200
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import logging
import math
import operator
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "cluster").is_dir() and str(_ROOT) not in sys.path:  # this checkout's package, installed or not
    sys.path.insert(0, str(_ROOT))

from cluster.core import Baseline, CapacityEvents, Extensions, ShockBatch, simulate  # noqa: E402
from cluster.errors import InputError  # noqa: E402

__all__ = ["DEFAULTS", "crosscheck", "main", "max_rel_err", "rel_err"]

#: Defaults of the command line (and of ``crosscheck``'s event when used from tests).
DEFAULTS: dict[str, Any] = {
    "region": "reg2",
    "sector": "manufactoring",  # pymrio's spelling
    "share": 0.3,
    "occurrence": 5,
    "duration": 10,
    "recovery": 90,
    "steps": 365,
}

F64 = NDArray[np.float64]


# --------------------------------------------------------------------------------------------------
# BoARIO and its input table
# --------------------------------------------------------------------------------------------------


@functools.cache
def _boario() -> tuple[Any, Any, Any, Any]:
    """BoARIO's ``ARIOPsiModel``, ``Simulation``, ``from_series`` and ``lexico_reindex``, imported quietly.

    ``boario.simulation`` creates a temporary directory at import time (the default value of
    ``Simulation(boario_output_dir=...)`` is ``tempfile.mkdtemp(prefix="boario")``). We always pass our
    own directory, so when this import is the one that created it and it is still empty, it is removed.
    """
    fresh = "boario.simulation" not in sys.modules
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from boario.event import from_series
        from boario.extended_models import ARIOPsiModel
        from boario.simulation import Simulation
        from boario.utils.misc import lexico_reindex
    if fresh:
        default = inspect.signature(Simulation.__init__).parameters["boario_output_dir"].default
        path = Path(default)
        try:
            if path.is_dir() and path.name.startswith("boario") and not any(path.iterdir()):
                path.rmdir()
        except OSError:  # pragma: no cover - someone else is using it; leave it alone
            pass
    return ARIOPsiModel, Simulation, from_series, lexico_reindex


@functools.cache
def _test_mrio() -> Any:
    """pymrio's test MRIO, balanced and sorted the way BoARIO wants it (cached; hand out copies)."""
    import pymrio

    lexico_reindex = _boario()[3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lexico_reindex(pymrio.load_test().calc_all())


def labels() -> tuple[list[str], list[str]]:
    """Regions and sectors of the test MRIO, in the (sorted) order both models use."""
    mrio = _test_mrio()
    return [str(r) for r in mrio.get_regions()], [str(s) for s in mrio.get_sectors()]


@contextlib.contextmanager
def _quiet_boario() -> Iterator[None]:
    """Silence BoARIO's logger and warnings for a block, and detach the log-file handlers it adds."""
    logger = logging.getLogger("boario")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for handler in list(logger.handlers):
            if handler not in handlers:  # Simulation adds a FileHandler per instance and never removes it
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)
        logger.propagate = propagate


# --------------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------------


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InputError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise InputError(f"{name} must be an integer, got {value!r}") from None


def validate(
    region: str, sector: str, share: float, occurrence: int, duration: int, recovery: int, steps: int
) -> tuple[str, str, float, int, int, int, int]:
    """Check the event against the test MRIO and BoARIO's rules; return it normalised, or raise ``InputError``."""
    regions, sectors = labels()
    if region not in regions:
        raise InputError(f"unknown region {region!r}; valid regions: {', '.join(regions)}")
    if sector not in sectors:
        raise InputError(f"unknown sector {sector!r}; valid sectors: {', '.join(sectors)}")
    try:
        share = float(share)
    except (TypeError, ValueError):
        raise InputError(f"share must be a number, got {share!r}") from None
    if not (math.isfinite(share) and 0.0 < share <= 1.0):
        raise InputError(f"share must satisfy 0 < share <= 1, got {share!r}")
    occurrence, duration = _as_int("occurrence", occurrence), _as_int("duration", duration)
    recovery, steps = _as_int("recovery", recovery), _as_int("steps", steps)
    if occurrence < 1:
        raise InputError(f"occurrence must be >= 1 (BoARIO refuses day 0), got {occurrence}")
    if duration < 1:
        raise InputError(f"duration must be >= 1 (BoARIO refuses 0), got {duration}")
    if recovery < 1:
        raise InputError(f"recovery must be >= 1 day (BoARIO needs a positive recovery_tau), got {recovery}")
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    if occurrence + duration > steps:
        raise InputError(
            f"occurrence + duration must be <= steps (BoARIO requires it), got {occurrence} + {duration} > {steps}"
        )
    return region, sector, share, occurrence, duration, recovery, steps


def _reference(
    mrio: Any,
    region: str,
    sector: str,
    share: float,
    occurrence: int,
    duration: int,
    recovery: int,
    steps: int,
    regions: list[str],
) -> tuple[F64, float]:
    """BoARIO's realised production by region, shape (steps, R), and the share of capital it destroyed.

    BoARIO rounds a recovering damage to ``int(log10(monetary_factor)) + 1`` decimals and refuses a damage
    above the industry's capital, so a share of 1 can fail by rounding up. The damage is therefore capped
    at the capital rounded *down* to that grid; the share actually destroyed (differing from ``share`` by
    ~1e-13 at most, and only then) is returned so that our core gets exactly the same event.
    """
    import pandas as pd

    ARIOPsiModel, Simulation, from_series, _ = _boario()
    with _quiet_boario(), tempfile.TemporaryDirectory(prefix="crosscheck_boario_") as out_dir:
        model = ARIOPsiModel(mrio)
        sim = Simulation(model, n_temporal_units_to_sim=steps, boario_output_dir=out_dir)
        capital = pd.Series(np.asarray(model.productive_capital, dtype=float), index=model.industries)
        k = float(capital[(region, sector)])
        grid = 10.0 ** (int(math.log10(model.monetary_factor)) + 1)
        damage = share * k
        if float(np.round(damage, int(math.log10(grid)))) > k:  # as EventTracker.recover rounds
            damage = math.floor(k * grid) / grid
            share = damage / k
        impact = pd.Series(
            [damage],
            index=pd.MultiIndex.from_tuples([(region, sector)], names=["region", "sector"]),
        )
        event = from_series(
            impact,
            event_type="recovery",
            occurrence=occurrence,
            duration=duration,
            recovery_tau=recovery,
            event_monetary_factor=model.monetary_factor,
        )
        sim.add_event(event)
        sim.loop()
        if sim.has_crashed or sim.n_temporal_units_simulated != steps:
            raise RuntimeError(
                f"BoARIO stopped after {sim.n_temporal_units_simulated} of {steps} steps "
                f"(crashed={sim.has_crashed}); nothing to compare"
            )
        production = sim.production_realised
    by_region = production.T.groupby(level=0, sort=False).sum().T.reindex(columns=regions)
    ref = by_region.to_numpy(dtype=float)
    if ref.shape != (steps, len(regions)) or not np.all(np.isfinite(ref)):
        raise RuntimeError(f"BoARIO's production has shape {ref.shape} or non-finite values")
    return ref, share


def _ours(
    mrio: Any,
    region: str,
    sector: str,
    share: float,
    occurrence: int,
    duration: int,
    recovery: int,
    steps: int,
    regions: list[str],
    sectors: list[str],
) -> F64:
    """Our core's production by region, shape (steps, R), with every extension off."""
    n_r, n_s = len(regions), len(sectors)
    baseline = Baseline.from_annual(mrio.Z.to_numpy(dtype=float), mrio.Y.to_numpy(dtype=float), n_r, n_s)
    industry = regions.index(region) * n_s + sectors.index(sector)
    event = CapacityEvents(
        industry=np.array([[industry]], dtype=np.int64),
        share=np.array([[share]], dtype=float),
        onset=np.array([[occurrence]], dtype=np.int64),
        duration=np.array([[duration]], dtype=np.int64),
        recovery=np.array([[recovery]], dtype=np.int64),
    )
    shocks = replace(ShockBatch.quiet(baseline, 1), events=event)
    outcome = simulate(baseline, shocks, steps, extensions=Extensions.none(), trajectories="daily")
    assert outcome.production_path is not None
    return np.asarray(outcome.production_path[0], dtype=float)


def crosscheck(
    region: str = DEFAULTS["region"],
    sector: str = DEFAULTS["sector"],
    share: float = DEFAULTS["share"],
    occurrence: int = DEFAULTS["occurrence"],
    duration: int = DEFAULTS["duration"],
    recovery: int = DEFAULTS["recovery"],
    steps: int = DEFAULTS["steps"],
) -> tuple[F64, F64, list[str]]:
    """Run both models on one event; return ``(ours, ref, regions)``, production by region of shape (T, R).

    Raises ``cluster.errors.InputError`` for an event BoARIO or the test MRIO cannot take (see ``validate``).
    """
    region, sector, share, occurrence, duration, recovery, steps = validate(
        region, sector, share, occurrence, duration, recovery, steps
    )
    regions, sectors = labels()
    mrio = _test_mrio()
    ref, share = _reference(mrio.copy(), region, sector, share, occurrence, duration, recovery, steps, regions)
    ours = _ours(mrio, region, sector, share, occurrence, duration, recovery, steps, regions, sectors)
    return ours, ref, regions


def rel_err(ours: F64, ref: F64) -> F64:
    """``|ours - ref| / |ref|`` elementwise (0 where both are 0, inf where only ``ref`` is)."""
    diff = np.abs(np.asarray(ours, dtype=float) - np.asarray(ref, dtype=float))
    den = np.abs(np.asarray(ref, dtype=float))
    out = np.where(diff == 0, 0.0, np.inf)
    np.divide(diff, den, out=out, where=den != 0)
    return out


def max_rel_err(ours: F64, ref: F64) -> float:
    """Largest relative error over days and regions (inf on a shape mismatch or NaN)."""
    if np.shape(ours) != np.shape(ref):
        return math.inf
    err = rel_err(ours, ref)
    return float(np.max(err)) if err.size and not np.isnan(err).any() else math.inf


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> _Parser:
    p = _Parser(
        prog="crosscheck_boario.py",
        description="Compare our core (extensions off) with BoARIO 0.7.2 on one capital-destruction event.",
    )
    d = DEFAULTS
    p.add_argument("--region", default=d["region"], help="region hit by the event (default %(default)s)")
    p.add_argument(
        "--sector", default=d["sector"], help="sector hit by the event, pymrio's spelling (default %(default)s)"
    )
    p.add_argument(
        "--share",
        type=float,
        default=d["share"],
        help="share of the industry's productive capital destroyed, 0 < share <= 1 (default %(default)s)",
    )
    p.add_argument(
        "--occurrence", type=int, default=d["occurrence"], help="day of the event, >= 1 (default %(default)s)"
    )
    p.add_argument(
        "--duration", type=int, default=d["duration"], help="days before recovery starts, >= 1 (default %(default)s)"
    )
    p.add_argument(
        "--recovery", type=int, default=d["recovery"], help="days of linear recovery, >= 1 (default %(default)s)"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=d["steps"],
        help="days simulated; occurrence + duration <= steps (default %(default)s)",
    )
    return p


def _table(ours: F64, ref: F64, regions: list[str]) -> str:
    """Per region: max relative error, and production on BoARIO's trough day (both models, and vs day 0)."""
    err = rel_err(ours, ref)
    lines = [
        f"{'region':<8} {'max_rel_err':>12} {'trough_day':>10} {'ref_trough':>14} {'ours_trough':>14} {'vs_day0':>9}"
    ]
    for i, name in enumerate(regions):
        day = int(np.argmin(ref[:, i]))
        drop = 100.0 * (ref[day, i] / ref[0, i] - 1.0) if ref[0, i] else math.nan
        lines.append(
            f"{name:<8} {err[:, i].max():>12.3e} {day:>10d} {ref[day, i]:>14.6g} {ours[day, i]:>14.6g} {drop:>8.3f}%"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        ours, ref, regions = crosscheck(
            args.region, args.sector, args.share, args.occurrence, args.duration, args.recovery, args.steps
        )
    except InputError as err:
        print(f"crosscheck_boario.py: error: {err}", file=sys.stderr)
        return 2
    print(
        f"event: {args.share:g} of the capital of ({args.region}, {args.sector}) on day {args.occurrence}, "
        f"recovery after {args.duration} days over {args.recovery} days; {args.steps} steps"
    )
    print(_table(ours, ref, regions))
    print(f"max_rel_err={max_rel_err(ours, ref)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
