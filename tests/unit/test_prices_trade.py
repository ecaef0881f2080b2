"""World prices, real income and trade by partner (``docs/model.md``, prices, terms of trade and real income).

Real value added (``va_loss``) is volume at baseline prices: premia, discounts and world prices never reach it.
Real income (``income_loss``) adds the terms-of-trade gains at world prices and takes out the leakage premium and
the discounts on bartered and leaked exports. Trade by partner (``period_trade_volume``, ``period_trade_value``)
resolves every region's deliveries by destination. These tests run the real core.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from batches import NARROW, varied_batch

from cluster.core import Baseline, Extensions, Outcome, ShockBatch, simulate
from cluster.core.model import Stepper
from cluster.economy import synthetic
from cluster.errors import ShapeError

STEPS = 200
#: The targets' largest net export and net import across their bloc border in ``economy`` (checked below).
EXPORTED, IMPORTED = 3, 0


@pytest.fixture(scope="module")
def economy() -> Baseline:
    return synthetic(6, 4, seed=7, n_domestic=2).baseline()


def foreign(bl: Baseline) -> np.ndarray:
    """(R_o, R_d) 1 where a delivery crosses the origin's bloc border (the domestic regions are one bloc)."""
    f = 1.0 - np.eye(bl.n_regions)
    f[np.ix_(bl.domestic, bl.domestic)] = 0.0
    return f


def varied(
    bl: Baseline,
    b: int,
    seed: int,
    *,
    premium: float = 0.3,
    discount: float = 0.2,
    target: np.ndarray | None = None,
) -> ShockBatch:
    """b scenarios with every lever drawn (random import and export bans with leakage, substitution,
    cooperation, counter-trade with every partner neither target nor in the coalition, an event, a project);
    the leakage premium is ``premium`` on every product and the counter-trade discount ``discount``. World prices
    quiet. The targets are ``target`` (default: the domestic regions)."""
    return varied_batch(bl, b, seed, **NARROW, target=target, premium=premium, discount=discount)


def same_draw(shocks: ShockBatch, n: int) -> ShockBatch:
    """The first scenario of ``shocks`` repeated n times."""
    return shocks.take(np.zeros(n, dtype=np.int64))


def with_prices(shocks: ShockBatch, **fields: np.ndarray) -> ShockBatch:
    return replace(shocks, prices=replace(shocks.prices, **fields))


