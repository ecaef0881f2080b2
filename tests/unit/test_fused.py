"""The fused kernels (``kernel="fused"``, the default) against the numpy reference (``kernel="numpy"``): every
mechanism, every metric, trajectories and period tables within 1e-12 relative; and the kernels' edge cases
(numpy.allclose branches, NaN from 0 x inf, dead suppliers) operation for operation."""

from __future__ import annotations

import numpy as np
import pytest
from batches import NARROW, varied_batch

from cluster.core import Baseline, Extensions, ShockBatch, simulate
from cluster.core import fused as kernels
from cluster.core.metrics import METRICS
from cluster.economy import synthetic
from cluster.errors import ShapeError


def _only(*names: str) -> Extensions:
    """Every extension off but ``names``."""
    off = dict.fromkeys(vars(Extensions.none()), False)
    return Extensions(**{**off, **dict.fromkeys(names, True)})


#: One mechanism on at a time (with the sanctions it acts on), then all of them.
MECHANISMS = {
    "plain": Extensions.none(),
    "sanctions": _only("sanctions"),
    "leakage": _only("sanctions", "leakage"),
    "substitution": _only("sanctions", "substitution"),
    "counter_trade": _only("sanctions", "counter_trade"),
    "projects": _only("projects"),
    "cooperation": _only("sanctions", "substitution", "cooperation"),
    "diversion": _only("sanctions", "diversion"),
    "expansion": _only("sanctions", "expansion"),
    "all": Extensions(),
}


@pytest.fixture(scope="module")
def small() -> Baseline:
    """The unit tests' small economy (as ``test_core_basics``)."""
    return synthetic(6, 4, seed=3, n_domestic=2).baseline()


def _close(a: np.ndarray, b: np.ndarray, what: str, floor: float = 0.0) -> None:
    """Within 1e-12 of the scale of what is accounted: the array's largest magnitude, or ``floor`` when that is
    larger (a metric that is a small difference of large flows, e.g. unmet demand ~1e-11 in a quiet run, is judged
    against the flows). The reference's rounding, not a loosened test."""
    scale = max(float(np.abs(a).max(initial=0.0)), floor, 1e-300)
    gap = float(np.abs(a - b).max(initial=0.0))
    assert gap <= 1e-12 * scale, f"{what}: fused differs from numpy by {gap / scale:.2e} of its scale"


def _floor(kind: str, money: float) -> float:
    """The scale of the flows behind a metric of ``kind``: money (``money``, the baseline value added of the whole
    economy over the horizon), 100 for percentages, 0 (exact) for days."""
    return {"flow": money, "money": money, "percent": 100.0}.get(kind, 0.0)


def _same(small: Baseline, sh: ShockBatch, ext: Extensions, **kw: object) -> None:
    ref = simulate(small, sh, 300, extensions=ext, kernel="numpy", **kw)  # type: ignore[arg-type]
    got = simulate(small, sh, 300, extensions=ext, kernel="fused", **kw)  # type: ignore[arg-type]
    assert ref.metrics.keys() == got.metrics.keys()
    assert np.array_equal(ref.recovery_day, got.recovery_day)  # the recovery clock (a kernel of its own)
    assert np.array_equal(ref.recovered, got.recovered)
    money = float(ref.va0.sum()) * 300
    for name in ref.metrics:
        _close(ref.metrics[name], got.metrics[name], name, _floor(METRICS[name].kind, money))
    for name in ("va_path", "production_path"):
        a, b = getattr(ref, name, None), getattr(got, name, None)
        if a is not None:
            _close(a, b, name)
    for name, value in (ref.period_metrics or {}).items():
        _close(value, got.period_metrics[name], f"periods {name}")  # type: ignore[index]
    for name in ("period_trade_volume", "period_trade_value"):
        a = getattr(ref, name, None)
        if a is not None:
            _close(a, getattr(got, name), name)


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_fused_matches_numpy_per_mechanism(small: Baseline, name: str) -> None:
    """Each mechanism alone, on varied draws with prices and demand shocks moving; daily trajectories compared
    too (the days before the shock settle inventories exactly: the numpy.allclose branches)."""
    sh = varied_batch(small, 15, seed=11, prices=True, demand=True)
    _same(small, sh, MECHANISMS[name], trajectories="daily")


def test_fused_matches_numpy_with_periods_and_diagnostics(small: Baseline) -> None:
    """Periods (trade by partner, the origin-resolved contraction) and diagnostics on, every mechanism on."""
    sh = varied_batch(small, 12, seed=12, prices=True, demand=True, **NARROW)
    periods = np.arange(300) // 75
    _same(small, sh, Extensions(), periods=periods, diagnostics=True)


def test_fused_matches_numpy_on_the_quiet_economy(small: Baseline) -> None:
    """No shock at all: deliveries equal use and stocks equal their goal every day (both allclose branches)."""
    _same(small, ShockBatch.quiet(small, 9), Extensions())


def test_unknown_kernel_is_refused(small: Baseline) -> None:
    with pytest.raises(ShapeError, match="kernel must be one of"):
        simulate(small, ShockBatch.quiet(small, 2), 3, kernel="cuda")


