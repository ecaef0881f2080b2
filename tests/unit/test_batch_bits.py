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
