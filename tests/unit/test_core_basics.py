"""Steady state, batch invariance, the one-way imports and input validation of the trade core."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from batches import varied_batch

from cluster.core import Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.economy import Economy, synthetic
from cluster.errors import EconomyError, ShapeError


@pytest.fixture(scope="module")
def small() -> Baseline:
    return synthetic(6, 4, seed=3, n_domestic=2).baseline()


@pytest.mark.parametrize("extensions", [Extensions.none(), Extensions()], ids=["plain", "all-extensions"])
def test_steady_state_three_years(extensions: Extensions) -> None:
    """With no shock the batch stays at baseline to 1e-12 relative for 3 years."""
    eco = synthetic(8, 5, seed=11, n_domestic=3)
    bl = eco.baseline()
    out = simulate(bl, ShockBatch.quiet(bl, 9), 3 * 365, extensions=extensions, trajectories="daily")
    assert out.production_path is not None
    assert out.va_path is not None
    x0 = bl.x0.reshape(bl.n_regions, bl.n_sectors).sum(axis=1)
    assert np.max(np.abs(out.production_path / x0 - 1.0)) <= 1e-12
    assert np.max(np.abs(out.va_path / out.va0 - 1.0)) <= 1e-12
    assert np.all(out.recovery_day == 0)  # never left the band: "recovered" from day 0
    for name in ("va_loss", "unmet_final_demand", "exports_lost"):
        scale = np.abs(out.va0).sum() * 3 * 365
        assert np.max(np.abs(out.metrics[name])) <= 1e-12 * scale, name


def test_batch_invariance_same_size_is_bit_identical(small: Baseline) -> None:
    """A scenario gives identical bits whatever its companions and position in a batch of the same size."""
    sh = varied_batch(small, 30, seed=5, prices=True, demand=True)
    first = simulate(small, sh.take(np.array([3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])), 300, trajectories="daily")
    second = simulate(small, sh.take(np.array([20, 21, 22, 23, 24, 25, 26, 27, 28, 3, 29])), 300, trajectories="daily")
    for name in first.metrics:
        assert np.array_equal(first.metrics[name][0], second.metrics[name][9], equal_nan=True), name
    assert first.production_path is not None
    assert second.production_path is not None
    assert np.array_equal(first.production_path[0], second.production_path[9])


def test_batch_invariance_across_sizes(small: Baseline) -> None:
    """Across batch sizes results agree to 1e-12 relative (of each metric's scale)."""
    sh = varied_batch(small, 40, seed=6, prices=True, demand=True)
    whole = simulate(small, sh, 300, trajectories="daily")
    assert whole.production_path is not None
    for lo, hi in [(0, 1), (5, 17), (7, 40), (32, 40)]:
        part = simulate(small, sh.take(slice(lo, hi)), 300, trajectories="daily")
        assert part.production_path is not None
        rel = np.abs(part.production_path - whole.production_path[lo:hi]) / whole.production_path[lo:hi]
        assert rel.max() <= 1e-12
        for name, value in part.metrics.items():
            ref = whole.metrics[name][lo:hi]
            scale = np.maximum(np.abs(ref), np.abs(whole.metrics[name]).max())
            assert np.all(np.abs(value - ref) <= 1e-12 * scale), name


def test_core_imports_no_ray_click_or_pyarrow() -> None:
    """The core is pure numpy: importing it in a fresh interpreter pulls in no Ray, click or pyarrow."""
    code = "import sys, cluster.core; print(sorted(m for m in ('ray', 'click', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_recovery_day_and_never(small: Baseline) -> None:
    """A short capacity shock recovers (day counted from onset); a permanent embargo never does."""
    quiet = ShockBatch.quiet(small, 1)
    one = replace(
        quiet,
        events=replace(
            quiet.events,
            industry=np.array([[1]]),
            share=np.array([[0.5]]),
            onset=np.array([[10]]),
            duration=np.array([[5]]),
            recovery=np.array([[20]]),
        ),
    )
    out = simulate(small, one, 365, extensions=Extensions.none())
    assert out.onset[0] == 10
    assert out.recovered[0].all()
    hit = out.recovery_day[0].max()
    assert 0 < hit < 365 - 10 - 30
    target = small.domestic.copy()
    coalition = ~target
    sh = replace(
        quiet,
        target=target,
        sanctions=replace(
            quiet.sanctions,
            embargo=embargo_links(
                target, coalition[None], np.ones((1, small.n_sectors)), np.ones((1, small.n_sectors))
            )[:, None],
            onset=np.array([[20]]),
        ),
    )
    out = simulate(small, sh, 365, extensions=Extensions(leakage=False, substitution=False, counter_trade=False))
    assert not out.recovered[0][target].any()
    assert np.all(out.recovery_day[0][target] == -1)
    assert np.all(out.metrics["va_loss"][0][target] > 0)


def test_shock_batch_validation_names_the_field(small: Baseline) -> None:
    sh = ShockBatch.quiet(small, 2)
    with pytest.raises(ShapeError, match="leakage"):
        simulate(small, replace(sh, sanctions=replace(sh.sanctions, leakage=np.full((2, 1, small.n_sectors), 1.5))), 10)
    with pytest.raises(ShapeError, match="embargo"):
        simulate(small, replace(sh, sanctions=replace(sh.sanctions, embargo=np.zeros((2, 3)))), 10)
    with pytest.raises(ShapeError, match=r"demand\.change"):
        simulate(small, replace(sh, demand=replace(sh.demand, change=np.zeros((2, 1, small.n_regions)))), 10)
    with pytest.raises(ShapeError, match=r"events\.industry"):
        simulate(small, replace(sh, events=replace(sh.events, industry=np.full((2, 1), small.n))), 10)
    with pytest.raises(ShapeError, match="sanctions"):
        Extensions(sanctions=False)


def test_economy_refuses_bad_tables() -> None:
    eco = synthetic(3, 2, seed=1)
    z = eco.z.copy()
    z[1, 4] = -1.0
    with pytest.raises(EconomyError, match="R00/S01"):
        Economy(id="bad", regions=eco.regions, sectors=eco.sectors, z=z, y=eco.y)
    z = eco.z.copy()
    z[2, 2] = np.nan
    with pytest.raises(EconomyError, match="NaN"):
        Economy(id="bad", regions=eco.regions, sectors=eco.sectors, z=z, y=eco.y)
    with pytest.raises(EconomyError, match="duplicated"):
        Economy(id="bad", regions=("A", "A", "B"), sectors=eco.sectors, z=eco.z, y=eco.y)


def test_uncertain_ario_parameters_per_scenario(small: Baseline) -> None:
    """ARIO parameters may differ by scenario: each scenario gives what it gives when simulated alone."""
    sh = varied_batch(small, 6, seed=8, prices=True, demand=True)
    rng = np.random.default_rng(9)
    ario = replace(
        sh.ario,
        alpha_max=rng.uniform(1.0, 1.5, 6),
        alpha_tau=rng.uniform(100, 500, 6),
        psi=rng.uniform(0.5, 1.0, 6),
        inventory_tau=rng.uniform(20, 90, 6),
        inventory_days=rng.uniform(10, 120, (6, small.n_sectors)),
    )
    sh = replace(sh, ario=ario)
    together = simulate(small, sh, 200, trajectories="daily")
    assert together.production_path is not None
    for i in range(6):
        alone = simulate(small, sh.take(slice(i, i + 1)), 200, trajectories="daily")
        assert alone.production_path is not None
        rel = np.abs(alone.production_path[0] - together.production_path[i]) / together.production_path[i]
        assert rel.max() <= 1e-12
    # and the parameters matter: a shorter inventory changes the path
    assert not np.allclose(together.production_path[0], together.production_path[1])


def test_counter_trade_channel_balances_in_value(small: Baseline) -> None:
    """Imports bought through the channel never exceed (1 - discount) x exports sold through it."""
    sh = varied_batch(small, 24, seed=10, prices=True, demand=True)
    sh = replace(
        sh,
        counter_trade=replace(
            sh.counter_trade, capacity=np.full(24, 0.2), efficiency=np.full(24, 0.8), lag=np.full(24, 5)
        ),
    )
    out = simulate(small, sh, 365)
    imports = out.metrics["ct_imports"].sum(axis=1)
    exports = out.metrics["ct_exports"].sum(axis=1)
    assert np.all(imports <= (1.0 - sh.counter_trade.discount) * exports * (1 + 1e-12) + 1e-9)
    assert imports.max() > 0  # the channel is used at all


@pytest.mark.parametrize("kernel", ["fused", "numpy"])
def test_a_negligible_capacity_splits_no_orders(kernel: str) -> None:
    """A wiped-out industry whose only capacity is a project of 1e-310 of a unit (a value a sampled design can
    draw) is its buyers' only supplier in a one-region economy: its capacity ratio is below ``C_FLOOR`` and counts
    as 0, so the order intensities do not overflow (they did: need / 1e-311). The run warns of nothing (the test
    configuration turns warnings into errors) and gives what a project of no capacity at all gives, but for
    that capacity itself."""
    bl = synthetic(1, 3, seed=0, n_domestic=0).baseline()
    b = 8
    base = ShockBatch.quiet(bl, b)
    ones, zeros = np.ones((b, 1)), np.zeros((b, 1), dtype=np.int64)

    def shocks(capacity: float) -> ShockBatch:
        events = replace(
            base.events, industry=zeros, share=ones, onset=zeros + 5, duration=zeros + 400, recovery=zeros + 10
        )
        projects = replace(
            base.projects, industry=zeros, capacity=ones * capacity, online=zeros + 10, ramp=zeros + 1,
            success=ones.astype(bool), capex=ones * 0.0, signed=zeros, capex_mix=np.full((b, 1, 3), 1 / 3),
        )  # fmt: skip
        return replace(base, events=events, projects=projects)

    ext = Extensions(**{**dict.fromkeys(vars(Extensions.none()), False), "projects": True})
    got = simulate(bl, shocks(1e-310), 60, extensions=ext, kernel=kernel)
    none = simulate(bl, shocks(0.0), 60, extensions=ext, kernel=kernel)
    for name, value in got.metrics.items():
        assert np.isfinite(value).all(), name
        # The same but for the project's own 1e-310 (capacity online is that, not 0).
        np.testing.assert_allclose(value, none.metrics[name], rtol=1e-12, atol=1e-300, err_msg=name)


def test_new_capacity_is_the_day_s_in_any_order_of_days(small: Baseline) -> None:
    """``Stepper.new_capacity`` keeps the additions of a day before any project is online, and of a day after the
    last has ramped up, and returns them again on such days: asked for the days in sequence, backwards, or in a
    random order, every day's additions equal, bit for bit, those of a fresh stepper asked for that day alone. The
    kept arrays are not written to by a year of steps."""
    from cluster.core.model import Stepper

    sh = varied_batch(small, 12, 5, online=(20, 60))
    fresh = {t: Stepper(small, sh, Extensions()).new_capacity(t) for t in range(0, 200, 7)}
    assert any(a is not None and a.any() for a in fresh.values())  # some project comes online
    days = list(fresh)
    for order in (days, days[::-1], list(np.random.default_rng(0).permutation(days))):
        st = Stepper(small, sh, Extensions())
        for t in order:
            got, want = st.new_capacity(int(t)), fresh[int(t)]
            assert got is not None, t
            assert want is not None, t
            assert np.array_equal(got, want), t
    st = Stepper(small, sh, Extensions())
    for t in range(365):
        st.step(t)
    assert np.array_equal(st.new_capacity(364), fresh[196])
    assert np.array_equal(st.new_capacity(0), fresh[0])