# ------------------------------------------------------------------------------------------ real income --
def test_income_equals_value_added_without_prices_premium_or_discounts(economy: Baseline) -> None:
    """Every extension on, premium 0, counter-trade discount 0, world prices quiet: income_loss is va_loss, bit
    for bit, in every region, over the horizon and by period; trade value is trade volume."""
    sh = varied(economy, 12, seed=1, premium=0.0, discount=0.0)
    out = simulate(economy, sh, STEPS, periods=np.arange(STEPS) // 50)
    assert np.all(out.metrics["va_loss"][:, economy.domestic] > 0)
    assert np.array_equal(out.metrics["income_loss"], out.metrics["va_loss"])
    assert out.period_metrics is not None
    assert np.array_equal(out.period_metrics["income_loss"], out.period_metrics["va_loss"])
    assert out.period_trade_value is not None
    assert out.period_trade_volume is not None
    assert np.array_equal(out.period_trade_value, out.period_trade_volume)


def test_the_targets_trade_the_products_the_price_tests_use(economy: Baseline) -> None:
    """In the baseline the targets export more of ``EXPORTED`` than they import across their bloc border, and
    import more of ``IMPORTED`` than they export."""
    f = foreign(economy)
    flow = economy.z_links.sum(axis=3).transpose(0, 2, 1) + economy.y.transpose(1, 0, 2)  # (S, R_o, R_d)
    tgt = economy.domestic
    net = (flow * f)[:, tgt].sum(axis=(1, 2)) - (flow * f)[:, :, tgt].sum(axis=(1, 2))
    assert net[EXPORTED] == net.max() > 0
    assert net[IMPORTED] == net.min() < 0


def test_world_price_of_an_export_lowers_income_loss_and_leaves_value_added(economy: Baseline) -> None:
    """One draw, premium and discounts 0: world prices quiet (scenario 0), +40% on the targets' net export
    (1), +40% on their net import (2), from day 30, decaying over 90 days.

    Real value added and production are the same bits in all three; the targets' income loss falls with the
    price of what they export and rises with the price of what they import. Day by day, the change of every
    region's income is its terms-of-trade gain read off trade by partner: the value less the volume of its
    deliveries across its bloc border, less that of its receipts.
    """
    s = economy.n_sectors
    sh = same_draw(varied(economy, 1, seed=2, premium=0.0, discount=0.0), 3)
    level = np.zeros((3, s))
    level[1, EXPORTED] = level[2, IMPORTED] = 0.4
    sh = with_prices(sh, level=level, onset=np.full(3, 30), tau=np.full(3, 90.0))
    out = simulate(economy, sh, STEPS, trajectories="daily", periods=np.arange(STEPS))
    quiet = simulate(economy, sh.take(np.array([0])), STEPS, trajectories="daily")
    assert out.production_path is not None
    assert quiet.production_path is not None
    for i in (1, 2):
        assert np.array_equal(out.metrics["va_loss"][i], out.metrics["va_loss"][0])
        assert np.array_equal(out.production_path[i], out.production_path[0])
    assert np.array_equal(out.metrics["va_loss"][0], quiet.metrics["va_loss"][0])
    assert np.array_equal(out.production_path[0], quiet.production_path[0])
    income = out.metrics["income_loss"][:, economy.domestic].sum(axis=1)
    assert income[1] < income[0] < income[2], income
    # The terms of trade, region by region, from trade by partner.
    assert out.period_trade_value is not None
    assert out.period_trade_volume is not None
    gain = (out.period_trade_value - out.period_trade_volume).sum(axis=1)  # (B, R_o, R_d) over the days
    f = foreign(economy)
    terms = (gain * f).sum(axis=2) - (gain * f).sum(axis=1)  # exports less imports
    change = out.metrics["income_loss"][0] - out.metrics["income_loss"]  # (B, R)
    scale = out.period_trade_volume.sum(axis=(1, 3))  # each region's deliveries over the horizon
    assert np.all(np.abs(change - terms) <= 1e-9 * scale), np.abs(change - terms).max()
    tgt = economy.domestic
    assert terms[1, tgt].sum() > 0 > terms[2, tgt].sum()
    assert np.all(terms[0] == 0.0)


def test_premium_and_export_discount_lower_income_never_real_value_added(economy: Baseline) -> None:
    """One draw with leaked imports and exports, counter-trade discount 0: no charge (scenario 0), a leakage
    premium of 0.5 (1), an export discount of 0.5 on the targets' leaked exports (2).

    Real value added and production are the same bits; the targets' income loss is larger with either charge;
    with the premium, every region's income loss grows by exactly the premium it paid."""
    s = economy.n_sectors
    sh = same_draw(varied(economy, 1, seed=3, premium=0.0, discount=0.0), 3)
    premium = np.zeros((3, s))
    premium[1] = 0.5
    discount = np.zeros((3, s))
    discount[2] = 0.5
    sh = replace(sh, sanctions=replace(sh.sanctions, leakage_premium=premium))
    sh = with_prices(sh, export_discount=discount)
    out = simulate(economy, sh, STEPS, trajectories="daily")
    assert out.production_path is not None
    for i in (1, 2):
        assert np.array_equal(out.metrics["va_loss"][i], out.metrics["va_loss"][0])
        assert np.array_equal(out.production_path[i], out.production_path[0])
    tgt = economy.domestic
    income = out.metrics["income_loss"][:, tgt].sum(axis=1)
    assert income[1] > income[0]
    assert income[2] > income[0]
    assert np.array_equal(out.metrics["income_loss"][0], out.metrics["va_loss"][0])
    paid = out.metrics["leakage_premium"][1]
    assert paid[tgt].sum() > 0
    np.testing.assert_allclose(out.metrics["income_loss"][1] - out.metrics["va_loss"][1], paid, rtol=1e-12)


def test_price_path_and_validation(economy: Baseline) -> None:
    """p_k(t) - 1 = level_k exp(-(t - onset) / tau) from the onset, 0 before; out-of-range prices are refused."""
    s = economy.n_sectors
    sh = ShockBatch.quiet(economy, 2)
    level = np.array([[0.4, -0.5, 0.0, 2.0], [-0.9, 0.1, 0.3, 0.0]])
    sh = with_prices(sh, level=level, onset=np.array([10, 0]), tau=np.array([30.0, 5.0]))
    stepper = Stepper(economy, sh, Extensions())
    for t in (0, 9, 10, 11, 40, 100):
        since = (t - sh.prices.onset)[:, None]
        expected = np.where(since >= 0, level * np.exp(-np.maximum(since, 0) / sh.prices.tau[:, None]), 0.0)
        np.testing.assert_allclose(stepper.price_change(t), expected.T, rtol=1e-15, atol=0.0)
    assert np.array_equal(stepper.price_change(10)[:, 0], level[0])
    for field, value, match in (
        ("level", np.full((2, s), -0.95), "prices.level"),
        ("tau", np.zeros(2), "prices.tau"),
        ("export_discount", np.full((2, s), 1.5), "prices.export_discount"),
    ):
        with pytest.raises(ShapeError, match=match):
            with_prices(sh, **{field: value}).validate(economy)


# ------------------------------------------------------------------------------------- trade by partner --
def check_trade_adds_up(bl: Baseline, out: Outcome, steps: int) -> None:
    """Each region's deliveries to every region are its production; their part across its bloc border is the
    exports flow behind ``exports_lost``; a region's deliveries to itself are on the diagonal."""
    vol = out.period_trade_volume
    assert vol is not None
    assert out.production_path is not None
    produced = out.production_path.sum(axis=1)
    np.testing.assert_allclose(vol.sum(axis=(1, 3)), produced, rtol=1e-9)
    f = foreign(bl)
    z_rr = bl.z_links.sum(axis=(0, 3)).T + bl.y.sum(axis=1)
    exports = steps * (z_rr * f).sum(axis=1) - out.metrics["exports_lost"]
    np.testing.assert_allclose((vol.sum(axis=1) * f).sum(axis=2), exports, rtol=1e-9)
    assert np.all(np.diagonal(vol.sum(axis=1), axis1=1, axis2=2) > 0)


def test_trade_adds_up_with_scattered_domestic_regions() -> None:
    """Domestic regions 1 and 3 of six (not a leading block), cooperation splitting the origins into two
    classes (then cooperation off). The targets are both domestic regions, then region 1 alone: region 3 is then
    in the coalition (sanctions inside the domestic bloc) or a friendly partner (counter-trade inside it, which
    crosses no bloc border)."""
    eco = synthetic(6, 4, seed=7, n_domestic=0)
    domestic = np.array([False, True, False, True, False, False])
    bl = Baseline.from_annual(eco.z, eco.y, 6, 4, domestic=domestic)
    periods = np.arange(STEPS) * 3 // STEPS
    for target in (domestic, np.arange(6) == 1):
        sh = varied(bl, 9, seed=4, target=target)
        if not target[3]:
            assert sh.counter_trade.friendly[:, 3].any()
            assert (sh.sanctions.embargo[:, 0, 1, :, 3] > 0).any()
        for ext in (Extensions(), Extensions(cooperation=False)):
            out = simulate(bl, sh, STEPS, extensions=ext, trajectories="daily", periods=periods)
            assert out.period_trade_volume is not None
            assert out.period_trade_volume.shape == (9, 3, 6, 6)
            check_trade_adds_up(bl, out, STEPS)
            assert (out.metrics["ct_exports"][:, target].sum(axis=1) > 0).sum() >= 5


def test_trade_changes_no_other_result_and_is_batch_invariant(economy: Baseline) -> None:
    """Asking for periods (and so trade by partner) changes no bit of any metric; trade is the same bits for a
    scenario whatever its companions in a batch of the same size, and agrees across batch sizes, chunks of 64
    included. World prices move in half the scenarios."""
    b = 70
    sh = varied(economy, b, seed=5)
    level = np.zeros((b, economy.n_sectors))
    level[::2, EXPORTED] = 0.3
    sh = with_prices(sh, level=level, onset=np.full(b, 20), tau=np.full(b, 60.0))
    periods = np.arange(STEPS) // 40
    without = simulate(economy, sh, STEPS)
    whole = simulate(economy, sh, STEPS, periods=periods)
    for name, value in without.metrics.items():
        assert np.array_equal(value, whole.metrics[name], equal_nan=True), name
    assert without.period_trade_volume is None
    assert whole.period_trade_volume is not None
    assert whole.period_trade_value is not None
    assert whole.period_trade_volume.shape == (b, 5, 6, 6)
    first = simulate(economy, sh.take(np.array([3, 10, 11, 12, 13, 14, 15, 16, 17])), STEPS, periods=periods)
    second = simulate(economy, sh.take(np.array([20, 21, 22, 23, 24, 25, 26, 27, 3])), STEPS, periods=periods)
    assert first.period_trade_volume is not None
    assert second.period_trade_volume is not None
    assert first.period_trade_value is not None
    assert second.period_trade_value is not None
    assert np.array_equal(first.period_trade_volume[0], second.period_trade_volume[8])
    assert np.array_equal(first.period_trade_value[0], second.period_trade_value[8])
    assert np.array_equal(first.metrics["income_loss"][0], second.metrics["income_loss"][8])
    part = simulate(economy, sh.take(slice(60, 70)), STEPS, periods=periods)
    assert part.period_trade_volume is not None
    assert part.period_trade_value is not None
    np.testing.assert_allclose(part.period_trade_volume, whole.period_trade_volume[60:], rtol=1e-12)
    np.testing.assert_allclose(part.period_trade_value, whole.period_trade_value[60:], rtol=1e-12)
