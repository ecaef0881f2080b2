"""The fused kernels (``kernel="fused"``, the default) against the numpy reference (``kernel="numpy"``): every
mechanism, every metric, trajectories and period tables within 1e-12 relative; and the kernels' edge cases
(numpy.allclose branches, NaN from 0 x inf, dead suppliers) operation for operation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from batches import NARROW, varied_batch

from cluster.core import Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.core import fused as kernels
from cluster.core.metrics import METRICS
from cluster.core.model import C_FLOOR, Stepper
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


def _reference_produce(
    demand: np.ndarray, alpha: np.ndarray, x_prev: np.ndarray, over: bool, x0: np.ndarray, loss: np.ndarray,
    extra: np.ndarray | None, k_new: np.ndarray | None, stock_cap: np.ndarray,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The numpy path's arithmetic (``Stepper._produce_numpy``) on its own, amax = 1.5, 1 / tau = 1 / 7."""
    amax, atau = 1.5, 1 / 7
    alpha = alpha.copy()
    if over:
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = np.where(demand != 0, (demand - x_prev) / demand, 0.0)
        alpha += (amax - alpha) * sc * atau + (1.0 - alpha) * (sc == 0) * atau
        alpha[alpha < 1.0] = 1.0
    base = x0 * (1.0 - loss)
    cap = base * alpha
    if extra is not None:
        cap, base = cap + extra, base + extra
    split = cap
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(x0 != 0, split / x0, 1.0)
    c[c < C_FLOOR] = 0.0
    if k_new is not None:
        cap = cap + k_new
    x_opt = np.fmin(demand, cap)
    x = np.fmin(x_opt, stock_cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        rat = np.where(demand != 0, x / demand, 0.0)
    return alpha, base, split, cap, x_opt, x, rat, c


@pytest.mark.parametrize("over", [False, True])
@pytest.mark.parametrize("parts", ["none", "extra", "k_new", "both"])
def test_produce_kernel_edges(over: bool, parts: str) -> None:
    """Zero demand (no scarcity, nothing rationed), a NaN inventory constraint (fmin ignores it), an industry with
    no baseline output (capacity ratio 1), a capacity wiped out (a dead supplier, also with a project of 1e-310 on
    it: below the floor), projects' and expansion's
    capacity or neither: the kernel against the numpy path's arithmetic, bit for bit."""
    rng = np.random.default_rng(5)
    n, b = 6, 9
    demand = rng.uniform(0.5, 2, (n, b))
    demand[0, 0] = 0.0
    x_prev = rng.uniform(0.5, 2, (n, b))
    alpha = rng.uniform(0.9, 1.4, (n, b))
    x0 = rng.uniform(1, 2, (n, 1))
    x0[5] = 0.0
    loss = rng.uniform(0, 0.5, (n, b))
    loss[1, 3] = 1.0
    stock_cap = rng.uniform(0.5, 2.5, (n, b))
    stock_cap[2, 4] = np.nan
    extra = rng.uniform(0, 0.2, (n, b)) if parts in ("extra", "both") else None
    if extra is not None:  # a wiped-out industry with a negligible project: below the floor, dead
        loss[3, 2], extra[3, 2] = 1.0, 1e-310
    k_new = rng.uniform(0, 0.2, (n, b)) if parts in ("k_new", "both") else None
    want = _reference_produce(demand, alpha, x_prev, over, x0, loss, extra, k_new, stock_cap)
    got_alpha = alpha.copy()
    outs = np.full((7, n, b), -1.0)
    none = np.empty((0, 0))
    dead = kernels.produce(
        demand, got_alpha, x_prev, np.full(b, 1.5), np.full(b, 1 / 7), over, x0, loss,
        none if extra is None else extra, none if k_new is None else k_new, stock_cap, C_FLOOR, *outs,
    )  # fmt: skip
    base, split, cap, x_opt, x, rat, c = outs
    for name, w, g in zip(
        ("alpha", "base_cap", "split_cap", "cap", "x_opt", "x", "rat", "c"),
        want,
        (got_alpha, base, split, cap, x_opt, x, rat, c),
        strict=True,
    ):
        assert np.array_equal(g, w, equal_nan=True), name
    assert dead == bool((want[-1] == 0).any())
    assert dead  # the wiped-out industries: the one a project adds 1e-310 to is dead too
    assert c[1, 3] == (0.0 if extra is None else extra[1, 3] / x0[1, 0])
    assert extra is None or c[3, 2] == 0.0
    assert rat[0, 0] == 0.0
    assert c[5].tolist() == [1.0] * b
    # The first day: no inventory constraint yet, x and rat are left to the caller.
    untouched = np.full((7, n, b), -1.0)
    kernels.produce(
        demand, alpha.copy(), x_prev, np.full(b, 1.5), np.full(b, 1 / 7), over, x0, loss, none, none, none, C_FLOOR,
        *untouched,
    )  # fmt: skip
    assert (untouched[4:6] == -1.0).all()
    assert np.array_equal(untouched[3], np.fmin(demand, untouched[2]))


@pytest.mark.parametrize("ext", ["all", "no_cooperation", "no_substitution"])
@pytest.mark.parametrize("dead", [False, True])
def test_redirect_kernel_edges(small: Baseline, ext: str, dead: bool) -> None:
    """The order split under sanctions (``_redirect_fused``) against the numpy path's arithmetic (``_redirect`` and
    ``_unfilled``), bit for bit, on the same arbitrary weights: buyers with no supplier at all (0 / 0 with a dead
    supplier), links more than closed (the blocked share clipped at 1), redirectable weights below the floor (no
    redirected orders), with cooperation (two origin classes), without it, and without substitution. Tomorrow's
    intensities V + U for every buyer, U where the blocks read it, the targets' unfilled needs."""
    extensions = {
        "all": Extensions(),
        "no_cooperation": Extensions(cooperation=False),
        "no_substitution": Extensions(substitution=False),
    }[ext]
    sh = varied_batch(small, 9, seed=4)
    # A coalition of all partners but one: that one's links stay open, so its buyers' U is never read.
    coalition = np.broadcast_to(~sh.target & (np.arange(small.n_regions) != small.n_regions - 1), (9, small.n_regions))
    bans = np.random.default_rng(3).uniform(size=(2, 9, small.n_sectors)) < 0.6
    embargo = embargo_links(sh.target, coalition, bans[0], bans[1])[:, None]
    sh = replace(sh, sanctions=replace(sh.sanctions, embargo=embargo))
    ref = Stepper(small, sh, extensions, kernel="numpy")
    got = Stepper(small, sh, extensions, kernel="fused")
    s, n, b = ref.s, ref.n, ref.b
    rng = np.random.default_rng(8)
    w_all = rng.uniform(0.5, 2.0, (s, n, b))
    w_all[0, 1, :3] = 0.0  # no supplier at all (w_open 0 too)
    w_open = w_all * rng.uniform(-0.2, 1.0, (s, n, b))  # below 0: more than closed
    w_open[0, 1, :3] = 0.0
    need = rng.uniform(0.0, 3.0, (s, n, b))
    sub = extensions.substitution
    w_red = w_open * rng.uniform(0.0, 1.0, (s, n, b)) if sub else None
    if w_red is not None:
        w_red[1, 2, :4] = 1e-9 * w_all[1, 2, :4]  # below the floor: no redirected orders
    split = len(ref.classes) > 1
    assert split == extensions.cooperation
    w_dom = w_red * rng.uniform(0.0, 1.0, (s, n, b)) if split and w_red is not None else None
    sig = rng.uniform(0.0, 1.0, (s, ref.r, b)) if sub else np.empty((0, 0, 0))  # absent
    sig_d = rng.uniform(0.0, 2.0, (s, ref.r, b)) if split else np.empty((0, 0, 0))
    v = rng.uniform(0.5, 1.5, (s, n, b))
    ref.v, got.v = v.copy(), v.copy()
    w_open2, w_red2, w_dom2 = (None if a is None else a.copy() for a in (w_open, w_red, w_dom))  # numpy's change
    with np.errstate(divide="ignore", invalid="ignore"):
        blocked, q, us = ref._redirect(need, w_open, w_all, w_red, w_dom, dead, sig, sig_d)
        unfilled = ref._unfilled(blocked, q, us, w_red, w_dom, sig, sig_d)
    u_got, unfilled_got = got._redirect_fused(need, w_open2, w_all, w_red2, w_dom2, dead, sig, sig_d)
    assert unfilled_got is not None
    assert np.array_equal(unfilled_got, unfilled, equal_nan=True)
    assert np.isfinite(unfilled).all() == dead  # 0 / 0 is NaN unless a supplier is dead
    if us is None:
        assert u_got is None
        assert got.tt is None
        return
    assert u_got is not None
    assert got.tt is not None
    keep = np.repeat(got.keep_u, s)  # buyer columns of the regions whose U is read
    assert 0 < keep.sum() < n  # some buyers' U is stored, some not: both paths of the kernel run
    for c, u in enumerate(us):
        assert np.array_equal(got.tt[c], v + u, equal_nan=True)
        assert np.array_equal(u_got[c][:, keep], u[:, keep], equal_nan=True)
        assert (u_got[c][:, ~keep] == 0.0).all()  # never written


@pytest.mark.parametrize("parts", ["open", "red", "dom"])
def test_block_kernels_match_the_products(parts: str) -> None:
    """A block's corrections of the split weights and of the deliveries (``fused.block_weights``,
    ``fused.block_deliveries``) against the numpy path's batched products and updates (``Stepper._order_split``,
    ``Stepper._deliveries``): the same sums over the block's origins, added in another order (OpenBLAS may fuse a
    multiply and an add), so within 1e-14 of each array's scale; rows outside the block's destinations untouched, to
    the bit. ``parts``: only the reachable weights (no substitution), the redirectable ones too, and the domestic
    ones too (cooperation)."""
    rng = np.random.default_rng(21)
    s, r, b = 4, 7, 16
    o, d = np.array([1, 4, 5], dtype=np.int64), np.array([0, 2, 6], dtype=np.int64)
    zt = rng.uniform(0.0, 3.0, (s, d.size, s, o.size))
    c3 = rng.uniform(0.0, 1.2, (r, s, b))
    c3[4, 1] = 0.0  # a supplier with nothing left
    cl = rng.uniform(0.0, 1.0, (s, d.size, o.size, b)) * (rng.uniform(size=(s, d.size, o.size, b)) < 0.7)
    tc = (cl > 0).astype(float)
    w = [rng.uniform(1.0, 5.0, (s, r * s, b)) for _ in range(3)]
    want = [a.copy() for a in w]
    c_k = c3.transpose(1, 0, 2)
    want[0].reshape(s, r, s, b)[:, d] -= np.matmul(zt, c_k[:, None, o] * cl)
    g = np.matmul(zt, c_k[:, None, o] * tc)
    used = {"open": 1, "red": 2, "dom": 3}[parts]
    for a in want[1:used]:
        a.reshape(s, r, s, b)[:, d] -= g
    got = [a.copy() for a in w]
    absent = np.empty((0, 0, 0))
    kernels.block_weights(zt, c3, o, d, cl, tc, *(got[i] if i < used else absent for i in range(3)))
    rows = np.zeros((r, s), dtype=bool)
    rows[d] = True
    rows = rows.ravel()
    for i in range(3):
        if i < used:
            np.testing.assert_allclose(got[i], want[i], rtol=0, atol=1e-14 * np.abs(want[i]).max())
        assert np.array_equal(got[i][:, ~rows], w[i][:, ~rows])  # other buyers untouched
        assert i < used or np.array_equal(got[i], w[i])  # absent: not written
    # The deliveries: add -= v (Z (rc closed)) + u (Z (rc touched)), the second term only with U.
    v, u, add = (rng.uniform(0.5, 2.0, (s, r * s, b)) for _ in range(3))
    for with_u in (False, True):
        want_add = add.copy()
        gd = np.matmul(zt, c_k[:, None, o] * cl)
        gd *= v.reshape(s, r, s, b)[:, d]
        if with_u:
            gu = np.matmul(zt, c_k[:, None, o] * tc)
            gu *= u.reshape(s, r, s, b)[:, d]
            gd += gu
        want_add.reshape(s, r, s, b)[:, d] -= gd
        got_add = add.copy()
        kernels.block_deliveries(zt, c3, o, d, cl, tc, v, u if with_u else absent, got_add)
        np.testing.assert_allclose(got_add, want_add, rtol=0, atol=1e-14 * np.abs(want_add).max())
        assert np.array_equal(got_add[:, ~rows], add[:, ~rows])
        assert not np.array_equal(got_add[:, rows], add[:, rows])


@pytest.mark.parametrize("demand", [False, True])
def test_diverted_kernel_is_the_numpy_arithmetic(demand: bool) -> None:
    """The day's diverted orders (``fused.diverted``) against ``Stepper._diverted``'s numpy arithmetic, bit for bit:
    the orders moved away from each origin, their sums over the origins and over the friendly buyers (numpy's
    reductions add in sequence along those axes, and so does the kernel), with a demand multiplier or without,
    a friendly buyer with no share (scale 0) and an origin with no capacity left."""
    rng = np.random.default_rng(13)
    s, f, r, b = 3, 4, 5, 16
    orders = rng.uniform(0.0, 2.0, (s, f, r, b))
    c_o = rng.uniform(0.0, 1.0, (r, s, b))
    c_o[2] = 0.0
    scale = rng.uniform(0.0, 0.3, (s, f, b))
    scale[:, 1] = 0.0
    div_y = rng.uniform(0.0, 1.0, (s, f, r))
    fd_m = rng.uniform(0.5, 1.5, (s, f, b)) if demand else None
    lost_z = orders * c_o.transpose(1, 0, 2)[:, None]
    lost_z *= scale[:, :, None]
    y = div_y[..., None] if fd_m is None else div_y[..., None] * fd_m[:, :, None]
    lost_y = y * scale[:, :, None]
    want = (lost_z, lost_y, lost_z.sum(axis=2), lost_y.sum(axis=2), (lost_z + lost_y).sum(axis=1).transpose(1, 0, 2))
    got = (
        np.empty((s, f, r, b)),
        np.empty((s, f, r, b)),
        np.empty((s, f, b)),
        np.empty((s, f, b)),
        np.empty((r, s, b)),
    )
    kernels.diverted(orders, c_o, scale, div_y, np.empty((0, 0, 0)) if fd_m is None else fd_m, *got)
    for name, g, w in zip(("lost_z", "lost_y", "moved_z", "moved_y", "out"), got, want, strict=True):
        assert np.array_equal(g, w), name


@pytest.mark.parametrize("within", ["some", "none", "strided"])
def test_fd_block_kernel_is_the_numpy_arithmetic(within: str) -> None:
    """One block's correction of the final demand delivered (``fused.fd_block``) against ``Stepper._fd_flows``'
    einsums, bit for bit: to[k, d] less the sum over the origins of rem x rat, and the flows inside the origin's
    bloc less the sum over the destinations of rem x within (skipped when ``w`` is empty); a destination and an
    origin outside the block untouched; ``within`` given as a transposed view, as the step passes it."""
    rng = np.random.default_rng(17)
    s, r, b = 3, 7, 16
    o, d = np.array([5, 1, 3]), np.array([0, 6, 2, 4])
    rem = rng.uniform(0.0, 2.0, (s, d.size, o.size, b))
    rat3 = rng.uniform(0.0, 1.0, (r, s, b))
    rat3[3] = 0.0  # an origin that delivers nothing
    w = (rng.uniform(size=(d.size, o.size)) < 0.5).astype(float) if within != "none" else np.empty((0, 0))
    to0 = rng.uniform(5.0, 9.0, (s, r, b))
    inside0 = rng.uniform(5.0, 9.0, (r, s, b))
    want_to, want_in = to0.copy(), inside0.copy()
    rat_o = rat3.transpose(1, 0, 2)[:, None, o]
    want_to[:, d] -= np.einsum("kdob,kdob->kdb", rem, np.broadcast_to(rat_o, rem.shape))
    if within != "none":
        want_in[o] -= np.einsum("kdob,do->okb", rem, w)
    to = to0.copy()
    inside = inside0.copy()
    if within == "strided":  # the same values, in a transposed layout
        inside = np.ascontiguousarray(inside0.transpose(1, 0, 2)).transpose(1, 0, 2)
    kernels.fd_block(rem, rat3, o, d, w, to, inside)
    assert np.array_equal(to, want_to)
    assert np.array_equal(inside, want_in)
    assert np.array_equal(to[:, [1, 3, 5]], to0[:, [1, 3, 5]])
    assert np.array_equal(inside[[0, 2, 4, 6]], inside0[[0, 2, 4, 6]])


@pytest.mark.parametrize("kind", ["intermediate", "final", "final at the day's demand"])
def test_leak_premium_kernel_is_the_numpy_arithmetic(kind: str) -> None:
    """The leakage premium of one block (``fused.leak_premium``) against the numpy arithmetic of
    ``Stepper._accounts`` (orders x leaked share, delivered at rat x c) and of ``Stepper._fd_flows`` (final demand,
    at the day's multiplier or not, delivered at rat), bit for bit, added to what the premium already holds;
    regions outside the block's destinations untouched."""
    rng = np.random.default_rng(19)
    s, r, b = 4, 6, 16
    o, d = np.array([4, 0]), np.array([5, 2, 1])
    flows = rng.uniform(0.0, 2.0, (s, d.size, o.size, b))
    rat3 = rng.uniform(0.0, 1.0, (r, s, b))
    prem = np.ascontiguousarray(rng.uniform(0.1, 0.5, (b, s)).T)  # the config's (B, S), as ``premium_k``
    premium0 = rng.uniform(0.0, 1.0, (r, b))
    want = premium0.copy()
    share, fd_m, c_o = np.empty((0, 0, 0, 0)), np.empty((0, 0, 0)), np.empty((0, 0, 0))
    if kind == "intermediate":
        share = rng.uniform(0.0, 0.3, flows.shape)
        c_o = rng.uniform(0.0, 1.0, (r, s, b))
        rc = (rat3 * c_o)[o].transpose(1, 0, 2)[:, None]
        leaked = np.einsum("kdob,kdob->kdb", flows * share, np.broadcast_to(rc, share.shape))
    else:
        yl = flows
        if kind == "final at the day's demand":
            fd_m = rng.uniform(0.5, 1.5, (s, r, b))
            yl = flows * fd_m[:, d][:, :, None]
        rat_o = rat3.transpose(1, 0, 2)[:, None, o]
        leaked = np.einsum("kdob,kdob->kdb", yl, np.broadcast_to(rat_o, yl.shape))
    want[d] += (leaked * prem[:, None, :]).sum(axis=0)
    got = premium0.copy()
    kernels.leak_premium(flows, share, fd_m, rat3, c_o, o, d, prem, got)
    assert np.array_equal(got, want)
    assert np.array_equal(got[[0, 3, 4]], premium0[[0, 3, 4]])


def test_expand_and_add_rows_kernels_are_the_numpy_arithmetic() -> None:
    """Supplier expansion's capacity built today (``fused.expand``) and the channel's deliveries added to the
    target industries' rows (``fused.add_rows``) against ``Stepper.step``'s numpy lines, bit for bit: excess
    demand below capacity (no goal), goals below what is built already, industries held back by inputs rather
    than capacity (x < cap), a NaN demand (passed through, as numpy.maximum passes it)."""
    rng = np.random.default_rng(23)
    n, b = 12, 16
    demand, base_cap = rng.uniform(0.0, 2.0, (n, b)), rng.uniform(0.0, 2.0, (n, b))
    demand[3, 4] = np.nan
    eta, rate = rng.uniform(0.0, 1.0, (n, b)), rng.uniform(0.0, 0.05, (n, b))
    k_new = rng.uniform(0.0, 0.3, (n, b))
    cap = rng.uniform(0.5, 2.0, (n, b))
    x = np.where(rng.uniform(size=(n, b)) < 0.5, cap, cap * 0.9)
    want = k_new.copy()
    goal = np.maximum(demand - base_cap, 0.0) * eta
    np.maximum(goal - want, 0.0, out=goal)
    goal *= x >= cap
    want += goal * rate
    got = k_new.copy()
    kernels.expand(demand, base_cap, eta, got, x, cap, rate)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got[3, 4])
    assert (got != k_new).sum() > n  # some capacity was built
    s, r, rows = 3, 4, np.array([3, 4, 5, 9, 10, 11])  # regions 1 and 3 of 4, 3 sectors each
    a = rng.uniform(size=(s, r * s, b))
    part = rng.uniform(size=(s, rows.size, b))
    want_a = a.copy()
    want_a.reshape(s, r, s, b)[:, [1, 3]] += part.reshape(s, -1, s, b)
    kernels.add_rows(a, rows, part)
    assert np.array_equal(a, want_a)