def _reference_settle(
    add: np.ndarray, tech: np.ndarray, x: np.ndarray, stock: np.ndarray, td: np.ndarray, x_opt: np.ndarray,
    itau: np.ndarray, w: np.ndarray, wfix: np.ndarray, dead: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The numpy path's arithmetic (``Stepper.step`` and ``Stepper._order``) on its own: stock, v, need."""
    use = tech * x[None]
    diff = add - use
    keep = (np.abs(diff) - use * 1e-5).max(axis=(0, 1)) <= 1e-8
    stock = stock + diff * ~keep
    goal = td * x_opt[None]
    close = (np.abs(goal - stock) - goal * 1e-5).max(axis=(0, 1)) <= 1e-8
    gap = np.maximum(goal - stock, 0.0) * np.where(close, 0.0, itau)
    need = gap + use
    w_all = w + wfix
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where((w_all == 0) & dead, 0.0, need / w_all)
    return stock, v, need


@pytest.mark.parametrize("dead", [False, True])
def test_settle_and_order_kernel_edges(dead: bool) -> None:
    """Scenario 0 settles exactly (deliveries equal use, stock equals its goal: both allclose branches taken),
    scenario 1 is off by far, scenario 2 carries a NaN (never allclose), scenario 3 has a zero weight."""
    rng = np.random.default_rng(3)
    s, n, b = 3, 7, 11
    tech = rng.uniform(0.1, 1, (s, n, 1))
    td = tech * 90.0
    x = rng.uniform(1, 2, (n, b))
    x_opt = x.copy()
    stock = td * x_opt[None] * rng.uniform(0.5, 1.5, (s, n, b))
    stock[:, :, 0] = td[:, :, 0] * x_opt[None, :, 0]
    add = tech * x[None] * rng.uniform(0.5, 1.5, (s, n, b))
    add[:, :, 0] = tech[:, :, 0] * x[None, :, 0] * (1 + 1e-9)
    add[1, 2, 2] = np.nan
    w = rng.uniform(0.5, 2, (s, n, b))
    wfix = np.zeros((s, n, 1))
    w[0, 0, 3] = 0.0
    itau = np.full(b, 1 / 60)
    want_stock, want_v, want_need = _reference_settle(add, tech, x, stock, td, x_opt, itau, w, wfix, dead)
    old, got_stock, got_v, got_add, got_w = stock.copy(), np.empty((s, n, b)), np.empty((s, n, b)), add.copy(), w.copy()
    inv = np.where(tech > 0.3, 1 / (tech * 72.0), np.inf)  # an input not needed: inf, and 0 x inf is ignored
    got_stock[0, 0, 1] = 0.0
    cap = np.empty((n, b))
    kernels.settle_and_order(
        got_add, got_add, False, tech, x, old, got_stock, td, x_opt, itau, got_w, wfix, dead, got_v, True, inv, cap,
        1e-5, 1e-8,
    )  # fmt: skip
    with np.errstate(invalid="ignore"):
        assert np.array_equal(cap, np.fmin.reduce(got_stock * inv, axis=0), equal_nan=True)
    assert np.array_equal(old, stock)
    assert np.array_equal(got_stock, want_stock, equal_nan=True)
    assert np.array_equal(got_v, want_v, equal_nan=True)
    assert np.array_equal(got_add, want_need, equal_nan=True)
    assert np.array_equal(got_w, w + wfix)
    assert np.array_equal(got_stock[..., 0], stock[..., 0])  # allclose: left alone


def test_inventory_cap_follows_fmin() -> None:
    """0 x inf (an input an industry does not need) is NaN and ignored, as numpy.fmin.reduce ignores it."""
    rng = np.random.default_rng(4)
    s, n, b = 4, 5, 9
    stock = rng.uniform(0, 2, (s, n, b))
    stock[:, 0, 0] = 0.0
    inv = rng.uniform(0.5, 2, (s, n, 1))
    inv[1:, 0] = np.inf
    inv[:, 1] = np.inf
    x_opt = rng.uniform(0, 3, (n, b))
    with np.errstate(invalid="ignore"):
        want = np.fmin(x_opt, np.fmin.reduce(stock * inv, axis=0))
    for req in (inv, np.repeat(inv, b, axis=2)):
        assert np.array_equal(kernels.inventory_cap(stock, req, x_opt), want)


def test_fused_changes_no_bit_of_production_in_a_quiet_run(small: Baseline) -> None:
    """In the steady state the two paths do the same operations in the same order: production is bit-identical
    (only the within-bloc sum for the export metric adds in another order)."""
    sh = ShockBatch.quiet(small, 8)
    a = simulate(small, sh, 50, extensions=Extensions.none(), kernel="numpy", trajectories="daily")
    b = simulate(small, sh, 50, extensions=Extensions.none(), kernel="fused", trajectories="daily")
    assert a.production_path is not None
    assert b.production_path is not None
    assert np.array_equal(a.production_path, b.production_path)
