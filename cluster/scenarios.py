"""Scenario draws: per-scenario seeds by index, and the smoke design used by ``shock simulate``.

Scenario ``i`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(i,))``, so its parameters
never depend on batch size, worker count, retries or order.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from cluster.core import NEVER, Ario, Baseline, ShockBatch, embargo_links
from cluster.economy import Economy

__all__ = ["rng_for", "smoke_batch"]


def rng_for(seed: int, scenario_id: int) -> np.random.Generator:
    """The generator of one scenario: a pure function of the run seed and the scenario id."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(scenario_id),)))


def smoke_batch(economy: Economy, baseline: Baseline, ids: NDArray[np.int64], seed: int) -> ShockBatch:
    """A stylised sanctions package drawn per scenario, for the ``simulate`` smoke command.

    Targets are the economy's domestic regions (or its first region if none is tagged). The coalition is
    the economy's default coalition (its tags) when it has one, else each other region with probability
    0.6; friendly partners are the tagged ones, else every other non-coalition region. Each sector is
    banned (imports and exports) with probability 0.5; leakage ~ U(0, 0.3) at a premium ~ U(0.1, 0.4);
    substitutability ~ Beta(2, 2) ramping over ~ U(60, 360) days; onset on day 30, for good. Counter-trade up
    to 2% of bilateral trade with friendly partners; cooperation weight ~ U(1, 3).
    """
    r, s = len(economy.regions), len(economy.sectors)
    b = len(ids)
    target = economy.domestic.copy()
    if not target.any():
        target[0] = True
    coalition = np.zeros((b, r), dtype=bool)
    bans = np.zeros((b, s))
    leak = np.zeros((b, s))
    prem = np.zeros((b, s))
    sub = np.zeros((b, s))
    tau = np.zeros((b, s))
    gamma = np.zeros(b)
    eff = np.zeros(b)
    for row, i in enumerate(ids):
        g = rng_for(seed, int(i))
        joins = g.uniform(size=r) < 0.6
        coalition[row] = (economy.coalition if economy.coalition.any() else joins) & ~target
        bans[row] = g.uniform(size=s) < 0.5
        leak[row] = g.uniform(0.0, 0.3, size=s)
        prem[row] = g.uniform(0.1, 0.4, size=s)
        sub[row] = g.beta(2.0, 2.0, size=s)
        tau[row] = g.uniform(60.0, 360.0, size=s)
        gamma[row] = g.uniform(1.0, 3.0)
        eff[row] = g.uniform(0.2, 0.8)
    friendly = ~coalition & ~target[None, :]
    if economy.friendly.any():
        friendly &= economy.friendly[None, :]
    base = ShockBatch.quiet(baseline, b)
    return replace(
        base,
        target=target,
        embargo=embargo_links(target, coalition, bans, bans),
        sanction_onset=np.full(b, 30, dtype=np.int64),
        sanction_end=np.full(b, NEVER, dtype=np.int64),
        leakage=leak,
        leakage_premium=prem,
        substitutability=sub,
        substitution_tau=tau,
        coop_weight=gamma,
        coop_speedup=np.full(b, 2.0),
        friendly=friendly,
        ct_capacity=np.full(b, 0.02),
        ct_efficiency=eff,
        ct_discount=np.full(b, 0.15),
        ct_lag=np.full(b, 30, dtype=np.int64),
        ario=Ario.default(b, s),
    )