@pytest.mark.parametrize("n_friendly", [1, 3, 30])
def test_cross_share_kernel_is_the_numpy_arithmetic(n_friendly: int) -> None:
    """The share of the diverted orders that crosses a border from each target (``fused.cross_share``) against
    ``Stepper._accounts``' numpy arithmetic, bit for bit: einsum's sum over the friendly buyers, over numpy's sum,
    0 for a product with no diverted orders; one friendly buyer, a few, and more than any unrolling."""
    from cluster.core.model import _safe_div

    rng = np.random.default_rng(29)
    t, s, b = 4, 3, 16
    foreign = (rng.uniform(size=(t, n_friendly)) < 0.6).astype(float)
    moved = rng.uniform(0.0, 2.0, (s, n_friendly, b)) * (rng.uniform(size=(s, n_friendly, b)) < 0.8)
    moved[1] = 0.0  # a product with nothing diverted
    want = _safe_div(np.einsum("tf,kfb->tkb", foreign, moved), moved.sum(axis=1)[None])
    got = kernels.cross_share(foreign, moved)
    assert np.array_equal(got, want)
    assert not got[:, 1].any()


def test_diverted_receipts_kernel_is_the_numpy_arithmetic() -> None:
    """The friendly buyers' net intermediate receipts (``fused.diverted_receipts``) against the numpy lines of
    ``Stepper._diverted_intermediate`` and ``_diverted_receipts``, bit for bit: the receipts kept in place, and
    added to the buyers' rows of the day's deliveries, every other row untouched; a friendly buyer with no
    weight and a product with nothing filled."""
    rng = np.random.default_rng(37)
    s, r, b = 3, 5, 16
    f_idx = np.array([4, 1])
    wc = rng.uniform(0.0, 2.0, (s, f_idx.size, s, b))
    wcr = rng.uniform(0.0, 2.0, wc.shape)
    fill, theta = rng.uniform(0.0, 1.0, (s, b)), rng.uniform(0.0, 0.5, (s, b))
    fill[2] = 0.0
    w = np.ones((f_idx.size, b))
    w[1, ::3] = 0.0
    v = rng.uniform(0.0, 1.0, (s, r * s, b))
    add0 = rng.uniform(0.0, 1.0, (s, r * s, b))
    want = wc * fill[:, None, None]
    want -= wcr
    want *= (theta[:, None] * w[None])[:, :, None]
    want *= v.reshape(s, r, s, b)[:, f_idx]
    want_add = add0.copy()
    want_add.reshape(s, r, s, b)[:, f_idx] += want
    got, add = wc.copy(), add0.copy()
    kernels.diverted_receipts(got, wcr, fill, theta, w, v, f_idx, add)
    assert np.array_equal(got, want)
    assert np.array_equal(add, want_add)
    assert np.array_equal(add.reshape(s, r, s, b)[:, [0, 2, 3]], add0.reshape(s, r, s, b)[:, [0, 2, 3]])


