"""Effective distances between the calibration table's regions (for the gravity prior)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.table import fval, val

__all__ = ["distances"]

F64 = NDArray[np.float64]


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
