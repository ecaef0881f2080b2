"""Direction of the model's responses: which way the target regions' value-added loss moves.

The loss is the loss of real value added (at baseline prices, ``va_loss``); what premia, discounts and world
prices do to the targets' income is in ``income_loss`` (``docs/model.md``, prices and real income).

One synthetic economy, 8 regions x 5 sectors, the 3 domestic regions are the targets, regions 3-4 the
coalition and regions 5-7 friendly partners; one year. Per-draw claims compare two variants of the same 50
random draws (everything identical but the one input), one ``simulate`` call per variant. Mean claims use
200 draws.

The two per-draw claims asked of the model (more sanctioned sectors, less leakage: never a smaller loss) do
*not* hold in general, by mechanisms of the model rather than numerical accidents. Narrower claims that hold
in these draws (and held in sweeps over other draw and economy seeds; they are observations, not theorems
of the model) are tested per draw; each mechanism that breaks the general claims is shown on a constructed
case in the same economy (sanctions from day 10 for good, every lever not named quiet), which asserts the
reversal *and* the channel that makes it:

* Restocking (plain sanctions): the coalition stops buying product 2 from the targets (export ban 1), which
  leaves the targets' producers of product 2 with spare capacity. Adding an import ban of 0.4 on product 2
  *lowers* the targets' loss: the buyers' inventory gap raises their order intensity, which goes to every
  open supplier in proportion to Z0 c, so their orders move to the targets' own producers (implicit import
  substitution, no prices). Their output of product 2 rises, stays below the baseline, and carries most of
  the gain; without the export ban (no spare capacity) the same import ban raises the loss.
* Substitution (every extension on): the same case with substitutability 1 and cooperation weight 2 and a
  full import ban: the redirected orders go to the targets' own producers first, and the gain is large;
  with substitution off the same extra ban raises the loss.
* Counter-trade (sanctions and counter-trade): with a full import ban on product 4, an extra export ban on
  product 0 *lowers* the loss: the blocked exports sold to friendly partners earn the credit that buys the
  blocked imports (the channel's imports rise). Without counter-trade the same export ban raises the loss;
  without import bans, or without counter-trade, more export bans never lowered the loss in the draws.
* Leakage premium (sanctions and leakage): the premium on leaked goods is an income transfer, not a loss of
  volume, so it no longer reaches real value added: with a full import ban on product 2 the loss is the same bits
  at a premium of 0.5 as with free leakage, and less leakage (0.6 -> 0.4) *raises* it. The reversal this case
  used to show in value added (less leakage lowering the loss at a premium) is now in real income: the
  targets' income loss, value added plus the premium paid, falls as less is leaked, while their final demand
  left unmet rises.
* Leakage and counter-trade: with a full import ban on product 4, less leakage on a full export ban on
  product 3 (0.6 -> 0.2) *lowers* the loss: the exports the leak no longer carries are sold through the
  channel and buy blocked imports. Without counter-trade the same cut raises the loss.

Substituted orders partly go to the targets' own producers, another reason why less leakage can lower the loss
under substitution; its effect is small in this economy and not pinned down here. So less leakage can still
lower the real value-added loss, through counter-trade and substitution, but no longer through the premium.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from cluster.core import Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.core.model import Stepper
from cluster.economy import synthetic

STEPS = 365
N_PAIRED = 50
N_MEAN = 200
#: Float noise allowed when a variant must not lower the loss, relative to the loss.
RTOL = 1e-9

R, S = 8, 5
TARGET = np.arange(R) < 3
COALITION = np.isin(np.arange(R), [3, 4])
FRIENDLY = np.arange(R) >= 5


SectorDraws = tuple[ShockBatch, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
LeakageDraws = tuple[ShockBatch, np.ndarray, np.ndarray, np.ndarray]
MeanDraws = tuple[ShockBatch, np.ndarray]


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    eco = synthetic(R, S, seed=0, n_domestic=3)
    assert np.array_equal(eco.domestic, TARGET)
    return eco.baseline()


def target_loss(bl: Baseline, shocks: ShockBatch, extensions: Extensions | None = None) -> np.ndarray:
    """Cumulative value-added loss of the target regions together, per scenario."""
    out = simulate(bl, shocks, STEPS, extensions=extensions)
    loss = out.metrics["va_loss"][:, TARGET].sum(axis=1)
    assert np.all(np.isfinite(loss))
    return loss  # type: ignore[no-any-return]


def draws(bl: Baseline, n: int, seed: int) -> ShockBatch:
    """n random scenarios without an embargo yet: sanction start, leakage, substitution, cooperation,
    counter-trade with the friendly partners, all drawn; sanctions stay in force to the end."""
    rng = np.random.default_rng(seed)
    base = ShockBatch.quiet(bl, n)
    return replace(
        base,
        target=TARGET,
        sanctions=replace(
            base.sanctions,
            onset=rng.integers(0, 30, n)[:, None],
            leakage=rng.uniform(0, 0.5, (n, S))[:, None],
            leakage_premium=rng.uniform(0, 0.3, (n, S)),
            substitutability=rng.uniform(0, 1, (n, S)),
            substitution_tau=rng.uniform(30, 300, (n, S)),
        ),
        cooperation=replace(base.cooperation, weight=rng.uniform(1, 3, n), speedup=rng.uniform(1, 3, n)),
        counter_trade=replace(
            base.counter_trade,
            friendly=np.repeat(FRIENDLY[None], n, axis=0),
            capacity=rng.uniform(0, 0.1, n),
            efficiency=rng.uniform(0, 1, n),
            discount=rng.uniform(0, 0.3, n),
            tau=rng.uniform(30, 200, n),
            lag=rng.integers(0, 60, n),
        ),
    )


def with_sanctions(shocks: ShockBatch, **changes: Any) -> ShockBatch:
    """``shocks`` with the fields ``changes`` of its sanctions group replaced."""
    return replace(shocks, sanctions=replace(shocks.sanctions, **changes))


def embargo(import_ban: np.ndarray, export_ban: np.ndarray) -> np.ndarray:
    """One sanction package per scenario: the links it closes, (B, 1, R, S, R)."""
    coalition = np.repeat(COALITION[None], import_ban.shape[0], axis=0)
    return embargo_links(TARGET, coalition, import_ban, export_ban)[:, None]


def nested_bans(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Import and export bans on a set of sectors and on a superset of it, same strength per sector.

    Returns (import_few, import_more, export_few, export_more), each (n, S).
    """
    rng = np.random.default_rng(seed)
    few_i = rng.uniform(size=(n, S)) < 0.4
    more_i = few_i | (rng.uniform(size=(n, S)) < 0.5)
    few_e = rng.uniform(size=(n, S)) < 0.4
    more_e = few_e | (rng.uniform(size=(n, S)) < 0.5)
    strength_i = rng.uniform(0.3, 1.0, (n, S))
    strength_e = rng.uniform(0.3, 1.0, (n, S))
    assert np.any(more_i & ~few_i)
    assert np.any(more_e & ~few_e)
    return strength_i * few_i, strength_i * more_i, strength_e * few_e, strength_e * more_e


