"""The baseline economy as the core sees it: read-only daily arrays shared by every scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cluster.errors import ShapeError

__all__ = ["DAYS_PER_YEAR", "TECHNOLOGY_THRESHOLD", "Baseline"]

DAYS_PER_YEAR = 365
#: An input counts as "needed" by an industry when its annual use exceeds this share of the industry's
#: *daily* output. The odd mix of units is BoARIO's (``TECHNOLOGY_THRESHOLD`` in its ``model_base``), kept
#: so that the core reproduces it; it amounts to ignoring inputs below ~3e-8 of output.
TECHNOLOGY_THRESHOLD = 1e-5

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Baseline:
    r"""Baseline flows of a multi-regional input-output table, converted to daily flows.

    Industries are ordered region-major: industry ``f = r * S + s``. Regions include external partners.

    Attributes
    ----------
    n_regions, n_sectors
        R and S; there are n = R * S industries and S products (a product is a sector's output).
    z_by_product
        Daily intermediate flows, shape (S, R, n): ``z_by_product[k, ro, j] = Z0[(ro, k), j]``.
    z_links
        The same flows, shape (S, R, R, S), indexed ``[k, rd, ro, s]`` (product, destination region,
        origin region, buying sector) so that per-link contractions are batched matrix products.
    y
        Daily final demand summed over categories, shape (R, S, R): ``y[ro, k, rd]``.
    x0
        Daily gross output, shape (n,).
    tech
        A^C, shape (S, n): input of product k per unit of output of industry j, whatever its origin.
    needed
        Bool (S, n): whether product k constrains industry j (see ``TECHNOLOGY_THRESHOLD``).
    va_coef
        Value added per unit of output, shape (n,) (0 where output is 0).
    domestic
        Bool (R,): regions that cooperate as "domestic" regions (not external partners).
    """

    n_regions: int
    n_sectors: int
    z_by_product: F64
    z_links: F64
    y: F64
    x0: F64
    tech: F64
    needed: NDArray[np.bool_]
    va_coef: F64
    domestic: NDArray[np.bool_]

    @property
    def n(self) -> int:
        """Number of industries."""
        return self.n_regions * self.n_sectors

    @property
    def va0(self) -> F64:
        """Daily baseline value added per industry, shape (n,)."""
        return self.va_coef * self.x0

    @classmethod
    def from_annual(
        cls,
        z: NDArray[np.float64],
        y: NDArray[np.float64],
        n_regions: int,
        n_sectors: int,
        domestic: NDArray[np.bool_] | None = None,
    ) -> Baseline:
        """Build from annual flows.

        Parameters
        ----------
        z
            Annual intermediate flows Z0, shape (n, n), region-major.
        y
            Annual final demand, shape (n, R) or (n, R * C) with C categories per destination region
            (region-major columns, as pymrio stores them).
        n_regions, n_sectors
            R and S with R * S = n.
        domestic
            Bool (R,) marking domestic regions; default: none.
        """
        n = n_regions * n_sectors
        z = np.asarray(z, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if z.shape != (n, n):
            raise ShapeError(f"Z has shape {z.shape}, expected ({n}, {n})")
        if y.ndim != 2 or y.shape[0] != n or y.shape[1] % n_regions:
            raise ShapeError(f"Y has shape {y.shape}, expected ({n}, {n_regions} * categories)")
        if domestic is None:
            domestic = np.zeros(n_regions, dtype=bool)
        domestic = np.asarray(domestic, dtype=bool)
        if domestic.shape != (n_regions,):
            raise ShapeError(f"domestic has shape {domestic.shape}, expected ({n_regions},)")
        r, s = n_regions, n_sectors
        x_annual = z.sum(axis=1) + y.sum(axis=1)
        # BoARIO multiplies by the step factor 1/365 rather than dividing: same here, bit for bit.
        factor = 1 / DAYS_PER_YEAR
        zd = z * factor
        x0 = x_annual * factor
        yd = (y * factor).reshape(n, r, -1).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(x_annual > 0, z / x_annual, 0.0)
            va = x_annual - z.sum(axis=0)
            va_coef = np.where(x_annual > 0, va / x_annual, 0.0)
        tech = a.reshape(r, s, n).sum(axis=0)
        z_c = z.reshape(r, s, n).sum(axis=0)
        needed = z_c > x0[np.newaxis, :] * TECHNOLOGY_THRESHOLD
        z_by_product = np.ascontiguousarray(zd.reshape(r, s, n).transpose(1, 0, 2))
        z_links = np.ascontiguousarray(zd.reshape(r, s, r, s).transpose(1, 2, 0, 3))
        arrays = (z_by_product, z_links, yd, x0, tech, va_coef)
        for arr in arrays:
            arr.flags.writeable = False
        return cls(
            n_regions=r,
            n_sectors=s,
            z_by_product=z_by_product,
            z_links=z_links,
            y=np.ascontiguousarray(yd.reshape(r, s, r)),
            x0=x0,
            tech=tech,
            needed=needed,
            va_coef=va_coef,
            domestic=domestic,
        )
