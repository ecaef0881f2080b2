"""The varied batch of the unit tests: every shock lever drawn at random, with the draw ranges as keywords.

Test modules import it as ``from batches import varied_batch`` (pytest puts the test folder on ``sys.path``).
The draws always come in the same order from one generator, so a keyword that fixes a value (a float instead
of a range) skips that draw and leaves the others in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from cluster.core import NEVER, Baseline, ShockBatch, embargo_links

#: The narrower draws of ``test_demand`` and ``test_prices_trade``: partial bans of 30-100% of each product,
#: earlier onsets, fewer and earlier ends, at least 10% leakage, a counter-trade channel that always works, and
#: projects online within 150 days.
NARROW: dict[str, Any] = {
    "bans": (0.3, 1.0),
    "onset": 30,
    "ending": 0.3,
    "end": (100, 180),
    "leakage": (0.1, 0.5),
    "capacity": (0.01, 0.05),
    "efficiency": (0.2, 1.0),
    "online": (50, 150),
}


def _draw(rng: np.random.Generator, value: float | tuple[float, float], size: Any) -> np.ndarray:
    """``value`` everywhere when a number, else uniform draws in the range."""
    if isinstance(value, tuple):
        return rng.uniform(value[0], value[1], size)
    return np.full(size, value)


def varied_batch(
    bl: Baseline,
    b: int,
    seed: int,
    *,
    target: np.ndarray | None = None,
    bans: tuple[float, float] | None = None,
    onset: int = 40,
    ending: float = 0.5,
    end: tuple[int, int] = (100, 300),
    leakage: tuple[float, float] = (0.0, 0.4),
    premium: float | tuple[float, float] = (0.0, 0.5),
    capacity: tuple[float, float] = (0.0, 0.05),
    efficiency: tuple[float, float] = (0.0, 1.0),
    discount: float | tuple[float, float] = (0.0, 0.3),
    online: tuple[int, int] = (50, 300),
    prices: bool = False,
    price_tau: bool = True,
    demand: bool = False,
) -> ShockBatch:
    """b scenarios of one sanction package each, drawn from ``np.random.default_rng(seed)``.

    The targets are ``target`` (default: the domestic regions); each other region is in the coalition with
    probability 0.6, and counter-trade goes to every partner neither target nor in the coalition. Drawn: the
    import and export bans (per product, all or nothing with probability 1/2 when ``bans`` is None, else a share
    in the range ``bans``), the onset (before day ``onset``), an end in the range ``end`` for a share ``ending``
    of the scenarios, the leakage, premium, substitution, cooperation, counter-trade (capacity, efficiency,
    discount, lag), one capacity event and one project (online in the range ``online``). ``premium`` and
    ``discount`` are ranges or fixed values. With ``prices``, world prices (level, onset, the decay ``tau`` when
    ``price_tau``, export discount); with ``demand``, two final-demand shocks on some regions; else those quiet.
    """
    rng = np.random.default_rng(seed)
    r, s = bl.n_regions, bl.n_sectors
    target = bl.domestic.copy() if target is None else target
    coalition = (rng.uniform(size=(b, r)) < 0.6) & ~target
    base = ShockBatch.quiet(bl, b, demand=2) if demand else ShockBatch.quiet(bl, b)
    if bans is None:
        imports, exports = rng.uniform(size=(b, s)) < 0.5, rng.uniform(size=(b, s)) < 0.5
    else:
        imports, exports = rng.uniform(bans[0], bans[1], (b, s)), rng.uniform(bans[0], bans[1], (b, s))
    sh = replace(
        base,
        target=target,
        sanctions=replace(
            base.sanctions,
            embargo=embargo_links(target, coalition, imports, exports)[:, None],
            onset=rng.integers(0, onset, b)[:, None],
            end=np.where(rng.uniform(size=b) < ending, rng.integers(end[0], end[1], b), NEVER)[:, None],
            leakage=rng.uniform(leakage[0], leakage[1], (b, 1, s)),
            leakage_premium=_draw(rng, premium, (b, s)),
            substitutability=rng.uniform(0, 1, (b, s)),
            substitution_tau=rng.uniform(20, 200, (b, s)),
        ),
        cooperation=replace(base.cooperation, weight=rng.uniform(1, 3, b), speedup=rng.uniform(1, 3, b)),
        counter_trade=replace(
            base.counter_trade,
            friendly=~coalition & ~target,
            capacity=rng.uniform(capacity[0], capacity[1], b),
            efficiency=rng.uniform(efficiency[0], efficiency[1], b),
            discount=_draw(rng, discount, b),
            lag=rng.integers(0, 40, b),
        ),
        events=replace(
            base.events,
            industry=rng.integers(0, bl.n, (b, 1)),
            share=rng.uniform(0, 0.5, (b, 1)),
            onset=rng.integers(1, 50, (b, 1)),
            duration=rng.integers(1, 30, (b, 1)),
            recovery=rng.integers(1, 200, (b, 1)),
        ),
        projects=replace(
            base.projects,
            industry=rng.integers(0, bl.n, (b, 1)),
            capacity=rng.uniform(0, 1, (b, 1)) * bl.x0.mean(),
            online=rng.integers(online[0], online[1], (b, 1)),
            ramp=rng.integers(1, 90, (b, 1)),
            success=rng.uniform(size=(b, 1)) < 0.7,
            capex=rng.uniform(0, 100, (b, 1)),
            signed=rng.integers(0, online[0], (b, 1)),
            capex_mix=np.full((b, 1, s), 1.0 / s),
        ),
    )
    if prices:
        level = rng.uniform(-0.5, 1.0, (b, s)) * (rng.uniform(size=(b, s)) < 0.5)
        price_onset = rng.integers(0, 100, b)
        tau = rng.uniform(30, 300, b) if price_tau else sh.prices.tau
        sh = replace(
            sh,
            prices=replace(
                sh.prices, level=level, onset=price_onset, tau=tau, export_discount=rng.uniform(0, 0.3, (b, s))
            ),
        )
    if demand:
        change = rng.uniform(-0.4, 0.4, (b, 2, r, s)) * (rng.uniform(size=(b, 2, r, 1)) < 0.3)
        demand_onset = rng.integers(0, 150, (b, 2))
        demand_end = np.where(rng.uniform(size=(b, 2)) < 0.5, rng.integers(150, 300, (b, 2)), NEVER)
        sh = replace(
            sh,
            demand=replace(
                sh.demand, change=change, onset=demand_onset, end=demand_end, ramp=rng.integers(0, 60, (b, 2))
            ),
        )
    return sh
