"""Every lever of the shipped replay (``configs/replay_2022.toml``) helps the domestic bloc, on average.

The replay runs the 2022-23 sanctions on the embedded ``ru-by`` economy over 2022-25 under five policies on the same
draws (common random numbers): the status quo, counter-trade, the Belarusian import-substitution projects,
cooperation between the regions, and all three together. For each policy, the paired difference of the domestic
bloc's (Russia's and Belarus's) loss of real value added over the horizon against the status quo must be a gain
by more than two standard errors. ``scripts/replay_check.py`` prints the same effects at 256 draws
(``docs/validation.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster.analysis import loss_by_policy
from cluster.runs import run_in_memory

ROOT = Path(__file__).resolve().parents[2]
DRAWS = 32  # a power of 2: the replay draws a Sobol design


@pytest.fixture(scope="module")
def bloc_loss() -> dict[str, np.ndarray]:
    """Per policy, the domestic bloc's value-added loss over the horizon, one value per draw (by scenario)."""
    run = run_in_memory(ROOT / "configs" / "replay_2022.toml", draws=DRAWS, executor="serial")
    return loss_by_policy(run.periods, ("RU", "BY"))


@pytest.mark.parametrize("policy", ["counter_trade", "import_substitution", "cooperation", "replay"])
def test_lever_lowers_the_domestic_bloc_loss(bloc_loss: dict[str, np.ndarray], policy: str) -> None:
    """Mean paired effect < -2 standard errors (a gain), on the same draws as the status quo."""
    base = bloc_loss["status_quo"]
    diff = bloc_loss[policy] - base
    assert diff.size == DRAWS
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() < -2.0 * se, f"{policy}: mean effect {diff.mean():+.3f} (se {se:.3f}), USD bn over 2022-25"
