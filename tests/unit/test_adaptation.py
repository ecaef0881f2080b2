"""Direction of the market-adaptation mechanisms and of project spending (``ShockBatch.adaptation``,
``Projects.capex``): which way the targets' value-added loss, their income and the adaptation metrics move.

The economy of ``test_direction``: 8 regions x 5 sectors, the 3 domestic regions are the targets, regions 3-4
the coalition and regions 5-7 friendly partners, who are the friendly buyers of export diversion; one year.
Mean claims compare two variants of the same varied draws (everything identical but the one input, one
``simulate`` call per variant) by the mean of the paired difference against its standard error; the other
claims hold draw by draw, or on one constructed case, or are bit-identities.

* Export diversion: friendly buyers take the targets' blocked exports, so the targets produce more and lose
  less value added; the buyers order that much less from their other suppliers (the market clears), which lose
  about as much as the targets sell. The discount on diverted exports is a transfer: income, not volume.
* Supplier expansion: suppliers facing persistent excess demand (redirected orders under import bans) build
  capacity, which lowers the targets' loss; faster (a shorter time constant, or cooperation's speedup for
  domestic suppliers) builds more by the horizon, and never beyond the share ``expansion`` of the excess.
* Project capex: spending on a project is final demand of its region over the build, whether or not the
  project succeeds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from batches import varied_batch

from cluster.core import Baseline, Extensions, Outcome, ShockBatch, embargo_links, simulate
from cluster.core.model import F64, Stepper, _Pattern
from cluster.economy import synthetic

STEPS = 365
#: Draws of the mean claims (paired variants of the same draws).
N_MEAN = 32

R, S = 8, 5
TARGET = np.arange(R) < 3
COALITION = np.isin(np.arange(R), [3, 4])
FRIENDLY = np.arange(R) >= 5
DOMESTIC = TARGET


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    eco = synthetic(R, S, seed=0, n_domestic=3)
    assert np.array_equal(eco.domestic, DOMESTIC)
    return eco.baseline()


# ---------------------------------------------------------------------------------------------- helpers --
def embargo(import_ban: np.ndarray, export_ban: np.ndarray) -> np.ndarray:
    """One sanction package per scenario: the links it closes, (B, 1, R, S, R)."""
    coalition = np.repeat(COALITION[None], import_ban.shape[0], axis=0)
    return embargo_links(TARGET, coalition, import_ban, export_ban)[:, None]


def some_bans(rng: np.random.Generator, n: int, low: float, p: float) -> np.ndarray:
    """Bans (n, S) of strength U(low, 1) on each product with probability ``p``, and on at least one product."""
    ban = rng.uniform(low, 1.0, (n, S)) * (rng.uniform(size=(n, S)) < p)
    ban[np.arange(n), rng.integers(0, S, n)] = rng.uniform(low, 1.0, n)
    return ban


def edit(shocks: ShockBatch, group: str, **changes: Any) -> ShockBatch:
    """``shocks`` with the fields ``changes`` of group ``group`` replaced, each value broadcast to the field's
    shape and dtype."""
    old = getattr(shocks, group)
    values = {
        key: np.broadcast_to(np.asarray(value, dtype=getattr(old, key).dtype), getattr(old, key).shape).copy()
        for key, value in changes.items()
    }
    return replace(shocks, **{group: replace(old, **values)})


def on_targets(out: Outcome, name: str) -> np.ndarray:
    """The metric ``name`` summed over the target regions, per scenario."""
    value = out.metrics[name][:, TARGET].sum(axis=1)
    assert np.all(np.isfinite(value))
    return value  # type: ignore[no-any-return]


def trade(out: Outcome, origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    """Deliveries (volume) from the regions ``origins`` to the regions ``destinations`` in the first period, per
    scenario."""
    assert out.period_trade_volume is not None
    return out.period_trade_volume[:, 0][:, origins][:, :, destinations].sum(axis=(1, 2))  # type: ignore[no-any-return]


def assert_mean_lower(better: np.ndarray, worse: np.ndarray, what: str) -> None:
    """The mean loss is lower by more than three standard errors of the paired difference."""
    d = better - worse
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() < -3 * se, f"{what}: mean change {d.mean():.2f} (se {se:.2f})"


def assert_same_run(a: Outcome, b: Outcome, what: str) -> None:
    """Every metric of ``a`` and ``b`` bit-identical."""
    assert a.metrics.keys() == b.metrics.keys()
    differ = [name for name in a.metrics if not np.array_equal(a.metrics[name], b.metrics[name], equal_nan=True)]
    assert not differ, f"{what}: metrics {differ} differ"
    assert np.array_equal(a.recovery_day, b.recovery_day), f"{what}: recovery days differ"


# ------------------------------------------------------------------------------------- export diversion --
#: Export diversion of the draws, when on, and its time constant (days).
DIVERSION, DIVERSION_TAU = 0.6, 30.0


@pytest.fixture(scope="module")
def diversion_draws(baseline: Baseline) -> ShockBatch:
    """N_MEAN draws with export bans on at least one product (some import bans too), random onset, leakage and
    substitution, the friendly partners as friendly buyers and no export diversion yet; no counter-trade
    channel, so that every diverted export is the market's."""
    rng = np.random.default_rng(401)
    n = N_MEAN
    base = replace(ShockBatch.quiet(baseline, n), target=TARGET)
    exp = some_bans(rng, n, 0.3, 0.5)
    imp = rng.uniform(0.3, 1.0, (n, S)) * (rng.uniform(size=(n, S)) < 0.3)
    base = edit(
        base,
        "sanctions",
        embargo=embargo(imp, exp),
        onset=rng.integers(0, 30, (n, 1)),
        leakage=rng.uniform(0.0, 0.3, (n, 1, S)),
        substitutability=rng.uniform(0, 1, (n, S)),
        substitution_tau=rng.uniform(30, 300, (n, S)),
    )
    return edit(base, "adaptation", buyers=FRIENDLY, diversion_tau=DIVERSION_TAU)


