"""The gravity prior (step 4): effective distances between regions and a first guess of every flow."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.table import fval, val

if TYPE_CHECKING:
    from cluster.calibration.targets import Targets

__all__ = ["PRUNE", "distances", "prior_flows"]

F64 = NDArray[np.float64]

#: Prior links carrying less than this share of their supplier's output are dropped (zero in the table):
#: under USD 1 per USD 10 million of output; the balancing then works on the remaining links.
PRUNE = 1e-7


def _haversine(p: F64, q: F64) -> F64:
    """Great-circle distances (km), shape (m, k), between point lists p (m, 2) and q (k, 2) of (lat, lon) degrees."""
    lat1, lon1 = np.radians(p[:, 0])[:, None], np.radians(p[:, 1])[:, None]
    lat2, lon2 = np.radians(q[:, 0])[None, :], np.radians(q[:, 1])[None, :]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    d: F64 = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return d


def distances(regions: list[dict[str, Any]], internal_factor: float) -> F64:
    """Effective distances (km) between the table's regions.

    Parameters
    ----------
    regions
        The table's ``[[regions]]``, each with ``area_km2`` and ``points`` (a flat list of lat, lon, weight).
    internal_factor
        Within a region the distance is ``internal_factor * sqrt(area / pi)``.

    Returns
    -------
    (R, R) symmetric array: between two regions the weighted harmonic mean of the distances between their
    member points (Head & Mayer 2002 with theta = -1), never less than either region's internal distance;
    the internal distances on the diagonal.
    """
    r = len(regions)
    internal = np.array([internal_factor * math.sqrt(fval(g["area_km2"]) / math.pi) for g in regions])
    pts = [np.array(val(g["points"]), dtype=float).reshape(-1, 3) for g in regions]
    d = np.diag(internal)
    for i in range(r):
        for j in range(i + 1, r):
            w = pts[i][:, 2][:, None] * pts[j][:, 2][None, :]
            eff = w.sum() / (w / _haversine(pts[i][:, :2], pts[j][:, :2])).sum()
            d[i, j] = d[j, i] = max(eff, internal[i], internal[j])
    return d


def prior_flows(t: Targets, table: dict[str, Any]) -> F64:
    """Step 4: the prior of every flow.

    Supplier output x buyer's need x distance^-elasticity, divided by a border factor across national borders
    and multiplied by an own-region factor for sub-national regions; links under ``PRUNE`` of their supplier's
    output are set to zero.

    Parameters
    ----------
    t
        The targets (R regions, S sectors, n = R * S industries).
    table
        The calibration table (its ``[prior]`` factors).

    Returns
    -------
    (n, n + R) array [Z | Y]: intermediate flows to the n industries, then final demand of the R regions.
    """
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    pr = table["prior"]
    border = np.where(t.goods, fval(pr["border_goods"]), fval(pr["border_nongoods"]))  # (S,)
    home = np.where(t.goods, fval(pr["home_goods"]), fval(pr["home_nongoods"]))  # (S,)
    country = np.array(t.country)
    cross = country[:, None] != country[None, :]  # (R, R): a national border between the regions
    # Own-region bias for sub-national regions only (intranational home bias); a partner's own flows are those
    # of whole countries, already favoured over foreign ones by the border factor.
    own = np.eye(r, dtype=bool) & t.domestic[:, None]
    # resistance[ro, k, rd]: distance decay / national border * own-region bias
    resistance = (t.dist[:, None, :] ** -fval(pr["distance_elasticity"])
                  / np.where(cross[:, None, :], border[None, :, None], 1.0)
                  * np.where(own[:, None, :], home[None, :, None], 1.0))  # fmt: skip
    x = t.x.reshape(n)
    need_z = t.a[:, np.tile(np.arange(s), r)] * x[None, :]  # (S, n): input of product k by industry j
    need_y = t.fd_product[:, None] * t.fd_region[None, :] / t.fd_product.sum()  # (S, R): world mix x regional total
    z = t.x[:, :, None] * need_z[None, :, :] * resistance[:, :, np.repeat(np.arange(r), s)]  # (R, S, n)
    y = t.x[:, :, None] * need_y[None, :, :] * resistance  # (R, S, R)
    m = np.concatenate([z.reshape(n, n), y.reshape(n, r)], axis=1)
    m[m < PRUNE * m.sum(axis=1, keepdims=True)] = 0.0
    return m