@pytest.mark.parametrize("n_targets", [1, 3, 12])
def test_channel_exports_kernel_is_the_numpy_arithmetic(n_targets: int) -> None:
    """The channel's sales to the targets added to the friendly suppliers' exports (``fused.channel_exports``)
    against ``Stepper._accounts``' numpy lines, bit for bit: a supplier inside a target's bloc (no export), a
    product the channel does not carry, one target region or many."""
    rng = np.random.default_rng(41)
    s, r, b = 4, 14, 16
    tgt = np.sort(rng.choice(r, n_targets, replace=False))
    foreign = 1.0 - np.eye(r)
    foreign_t = np.ascontiguousarray(foreign[:, tgt])
    ct_q = rng.uniform(0.0, 1.0, (s, n_targets * s, b))
    ct_q[2] = 0.0
    ct_phi, rat3 = rng.uniform(0.0, 1.0, (r, s, b)), rng.uniform(0.0, 1.0, (r, s, b))
    exports0 = rng.uniform(0.0, 5.0, (r, b))
    bought = ct_q.reshape(s, -1, s, b).sum(axis=2)
    crossing = np.einsum("od,kdb->okb", foreign[:, tgt], bought)
    want = exports0 + (ct_phi * rat3 * crossing).sum(axis=1)
    got = exports0.copy()
    kernels.channel_exports(ct_q, foreign_t, ct_phi, rat3, got)
    assert np.array_equal(got, want)
    assert not np.array_equal(got, exports0)


