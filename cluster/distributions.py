"""Distributions of one scalar: what a config number may be, and its inverse CDF for the designs.

``Dist.ppf`` maps uniforms in [0, 1) to values, so Monte Carlo, Latin-hypercube and Sobol designs share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["KINDS", "Dist"]

F64 = NDArray[np.float64]
#: The distribution kinds a config may name (``fixed`` is a plain number).
KINDS = ("uniform", "triangular", "beta", "lognormal", "bernoulli", "categorical")


@dataclass(frozen=True)
class Dist:
    """A distribution of one scalar; ``ppf`` maps uniforms in [0, 1) to values (inverse CDF)."""

    kind: str
    params: tuple[float, ...]
    values: tuple[float, ...] = ()
    clip: tuple[float, float] | None = None  # lognormal draws are clipped to the key's allowed range

    @property
    def uncertain(self) -> bool:
        """False for a fixed value (and for degenerate ranges): it takes no dimension of the design."""
        if self.kind == "fixed":
            return False
        if self.kind in ("uniform", "triangular"):
            return self.params[0] != self.params[-1]
        if self.kind == "bernoulli":
            return 0.0 < self.params[0] < 1.0
        if self.kind == "lognormal":
            return self.params[1] > 0
        if self.kind == "categorical":
            return len(set(self.values)) > 1
        return True

    def fixed_value(self) -> float:
        """The value of a distribution that is not uncertain."""
        return float(self.ppf(np.array([0.5]))[0])

    def ppf(self, u: F64) -> F64:
        """Inverse CDF at ``u``."""
        from scipy import stats

        p = self.params
        if self.kind == "fixed":
            return np.full(u.shape, p[0])
        if self.kind == "uniform":
            return p[0] + u * (p[1] - p[0])  # type: ignore[no-any-return]
        if self.kind == "triangular":
            low, mode, high = p
            if high == low:
                return np.full(u.shape, low)
            return stats.triang(c=(mode - low) / (high - low), loc=low, scale=high - low).ppf(u)  # type: ignore[no-any-return]
        if self.kind == "beta":
            a, b, low, high = p
            return low + (high - low) * stats.beta(a, b).ppf(u)  # type: ignore[no-any-return]
        if self.kind == "lognormal":
            median, sigma = p
            value = median * np.exp(sigma * stats.norm.ppf(u))
            return value if self.clip is None else np.clip(value, *self.clip)  # type: ignore[no-any-return]
        if self.kind == "bernoulli":
            return (u < p[0]).astype(float)
        if self.kind == "categorical":
            cum = np.cumsum(p) / np.sum(p)
            idx = np.minimum(np.searchsorted(cum, u, side="right"), len(self.values) - 1)
            return np.asarray(self.values, dtype=float)[idx]
        raise AssertionError(self.kind)

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take."""
        if self.kind == "fixed":
            return self.params[0], self.params[0]
        if self.kind == "uniform":
            return self.params[0], self.params[1]
        if self.kind == "triangular":
            return self.params[0], self.params[2]
        if self.kind == "beta":
            return self.params[2], self.params[3]
        if self.kind == "lognormal":
            return 0.0, math.inf
        if self.kind == "bernoulli":
            return 0.0, 1.0
        return min(self.values), max(self.values)

    def describe(self) -> str:
        """A short text for listings: ``0.3``, ``uniform(0, 0.3)``, ``categorical[1, 2] weights [1, 1]``."""
        if self.kind == "fixed":
            return f"{self.params[0]:g}"
        if self.kind == "categorical":
            return f"categorical{list(self.values)} weights {list(self.params)}"
        return f"{self.kind}({', '.join(f'{v:g}' for v in self.params)})"
