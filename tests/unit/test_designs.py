"""The designs by scenario: Sobol' rows bit-identical to scipy's sample, a true Latin hypercube row by row, and
a batch's cost independent of the number of draws."""

from __future__ import annotations

import time
import tomllib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kstest, qmc

from cluster.config import Config, ConfigError, from_dict, load, uncertain_count
from cluster.plan import Plan, describe_design, dimension, latin_hypercube, saltelli, saltelli_draws, sobol

EU = Path(__file__).resolve().parents[2] / "configs" / "eu_embargo.toml"


def _id_sets(n: int) -> list[np.ndarray]:
    """All ids in order, shuffled, a non-contiguous unsorted subset with repeats, the last one alone."""
    rng = np.random.default_rng(n)
    every = np.arange(n, dtype=np.int64)
    some = rng.choice(n, size=max(1, n // 3), replace=True).astype(np.int64)
    return [every, rng.permutation(every), some, np.array([n - 1], dtype=np.int64)]


def _plan(design: str, n: int) -> Plan:
    plan = Plan.from_config(load(EU, draws=8))
    return Plan(**{**plan.__dict__, "design": design, "n_scenarios": n})


# -- Sobol' --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 20220224])
@pytest.mark.parametrize("d", [1, 5, 67])
def test_sobol_rows_are_scipys_sample(seed: int, d: int) -> None:
    for m in (1, 2, 5, 9, 12):
        n = 2**m
        full = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random_base2(m)
        for ids in _id_sets(n):
            assert np.array_equal(sobol(seed, d, ids), full[ids]), (seed, d, n)


def test_sobol_plan_uniforms_are_scipys_sample() -> None:
    plan = _plan("sobol", 256)
    d = len(plan.uncertain)
    full = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(plan.seed)).random_base2(8)
    ids = np.array([200, 3, 77, 78, 0, 255], dtype=np.int64)
    assert np.array_equal(plan.uniforms(ids), full[ids])
    assert np.array_equal(plan.uniforms(np.arange(256)), full)


# -- Latin hypercube -----------------------------------------------------------------------------------------


def _assert_latin(u: np.ndarray, n: int) -> None:
    assert u.shape[0] == n
    assert ((u >= 0.0) & (u < 1.0)).all()
    strata = np.floor(u * n).astype(np.int64)
    for j in range(u.shape[1]):  # exactly one point in each of the n strata of every dimension
        assert np.array_equal(np.sort(strata[:, j]), np.arange(n)), (n, j)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 64, 100, 1000, 1025, 2**16 + 1])
def test_lhs_is_a_latin_hypercube(n: int) -> None:
    d = 67 if n <= 1025 else 3
    for seed in (0, 20220224):
        _assert_latin(latin_hypercube(seed, n, d, np.arange(n, dtype=np.int64)), n)


@pytest.mark.parametrize("n", [1, 5, 100, 1000])
def test_lhs_rows_do_not_depend_on_batching(n: int) -> None:
    whole = latin_hypercube(3, n, 6, np.arange(n, dtype=np.int64))
    for ids in _id_sets(n):
        assert np.array_equal(latin_hypercube(3, n, 6, ids), whole[ids])
    cut = np.array_split(np.arange(n, dtype=np.int64), min(n, 7))[::-1]  # batches, last first
    assert np.array_equal(np.concatenate([latin_hypercube(3, n, 6, ids) for ids in cut]), whole[np.concatenate(cut)])


def test_lhs_plan_uniforms_do_not_depend_on_batching() -> None:
    plan = _plan("latin_hypercube", 500)
    whole = plan.uniforms(np.arange(500, dtype=np.int64))
    _assert_latin(whole, 500)
    ids = np.random.default_rng(1).permutation(500)[:123]
    assert np.array_equal(plan.uniforms(ids), whole[ids])
    assert np.array_equal(plan.draw(ids), plan.draw(np.arange(500, dtype=np.int64))[ids])


def test_lhs_seeds_and_dimensions_differ() -> None:
    n = 200
    a = latin_hypercube(1, n, 4, np.arange(n, dtype=np.int64))
    b = latin_hypercube(2, n, 4, np.arange(n, dtype=np.int64))
    strata_a, strata_b = np.floor(a * n), np.floor(b * n)
    assert not np.array_equal(strata_a, strata_b)
    assert (strata_a != strata_b).mean() > 0.9
    for j in range(4):  # the dimensions are permuted differently
        for k in range(j):
            assert not np.array_equal(strata_a[:, j], strata_a[:, k])


def test_lhs_columns_are_uncorrelated() -> None:
    n = 1000
    idx = np.arange(n, dtype=np.int64)
    for seed in (0, 1, 20220224):
        u = latin_hypercube(seed, n, 5, idx)
        r = np.corrcoef(u.T) - np.eye(5)
        assert np.abs(r).max() < 0.1
        # nor with the scenario index (the permutations scramble consecutive ids)
        assert max(abs(np.corrcoef(idx, u[:, j])[0, 1]) for j in range(5)) < 0.1
    wide = np.abs(np.corrcoef(latin_hypercube(7, n, 67, idx).T) - np.eye(67))
    assert wide.mean() < 0.03  # independent columns: E|r| = 0.8 / sqrt(n) = 0.025


