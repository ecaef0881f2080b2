"""The numpy trade core: a batched ARIO-family sanctions model.

No I/O, no Ray, no clocks, no global state: arrays in, arrays out.
"""

from .baseline import DAYS_PER_YEAR, Baseline
from .metrics import FLOWS, METRICS, Metric
from .shocks import (
    NEVER,
    Adaptation,
    Ario,
    CapacityEvents,
    Cooperation,
    CounterTrade,
    Demand,
    Extensions,
    Prices,
    Projects,
    Sanctions,
    ShockBatch,
    embargo_links,
)
from .simulate import Outcome, simulate

__all__ = [
    "DAYS_PER_YEAR",
    "FLOWS",
    "METRICS",
    "NEVER",
    "Adaptation",
    "Ario",
    "Baseline",
    "CapacityEvents",
    "Cooperation",
    "CounterTrade",
    "Demand",
    "Extensions",
    "Metric",
    "Outcome",
    "Prices",
    "Projects",
    "Sanctions",
    "ShockBatch",
    "embargo_links",
    "simulate",
]