def assert_not_lower(more: np.ndarray, less: np.ndarray, what: str) -> None:
    """``more`` (the harsher variant) never has a smaller loss than ``less``, up to float noise."""
    drop = less - more
    bad = np.flatnonzero(drop > RTOL * np.abs(less))
    assert bad.size == 0, (
        f"{what}: the target loss falls in draws {bad.tolist()}: "
        f"{less[bad].round(1).tolist()} -> {more[bad].round(1).tolist()}"
    )


# ------------------------------------------------------------------------------- per draw: sectors --
@pytest.fixture(scope="module")
def sector_draws(baseline: Baseline) -> SectorDraws:
    return draws(baseline, N_PAIRED, seed=101), nested_bans(N_PAIRED, seed=102)


def test_more_export_banned_sectors_never_lower_target_loss_without_counter_trade(
    baseline: Baseline, sector_draws: SectorDraws
) -> None:
    """Every extension but counter-trade; import bans fixed, export bans on a superset of sectors."""
    base, (imp_few, _, exp_few, exp_more) = sector_draws
    ext = Extensions(counter_trade=False)
    few = target_loss(baseline, with_sanctions(base, embargo=embargo(imp_few, exp_few)), ext)
    more = target_loss(baseline, with_sanctions(base, embargo=embargo(imp_few, exp_more)), ext)
    assert_not_lower(more, few, "more export-banned sectors, no counter-trade")