def test_fd_factor_kernel_is_the_numpy_arithmetic() -> None:
    """The growth factor of open final-demand flows (``fused.fd_factor``) against ``Stepper._fd_redirect``'s
    numpy line, bit for bit: scenarios with no package in force (0), flows with no open origin left (0)."""
    from cluster.core.model import _safe_div

    rng = np.random.default_rng(43)
    s, r, b = 3, 5, 16
    blocked, sig, tot = (rng.uniform(0.0, 1.0, (s, r, b)) for _ in range(3))
    tot[1, 2] = 0.0
    active = rng.uniform(size=b) < 0.6
    want = _safe_div(blocked * sig * active, tot)
    got = kernels.fd_factor(blocked, sig, active, tot)
    assert np.array_equal(got, want)
    assert not got[..., ~active].any()


def test_open_weights_and_weigh_add_kernels_are_the_numpy_arithmetic() -> None:
    """The reachable suppliers' weights before the blocks' corrections (``fused.open_weights``) and the deliveries
    of two origin classes and of a further one (``fused.weigh_add``) against the numpy lines of
    ``Stepper._order_split`` and ``Stepper._deliveries``, bit for bit (no fused multiply-add)."""
    rng = np.random.default_rng(47)
    s, n, b = 3, 12, 16
    w_all = rng.uniform(0.0, 2.0, (s, n, b))
    wfix = (rng.uniform(size=(s, n)) < 0.2).astype(float)[:, :, None]
    w_open, w_red = np.empty_like(w_all), np.empty_like(w_all)
    kernels.open_weights(w_all, wfix, w_open, w_red)
    assert np.array_equal(w_open, np.subtract(w_all, wfix))
    assert np.array_equal(w_red, w_open)
    alone = np.empty_like(w_all)
    kernels.open_weights(w_all, wfix, alone, np.empty((0, 0, 0)))
    assert np.array_equal(alone, w_open)
    add, part, part2 = (rng.uniform(0.0, 1.0, (s, n, b)) / 3.0 for _ in range(3))
    tt0, tt1, tt2 = (rng.uniform(0.5, 1.5, (s, n, b)) / 7.0 for _ in range(3))
    want = add * tt0
    want += part * tt1
    want += part2 * tt2
    got = add.copy()
    kernels.weigh_add(got, tt0, part, tt1)
    kernels.weigh_add(got, np.empty((0, 0, 0)), part2, tt2)
    assert np.array_equal(got, want)