def diverting(shocks: ShockBatch, share: float = DIVERSION) -> ShockBatch:
    return edit(shocks, "adaptation", diversion=share)


def test_export_diversion_lowers_mean_target_loss_and_displaces_other_suppliers(
    baseline: Baseline, diversion_draws: ShockBatch
) -> None:
    """Friendly buyers taking the share 0.6 of the targets' blocked exports (ramping over 30 days) keep the
    targets' producers busy: the targets' mean value-added loss falls. What the targets sell them is recorded as
    diverted exports at the targets alone; the buyers order that much less from their other foreign suppliers
    (never a target), whose displaced exports are of the same order as the diverted ones (both are rationed,
    so they need not be equal), and those suppliers lose value added."""
    year = np.zeros(STEPS, dtype=np.int64)  # one period: the year's trade by origin and destination
    off = simulate(baseline, diversion_draws, STEPS, periods=year)
    on = simulate(baseline, diverting(diversion_draws), STEPS, periods=year)
    assert_mean_lower(on_targets(on, "va_loss"), on_targets(off, "va_loss"), "export diversion")
    # The goods go to the friendly buyers, not around the ban: the targets deliver more to the friendly partners,
    # and no more to the coalition (a little less, where the diverted orders compete for their output).
    assert np.all(trade(on, TARGET, FRIENDLY) > trade(off, TARGET, FRIENDLY))
    assert np.all(trade(on, TARGET, COALITION) <= trade(off, TARGET, COALITION)), (
        "diverted exports reached the coalition"
    )

    for name in ("diverted_exports", "displaced_exports"):
        assert np.array_equal(off.metrics[name], np.zeros_like(off.metrics[name])), f"{name} without diversion"
    diverted, displaced = on.metrics["diverted_exports"], on.metrics["displaced_exports"]
    assert np.all(diverted[:, ~TARGET] == 0.0), "only the target regions deliver diverted exports"
    assert np.all(displaced[:, TARGET] == 0.0), "no target region is displaced by the targets' own exports"
    sold, lost = diverted.sum(axis=1), displaced.sum(axis=1)
    assert np.all(sold > 0), f"no diverted exports in draws {np.flatnonzero(sold <= 0).tolist()}"
    assert np.all(displaced[:, ~TARGET].max(axis=1) > 0)
    ratio = lost / sold
    assert np.all((ratio > 0.5) & (ratio < 2.0)), f"displaced / diverted exports: {ratio.round(3).tolist()}"
    # Market clearing: the displaced suppliers (coalition and friendly regions) produce less.
    others_on, others_off = on.metrics["va_loss"][:, ~TARGET].sum(axis=1), off.metrics["va_loss"][:, ~TARGET].sum(1)
    assert_mean_lower(-others_on, -others_off, "value added of the displaced suppliers")


