"""Phased sanction packages: K packages per scenario, each with its own dates, embargo and leakage.

On day t the packages in force (a_k = 1 when onset_k <= t < end_k) combine link by link as independent bans:
banned E = 1 - prod_k (1 - a_k E_k), closed C = 1 - prod_k (1 - a_k E_k (1 - lambda_k)), leaked L = E - C
(``docs/model.md``, link availability). These tests run the real core: the combination itself, splitting a
package, a package that starts later or ends, and bit-identity of one-package runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from batches import varied_batch

from cluster.core import NEVER, Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.core.model import Stepper
from cluster.economy import synthetic
from cluster.errors import ShapeError

STEPS = 365
#: Sanctions of the constructed cases: the first package from this day, for good.
ONSET = 10
#: Extensions without counter-trade: there, more export bans never lowered the targets' loss in the direction
#: tests' draws (``tests/unit/test_direction.py``); with it an extra export ban can relieve an import bottleneck.
NO_COUNTER_TRADE = Extensions(counter_trade=False)


@pytest.fixture(scope="module")
def small() -> Baseline:
    return synthetic(6, 4, seed=3, n_domestic=2).baseline()


def packages(
    shocks: ShockBatch, onset: np.ndarray, end: np.ndarray, embargo: np.ndarray, leakage: np.ndarray
) -> ShockBatch:
    """``shocks`` with its packages replaced: onset, end (B, K), embargo (B, K, R, S, R), leakage (B, K, S); every
    package fully divertible."""
    divertible = np.ones(onset.shape)
    sanctions = replace(shocks.sanctions, onset=onset, end=end, embargo=embargo, leakage=leakage, divertible=divertible)
    return replace(shocks, sanctions=sanctions)


def coalition_bans(bl: Baseline, import_ban: np.ndarray, export_ban: np.ndarray) -> np.ndarray:
    """The links one package closes per scenario, (B, R, S, R): the domestic regions are the targets and every
    other region is in the coalition."""
    coalition = np.repeat(~bl.domestic[None], import_ban.shape[0], axis=0)
    return embargo_links(bl.domestic, coalition, import_ban, export_ban)


def assert_metrics_close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], rtol: float) -> None:
    """Every metric of ``a`` within ``rtol`` of its scale (the largest magnitude over the batch) of ``b``'s."""
    for name, ref in b.items():
        scale = np.maximum(np.abs(ref).max(), 1.0)
        assert np.all(np.abs(a[name] - ref) <= rtol * scale), (name, np.abs(a[name] - ref).max() / scale)


def target_loss(bl: Baseline, out_metrics: dict[str, np.ndarray]) -> np.ndarray:
    return out_metrics["va_loss"][:, bl.domestic].sum(axis=1)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------- the combination --
def test_block_shares_are_the_products_of_the_packages_in_force(small: Baseline) -> None:
    """Three overlapping packages with random shares and leakages, in force in a random pattern: the closed,
    leaked and touched shares of every block equal 1 - prod (1 - a E (1 - lambda)), E - C with
    E = 1 - prod (1 - a E), and [any a E > 0], computed here from the inputs."""
    rng = np.random.default_rng(1)
    bl, b, k = small, 8, 3
    r, s = bl.n_regions, bl.n_sectors
    coalition = rng.uniform(size=(b, k, r)) < 0.7
    coalition[:, 0, 3:] = False  # the first package alone leaves some region pairs untouched
    share = rng.uniform(size=(b, k, s)) * (rng.uniform(size=(b, k, s)) < 0.7)
    emb = embargo_links(bl.domestic, coalition, share, share[:, ::-1])
    lam = rng.uniform(0, 1, (b, k, s))
    base = ShockBatch.quiet(bl, b, packages=k)
    sh = replace(
        packages(base, np.zeros((b, k), np.int64), np.full((b, k), NEVER), emb, lam), target=bl.domestic.copy()
    )
    sh.validate(bl)
    st = Stepper(bl, sh, Extensions(), diagnostics=False)
    active = rng.uniform(size=(b, k)) < 0.6
    active[0] = True  # every package in force somewhere and nowhere, to cover both cases
    active[1] = False
    pat = st._pattern(active)
    assert pat is not None
    a = active[:, :, None, None, None]
    banned = 1.0 - np.prod(1.0 - a * emb, axis=1)  # (B, R_o, S, R_d)
    closed = 1.0 - np.prod(1.0 - a * emb * (1.0 - lam[:, :, None, :, None]), axis=1)
    touched = (a * emb > 0).any(axis=1)
    seen = np.zeros((r, r), dtype=bool)
    for i, blk in enumerate(st.blocks):
        sel = np.ix_(np.arange(b), blk.o, np.arange(s), blk.d)
        want = [x[sel].transpose(2, 3, 1, 0) for x in (closed, banned - closed, touched.astype(float))]
        got = [pat.closed[i], pat.leak[i], pat.touched[i]]
        for name, w, g in zip(("closed", "leak", "touched"), want, got, strict=True):
            assert g is not None
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-15, err_msg=name)
        seen[np.ix_(blk.o, blk.d)] = True
    assert np.array_equal(seen, emb.max(axis=(0, 1, 3)) > 0)  # the blocks cover every pair any package touches
    assert st._pattern(np.zeros((b, k), dtype=bool)) is None