def test_lhs_positions_within_strata_are_uniform() -> None:
    n = 1000
    u = latin_hypercube(5, n, 20, np.arange(n, dtype=np.int64))
    assert kstest((u * n % 1.0).ravel(), "uniform").pvalue > 1e-3


def test_ids_out_of_range_are_refused() -> None:
    plan = _plan("latin_hypercube", 10)
    for bad in ([10], [-1], [0, 11]):
        with pytest.raises(ValueError, match="scenario ids"):
            plan.uniforms(np.array(bad, dtype=np.int64))
    assert plan.uniforms(np.array([], dtype=np.int64)).shape == (0, len(plan.uncertain))


# -- cost ----------------------------------------------------------------------------------------------------


def _peak(design: str, n: int, ids: np.ndarray) -> int:
    plan = _plan(design, n)
    plan.uniforms(ids[:1])  # keys and engines cached: what is left is the batch's own cost
    tracemalloc.start()
    try:
        plan.uniforms(ids)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("design", ["latin_hypercube", "sobol"])
def test_batch_cost_is_flat_in_draws(design: str) -> None:
    small, large = 2**10, 2**24 if design == "sobol" else 10**7
    rows = np.arange(256, dtype=np.int64)
    peak_small = _peak(design, small, rows + small - 256)
    peak_large = _peak(design, large, rows + large // 2)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
    assert peak_large < 2_000_000


def test_a_large_batch_is_fast() -> None:
    ids = np.arange(5_000_000, 5_010_000, dtype=np.int64)
    latin_hypercube(11, 10**7, 67, ids[:1])
    sobol(11, 67, ids[:1])
    start = time.perf_counter()
    latin_hypercube(11, 10**7, 67, ids)
    sobol(11, 67, ids)
    assert time.perf_counter() - start < 1.0


# -- Saltelli ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 5, 20220224])
@pytest.mark.parametrize("d", [1, 3, 7])
def test_saltelli_rows_are_salibs_sample(seed: int, d: int) -> None:
    from SALib.sample import sobol as salib_sobol

    problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}
    for n_base in (1, 4, 64):
        full = salib_sobol.sample(problem, n_base, calc_second_order=False, seed=np.random.default_rng(seed))
        assert full.shape == (saltelli_draws(d, n_base), d)
        for ids in _id_sets(saltelli_draws(d, n_base)):
            assert np.array_equal(saltelli(seed, d, ids), full[ids]), (seed, d, n_base)


def test_saltelli_plan_uniforms_are_salibs_sample() -> None:
    from SALib.sample import sobol as salib_sobol

    plan = _plan("saltelli", 8)
    d = len(plan.uncertain)
    n = saltelli_draws(d, 8)
    plan = Plan(**{**plan.__dict__, "n_scenarios": n})
    problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}
    full = salib_sobol.sample(problem, 8, calc_second_order=False, seed=np.random.default_rng(plan.seed))
    assert np.array_equal(plan.uniforms(np.arange(n)), full)
    ids = np.array([n - 1, 0, d + 1, 3], dtype=np.int64)
    assert np.array_equal(plan.uniforms(ids), full[ids])


def test_saltelli_batch_cost_is_flat_in_draws() -> None:
    rows = np.arange(256, dtype=np.int64)
    d = len(_plan("saltelli", 8).uncertain)
    small, large = saltelli_draws(d, 2**4), saltelli_draws(d, 2**20)
    peak_small = _peak("saltelli", small, rows + small - 256)
    peak_large = _peak("saltelli", large, rows + large // 2)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
    start = time.perf_counter()
    saltelli(11, 67, rows + saltelli_draws(67, 2**20) // 2)
    assert time.perf_counter() - start < 1.0


def _saltelli_config(draws: int) -> Config:
    raw = tomllib.loads(EU.read_text())
    raw["run"]["design"] = "saltelli"
    return from_dict(raw, source=str(EU), base=EU.parent, name="eu", draws=draws)


def test_saltelli_draws_must_be_n_times_d_plus_2() -> None:
    d = dimension(load(EU, draws=8))
    good = _saltelli_config(saltelli_draws(d, 16))
    assert describe_design(good) == [
        f"saltelli: 16 base points x ({d}+2) = {16 * (d + 2):,} draws (D = {d} uncertain parameters; first-order "
        "and total Sobol' indices)"
    ]
    assert describe_design(load(EU, draws=8)) == []
    for draws, hint in [
        (16 * (d + 2) + 1, f"use {16 * (d + 2)} (N = 16) or {32 * (d + 2)} (N = 32)"),
        (12 * (d + 2), f"use {8 * (d + 2)} (N = 8) or {16 * (d + 2)} (N = 16)"),
        (d, f"use {d + 2} (N = 1)"),
    ]:
        with pytest.raises(ConfigError, match=r"\[run.draws\]") as err:
            _saltelli_config(draws)
        message = str(err.value)
        assert "\n" not in message
        assert message.endswith(hint), message
        assert f"D = {d} uncertain parameters" in message


@pytest.mark.parametrize("path", sorted((EU.parent).glob("*.toml")), ids=lambda p: p.stem)
def test_config_counts_the_dimension_the_plan_draws(path: Path) -> None:
    config = load(path, draws=8)
    assert uncertain_count(config) == dimension(config) == len(Plan.from_config(config).uncertain)
