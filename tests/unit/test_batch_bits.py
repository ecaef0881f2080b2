"""Results are bit-identical whatever the batch size: every shipped config, its tables from one batch of 32 draws
over 120 days against batches of 8 and of 5 (other chunk widths, other companions, other positions in a chunk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster.runs import run_in_memory

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.toml"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_tables_do_not_depend_on_the_batch_size(config: Path) -> None:
    whole = run_in_memory(config, draws=32, days=120, batch_size=32)  # a Sobol design needs a power of 2
    for size in (8, 5):
        part = run_in_memory(config, draws=32, days=120, batch_size=size)
        for name in ("results", "params", "periods", "trade", "trajectories"):
            a, b = getattr(whole, name), getattr(part, name)
            assert (a is None) == (b is None), name
            if a is not None:
                assert a.equals(b), f"{config.name}: table {name} differs between batches of 32 and of {size}"


def test_links_of_the_wrong_shape_are_refused() -> None:
    from cluster.core import ShockBatch, simulate
    from cluster.economy import synthetic
    from cluster.errors import ShapeError

    bl = synthetic(4, 2, seed=0, n_domestic=1).baseline()
    with pytest.raises(ShapeError, match="links must be"):
        simulate(bl, ShockBatch.quiet(bl, 2), 3, links=np.zeros((3, 4), dtype=bool))


def test_a_batch_with_no_target_does_not_depend_on_the_batch_size() -> None:
    """No region sanctioned (capacity events only) with every extension on, the counter-trade channel's included:
    its arrays then have no target row to sum over, and the results of one batch of 24 must be those of three
    batches of 8, bit for bit, and finite. (A kernel that read past the empty axis put garbage into demand,
    differently in every batch.)"""
    from dataclasses import replace

    from cluster.core import Extensions, ShockBatch, simulate
    from cluster.economy import synthetic

    bl = synthetic(6, 4, seed=1, n_domestic=2).baseline()
    rng = np.random.default_rng(5)
    quiet = ShockBatch.quiet(bl, 24)
    events = replace(
        quiet.events,
        industry=rng.integers(0, bl.n, (24, 1)),
        share=rng.uniform(0.1, 0.6, (24, 1)),
        onset=rng.integers(0, 10, (24, 1)),
        duration=rng.integers(5, 30, (24, 1)),
        recovery=rng.integers(10, 90, (24, 1)),
    )
    sh = replace(quiet, events=events)
    whole = simulate(bl, sh, 60, extensions=Extensions())
    parts = [simulate(bl, sh.take(slice(lo, lo + 8)), 60, extensions=Extensions()) for lo in (0, 8, 16)]
    for name, value in whole.metrics.items():
        joined = np.concatenate([p.metrics[name] for p in parts], axis=0)  # (B, R)
        assert np.isfinite(value).all(), name
        assert np.array_equal(value.view(np.uint64), joined.view(np.uint64)), name