def test_lower_absorption_diverts_less(baseline: Baseline, diversion_draws: ShockBatch) -> None:
    """The friendly buyers replace at most the share ``absorption`` of their orders from other suppliers: at 0.1
    instead of 1 the targets divert no more in any draw (the same, where the offer never reaches the cap: small
    bans) and less on average."""
    wide = on_targets(simulate(baseline, diverting(diversion_draws), STEPS), "diverted_exports")
    narrow = on_targets(
        simulate(baseline, edit(diverting(diversion_draws), "adaptation", absorption=0.1), STEPS), "diverted_exports"
    )
    assert np.all(narrow > 0)
    bad = np.flatnonzero(narrow > wide)
    assert bad.size == 0, f"absorption 0.1 diverts more in draws {bad.tolist()}"
    assert_mean_lower(narrow, wide, "absorption 0.1: diverted exports")


def test_undivertible_exports_are_not_diverted(baseline: Baseline, diversion_draws: ShockBatch) -> None:
    """Goods tied to their buyers (``divertible`` 0 for the only package, pipeline gas say) find no friendly
    buyer: the run is the bits of the same batch without diversion, whatever ``divertible`` is there."""
    tied = edit(diversion_draws, "sanctions", divertible=0.0)
    out = simulate(baseline, diverting(tied), STEPS)
    assert np.all(out.metrics["diverted_exports"] == 0.0)
    assert_same_run(out, simulate(baseline, tied, STEPS), "divertible 0 vs diversion 0")
    assert_same_run(out, simulate(baseline, diversion_draws, STEPS), "divertible 0 vs diversion 0, divertible 1")


def test_quiet_adaptation_is_the_model_without_it(baseline: Baseline) -> None:
    """Adaptation at its quiet values does nothing: varied batches (counter-trade, projects, events, prices and
    demand shocks included) run to the same bits as with the diversion and expansion switches off, whatever the
    time constants while diversion and expansion are 0; so do friendly buyers and any absorption when no
    counter-trade channel uses them (the channel's exports are diverted to the buyers, within the absorption)."""
    rng = np.random.default_rng(402)
    n = 16
    off = Extensions(diversion=False, expansion=False)
    quiet = varied_batch(baseline, n, seed=403, prices=True, demand=True)
    reference = simulate(baseline, quiet, STEPS, extensions=off)
    assert_same_run(simulate(baseline, quiet, STEPS), reference, "quiet")
    slow = edit(
        quiet, "adaptation", diversion_tau=rng.uniform(10, 300, (n, S)), expansion_tau=rng.uniform(10, 300, (n, S))
    )
    assert_same_run(simulate(baseline, slow, STEPS), reference, "time constants")
    no_channel = edit(quiet, "counter_trade", capacity=0.0)
    idle = edit(no_channel, "adaptation", buyers=rng.uniform(size=(n, R)) < 0.5, absorption=rng.uniform(0, 1, (n, S)))
    assert_same_run(
        simulate(baseline, idle, STEPS), simulate(baseline, no_channel, STEPS, extensions=off), "buyers, absorption"
    )