def test_overlapping_packages_equal_one_package_of_the_combined_shares(small: Baseline) -> None:
    """Two packages on the same links (import bans 0.5 and 0.6 on one product, leaking 0.3 and 0.1) act as one
    package banning E = 1 - 0.5 x 0.4 = 0.8 with leakage L / E, L = E - (1 - 0.65 x 0.46): same metrics."""
    bl, s = small, small.n_sectors
    one_hot = np.eye(s)[None, 1]
    e1, e2, l1, l2 = 0.5, 0.6, 0.3, 0.1
    e = 1 - (1 - e1) * (1 - e2)
    c = 1 - (1 - e1 * (1 - l1)) * (1 - e2 * (1 - l2))

    def batch(k: int) -> ShockBatch:
        base = replace(ShockBatch.quiet(bl, 1, packages=k), target=bl.domestic.copy())
        return replace(base, sanctions=replace(base.sanctions, leakage_premium=np.full((1, s), 0.2)))

    none = 0 * one_hot
    two = packages(
        batch(2),
        np.full((1, 2), ONSET),
        np.full((1, 2), NEVER),
        np.stack([coalition_bans(bl, e1 * one_hot, none), coalition_bans(bl, e2 * one_hot, none)], axis=1),
        np.stack([l1 * one_hot, l2 * one_hot], axis=1),
    )
    one = packages(
        batch(1),
        np.full((1, 1), ONSET),
        np.full((1, 1), NEVER),
        coalition_bans(bl, e * one_hot, none)[:, None],
        ((e - c) / e * one_hot)[:, None],
    )
    for ext in (Extensions(), Extensions(True, True, False, False, False, False)):
        got, ref = simulate(bl, two, STEPS, extensions=ext), simulate(bl, one, STEPS, extensions=ext)
        assert target_loss(bl, ref.metrics)[0] > 0
        assert ref.metrics["leakage_premium"].sum() > 0
        assert_metrics_close(got.metrics, ref.metrics, 1e-12)


# ------------------------------------------------------------------------------- splitting a package --
def test_splitting_a_package_by_sector_gives_the_same_closure(small: Baseline) -> None:
    """One package, or two packages with its dates and leakage, each banning a disjoint part of its sectors with
    its own coalition (so that each touches region pairs the other does not): the same metrics, every extension
    on, varied draws."""
    bl, b, s = small, 16, small.n_sectors
    rng = np.random.default_rng(21)
    sh = varied_batch(bl, b, seed=20)
    imp = rng.uniform(0.2, 1.0, (b, s)) * (rng.uniform(size=(b, s)) < 0.6)
    exp = rng.uniform(0.2, 1.0, (b, s)) * (rng.uniform(size=(b, s)) < 0.6)
    first = rng.uniform(size=(b, s)) < 0.5  # the sectors the first package takes, the rest go to the second
    partners = np.flatnonzero(~bl.domestic)
    coalition1 = np.repeat(np.isin(np.arange(bl.n_regions), partners[:2])[None], b, axis=0)
    coalition2 = np.repeat(np.isin(np.arange(bl.n_regions), partners[1:])[None], b, axis=0)
    part1 = embargo_links(bl.domestic, coalition1, imp * first, exp * first)
    part2 = embargo_links(bl.domestic, coalition2, imp * ~first, exp * ~first)
    whole = part1 + part2  # the sectors are disjoint: no link is banned by both
    assert np.all(whole <= 1.0)
    lam, window = sh.sanctions.leakage, (sh.sanctions.onset, sh.sanctions.end)
    one = packages(sh, *window, whole[:, None], lam)
    two = packages(sh, *(np.repeat(w, 2, axis=1) for w in window), np.stack([part1, part2], 1), np.repeat(lam, 2, 1))
    a = simulate(bl, two, STEPS, diagnostics=True)
    ref = simulate(bl, one, STEPS, diagnostics=True)
    assert np.all(target_loss(bl, ref.metrics) > 0)
    assert_metrics_close(a.metrics, ref.metrics, 1e-12)
    assert np.array_equal(a.onset, ref.onset)