def test_more_export_banned_sectors_never_lower_target_loss_without_import_bans(
    baseline: Baseline, sector_draws: SectorDraws
) -> None:
    """Every extension on, counter-trade included; no import ban, export bans on a superset of sectors."""
    base, (_, _, exp_few, exp_more) = sector_draws
    none = np.zeros_like(exp_few)
    few = target_loss(baseline, with_sanctions(base, embargo=embargo(none, exp_few)))
    more = target_loss(baseline, with_sanctions(base, embargo=embargo(none, exp_more)))
    assert_not_lower(more, few, "more export-banned sectors, no import ban")


# ------------------------------------------------------------------------------- per draw: leakage --
@pytest.fixture(scope="module")
def leakage_draws(baseline: Baseline) -> LeakageDraws:
    """Draws, import and export bans on random sectors, and a smaller leakage (each share x U(0, 1))."""
    rng = np.random.default_rng(201)
    base = draws(baseline, N_PAIRED, seed=202)
    imp = rng.uniform(0.3, 1.0, (N_PAIRED, S)) * (rng.uniform(size=(N_PAIRED, S)) < 0.6)
    exp = rng.uniform(0.3, 1.0, (N_PAIRED, S)) * (rng.uniform(size=(N_PAIRED, S)) < 0.6)
    return base, imp, exp, base.sanctions.leakage * rng.uniform(0, 1, (N_PAIRED, 1, S))


def test_less_leakage_never_lowers_target_loss_without_import_bans(
    baseline: Baseline, leakage_draws: LeakageDraws
) -> None:
    """Every extension on, premium > 0, export bans only: less leakage is a stricter export ban (the
    premium on leaked exports is paid by the coalition's buyers)."""
    base, imp, exp, smaller = leakage_draws
    base = with_sanctions(base, embargo=embargo(np.zeros_like(imp), exp))
    high = target_loss(baseline, base)
    low = target_loss(baseline, with_sanctions(base, leakage=smaller))
    assert_not_lower(low, high, "less leakage, no import ban")


def test_less_free_leakage_never_lowers_target_loss_plain_sanctions(
    baseline: Baseline, leakage_draws: LeakageDraws
) -> None:
    """Sanctions and leakage only, import and export bans, no premium."""
    base, imp, exp, smaller = leakage_draws
    base = with_sanctions(
        base, embargo=embargo(imp, exp), leakage_premium=np.zeros_like(base.sanctions.leakage_premium)
    )
    ext = Extensions(True, True, False, False, False, False)
    high = target_loss(baseline, base, ext)
    low = target_loss(baseline, with_sanctions(base, leakage=smaller), ext)
    assert_not_lower(low, high, "less free leakage, plain sanctions")


# ------------------------------------------------------------------------------ constructed cases --
#: Sanctions of the constructed cases start on this day and stay in force.
ONSET = 10
#: Extensions of the constructed cases: sanctions alone, with leakage, with counter-trade, with both.
PLAIN = Extensions(True, False, False, False, False, False)
LEAKAGE = Extensions(True, True, False, False, False, False)
COUNTER_TRADE = Extensions(True, False, False, True, False, False)
LEAKAGE_COUNTER_TRADE = Extensions(True, True, False, True, False, False)
#: A counter-trade channel with the friendly partners: 5% of the baseline trade with them a day each way.
CHANNEL = {"friendly": FRIENDLY, "capacity": 0.05, "efficiency": 0.8, "discount": 0.1, "tau": 30.0, "lag": 14}


def by_product(*rows: dict[int, float]) -> np.ndarray:
    """Shares per scenario and product, (len(rows), S): row i holds ``rows[i]`` (product -> share), 0 elsewhere."""
    out = np.zeros((len(rows), S))
    for i, row in enumerate(rows):
        for k, share in row.items():
            out[i, k] = share
    return out


def constructed(bl: Baseline, import_ban: np.ndarray, export_ban: np.ndarray, **groups: dict[str, Any]) -> ShockBatch:
    """One scenario per row of the bans (B, S), sanctions from ``ONSET`` for good, every other lever quiet but
    the fields in ``groups`` (group name -> {field: value}), each value broadcast to the field's shape."""
    base = ShockBatch.quiet(bl, import_ban.shape[0])
    edits = {"sanctions": {"onset": ONSET, "embargo": embargo(import_ban, export_ban)}}
    for name, changes in groups.items():
        edits[name] = {**edits.get(name, {}), **changes}
    new = {}
    for name, changes in edits.items():
        group = getattr(base, name)
        values = {}
        for key, value in changes.items():
            old = getattr(group, key)
            values[key] = np.broadcast_to(np.asarray(value, dtype=old.dtype), old.shape).copy()
        new[name] = replace(group, **values)
    return replace(base, target=TARGET, **new)