def test_export_discount_on_diverted_exports_is_a_transfer(baseline: Baseline, diversion_draws: ShockBatch) -> None:
    """The targets sell their diverted exports below the world price (``Prices.export_discount``): their income
    loss rises by exactly the discount on what they diverted, value added everywhere keeps its bits (a price
    never moves quantities). Leakage is off, so the discount on leaked exports plays no part."""
    no_leak = Extensions(leakage=False)
    rng = np.random.default_rng(404)
    cut = rng.uniform(0.05, 0.5, N_MEAN)
    shocks = diverting(diversion_draws)
    full = simulate(baseline, shocks, STEPS, extensions=no_leak)
    cheap = simulate(
        baseline, edit(shocks, "prices", export_discount=np.repeat(cut[:, None], S, axis=1)), STEPS, extensions=no_leak
    )
    assert np.array_equal(cheap.metrics["va_loss"], full.metrics["va_loss"]), "the discount moved value added"
    assert np.array_equal(cheap.metrics["diverted_exports"], full.metrics["diverted_exports"])
    assert np.array_equal(cheap.metrics["income_loss"][:, ~TARGET], full.metrics["income_loss"][:, ~TARGET])
    rise = cheap.metrics["income_loss"][:, TARGET] - full.metrics["income_loss"][:, TARGET]
    assert np.all(rise.sum(axis=1) > 0)
    np.testing.assert_allclose(rise, cut[:, None] * full.metrics["diverted_exports"][:, TARGET], rtol=1e-9)


# ---------------------------------------------------------------------------------------- supplier expansion --
@pytest.fixture(scope="module")
def expansion_draws(baseline: Baseline) -> ShockBatch:
    """N_MEAN draws with import bans of 0.5-1 on at least one product, random onset and leakage, every blocked
    order redirected (substitutability 1, 10-30 days) and no overproduction (alpha_max 1): the open suppliers,
    the targets' own producers first, face persistent excess demand. No expansion yet."""
    rng = np.random.default_rng(501)
    n = N_MEAN
    base = replace(ShockBatch.quiet(baseline, n), target=TARGET)
    base = edit(
        base,
        "sanctions",
        embargo=embargo(some_bans(rng, n, 0.5, 0.5), np.zeros((n, S))),
        onset=rng.integers(0, 30, (n, 1)),
        leakage=rng.uniform(0.0, 0.3, (n, 1, S)),
        substitutability=1.0,
        substitution_tau=rng.uniform(10, 30, (n, S)),
    )
    return edit(base, "ario", alpha_max=1.0)


def expanding(shocks: ShockBatch, share: float | np.ndarray = 1.0, tau: float = 60.0) -> ShockBatch:
    return edit(shocks, "adaptation", expansion=share, expansion_tau=tau)


def test_supplier_expansion_lowers_mean_target_loss(baseline: Baseline, expansion_draws: ShockBatch) -> None:
    """Suppliers building capacity for all of their excess demand (time constant 60 days) serve the redirected
    orders: the targets' mean value-added loss falls, and they build capacity in every draw."""
    off = simulate(baseline, expansion_draws, STEPS)
    on = simulate(baseline, expanding(expansion_draws), STEPS)
    assert_mean_lower(on_targets(on, "va_loss"), on_targets(off, "va_loss"), "supplier expansion")
    assert np.array_equal(off.metrics["capacity_built"], np.zeros_like(off.metrics["capacity_built"]))
    built = on_targets(on, "capacity_built")
    assert np.all(built > 0), f"no capacity built at the targets in draws {np.flatnonzero(built <= 0).tolist()}"


def test_faster_expansion_builds_more_capacity_by_the_horizon(baseline: Baseline, expansion_draws: ShockBatch) -> None:
    """Capacity is built toward the excess demand at the rate 1 / tau and kept: with tau 30 days instead of 120,
    every region has built at least as much by the horizon, and every draw more in all."""
    fast = simulate(baseline, expanding(expansion_draws, tau=30.0), STEPS).metrics["capacity_built"]
    slow = simulate(baseline, expanding(expansion_draws, tau=120.0), STEPS).metrics["capacity_built"]
    bad = np.argwhere(fast < slow)
    assert bad.size == 0, f"faster expansion built less at (draw, region) {bad.tolist()}"
    assert np.all(fast.sum(axis=1) > slow.sum(axis=1))