# ---------------------------------------------------------------------------------- dates of packages --
def _phased(bl: Baseline, b: int, onset2: int, end2: int) -> tuple[ShockBatch, ShockBatch]:
    """Random first packages (import and export bans, from ``ONSET`` for good) and, beside them, second
    packages of export bans on other sectors in force from ``onset2`` to ``end2``. Returns the batch with the
    first packages alone (K = 1) and with both (K = 2)."""
    rng = np.random.default_rng(31)
    s = bl.n_sectors
    mine = rng.uniform(size=(b, s)) < 0.5
    mine[:, 0], mine[:, -1] = True, False  # each package bans at least one sector
    imp = rng.uniform(0.3, 1.0, (b, s)) * mine
    exp = rng.uniform(0.3, 1.0, (b, s)) * mine
    exp2 = rng.uniform(0.5, 1.0, (b, s)) * ~mine
    lam = rng.uniform(0, 0.3, (b, 2, s))
    base = replace(ShockBatch.quiet(bl, b), target=bl.domestic.copy())
    base = replace(
        base,
        sanctions=replace(
            base.sanctions,
            leakage_premium=rng.uniform(0, 0.3, (b, s)),
            substitutability=rng.uniform(0, 1, (b, s)),
            substitution_tau=rng.uniform(30, 200, (b, s)),
        ),
    )
    first = coalition_bans(bl, imp, exp)
    alone = packages(base, np.full((b, 1), ONSET), np.full((b, 1), NEVER), first[:, None], lam[:, :1])
    both = packages(
        base,
        np.array([[ONSET, onset2]] * b),
        np.array([[NEVER, end2]] * b),
        np.stack([first, coalition_bans(bl, 0 * exp2, exp2)], axis=1),
        lam,
    )
    return alone, both


def test_a_later_package_changes_nothing_before_its_onset(small: Baseline) -> None:
    """Until the second package's onset the runs with and without it are bit-identical (metrics over those
    days, and the daily production path); from it on the targets lose more value added."""
    onset2, b = 120, 8
    alone, both = _phased(small, b, onset2, NEVER)
    short = [simulate(small, sh, onset2, extensions=NO_COUNTER_TRADE) for sh in (alone, both)]
    for name, value in short[0].metrics.items():
        assert np.array_equal(short[1].metrics[name], value, equal_nan=True), name
    full = [simulate(small, sh, STEPS, extensions=NO_COUNTER_TRADE, trajectories="daily") for sh in (alone, both)]
    p_alone, p_both = (out.production_path for out in full)
    assert p_alone is not None
    assert p_both is not None
    assert np.array_equal(p_alone[:, :onset2], p_both[:, :onset2])
    assert not np.array_equal(p_alone[:, onset2 + 1], p_both[:, onset2 + 1])
    loss_alone, loss_both = (target_loss(small, out.metrics) for out in full)
    assert np.all(loss_both > loss_alone), (loss_alone, loss_both)


def test_a_package_that_ends_lets_the_links_reopen(small: Baseline) -> None:
    """A second package in force on days 60 .. 149 only, against the same package for good: identical paths
    until it ends, a smaller loss after, and a production path that returns toward the first package's alone."""
    onset2, end2, b = 60, 150, 8
    alone, ending = _phased(small, b, onset2, end2)
    _, forever = _phased(small, b, onset2, NEVER)
    runs = [
        simulate(small, sh, STEPS, extensions=NO_COUNTER_TRADE, trajectories="daily") for sh in (alone, ending, forever)
    ]
    p_alone, p_ending, p_forever = (out.production_path for out in runs)  # (B, T, R)
    assert p_alone is not None
    assert p_ending is not None
    assert p_forever is not None
    assert np.array_equal(p_ending[:, :end2], p_forever[:, :end2])
    # Loss after the end (days end2 ..), on the targets: smaller once the links reopen.
    va_ending, va_forever = runs[1].va_path, runs[2].va_path
    assert va_ending is not None
    assert va_forever is not None
    after_ending, after_forever = (
        (runs[0].va0 - v[:, end2:])[:, :, small.domestic].sum(axis=(1, 2)) for v in (va_ending, va_forever)
    )
    assert np.all(after_ending < after_forever), (after_ending, after_forever)
    # Production returns toward the first package's path: at the end of the horizon it is less than half as far
    # from it as when the second package ends, and than with that package for good (0.03 .. 0.22 of either).
    gap_end = np.abs(p_ending[:, end2 - 1] - p_alone[:, end2 - 1]).sum(axis=1)
    gap_last = np.abs(p_ending[:, -1] - p_alone[:, -1]).sum(axis=1)
    gap_forever = np.abs(p_forever[:, -1] - p_alone[:, -1]).sum(axis=1)
    assert np.all(gap_last < 0.5 * gap_end), (gap_last, gap_end)
    assert np.all(gap_last < 0.5 * gap_forever), (gap_last, gap_forever)