def on_targets(bl: Baseline, shocks: ShockBatch, extensions: Extensions, name: str) -> np.ndarray:
    """The metric ``name`` summed over the target regions, per scenario."""
    out = simulate(bl, shocks, STEPS, extensions=extensions)
    value = out.metrics[name][:, TARGET].sum(axis=1)
    assert np.all(np.isfinite(value))
    return value  # type: ignore[no-any-return]


def industry_output(bl: Baseline, shocks: ShockBatch, extensions: Extensions) -> np.ndarray:
    """Cumulative output of every industry over ``STEPS`` days, (n, B) (``simulate`` keeps regions only)."""
    stepper = Stepper(bl, shocks, extensions)
    total = np.zeros((bl.n, shocks.batch))
    for t in range(STEPS):
        total += stepper.step(t).production
    return total


def target_industries(product: int | None = None) -> np.ndarray:
    """Industry indices of the target regions (region-major), all sectors or one product."""
    sectors = np.arange(S) if product is None else np.array([product])
    return (np.flatnonzero(TARGET)[:, None] * S + sectors[None, :]).ravel()  # type: ignore[no-any-return]


def test_import_ban_lowers_target_loss_through_restocking_at_home_plain_sanctions(baseline: Baseline) -> None:
    """Only the sanctions switch on. Scenario 0: export ban on product 2; 1: plus an import ban of 0.4 on it;
    2, 3: the same without the export ban.

    Loss 3668 -> 3441; the targets' output of product 2 39281 -> 39627 of a baseline 44094; its producers
    gain 161 of the targets' 227 of value added; without the export ban the loss goes 0 -> 59.
    """
    k = 2
    shocks = constructed(baseline, by_product({}, {k: 0.4}, {}, {k: 0.4}), by_product({k: 1.0}, {k: 1.0}, {}, {}))
    loss = target_loss(baseline, shocks, PLAIN)
    assert loss[1] < loss[0], f"the extra import ban raises the loss: {loss[0]:.1f} -> {loss[1]:.1f}"
    # The channel: the targets' own producers of product 2 produce more, within the capacity the export ban freed.
    x = industry_output(baseline, shocks, PLAIN)
    own = x[target_industries(k)].sum(axis=0)
    assert own[0] < own[1] < baseline.x0[target_industries(k)].sum() * STEPS
    va = baseline.va_coef[:, None] * x
    gain_k = va[target_industries(k), 1].sum() - va[target_industries(k), 0].sum()
    gain = va[target_industries(), 1].sum() - va[target_industries(), 0].sum()
    assert gain_k > gain / 2 > 0, f"producers of product {k} gain {gain_k:.1f} of {gain:.1f}"
    # Without spare capacity at home the same import ban costs value added.
    assert loss[3] > loss[2]


def test_import_ban_lowers_target_loss_through_substitution_every_extension(baseline: Baseline) -> None:
    """Every extension on, substitutability 1 (tau 60 days), cooperation weight and speedup 2, no leakage, no
    counter-trade partner, no project. Scenario 0: export ban on product 2; 1: plus a full import ban on it.

    Loss 3189 -> 1123 and the targets' output of product 2 39379 -> 42546; with substitution off the loss
    goes 3668 -> 4911 and that output only 39281 -> 39519.
    """
    k = 2
    shocks = constructed(
        baseline,
        by_product({}, {k: 1.0}),
        by_product({k: 1.0}, {k: 1.0}),
        sanctions={"substitutability": 1.0, "substitution_tau": 60.0},
        cooperation={"weight": 2.0, "speedup": 2.0},
    )
    no_substitution = Extensions(substitution=False)
    loss = target_loss(baseline, shocks, Extensions())
    assert loss[1] < loss[0], f"the extra import ban raises the loss: {loss[0]:.1f} -> {loss[1]:.1f}"
    loss_off = target_loss(baseline, shocks, no_substitution)
    assert loss_off[1] > loss_off[0], "without substitution the extra import ban should cost value added"
    # The channel: redirected orders reach the targets' own producers of product 2.
    own = industry_output(baseline, shocks, Extensions())[target_industries(k)].sum(axis=0)
    own_off = industry_output(baseline, shocks, no_substitution)[target_industries(k)].sum(axis=0)
    assert own[1] - own[0] > own_off[1] - own_off[0] > 0