class _DemandStepper(Stepper):
    """A ``Stepper`` that keeps the largest demand each supplier saw (final demand + orders, (n, B)): with no
    diversion, counter-trade, capacity event or project, the demand its expansion builds toward."""

    peak: F64 | None = None
    _y_sup: F64 | None = None

    def _fd_supply(self, pat: _Pattern | None, f_cls: list[F64] | None) -> F64:
        self._y_sup = super()._fd_supply(pat, f_cls)
        return self._y_sup

    def _orders_received(self, tt: list[F64], pat: _Pattern | None) -> tuple[F64, list[F64], list[F64 | None]]:
        d_int, p_blk, pu_blk = super()._orders_received(tt, pat)
        assert self._y_sup is not None
        demand = (d_int + self._y_sup).reshape(self.n, self.b)
        self.peak = demand if self.peak is None else np.maximum(self.peak, demand)
        return d_int, p_blk, pu_blk


def test_expansion_is_bounded_by_its_share_of_the_excess_demand(
    baseline: Baseline, expansion_draws: ShockBatch
) -> None:
    """Each supplier of product k builds toward the share ``expansion[k]`` of its excess demand over its
    baseline capacity, from below: what it has built never exceeds that share of the peak excess demand, and
    nothing for a product whose share is 0 (products and whole draws at 0 below)."""
    rng = np.random.default_rng(502)
    share = rng.choice([0.0, 0.3, 1.0], size=(N_MEAN, S))
    share[:4] = 0.0
    shocks = expanding(expansion_draws, share, tau=30.0)
    assert shocks.counter_trade.capacity.max() == 0
    assert shocks.events.share.max() == 0
    st = _DemandStepper(baseline, shocks, Extensions())
    for t in range(STEPS):
        st.step(t)
    assert st.peak is not None
    eta = np.repeat(share.T[None], R, axis=0).reshape(R * S, N_MEAN)  # (n, B), industries region-major
    excess = np.maximum(st.peak - baseline.x0[:, None], 0.0)
    assert np.all(st.k_new[eta == 0] == 0.0), "capacity built for a product with expansion 0"
    over = st.k_new - eta * excess
    assert np.all(over <= 1e-12 * baseline.x0[:, None]), f"built beyond the share of the excess: {over.max():.3g}"
    assert np.all(st.k_new[eta > 0].reshape(-1) >= 0.0)
    assert st.k_new[eta > 0].max() > 0
    # The region metric agrees: nothing built in the draws where every share is 0.
    built = simulate(baseline, shocks, STEPS).metrics["capacity_built"]
    assert np.all(built[:4] == 0.0)
    assert np.all(built[4:].sum(axis=1) > 0)


def test_cooperation_speedup_speeds_domestic_expansion(baseline: Baseline, expansion_draws: ShockBatch) -> None:
    """Cooperation's speedup (3 instead of 1, weight 1) divides the domestic suppliers' expansion time constant:
    by the horizon every domestic region has built at least as much capacity, and more in some draw."""
    shocks = expanding(expansion_draws)
    slow = simulate(baseline, shocks, STEPS).metrics["capacity_built"][:, DOMESTIC]
    fast = simulate(baseline, edit(shocks, "cooperation", speedup=3.0), STEPS).metrics["capacity_built"][:, DOMESTIC]
    bad = np.argwhere(fast < slow)
    assert bad.size == 0, f"the speedup built less at (draw, domestic region) {bad.tolist()}"
    assert np.any(fast > slow)


# ------------------------------------------------------------------------------------------- project capex --
#: The build of the constructed project: signed on day SIGNED, online on day ONLINE (spending on the days between).
SIGNED, ONLINE = 10, 200
#: The project's region (a target) and the products its capex buys.
PROJECT_REGION = 0
CAPEX_MIX = {3: 0.6, 4: 0.4}