def test_ct_buy_kernel_is_the_numpy_arithmetic() -> None:
    """The imports bought through the counter-trade channel (``fused.ct_buy``) against
    ``Stepper._order_counter_trade``'s numpy lines, bit for bit: a budget short of the wish (scaled down), one
    beyond it (all of the wish), a scenario with nothing wished (0 / 0: nothing bought), a product with no
    friendly supply (masked out); the wish masked in place and the credit spent."""
    from cluster.core.model import _safe_div

    rng = np.random.default_rng(53)
    s, nj, b = 3, 8, 16
    wish0 = rng.uniform(0.0, 1.0, (s, nj, b))
    wish0[:, :, 3] = 0.0
    mask = rng.uniform(size=(s, b)) < 0.8
    budget = rng.uniform(0.0, 20.0, b)
    credit0 = rng.uniform(0.0, 30.0, b)
    want_wish = wish0.copy()
    want_wish *= mask[:, None, :]
    tot_w = want_wish.sum(axis=(0, 1))
    want_q = want_wish * np.minimum(1.0, _safe_div(budget, tot_w))
    want_credit = credit0 - want_q.sum(axis=(0, 1))
    wish, q, credit = wish0.copy(), np.empty_like(wish0), credit0.copy()
    kernels.ct_buy(wish, mask, budget, q, credit)
    assert np.array_equal(wish, want_wish)
    assert np.array_equal(q, want_q)
    assert np.array_equal(credit, want_credit)
    assert (budget < tot_w).any()
    assert (budget > tot_w).any()


