"""Steps 1-3: value added, gross output, technical coefficients and final demand, the balancing's targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.distance import distances
from cluster.calibration.ras import ras
from cluster.calibration.table import DOMESTIC_COUNTRIES, CalibrationError, fval, val
from cluster.calibration.trade import derive_trade

__all__ = ["Targets", "calibrate"]

F64 = NDArray[np.float64]
BOOL = NDArray[np.bool_]


@dataclass(frozen=True)
class Targets:
    """Everything the balancing needs, derived from the table (steps 1-3)."""

    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    country: tuple[str, ...]
    domestic: BOOL  # (R,)
    goods: BOOL  # (S,) the sectors counted in customs statistics
    va: F64  # (R, S) value added
    x: F64  # (R, S) gross output
    a: F64  # (S, S) a[k, s]: input of product k per unit of output of sector s
    fd_region: F64  # (R,) final demand per region
    fd_product: F64  # (S,) world final demand per product
    dist: F64  # (R, R) effective distances, km
    trade: dict[str, Any]  # derived trade targets, USD bn and percent


def _by_sector(entry: dict[str, Any], sectors: tuple[str, ...], what: str, default: float | None = None) -> F64:
    """A sourced ``{sector: number}`` entry as an (S,) array in ``sectors`` order; ``default`` for absent ones."""
    values = val(entry)
    unknown = set(values) - set(sectors)
    if unknown:
        raise CalibrationError(f"{what}: unknown sectors {sorted(unknown)}")
    if default is None and set(values) != set(sectors):
        raise CalibrationError(f"{what}: missing sectors {sorted(set(sectors) - set(values))}")
    return np.array([float(values.get(s, default)) for s in sectors])


def calibrate(table: dict[str, Any]) -> Targets:
    """Steps 1-3: value added, output, technical coefficients, final demand; plus the trade targets."""
    sec, reg = table["sectors"], table["regions"]
    sectors = tuple(s["id"] for s in sec)
    regions = tuple(g["id"] for g in reg)
    country = tuple(g["country"] for g in reg)
    domestic = np.array([g["kind"] == "domestic" for g in reg])
    r, s = len(regions), len(sectors)

    # Step 1: value added (R, S).
    va = np.zeros((r, s))
    for code in DOMESTIC_COUNTRIES:
        cty = table["countries"][code]
        rows = [i for i, g in enumerate(reg) if g["country"] == code]
        if not rows or not all(domestic[rows]):
            raise CalibrationError(f"country {code!r} needs domestic regions (and only those)")
        gdp = fval(cty["gdp"])
        structure = _by_sector(cty["va_shares"], sectors, f"countries.{code}.va_shares")
        shares = np.array([fval(reg[i]["grp_share"]) for i in rows])
        grp = gdp * shares / shares.sum()
        spec = np.array(
            [
                _by_sector(reg[i].get("specialisation", {"value": {}}), sectors, f"{regions[i]}.specialisation", 1.0)
                for i in rows
            ]
        )
        va[rows] = ras(grp[:, None] * structure[None, :] * spec, grp, gdp * structure / structure.sum())
    for i, g in enumerate(reg):
        if not domestic[i]:
            structure = _by_sector(g["va_shares"], sectors, f"{g['id']}.va_shares")
            va[i] = fval(g["gdp"]) * structure / structure.sum()

    # Step 2: gross output, technical coefficients, world final demand by product.
    v = np.array([fval(x["va_ratio"]) for x in sec])
    mix = np.array([_by_sector(x["input_mix"], sectors, f"{x['id']}.input_mix") for x in sec]).T  # (k, s)
    off = np.abs(mix.sum(axis=0) - 1.0)
    if off.max() > 1e-9:
        raise CalibrationError(f"input_mix of {sectors[int(off.argmax())]!r} does not sum to 1")
    a = mix * (1.0 - v)[None, :]
    x = va / v[None, :]
    world = x.sum(axis=0)
    fd_product = world - a @ world
    if (fd_product <= 0.01 * world).any():
        bad = sectors[int(np.argmin(fd_product / world))]
        raise CalibrationError(f"world final demand for {bad!r} is (nearly) negative: lower its input coefficients")

    trade = derive_trade(table)

    # Step 3: final demand per region = GDP - net exports.
    gdp_r = va.sum(axis=1)
    nx = {
        "RU": trade["ru_goods_exports"] - trade["ru_goods_imports"] + trade["ru_ng_exports"] - trade["ru_ng_imports"],
        "BY": trade["by_goods_exports"] - trade["by_goods_imports"] + trade["by_ng_exports"] - trade["by_ng_imports"],
    }
    fd_region = gdp_r.copy()
    for code, value in nx.items():
        mine = np.array([c == code for c in country])
        fd_region[mine] -= value * gdp_r[mine] / gdp_r[mine].sum()
    fd_region[~domestic] += sum(nx.values()) * gdp_r[~domestic] / gdp_r[~domestic].sum()

    dist = distances(reg, fval(table["prior"]["internal_distance_factor"]))
    goods = np.array([bool(x["goods"]) for x in sec])
    return Targets(
        regions=regions,
        sectors=sectors,
        country=country,
        domestic=domestic,
        goods=goods,
        va=va,
        x=x,
        a=a,
        fd_region=fd_region,
        fd_product=fd_product,
        dist=dist,
        trade=trade,
    )