# ------------------------------------------------------------------------------------ one package --
@pytest.mark.parametrize(
    "extensions", [Extensions(), Extensions(cooperation=False), Extensions(True, True, False, False, False, False)]
)
def test_an_empty_second_package_is_bit_identical_to_one_package(small: Baseline, extensions: Extensions) -> None:
    """The varied batch with its one package (K = 1), and with a second package that closes nothing, in force
    on its own dates (within the first package's first day and the horizon): the same bits everywhere."""
    b = 24
    rng = np.random.default_rng(41)
    sh = varied_batch(small, b, seed=40)
    on1, end1 = sh.sanctions.onset, sh.sanctions.end
    on2 = on1 + rng.integers(0, 200, (b, 1))  # not before the first onset: the ramps count from the first one
    end2 = np.where(rng.uniform(size=(b, 1)) < 0.5, NEVER, on2 + rng.integers(0, 200, (b, 1)))
    two = packages(
        sh,
        np.concatenate([on1, on2], axis=1),
        np.concatenate([end1, end2], axis=1),
        np.concatenate([sh.sanctions.embargo, np.zeros_like(sh.sanctions.embargo)], axis=1),
        np.concatenate([sh.sanctions.leakage, rng.uniform(0, 1, sh.sanctions.leakage.shape)], axis=1),
    )
    a = simulate(small, two, 300, extensions=extensions, trajectories="daily", diagnostics=True)
    ref = simulate(small, sh, 300, extensions=extensions, trajectories="daily", diagnostics=True)
    for name, value in ref.metrics.items():
        assert np.array_equal(a.metrics[name], value, equal_nan=True), name
    for field in ("production_path", "va_path", "balance_residual", "min_stock", "onset", "recovery_day"):
        assert np.array_equal(getattr(a, field), getattr(ref, field)), field


def test_onset_is_the_first_package_that_closes_anything(small: Baseline) -> None:
    """``Outcome.onset``: the earliest onset of a package with a nonzero embargo (an empty package earlier
    does not count); with no embargo at all, day 0."""
    s = small.n_sectors
    ban = coalition_bans(small, np.ones((1, s)), np.zeros((1, s)))
    emb = np.stack([np.zeros_like(ban), ban, ban], axis=1)
    sh = packages(
        replace(ShockBatch.quiet(small, 1, packages=3), target=small.domestic.copy()),
        np.array([[5, 30, 20]]),
        np.array([[NEVER, NEVER, 25]]),
        emb,
        np.zeros((1, 3, s)),
    )
    assert simulate(small, sh, 40).onset.tolist() == [20]
    quiet = replace(sh, sanctions=replace(sh.sanctions, embargo=np.zeros_like(emb)))
    assert simulate(small, quiet, 40).onset.tolist() == [0]


def test_package_shapes_and_windows_are_validated(small: Baseline) -> None:
    """Every package field carries the axis K; ``end`` >= ``onset`` package by package."""
    sh = ShockBatch.quiet(small, 2, packages=3)
    r, s = small.n_regions, small.n_sectors
    assert sh.sanctions.onset.shape == (2, 3)
    assert sh.sanctions.end.shape == (2, 3)
    assert sh.sanctions.embargo.shape == (2, 3, r, s, r)
    assert sh.sanctions.leakage.shape == (2, 3, s)
    assert sh.sanctions.leakage_premium.shape == (2, s)
    sh.validate(small)
    with pytest.raises(ShapeError, match=r"sanctions\.leakage"):
        replace(sh, sanctions=replace(sh.sanctions, leakage=np.zeros((2, s)))).validate(small)
    with pytest.raises(ShapeError, match=r"sanctions\.embargo"):
        replace(sh, sanctions=replace(sh.sanctions, embargo=np.zeros((2, 2, r, s, r)))).validate(small)
    end = sh.sanctions.end.copy()
    end[1, 2] = -1
    with pytest.raises(ShapeError, match=r"sanctions\.end"):
        replace(sh, sanctions=replace(sh.sanctions, end=end)).validate(small)
    with pytest.raises(ShapeError, match="package"):
        ShockBatch.quiet(small, 2, packages=0)