@pytest.mark.parametrize("case", ["orders", "exports", "final demand", "strided"])
def test_block_sum_kernel_is_the_numpy_arithmetic(case: str) -> None:
    """A block's flows summed over its destinations into its origins' rows (``fused.block_sum``) against the numpy
    lines it replaces, bit for bit: the closed orders subtracted from the orders received (einsum), the blocked
    exports at the capacity ratio added (einsum times c), final demand's sum over destinations subtracted
    (numpy's sum); the rows of other origins untouched; a destination into a transposed view, as the one-class
    orders received come."""
    rng = np.random.default_rng(59)
    s, r, b = 3, 7, 16
    o, nd = np.array([6, 2, 0]), 4
    a = rng.uniform(0.0, 2.0, (s, nd, o.size, b))
    w = rng.uniform(0.0, 1.0, a.shape) * (rng.uniform(size=a.shape) < 0.7)
    c = rng.uniform(0.0, 1.0, (r, s, b))
    dst0 = rng.uniform(5.0, 9.0, (r, s, b))
    want = dst0.copy()
    empty3, empty4 = np.empty((0, 0, 0)), np.empty((0, 0, 0, 0))
    got = dst0.copy()
    if case == "strided":  # the same values, in a transposed layout
        got = np.ascontiguousarray(dst0.transpose(1, 2, 0)).transpose(2, 0, 1)
    if case in ("orders", "strided"):
        want[o] -= np.einsum("kdob,kdob->okb", a, w)
        kernels.block_sum(got, o, a, w, empty3, False, -1.0)
    elif case == "exports":
        want[o] += np.einsum("kdob,kdob->okb", a, w) * c[o]
        kernels.block_sum(got, o, a, w, c, False, 1.0)
    else:
        want[o] -= a.sum(axis=1).transpose(1, 0, 2)
        kernels.block_sum(got, o, a, empty4, empty3, True, -1.0)
    assert np.array_equal(got, want)
    assert np.array_equal(got[[1, 3, 4, 5]], dst0[[1, 3, 4, 5]])