def test_export_ban_lowers_target_loss_through_counter_trade_credit(baseline: Baseline) -> None:
    """Sanctions and counter-trade only, a full import ban on product 4 and an export ban of 0.3 on product 1;
    scenario 1 adds a full export ban on product 0.

    Loss 11801 -> 1789 as the channel's imports go 598 -> 2156 (income loss, less the discount on the bartered
    exports: 11870 -> 2073); without counter-trade the loss rises by 1589.
    """
    shocks = constructed(
        baseline,
        by_product({4: 1.0}, {4: 1.0}),
        by_product({1: 0.3}, {1: 0.3, 0: 1.0}),
        counter_trade=CHANNEL,
    )
    loss = target_loss(baseline, shocks, COUNTER_TRADE)
    assert loss[1] < loss[0], f"the extra export ban raises the loss: {loss[0]:.1f} -> {loss[1]:.1f}"
    # The channel: more blocked exports sold through it, more blocked imports bought with the credit.
    ct_exports = on_targets(baseline, shocks, COUNTER_TRADE, "ct_exports")
    ct_imports = on_targets(baseline, shocks, COUNTER_TRADE, "ct_imports")
    assert ct_exports[1] > ct_exports[0] > 0
    assert ct_imports[1] > ct_imports[0] > 0
    loss_off = target_loss(baseline, shocks, PLAIN)
    assert loss_off[1] > loss_off[0], "without counter-trade the extra export ban should cost value added"


def test_less_leakage_lowers_target_income_loss_by_the_premium_not_value_added(baseline: Baseline) -> None:
    """Sanctions and leakage only, a full import ban on product 2 leaking 0.6 (scenarios 0, 2) or 0.4 (1, 3),
    at a premium of 0.5 (0, 1) or free (2, 3).

    Real value added does not see the premium: loss 59 -> 206 at either premium (the same bits). Income does:
    income loss 1163 -> 959 while the premium paid falls 1104 -> 753 and unmet final demand rises 743 -> 1201.
    """
    k = 2
    shocks = constructed(
        baseline,
        by_product(*[{k: 1.0}] * 4),
        by_product({}, {}, {}, {}),
        sanctions={
            "leakage": by_product({k: 0.6}, {k: 0.4}, {k: 0.6}, {k: 0.4})[:, None],
            "leakage_premium": np.array([0.5, 0.5, 0.0, 0.0])[:, None],
        },
    )
    loss = target_loss(baseline, shocks, LEAKAGE)
    assert np.array_equal(loss[:2], loss[2:]), "the premium should not reach real value added"
    assert loss[1] > loss[0], f"less leakage lowers the real value-added loss: {loss[0]:.1f} -> {loss[1]:.1f}"
    # The reversal is in income: the premium is a charge on income alone, on the flows of free leakage.
    income = on_targets(baseline, shocks, LEAKAGE, "income_loss")
    assert income[1] < income[0], f"less leakage raises the income loss: {income[0]:.1f} -> {income[1]:.1f}"
    premium = on_targets(baseline, shocks, LEAKAGE, "leakage_premium")
    assert premium[0] > premium[1] > 0
    assert premium[2] == premium[3] == 0.0
    np.testing.assert_allclose(income - premium, loss, rtol=1e-12)
    assert np.array_equal(income[2:], loss[2:]), "free leakage: income loss = value-added loss"
    unmet = on_targets(baseline, shocks, LEAKAGE, "unmet_final_demand")
    assert unmet[1] > unmet[0], "less leakage should leave more of the targets' final demand unmet"


def test_less_leakage_on_exports_lowers_target_loss_through_counter_trade(baseline: Baseline) -> None:
    """Sanctions, leakage and counter-trade, no premium; a full import ban on product 4 and a full export ban
    on product 3 leaking 0.6 (scenario 0) or 0.2 (1).

    Loss 10721 -> 2510 as the channel's imports go 687 -> 1535; without counter-trade 22529 -> 23262.
    """
    shocks = constructed(
        baseline,
        by_product({4: 1.0}, {4: 1.0}),
        by_product({3: 1.0}, {3: 1.0}),
        sanctions={"leakage": by_product({3: 0.6}, {3: 0.2})[:, None]},
        counter_trade=CHANNEL,
    )
    loss = target_loss(baseline, shocks, LEAKAGE_COUNTER_TRADE)
    assert loss[1] < loss[0], f"less leakage raises the loss: {loss[0]:.1f} -> {loss[1]:.1f}"
    ct_imports = on_targets(baseline, shocks, LEAKAGE_COUNTER_TRADE, "ct_imports")
    assert ct_imports[1] > ct_imports[0] > 0
    loss_off = target_loss(baseline, shocks, LEAKAGE)
    assert loss_off[1] > loss_off[0], "without counter-trade less leakage on exports should cost value added"


