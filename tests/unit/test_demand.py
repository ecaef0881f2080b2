"""Final-demand paths (``ShockBatch.demand``, ``docs/model.md``, final-demand paths).

A demand shock multiplies the baseline final demand of every origin for (destination region, product) by
mu(t) = max(0, 1 + sum_j change_j a_j(t)), phased in linearly and switched off at its end. These tests run the
real core: the multiplier's formula, that a quiet group changes no bit, the direction of a push and a fall, the
baseline of the unmet final demand, nothing before the onset, and the return after the end.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from batches import NARROW, varied_batch

from cluster.core import NEVER, Baseline, Extensions, Outcome, ShockBatch, embargo_links, simulate
from cluster.core.model import Stepper
from cluster.economy import synthetic
from cluster.errors import ShapeError

STEPS = 300


@pytest.fixture(scope="module")
def economy() -> Baseline:
    return synthetic(6, 4, seed=7, n_domestic=2).baseline()


def sanctioned(bl: Baseline, b: int, seed: int) -> ShockBatch:
    """b scenarios with the sanctions levers drawn (random import and export bans with leakage and a premium of
    0.3, substitution, cooperation, counter-trade with a discount of 0.2, a capacity event, a project, world
    prices but for their decay); the targets are the domestic regions. No demand shock (one quiet slot)."""
    return varied_batch(bl, b, seed, **NARROW, premium=0.3, discount=0.2, prices=True, price_tau=False)


def with_demand(
    shocks: ShockBatch, region: int, change: float, *, onset: int = 20, end: int = NEVER, ramp: int = 30
) -> ShockBatch:
    """``shocks`` with one demand shock per scenario: region ``region``'s final demand for every product changes
    by ``change``."""
    b, r, s = shocks.batch, shocks.target.size, shocks.sanctions.leakage.shape[-1]
    delta = np.zeros((b, 1, r, s))
    delta[:, 0, region] = change
    demand = replace(
        shocks.demand,
        change=delta,
        onset=np.full((b, 1), onset),
        end=np.full((b, 1), end),
        ramp=np.full((b, 1), ramp),
    )
    return replace(shocks, demand=demand)


def run(bl: Baseline, shocks: ShockBatch, steps: int = STEPS, ext: Extensions | None = None) -> Outcome:
    """Everything on: daily trajectories, diagnostics, periods of 50 days (trade by partner)."""
    return simulate(
        bl,
        shocks,
        steps,
        extensions=ext,
        trajectories="daily",
        diagnostics=True,
        periods=np.arange(steps) // 50,
    )


def assert_same_bits(a: Outcome, b: Outcome, rows: np.ndarray | slice = slice(None)) -> None:
    for name in a.metrics:
        assert np.array_equal(a.metrics[name][rows], b.metrics[name][rows], equal_nan=True), name
    for name in ("production_path", "va_path", "balance_residual", "min_stock", "period_trade_volume"):
        assert np.array_equal(getattr(a, name)[rows], getattr(b, name)[rows]), name
    assert a.period_trade_value is not None
    assert b.period_trade_value is not None
    assert np.array_equal(a.period_trade_value[rows], b.period_trade_value[rows])


# ------------------------------------------------------------------------------------- the multiplier --
def test_multiplier_follows_the_formula(economy: Baseline) -> None:
    """mu[k, r](t) = max(0, 1 + sum_j change_j[r, k] a_j(t)), a_j = min(1, (t - onset + 1) / max(ramp, 1)) in the
    window [onset, end), 0 outside: overlapping shocks add up, ramps of 0 and 1 are immediate, a fall beyond
    -100% in total stops at 0; None on days when no shock with a change is in its window."""
    bl = economy
    r, s, b, j = bl.n_regions, bl.n_sectors, 8, 3
    rng = np.random.default_rng(0)
    base = ShockBatch.quiet(bl, b, demand=j)
    change = rng.uniform(-0.9, 0.9, (b, j, r, s))
    change[1, 2] = 0.0  # a slot that changes nothing
    onset = rng.integers(10, 40, (b, j))
    end = np.where(rng.uniform(size=(b, j)) < 0.5, onset + rng.integers(0, 60, (b, j)), NEVER)
    ramp = rng.integers(0, 30, (b, j))
    ramp[2] = [0, 1, 2]
    # Scenario 0: three full falls from day 10, with no ramp: the sum is -3 and mu stops at 0.
    change[0], onset[0], end[0], ramp[0] = -1.0, 10, NEVER, 0
    sh = replace(base, demand=replace(base.demand, change=change, onset=onset, end=end, ramp=ramp))
    st = Stepper(bl, sh, Extensions())
    assert st.demand_multiplier(9) is None  # before every onset
    seen = 0
    for t in range(10, 120):
        got = st.demand_multiplier(t)
        a = np.where((onset <= t) & (t < end), np.minimum(1.0, (t - onset + 1) / np.maximum(ramp, 1)), 0.0)
        if not a[change.any(axis=(2, 3))].any():
            assert got is None, t
            continue
        expected = np.maximum(0.0, 1.0 + np.einsum("bj,bjrk->krb", a, change))
        assert got is not None
        assert got.shape == (s, r, b)
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15, err_msg=f"day {t}")
        assert np.all(got[..., 0] == 0.0)
        seen += 1
    assert seen > 50
    quiet = Stepper(bl, base, Extensions())
    assert all(quiet.demand_multiplier(t) is None for t in range(100))


def test_a_quiet_demand_group_changes_no_bit(economy: Baseline) -> None:
    """No demand slot, slots of change 0 in their window, and shocks whose window opens after the horizon give the
    same bits as each other, every extension on with trade by partner and world prices."""
    bl = economy
    sh = sanctioned(bl, 12, seed=1)
    none = replace(sh, demand=ShockBatch.quiet(bl, 12, demand=0).demand)
    zero = with_demand(sh, 0, 0.0, onset=0, ramp=10)
    late = with_demand(sh, 0, 0.3, onset=STEPS, ramp=10)
    ref = run(bl, none)
    for other in (zero, late):
        assert_same_bits(run(bl, other), ref)


def test_companions_with_demand_shocks_change_no_bit_of_a_quiet_scenario(economy: Baseline) -> None:
    """A scenario without a demand change gives the same bits whether or not its companions have one (the day's
    change enters the precomputed sums as a correction that is exactly 0 for it)."""
    bl = economy
    sh = sanctioned(bl, 16, seed=2)
    pushed = with_demand(sh, 0, 0.25)
    change = pushed.demand.change.copy()
    change[::2] = 0.0
    change[1::4, 0, 3] = -0.4  # other regions too, abroad included
    mixed = replace(pushed, demand=replace(pushed.demand, change=change))
    a, ref = run(bl, mixed), run(bl, sh)
    assert_same_bits(a, ref, slice(0, None, 2))
    assert a.production_path is not None
    assert ref.production_path is not None
    assert not np.array_equal(a.production_path[1::2], ref.production_path[1::2])


# ---------------------------------------------------------------------------------------- direction --
@pytest.mark.parametrize("region", [0, 1])
def test_a_push_raises_and_a_fall_lowers_the_targets_output(economy: Baseline, region: int) -> None:
    """Under every sanctions lever, a +20% push on a target region's final demand raises its production and value
    added against the same draw without it, draw by draw; a -20% fall lowers them."""
    bl = economy
    assert bl.domestic[region]
    sh = sanctioned(bl, 16, seed=3)
    ref, push, fall = (run(bl, with_demand(sh, region, c)) for c in (0.0, 0.2, -0.2))
    for out in (ref, push, fall):
        assert out.balance_residual is not None
        assert out.balance_residual.max() <= 1e-9
    assert ref.production_path is not None
    assert push.production_path is not None
    assert fall.production_path is not None
    x_ref = ref.production_path[:, :, region].sum(axis=1)
    assert np.all(push.production_path[:, :, region].sum(axis=1) > x_ref)
    assert np.all(fall.production_path[:, :, region].sum(axis=1) < x_ref)
    loss = ref.metrics["va_loss"][:, region]
    assert np.all(push.metrics["va_loss"][:, region] < loss)
    assert np.all(fall.metrics["va_loss"][:, region] > loss)


def test_a_push_without_sanctions_gives_a_negative_loss(economy: Baseline) -> None:
    """The loss is measured against the no-shock baseline: a push alone raises value added above it."""
    bl = economy
    out = run(bl, with_demand(ShockBatch.quiet(bl, 1), 0, 0.2), ext=Extensions.none())
    assert out.metrics["va_loss"][0, 0] < 0.0
    assert out.metrics["va_loss"][0].sum() < 0.0


class _Recording(Stepper):
    """A stepper that keeps, day by day, the final demand delivered by destination (``_fd_flows``), the same
    summed over origins from the final demand addressed to each supplier, and the premium on final goods."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.days: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _fd_flows(
        self, rat3: np.ndarray, y_sup: np.ndarray, pat: Any, f_cls: list[np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        to, exports, premium = super()._fd_flows(rat3, y_sup, pat, f_cls)
        self.days.append((to.copy(), (rat3 * y_sup).sum(axis=(0, 1)), premium.copy()))  # the caller adds to them
        return to, exports, premium


def test_final_demand_adds_up_by_origin_and_destination(economy: Baseline) -> None:
    """Under every sanctions lever with demand shocks on every region (pushes and falls, abroad included), the
    final demand delivered summed over destinations is the final demand each supplier delivered, every day; a
    destination whose final demand falls to 0 receives nothing and pays no premium on final goods."""
    bl = economy
    b, r, s = 16, bl.n_regions, bl.n_sectors
    rng = np.random.default_rng(5)
    sh = sanctioned(bl, b, seed=5)
    change = rng.uniform(-0.5, 0.5, (b, 2, r, s))
    change[:, 1] = 0.0
    change[:, 0, 2] = np.minimum(change[:, 0, 2], 0.0)
    change[:, 1, 2] = -1.0  # region 2 (in the coalition of some draws) stops all final purchases from day 40
    onset = np.stack([rng.integers(0, 60, b), np.full(b, 40)], axis=1)
    sh = replace(sh, demand=replace(ShockBatch.quiet(bl, b, demand=2).demand, change=change, onset=onset))
    st = _Recording(bl, sh, Extensions())
    for t in range(150):
        st.step(t)
    for t, (to, by_origin, premium) in enumerate(st.days):  # to, premium: (R, B)
        by_destination = to.sum(axis=0)
        np.testing.assert_allclose(by_destination, by_origin, rtol=1e-12, err_msg=f"day {t}")
        if t >= 40:
            assert np.all(np.abs(to[2]) <= 1e-12 * by_origin), t
            assert np.all(np.abs(premium[2]) <= 1e-12 * by_origin), t
    assert any(premium[2].max() > 0 for _, _, premium in st.days[:40])  # region 2 did pay a premium before


def test_the_barter_channel_offers_the_blocked_final_demand_of_the_day() -> None:
    """Counter-trade offers the targets' exports the coalition no longer buys, final demand at the day's level.

    In an economy where the target sells the coalition final goods only (its intermediate sales to the coalition
    are moved to final demand), with a full export ban and a channel large enough never to bind, the channel's
    export orders on the day a +50% push of the coalition's final demand starts are 1.5 times those without it.
    """
    eco = synthetic(3, 2, seed=4)
    s = len(eco.sectors)
    z, y = eco.z.copy(), eco.y.copy()
    assert y.shape[1] == 3  # one final-demand column per region
    t_rows, c_cols = slice(0, s), slice(s, 2 * s)  # region 0 is the target, region 1 the coalition
    y[t_rows, 1] += z[t_rows, c_cols].sum(axis=1)  # the same output, sold to the coalition as final goods
    z[t_rows, c_cols] = 0.0
    bl = replace(eco, z=z, y=y).baseline()
    target, coalition = np.array([True, False, False]), np.array([[False, True, False]] * 2)
    base = ShockBatch.quiet(bl, 2)
    sh = replace(
        base,
        target=target,
        sanctions=replace(
            base.sanctions, embargo=embargo_links(target, coalition, np.zeros((2, s)), np.ones((2, s)))[:, None]
        ),
        counter_trade=replace(
            base.counter_trade,
            friendly=np.array([[False, False, True]] * 2),
            capacity=np.full(2, 1e3),
            efficiency=np.ones(2),
            tau=np.full(2, 5.0),
        ),
    )
    sh = with_demand(sh, 1, 0.5, onset=1, ramp=0)
    sh = replace(sh, demand=replace(sh.demand, change=sh.demand.change * np.array([0.0, 1.0])[:, None, None, None]))
    st = Stepper(bl, sh, Extensions(True, False, False, True, False, False))
    st.step(0)
    st.step(1)
    assert st.ct_offer is not None
    offered = st.ct_offer[0]  # (S, B): the target's channel export offer, without and with the push
    assert np.all(offered[:, 0] > 0.0)
    np.testing.assert_allclose(offered[:, 1], 1.5 * offered[:, 0], rtol=1e-12)


# --------------------------------------------------------------------------------- unmet final demand --
def test_unmet_final_demand_is_measured_against_the_shifted_demand(economy: Baseline) -> None:
    """A permanent fall with no sanction leaves no unmet demand (suppliers have spare capacity: every order is
    filled); a push beyond capacity leaves some unmet, less than the extra demand: deliveries exceed the baseline."""
    bl = economy
    steps, onset, ramp, region = 200, 20, 30, 0
    quiet = ShockBatch.quiet(bl, 2)
    fall = with_demand(quiet, region, -0.3, onset=onset, ramp=ramp)
    push = with_demand(quiet, region, 0.3, onset=onset, ramp=ramp)
    fd0 = bl.y.sum(axis=(0, 1))  # (R,) daily baseline final demand by destination
    scale = steps * fd0
    out = run(bl, fall, steps, Extensions.none())
    assert np.all(np.abs(out.metrics["unmet_final_demand"]) <= 1e-12 * scale)
    out = run(bl, push, steps, Extensions.none())
    t = np.arange(steps)
    a = np.where(t >= onset, np.minimum(1.0, (t - onset + 1) / ramp), 0.0)
    extra = 0.3 * fd0[region] * a.sum()  # the push: 30% of the region's final demand, phased in
    unmet = out.metrics["unmet_final_demand"][:, region]
    assert np.all(unmet > 1e-3 * extra)  # capacity binds: some of the push is not delivered ...
    assert np.all(unmet < 0.9 * extra)  # ... but most of it is: deliveries above the baseline


# ------------------------------------------------------------------------------------------- timing --
def test_nothing_changes_before_the_onset(economy: Baseline) -> None:
    """Daily production and value added are the same bits before a demand shock's onset, different after."""
    bl = economy
    sh = sanctioned(bl, 8, seed=4)
    onset = 60
    ref = run(bl, sh)
    for change in (0.3, -0.3):
        out = run(bl, with_demand(sh, 0, change, onset=onset, ramp=0))
        assert out.production_path is not None
        assert ref.production_path is not None
        assert out.va_path is not None
        assert ref.va_path is not None
        assert np.array_equal(out.production_path[:, :onset], ref.production_path[:, :onset])
        assert np.array_equal(out.va_path[:, :onset], ref.va_path[:, :onset])
        assert np.all(np.any(out.production_path[:, onset] != ref.production_path[:, onset], axis=1))


def test_a_shock_that_ends_lets_the_economy_return(economy: Baseline) -> None:
    """No sanctions: after a fall ends, production returns to the baseline; after a push ends it returns toward
    it (overproduction raised during the push relaxes slowly and keeps part of the orders, docs/model.md)."""
    bl = economy
    r = bl.n_regions
    x0 = bl.x0.reshape(r, -1).sum(axis=1)
    steps, end = 600, 150
    for change, share in ((-0.3, 1e-2), (0.2, 0.5)):
        out = run(bl, with_demand(ShockBatch.quiet(bl, 1), 0, change, end=end), steps, Extensions.none())
        assert out.production_path is not None
        gap = np.abs(out.production_path[0] / x0 - 1.0).max(axis=1)  # (T,) largest regional deviation
        assert gap[end - 1] > 1e-3
        assert gap[-1] < share * gap.max(), (change, gap[-1], gap.max())
        assert out.onset[0] == 20


# ---------------------------------------------------------------------------------------- validation --
def test_demand_shocks_are_validated(economy: Baseline) -> None:
    bl = economy
    sh = ShockBatch.quiet(bl, 2, demand=2)
    dem = sh.demand
    with pytest.raises(ShapeError, match=r"demand\.change"):
        simulate(bl, replace(sh, demand=replace(dem, change=np.full(dem.change.shape, -1.5))), 10)
    with pytest.raises(ShapeError, match=r"demand\.change"):
        simulate(bl, replace(sh, demand=replace(dem, change=np.zeros((2, 2, bl.n_regions)))), 10)
    with pytest.raises(ShapeError, match=r"demand\.end"):
        simulate(bl, replace(sh, demand=replace(dem, onset=np.full((2, 2), 5), end=np.full((2, 2), 4))), 10)
    with pytest.raises(ShapeError, match=r"demand\.ramp"):
        simulate(bl, replace(sh, demand=replace(dem, ramp=np.full((2, 2), -1))), 10)
    with pytest.raises(ShapeError, match="demand"):
        ShockBatch.quiet(bl, 2, demand=-1)
    full_fall = replace(dem, change=np.full(dem.change.shape, -1.0))  # -100% is allowed: no final demand at all
    out = simulate(bl, replace(sh, demand=full_fall), 30, extensions=Extensions.none(), diagnostics=True)
    assert out.balance_residual is not None
    assert out.balance_residual.max() <= 1e-9
    assert np.all(np.abs(out.metrics["unmet_final_demand"]) <= 1e-12 * 30 * bl.y.sum(axis=(0, 1)))