def test_ct_demand_and_refund_kernels_are_the_numpy_arithmetic() -> None:
    """The channel's orders added to the friendly suppliers' demand (``fused.ct_demand``) and its undelivered part
    refunded (``fused.ct_refund``) against the numpy lines of ``Stepper.step`` and
    ``Stepper._settle_counter_trade``, bit for bit; a product the channel does not carry."""
    rng = np.random.default_rng(61)
    s, r, nt, b = 4, 6, 3, 16
    ct_q = rng.uniform(0.0, 1.0, (s, nt * s, b))
    ct_q[1] = 0.0
    ct_in = ct_q * rng.uniform(0.0, 1.0, (s, 1, b))
    ct_phi = rng.uniform(0.0, 1.0, (r, s, b))
    demand0, credit0 = rng.uniform(0.0, 5.0, (r * s, b)), rng.uniform(0.0, 5.0, b)
    want_d = demand0 + (ct_phi * ct_q.sum(axis=1)[None]).reshape(r * s, b)
    want_c = credit0 + (ct_q.sum(axis=(0, 1)) - ct_in.sum(axis=(0, 1)))
    demand, credit = demand0.copy(), credit0.copy()
    kernels.ct_demand(ct_q, ct_phi, demand)
    kernels.ct_refund(ct_q, ct_in, credit)
    assert np.array_equal(demand, want_d)
    assert np.array_equal(credit, want_c)


@pytest.mark.parametrize("shape", [(1, 1, 1, 16), (3, 2, 5, 16), (11, 7, 11, 64)])
def test_sum02_kernel_is_numpy_s_sum(shape: tuple[int, int, int, int]) -> None:
    """``fused.sum02`` against numpy's ``sum(axis=(0, 2))``, bit for bit, on values spread over sixteen orders of
    magnitude (where the order of the additions shows)."""
    rng = np.random.default_rng(67)
    a = rng.uniform(size=shape) * 10.0 ** rng.uniform(-8.0, 8.0, shape)
    assert np.array_equal(kernels.sum02(a), a.sum(axis=(0, 2)))


def test_trade_by_partner_kernels_are_the_numpy_arithmetic() -> None:
    """The kernels of the trade by partner against ``Stepper._bilateral``'s and ``_trade_values``' numpy lines, bit
    for bit: the orders on every link summed over products (``fused.link_sum``, assigned to a class's origins, or
    a block's closed part subtracted from its links), the diverted orders taken off the friendly buyers' other
    suppliers (``fused.div_lost``) and put on the links from the targets (``fused.moved_pairs``, in volume or
    subtracted as a discount); every other link untouched."""
    rng = np.random.default_rng(71)
    s, r, b = 4, 7, 16
    rows, d_blk, o_blk = np.array([1, 4, 5]), np.array([0, 6]), np.array([4, 5])
    x = rng.uniform(0.0, 1.0, (s, r, b))  # (S, R, B), C order as the step passes it (``Stepper._bilateral``)
    m0 = rng.uniform(5.0, 9.0, (r, r, b))
    w_links = rng.uniform(0.0, 2.0, (s, r, rows.size, b)) * 10.0 ** rng.uniform(-6.0, 6.0, (s, r, rows.size, b))
    want, got = m0.copy(), m0.copy()
    want[:, rows] = np.einsum("kdob,kob->dob", w_links, x[:, rows])
    kernels.link_sum(w_links, x, np.arange(r), rows, got, True)
    assert np.array_equal(got, want)
    part = rng.uniform(0.0, 1.0, (s, d_blk.size, o_blk.size, b))
    want[d_blk[:, None], o_blk[None, :]] -= np.einsum("kdob,kob->dob", part, x[:, o_blk])
    kernels.link_sum(part, x, d_blk, o_blk, got, False)
    assert np.array_equal(got, want)
    f_idx, t_idx = np.array([2, 3]), np.array([0, 6])
    lz, ly = (rng.uniform(0.0, 1.0, (s, f_idx.size, r, b)) for _ in range(2))
    want[f_idx] -= ((lz + ly) * x[:, None]).sum(axis=0)
    kernels.div_lost(lz, ly, x, f_idx, got)
    assert np.array_equal(got, want)
    share = rng.uniform(0.0, 1.0, (t_idx.size, s, b))
    mz, my = (rng.uniform(0.0, 1.0, (s, f_idx.size, b)) for _ in range(2))
    gain = share.transpose(1, 0, 2)[:, None] * x[:, None, t_idx]
    want[np.ix_(f_idx, t_idx)] += (gain * (mz + my)[:, :, None]).sum(axis=0)
    kernels.moved_pairs(share.transpose(1, 0, 2) * x[:, t_idx], mz, my, f_idx, t_idx, got, 1.0)
    assert np.array_equal(got, want)
    sold = share.transpose(1, 0, 2)[:, None]
    want[np.ix_(f_idx, t_idx)] -= (sold * (mz + my)[:, :, None]).sum(axis=0)
    kernels.moved_pairs(sold[:, 0], mz, my, f_idx, t_idx, got, -1.0)
    assert np.array_equal(got, want)
    assert np.array_equal(got[[1, 4, 5]][:, [0, 2, 3, 6]], m0[[1, 4, 5]][:, [0, 2, 3, 6]])