# ------------------------------------------------------------------------------------------ means --
@pytest.fixture(scope="module")
def mean_draws(baseline: Baseline) -> MeanDraws:
    """N_MEAN draws with random bans, friendly partners, counter-trade efficiency > 0 but no channel
    capacity, and one import-substitution project in a target region on an import-banned sector that
    fails. Returns the batch and the targets' loss in it."""
    bl = baseline
    rng = np.random.default_rng(301)
    base = draws(bl, N_MEAN, seed=302)
    imp = rng.uniform(0.3, 1.0, (N_MEAN, S)) * (rng.uniform(size=(N_MEAN, S)) < 0.5)
    imp[np.arange(N_MEAN), rng.integers(0, S, N_MEAN)] = rng.uniform(0.5, 1.0, N_MEAN)  # >= 1 banned sector
    exp = rng.uniform(0.3, 1.0, (N_MEAN, S)) * (rng.uniform(size=(N_MEAN, S)) < 0.5)
    region = rng.choice(np.flatnonzero(TARGET), N_MEAN)
    sector = np.array([rng.choice(np.flatnonzero(row > 0)) for row in imp])
    industry = region * S + sector
    base = replace(
        base,
        sanctions=replace(base.sanctions, embargo=embargo(imp, exp)),
        counter_trade=replace(base.counter_trade, capacity=np.zeros(N_MEAN), efficiency=rng.uniform(0.2, 1.0, N_MEAN)),
        projects=replace(
            base.projects,
            industry=industry[:, None],
            capacity=(0.2 * bl.x0[industry])[:, None],
            online=rng.integers(30, 120, (N_MEAN, 1)),
            ramp=rng.integers(0, 60, (N_MEAN, 1)),
            success=np.zeros((N_MEAN, 1), dtype=bool),
            capex=np.full((N_MEAN, 1), 100.0),
            capex_mix=np.full((N_MEAN, 1, S), 1.0 / S),
        ),
    )
    assert np.all(base.sanctions.embargo[:, 0][np.arange(N_MEAN), :, sector][:, COALITION][:, :, region] > 0)
    return base, target_loss(bl, base)


def assert_mean_lower(better: np.ndarray, worse: np.ndarray, what: str) -> None:
    """The mean loss is lower by more than three standard errors of the paired difference."""
    d = better - worse
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() < -3 * se, f"{what}: mean change {d.mean():.2f} (se {se:.2f})"


def test_counter_trade_capacity_lowers_mean_target_loss(baseline: Baseline, mean_draws: MeanDraws) -> None:
    """ct_capacity 0 -> 0.05 of the baseline trade with the friendly partners."""
    base, loss0 = mean_draws
    loss = target_loss(
        baseline, replace(base, counter_trade=replace(base.counter_trade, capacity=np.full(N_MEAN, 0.05)))
    )
    assert_mean_lower(loss, loss0, "counter-trade capacity")


def test_substitutability_lowers_mean_target_loss(baseline: Baseline, mean_draws: MeanDraws) -> None:
    """Each product's substitutability raised part of the way to 1."""
    base, loss0 = mean_draws
    rng = np.random.default_rng(303)
    sub = base.sanctions.substitutability
    loss = target_loss(baseline, with_sanctions(base, substitutability=sub + (1 - sub) * rng.uniform(0, 1, sub.shape)))
    assert_mean_lower(loss, loss0, "substitutability")


def test_successful_project_lowers_mean_target_loss(baseline: Baseline, mean_draws: MeanDraws) -> None:
    """The same import-substitution project succeeding instead of failing (capex is spent either way)."""
    base, loss0 = mean_draws
    loss = target_loss(
        baseline, replace(base, projects=replace(base.projects, success=np.ones((N_MEAN, 1), dtype=bool)))
    )
    assert_mean_lower(loss, loss0, "successful project")
