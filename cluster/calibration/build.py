"""The whole build: table -> targets -> prior -> balanced economy; and the comparison with a shipped file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cluster.calibration.balance import TOLERANCE, balance
from cluster.calibration.constraints import blocks
from cluster.calibration.gravity import PRUNE, prior_flows
from cluster.calibration.marginals import marginals
from cluster.calibration.table import canonical_hash, load_table
from cluster.calibration.targets import calibrate
from cluster.economy import Economy

__all__ = ["REBUILD_RTOL", "build", "compare"]

#: A rebuilt table must match the shipped one to this relative difference per flow (docs/data.md).
REBUILD_RTOL = 1e-12


def build(path: Path) -> Economy:
    """The economy described by the calibration table at ``path``, its marginals in the provenance.

    Deterministic: the flows depend only on the table (and on floating point, docs/data.md). Raises
    ``CalibrationError`` (an ``InputError``) if the table is malformed or its targets do not hold together.
    """
    table = load_table(path)
    t = calibrate(table)
    cons = blocks(t)
    result = balance(t, prior_flows(t, table), cons)
    n = len(t.regions) * len(t.sectors)
    meta, reg, sec = table["meta"], table["regions"], table["sectors"]
    provenance: dict[str, Any] = {
        "title": meta["title"],
        "disclaimer": meta["disclaimer"],
        "year": meta["year"],
        "calibration": "configs/calibration/ru_by.toml",
        "calibration_sha256": canonical_hash(table),
        "builder": "cluster.calibration (scripts/build_default_economy.py)",
        "docs": "docs/data.md",
        "region_names": {g["id"]: g["name"] for g in reg},
        "sector_names": {x["id"]: x["name"] for x in sec},
        "sector_covers": {x["id"]: x["covers"] for x in sec},
        "goods_sectors": [x["id"] for x in sec if x["goods"]],
        "sources": dict(table["sources"]),
        "balancing": {
            "method": "iterative proportional fitting",
            "sweeps": result.sweeps,
            "max_relative_residual": result.residual,
            "tolerance": TOLERANCE,
            "prune": PRUNE,
        },
    }
    econ = Economy(
        id=str(meta["id"]),
        regions=t.regions,
        sectors=t.sectors,
        z=result.flows[:, :n],
        y=result.flows[:, n:],
        fd_categories=tuple(meta["fd_categories"]),
        domestic=t.domestic,
        unit=str(meta["unit"]),
        source="illustrative calibration from public aggregates, not an official table (docs/data.md)",
        country=t.country,
        coalition=np.array([bool(g["coalition"]) for g in reg]),
        friendly=np.array([bool(g["friendly"]) for g in reg]),
        provenance=provenance,
        region_names=tuple(str(g["name"]) for g in reg),
        sector_names=tuple(str(x["name"]) for x in sec),
    )
    provenance["marginals"] = marginals(econ, table)  # the dict is the economy's own: fill it in place
    return econ


def compare(built: Economy, shipped: Economy) -> float:
    """Largest relative difference between two economies' flows, cell by cell; inf if labels, tags or the
    pattern of non-zero flows differ."""
    tags = ("domestic", "coalition", "friendly")
    same = (
        built.regions == shipped.regions
        and built.sectors == shipped.sectors
        and built.country == shipped.country
        and built.fd_categories == shipped.fd_categories
        and built.unit == shipped.unit
        and built.id == shipped.id
        and all(np.array_equal(getattr(built, k), getattr(shipped, k)) for k in tags)
        and np.array_equal(built.z > 0, shipped.z > 0)
        and np.array_equal(built.y > 0, shipped.y > 0)
    )
    if not same:
        return math.inf
    a = np.concatenate([built.z, built.y], axis=1)
    b = np.concatenate([shipped.z, shipped.y], axis=1)
    scale = np.maximum(np.abs(a), np.abs(b))
    nz = scale > 0
    return float((np.abs(a - b)[nz] / scale[nz]).max(initial=0.0))
