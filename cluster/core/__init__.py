"""The numpy trade core: a batched ARIO-family sanctions model.

No I/O, no Ray, no clocks, no global state: arrays in, arrays out.
"""

from .baseline import DAYS_PER_YEAR, Baseline
from .shocks import NEVER, Ario, Extensions, ShockBatch, embargo_links
from .simulate import METRICS, Outcome, simulate

__all__ = [
    "DAYS_PER_YEAR",
    "METRICS",
    "NEVER",
    "Ario",
    "Baseline",
    "Extensions",
    "Outcome",
    "ShockBatch",
    "embargo_links",
    "simulate",
]