@pytest.mark.parametrize("b", [16, 13])
def test_link_fd_kernel_is_the_numpy_sum_to_its_last_bits(b: int) -> None:
    """``fused.link_fd`` against ``Stepper._bilateral``'s numpy lines (the broadcast product ``grown`` and BLAS's
    sum over products): bit for bit the sum in the products' order from 0, within a few units of the last place
    of BLAS's own order, added only on the class's origins; every other link untouched."""
    rng = np.random.default_rng(72)
    s, r = 10, 7
    rows = np.array([0, 2, 3, 6])
    y = rng.uniform(0.0, 1.0, (r, rows.size, s)) * 10.0 ** rng.uniform(-3.0, 3.0, (r, rows.size, s))
    f = rng.uniform(0.0, 2.0, (s, r, b))
    x = rng.uniform(0.0, 1.0, (s, r, b))
    m0 = rng.uniform(5.0, 9.0, (r, r, b))
    got = m0.copy()
    kernels.link_fd(y, f, x, rows, got)
    in_order = np.zeros((r, rows.size, b))
    for k in range(s):
        in_order = in_order + y[:, :, k, None] * (f[k][:, None] * x[k, rows][None])
    want = m0.copy()
    want[:, rows] += in_order
    assert np.array_equal(got, want)
    grown = f.transpose(1, 0, 2)[:, None] * x[:, rows].transpose(1, 0, 2)[None]
    blas = m0.copy()
    blas[:, rows] += np.matmul(y[:, :, None], grown)[:, :, 0]
    scale = np.abs(m0[:, rows]) + np.matmul(np.abs(y)[:, :, None], np.abs(grown))[:, :, 0]
    assert np.all(np.abs(got[:, rows] - blas[:, rows]) <= 8 * np.finfo(float).eps * scale)
    others = np.setdiff1d(np.arange(r), rows)
    assert np.array_equal(got[:, others], m0[:, others])


def test_kernels_sum_an_empty_axis_to_zero() -> None:
    """A sum over nothing is 0, as numpy's sums and einsum give, never what an uninitialised buffer held: the
    channel's orders and refund with no target region (J = 0: the counter-trade extension on in a batch with no
    sanctions), the imports bought with nothing wished, ``sum02`` over empty axes, the border share with no
    friendly buyer, a block with no destination. (Before this test, ``ct_demand`` read past an empty axis and a run
    with no target could take garbage into demand, differently from batch to batch.)"""
    from cluster.core.model import _safe_div

    rng = np.random.default_rng(73)
    s, r, b = 3, 5, 16
    for fill in (np.nan, 1e300, -7.0):  # whatever the allocator hands back, the result may not see it
        ct_q, ct_in = np.full((s, 0, b), fill), np.full((s, 0, b), fill)
        ct_phi = rng.uniform(0.0, 1.0, (r, s, b))
        demand0, credit0 = rng.uniform(0.0, 5.0, (r * s, b)), rng.uniform(0.0, 5.0, b)
        demand, credit = demand0.copy(), credit0.copy()
        kernels.ct_demand(ct_q, ct_phi, demand)
        kernels.ct_refund(ct_q, ct_in, credit)
        assert np.array_equal(demand, demand0 + (ct_phi * ct_q.sum(axis=1)[None]).reshape(r * s, b))
        assert np.array_equal(credit, credit0 + (ct_q.sum(axis=(0, 1)) - ct_in.sum(axis=(0, 1))))
        q, credit = np.full((s, 0, b), fill), credit0.copy()
        kernels.ct_buy(np.empty((s, 0, b)), np.ones((s, b), dtype=np.bool_), np.ones(b), q, credit)
        assert np.array_equal(credit, credit0)
    for shape in ((0, 2, 3, b), (2, 2, 0, b), (2, 0, 3, b)):
        a = np.empty(shape)
        assert np.array_equal(kernels.sum02(a), a.sum(axis=(0, 2)))
    foreign, moved = np.ones((2, 0)), np.empty((s, 0, b))
    want = _safe_div(np.einsum("tf,kfb->tkb", foreign, moved), moved.sum(axis=1)[None])
    assert np.array_equal(kernels.cross_share(foreign, moved), want)
    dst0 = rng.uniform(size=(r, s, b))
    dst = dst0.copy()
    kernels.block_sum(dst, np.array([1, 3]), np.empty((s, 0, 2, b)), np.empty((0, 0, 0, 0)), np.empty((0, 0, 0)),
                      True, -1.0)  # fmt: skip
    assert np.array_equal(dst, dst0)


def test_warm_loads_every_kernel_a_run_calls() -> None:
    """After ``fused.warm()``, a run with every mechanism on (each shipped config, and the benchmark's batch) calls
    no kernel with argument types warm() did not load: no compiling in a first batch's clock. In a fresh process,
    so that earlier tests' calls do not hide a missing type."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[2]
    code = f"""
import sys
from pathlib import Path
from cluster.core import fused
from cluster.runs import run_in_memory
fused.warm()
kernels = [getattr(fused, name) for name in fused.__all__ if hasattr(getattr(fused, name), "signatures")]
before = {{k.__name__: set(k.signatures) for k in kernels}}
for config in sorted(Path({str(root / "configs")!r}).glob("*.toml")):
    run_in_memory(config, draws=4, days=120, batch_size=4)
missing = {{k.__name__: set(k.signatures) - before[k.__name__] for k in kernels}}
missing = {{name: sig for name, sig in missing.items() if sig}}
print(missing)
sys.exit(1 if missing else 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"kernels not warmed: {done.stdout}{done.stderr[-2000:]}"