def capex_case(bl: Baseline, capex: float) -> ShockBatch:
    """Three scenarios with a failing project in the target region ``PROJECT_REGION`` spending ``capex`` on
    ``CAPEX_MIX``: (0) no sanctions; (1) an export ban on product 1 from day 30 and a full import ban on product 4
    (a capex product) from day 5, half substituted; (2) no sanctions, no overproduction and a third of the region's
    capacity for product 3 lost from day 0 for good, so that the capex competes for scarce output."""
    base = replace(ShockBatch.quiet(bl, 3), target=TARGET)
    imp, exp = np.zeros((3, S)), np.zeros((3, S))
    imp[1, 4], exp[1, 1] = 1.0, 1.0
    sh = edit(base, "sanctions", embargo=embargo(imp, exp), onset=np.array([[0], [5], [0]]), substitutability=0.5)
    mix = np.zeros(S)
    for k, v in CAPEX_MIX.items():
        mix[k] = v
    sh = edit(
        sh,
        "projects",
        industry=PROJECT_REGION * S + 2,
        capacity=0.2 * bl.x0[PROJECT_REGION * S + 2],
        signed=SIGNED,
        online=ONLINE,
        ramp=30,
        success=False,
        capex=capex,
        capex_mix=mix[None, None],
    )
    sh = edit(
        sh,
        "events",
        industry=PROJECT_REGION * S + 3,
        share=np.array([[0.0], [0.0], [1 / 3]]),
        onset=0,
        duration=10 * STEPS,
        recovery=1,
    )
    return edit(sh, "ario", alpha_max=np.array([1.25, 1.25, 1.0]))


def build_capex(bl: Baseline) -> float:
    """Capex of the constructed project: a day of the build spends 10% of its region's baseline final demand for
    the capex products."""
    y = bl.y.sum(axis=0)[:, PROJECT_REGION]  # (S,) final demand of the region by product
    return 0.1 * float(sum(y[k] for k in CAPEX_MIX)) * (ONLINE - SIGNED)


def test_project_capex_is_final_demand_of_its_region(baseline: Baseline) -> None:
    """The capex of a project is spent evenly over its build as final demand of its region, whether the project
    succeeds or not: before signing nothing changes (the same bits); over the build the region's value added is
    higher than without the spending, in every scenario; the spending is demand that may go unmet (it does, for
    scarce output) but is never delivered beyond itself."""
    capex = build_capex(baseline)
    spend = simulate(baseline, capex_case(baseline, capex), STEPS, trajectories="daily")
    none = simulate(baseline, capex_case(baseline, 0.0), STEPS, trajectories="daily")
    assert spend.va_path is not None
    assert none.va_path is not None
    assert np.array_equal(spend.va_path[:, :SIGNED], none.va_path[:, :SIGNED]), "capex moved days before signing"
    gain = (spend.va_path - none.va_path)[:, SIGNED:ONLINE, PROJECT_REGION]
    assert np.all(gain.sum(axis=1) > 0), f"value added over the build: {gain.sum(axis=1).round(1).tolist()}"
    assert np.all(gain[:, 0] > 0), "the spending should raise value added on the day of signing"
    # Unmet final demand: never negative (the day's demand includes the capex), and higher when capex competes
    # for output the region cannot raise (scenario 2).
    annual_fd = baseline.y.sum(axis=(0, 1)) * STEPS  # (R,)
    for out in (spend, none):
        unmet = out.metrics["unmet_final_demand"]
        assert np.all(unmet >= -1e-9 * annual_fd[None]), f"final demand over-delivered: {unmet.min():.3g}"
    unmet_spend = spend.metrics["unmet_final_demand"][2, PROJECT_REGION]
    assert unmet_spend > none.metrics["unmet_final_demand"][2, PROJECT_REGION] > 0


@pytest.mark.parametrize("steps", [120, ONLINE, STEPS])
def test_project_capex_metric_counts_the_spending_within_the_horizon(baseline: Baseline, steps: int) -> None:
    """The ``project_capex`` metric is the capex spent by the horizon: capex x (build days within the horizon) /
    (build days), at the project's region alone; all of it once the horizon reaches the day it goes online."""
    capex = build_capex(baseline)
    out = simulate(baseline, capex_case(baseline, capex), steps)
    spent = out.metrics["project_capex"]
    share = (min(steps, ONLINE) - SIGNED) / (ONLINE - SIGNED)
    np.testing.assert_allclose(spent[:, PROJECT_REGION], capex * share, rtol=1e-12)
    assert np.all(np.delete(spent, PROJECT_REGION, axis=1) == 0.0)
    assert np.all(simulate(baseline, capex_case(baseline, 0.0), steps).metrics["project_capex"] == 0.0)
