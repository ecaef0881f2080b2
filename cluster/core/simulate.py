"""``simulate``: run a batch of scenarios for a number of days and reduce them to per-region metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cluster.errors import ShapeError

from .baseline import DAYS_PER_YEAR, Baseline
from .metrics import FLOWS, METRICS
from .model import KERNELS, Stepper
from .shocks import Extensions, ShockBatch

__all__ = ["RECOVERY_BAND", "RECOVERY_DAYS", "Outcome", "simulate"]

F64 = NDArray[np.float64]

#: Value added counts as recovered when within this share of its baseline ...
RECOVERY_BAND = 0.01
#: ... for this many consecutive days.
RECOVERY_DAYS = 30


@dataclass(frozen=True)
class Outcome:
    """What ``simulate`` returns. Arrays are batch-first.

    ``metrics[name]`` has shape (B, R). ``recovery_day`` is an int array with -1 for "never", and
    ``recovered`` (B, R) says which regions recovered, so "never" is explicit. ``onset`` (B,) is the first
    shock day. Trajectories, when asked for: ``va_path`` and ``production_path`` (B, T', R) with T' = days
    (``"daily"``) or weeks (``"weekly"``, means of whole weeks). Diagnostics: ``balance_residual`` (B,) is the
    largest gap, over all days and products, between what suppliers produced and what buyers, final demand and
    counter-trade received, relative to the production (or to a millionth of the product's baseline output,
    once production has collapsed); ``min_stock`` (B,) the lowest inventory seen. Periods, when asked for:
    ``period_metrics[name]`` (B, P, R) sums each daily flow of ``FLOWS`` over the days of each period, and
    ``period_days`` (P,) counts those days; ``period_trade_volume`` and ``period_trade_value`` (B, P, R_o, R_d)
    are the deliveries from each origin region to each destination region (intermediate + final +
    counter-trade, leaked flows included, a region's deliveries to itself on the diagonal) summed over products
    and the period's days, in volume (baseline prices) and in value (the day's world prices, less the discounts
    on bartered and leaked exports, plus the leakage premium paid by the destination; ``docs/model.md``).
    """

    metrics: dict[str, F64]
    recovery_day: NDArray[np.int64]
    recovered: NDArray[np.bool_]
    onset: NDArray[np.int64]
    va0: F64  # (R,) daily baseline value added
    va_path: F64 | None = None
    production_path: F64 | None = None
    balance_residual: F64 | None = None
    min_stock: F64 | None = None
    period_metrics: dict[str, F64] | None = None
    period_days: NDArray[np.int64] | None = None
    period_trade_volume: F64 | None = None
    period_trade_value: F64 | None = None


def shock_onset(shocks: ShockBatch, ext: Extensions) -> NDArray[np.int64]:
    """First day on which anything happens in each scenario (0 when nothing does): the first capacity event,
    the earliest onset of a sanction package that closes anything and of a demand shock that changes anything."""
    big = np.iinfo(np.int64).max
    onset = np.full(shocks.batch, big, dtype=np.int64)
    ev = np.where(shocks.events.share > 0, shocks.events.onset, big)
    if ev.size:
        onset = np.minimum(onset, ev.min(axis=1))
    if ext.sanctions:
        emb = shocks.sanctions.embargo  # (B, K, R, S, R)
        closes = emb.reshape(emb.shape[0], emb.shape[1], -1).max(axis=2) > 0  # (B, K)
        onset = np.minimum(onset, np.where(closes, shocks.sanctions.onset, big).min(axis=1))
    dem = shocks.demand
    if dem.onset.size:
        moves = (dem.change != 0).any(axis=(2, 3))  # (B, J)
        onset = np.minimum(onset, np.where(moves, dem.onset, big).min(axis=1))
    return np.where(onset == big, 0, onset)


def simulate(
    baseline: Baseline,
    shocks: ShockBatch,
    steps: int,
    *,
    extensions: Extensions | None = None,
    trajectories: Literal["daily", "weekly"] | None = None,
    diagnostics: bool = False,
    periods: NDArray[np.int64] | None = None,
    kernel: str = "fused",
    links: NDArray[np.bool_] | None = None,
) -> Outcome:
    """Simulate B scenarios for ``steps`` days.

    Parameters
    ----------
    baseline
        The shared baseline economy (daily flows).
    shocks
        Per-scenario parameters, leading axis B.
    steps
        Number of daily steps T.
    extensions
        Which sanctions extensions are on (default: all).
    trajectories
        Also return value-added and production paths by region, daily or weekly.
    diagnostics
        Also return accounting residuals (costs a few reductions per step).
    periods
        The period of each day, shape (steps,), values 0 .. P - 1 (e.g. calendar quarters): also return every
        daily flow summed by period (``Outcome.period_metrics``), and the trade between every pair of regions
        (``Outcome.period_trade_volume``, ``period_trade_value``). The core knows no dates; the caller maps them.
    kernel
        ``"fused"`` (default: the state-sized passes compiled, ``cluster.core.fused``) or ``"numpy"`` (the
        reference); they agree to about 1e-15 relative.
    links
        (R_o, R_d), optional: every link the run's packages could close in any of its scenarios. Closed links are
        grouped in blocks over these (and any other this batch closes) instead of over the links this batch
        closes, so that a scenario's results are bit-identical whichever scenarios share its batch (its sums over
        a block's links then always have the same terms, zeros included). ``Plan.links`` gives it for a config.

    Returns
    -------
    Outcome
        Per (scenario, region) metrics; see ``METRICS``.
    """
    ext = Extensions() if extensions is None else extensions
    if steps < 1:
        raise ShapeError(f"steps must be >= 1, got {steps}")
    shocks.validate(baseline)
    if shocks.batch == 0:
        raise ShapeError("a batch needs at least one scenario")
    if periods is not None:
        periods = np.asarray(periods, dtype=np.int64)
        if periods.shape != (steps,) or periods.min(initial=0) < 0:
            raise ShapeError(f"periods must give a period index >= 0 for each of the {steps} days, got {periods.shape}")
    if kernel not in KERNELS:
        raise ShapeError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if links is not None and np.shape(links) != (baseline.n_regions,) * 2:
        raise ShapeError(f"links must be (R, R) = {(baseline.n_regions,) * 2}, got {np.shape(links)}")
    args = (steps, ext, trajectories, diagnostics, periods, kernel, links)
    if shocks.batch <= _CHUNK:
        return _run(baseline, shocks, *args)
    parts = [_run(baseline, shocks.take(slice(lo, lo + _CHUNK)), *args) for lo in range(0, shocks.batch, _CHUNK)]
    return _concat(parts)


#: Scenarios stepped together. Larger batches are cut into chunks of this size: the per-scenario arrays
#: of a chunk stay in the processor's cache, which is faster than one wide pass (measured: ~15% at n = 220).
_CHUNK = 64


def _concat(parts: list[Outcome]) -> Outcome:
    """Outcomes of consecutive chunks, joined along the batch axis."""

    def cat(values: list[Any]) -> Any:
        return None if values[0] is None else np.concatenate(values)

    first = parts[0]
    return Outcome(
        metrics={name: np.concatenate([p.metrics[name] for p in parts]) for name in first.metrics},
        recovery_day=cat([p.recovery_day for p in parts]),
        recovered=cat([p.recovered for p in parts]),
        onset=cat([p.onset for p in parts]),
        va0=first.va0,
        va_path=cat([p.va_path for p in parts]),
        production_path=cat([p.production_path for p in parts]),
        balance_residual=cat([p.balance_residual for p in parts]),
        min_stock=cat([p.min_stock for p in parts]),
        period_metrics=None
        if first.period_metrics is None
        else {name: np.concatenate([p.period_metrics[name] for p in parts if p.period_metrics]) for name in FLOWS},
        period_days=first.period_days,
        period_trade_volume=cat([p.period_trade_volume for p in parts]),
        period_trade_value=cat([p.period_trade_value for p in parts]),
    )


def _run(
    baseline: Baseline,
    shocks: ShockBatch,
    steps: int,
    ext: Extensions,
    trajectories: Literal["daily", "weekly"] | None,
    diagnostics: bool,
    periods: NDArray[np.int64] | None = None,
    kernel: str = "fused",
    links: NDArray[np.bool_] | None = None,
) -> Outcome:
    """One chunk: pad to whole BLAS blocks, step, reduce to metrics."""
    b_user = shocks.batch
    shocks = _pad(shocks)
    st = Stepper(baseline, shocks, ext, diagnostics, trade=periods is not None, kernel=kernel, links=links)
    r, b = baseline.n_regions, shocks.batch
    va0 = st.va0[:, None]  # (R, 1)
    onset = shock_onset(shocks, ext)
    acc = {name: np.zeros((r, b)) for name in METRICS}
    worst = np.zeros((r, b))
    streak = np.full((r, b), -1, dtype=np.int64)
    found = np.full((r, b), -1, dtype=np.int64)
    keep = trajectories is not None
    va_days = np.zeros((steps, r, b)) if keep else None
    prod_days = np.zeros((steps, r, b)) if keep else None
    balance = np.zeros(b)
    min_stock = np.full(b, np.inf)
    safe_va0 = np.where(va0 > 0, va0, 1.0)
    n_periods = 0 if periods is None else int(periods.max(initial=-1)) + 1
    by_period = {name: np.zeros((n_periods, r, b)) for name in FLOWS} if periods is not None else None
    trade_volume = np.zeros((n_periods, r, r, b)) if periods is not None else None
    trade_value = np.zeros((n_periods, r, r, b)) if periods is not None else None
    zero = np.zeros((r, b))
    for t in range(steps):
        rec = st.step(t)
        loss = va0 - rec.va
        worst = np.maximum(worst, loss / safe_va0)
        daily = {
            "va_loss": loss,
            "income_loss": va0 - rec.income,
            "unmet_final_demand": (st.fd0[:, None] if rec.final_demand is None else rec.final_demand)
            - rec.final_delivered,
            "exports_lost": st.base_exports[:, None] - rec.exports,
            "ct_exports": rec.ct_exports,
            "ct_imports": rec.ct_imports,
            "leakage_premium": rec.premium,
            "diverted_exports": zero if rec.diverted is None else rec.diverted,
            "displaced_exports": zero if rec.displaced is None else rec.displaced,
        }
        for name in FLOWS:
            acc[name] += daily[name]
        if by_period is not None:
            assert periods is not None
            for name in FLOWS:
                by_period[name][periods[t]] += daily[name]
            assert trade_volume is not None
            assert trade_value is not None
            assert rec.trade_volume is not None
            assert rec.trade_value is not None
            trade_volume[periods[t]] += rec.trade_volume
            trade_value[periods[t]] += rec.trade_value
        if st.fused:  # the same clock, in one compiled pass
            st.k.recovery_step(loss, va0, RECOVERY_BAND, t, onset, streak, found, RECOVERY_DAYS)
        else:
            within = np.abs(loss) <= RECOVERY_BAND * va0
            after = t >= onset  # (B,)
            open_ = (found < 0) & after
            streak = np.where(open_ & within & (streak < 0), t, streak)
            streak = np.where(open_ & ~within, -1, streak)
            done = open_ & within & (streak >= 0) & (t - streak + 1 >= RECOVERY_DAYS)
            found = np.where(done, streak - onset, found)
        if keep:
            assert va_days is not None
            assert prod_days is not None
            va_days[t] = rec.va
            prod_days[t] = rec.production.reshape(r, -1, b).sum(axis=1)
        if diagnostics:
            balance = np.maximum(balance, rec.balance_residual)
            min_stock = np.minimum(min_stock, rec.min_stock)
    annual_va0 = np.where(va0 > 0, va0 * DAYS_PER_YEAR, np.nan)
    acc["va_loss_pct"] = 100.0 * acc["va_loss"] / annual_va0
    acc["worst_day_loss_pct"] = 100.0 * worst
    acc["recovery_day"] = found.astype(float)
    acc["project_capex"], acc["capacity_online"] = _project_totals(baseline, shocks, st, steps, ext)
    acc["capacity_built"] = st.k_new.reshape(r, -1, b).sum(axis=1) * DAYS_PER_YEAR
    metrics = {name: np.ascontiguousarray(value.T) for name, value in acc.items()}
    va_path = prod_path = None
    if keep:
        assert va_days is not None
        assert prod_days is not None
        va_path, prod_path = va_days.transpose(2, 0, 1), prod_days.transpose(2, 0, 1)
        if trajectories == "weekly":
            va_path, prod_path = _weekly(va_path), _weekly(prod_path)
    keep_b = slice(0, b_user)
    return Outcome(
        metrics={name: value[keep_b].copy() for name, value in metrics.items()},
        recovery_day=found.T[keep_b].copy(),
        recovered=(found >= 0).T[keep_b].copy(),
        onset=onset[keep_b].copy(),
        va0=st.va0.copy(),
        va_path=None if va_path is None else va_path[keep_b].copy(),
        production_path=None if prod_path is None else prod_path[keep_b].copy(),
        balance_residual=balance[keep_b].copy() if diagnostics else None,
        min_stock=min_stock[keep_b].copy() if diagnostics else None,
        period_metrics=None
        if by_period is None
        else {name: np.ascontiguousarray(v.transpose(2, 0, 1)[keep_b]) for name, v in by_period.items()},
        period_days=None if periods is None else np.bincount(periods, minlength=n_periods).astype(np.int64),
        period_trade_volume=None if trade_volume is None else _batch_first(trade_volume[..., keep_b]),
        period_trade_value=None if trade_value is None else _batch_first(trade_value[..., keep_b]),
    )


def _batch_first(a: F64) -> F64:
    """(P, R_o, R_d, B) -> (B, P, R_o, R_d), contiguous."""
    return np.ascontiguousarray(a.transpose(3, 0, 1, 2))


#: OpenBLAS computes the columns of a matrix product in blocks of 8 with one kernel and the leftover
#: columns with another, whose rounding differs. Padding the batch to a multiple of this keeps every
#: scenario in a full block, so its bits do not depend on its position or on the batch size.
_BLOCK = 8


def _pad(shocks: ShockBatch) -> ShockBatch:
    """Repeat the last scenario so that B is a multiple of ``_BLOCK``."""
    b = shocks.batch
    extra = (-b) % _BLOCK
    if extra == 0:
        return shocks
    index = np.concatenate([np.arange(b), np.full(extra, b - 1)])
    return shocks.take(index)


def _weekly(path: F64) -> F64:
    """Means over whole weeks of a (B, T, R) path."""
    b, t, r = path.shape
    w = t // 7
    return path[:, : w * 7].reshape(b, w, 7, r).mean(axis=2)  # type: ignore[no-any-return]


def _project_totals(
    baseline: Baseline, shocks: ShockBatch, st: Stepper, steps: int, ext: Extensions
) -> tuple[F64, F64]:
    """Capex by region and capacity online at the last day (per year), both (R, B)."""
    r, s, b = baseline.n_regions, baseline.n_sectors, shocks.batch
    capex = np.zeros((b, r))
    online = np.zeros((r, b))
    if not ext.projects:
        return capex.T, online
    pj = shocks.projects
    region = pj.industry // s
    rows = np.broadcast_to(np.arange(b)[:, None], region.shape)
    # Spent evenly over the build (days signed .. online - 1): the part of it inside the horizon.
    days = np.clip(np.minimum(st.capex_end, steps) - np.maximum(pj.signed, 0), 0, None)
    np.add.at(capex, (rows, region), st.capex_rate * days)
    extra = st.new_capacity(steps - 1)
    if extra is not None:
        online = extra.reshape(r, s, b).sum(axis=1) * DAYS_PER_YEAR
    return capex.T, online
