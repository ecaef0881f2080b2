"""Build the embedded economy ``ru-by`` from its calibration table, deterministically, in a few seconds.

    python scripts/build_default_economy.py            # writes cluster/data/ru-by.parquet, prints the marginals
    python scripts/build_default_economy.py --check    # rebuilds and compares with the shipped file (exit 1 if stale)

Steps (docs/data.md explains each one and its figures):

1. value added by region and sector: regional GDP shares x national sector structure x regional
   specialisation, balanced (RAS) to both marginals; partners from their GDP and sector structure;
2. gross output = value added / value-added ratio; intermediate inputs by product from generic technical
   coefficients; world final demand by product = world output - world intermediate use;
3. final demand per region = GDP - net exports (Russia's and Belarus's from the trade targets; the partners
   absorb the counterpart in proportion to their GDP);
4. a prior for every flow: supplier output x buyer's need x distance^-1, divided by a border factor across
   national borders and multiplied by an own-region factor for sub-national regions;
5. iterative proportional fitting of the flows to: output per industry, input of each product per industry,
   final demand per region and per product, and the trade marginals.

No randomness: the result depends only on the table (and on floating point; see docs/data.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.economy import Economy

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "configs" / "calibration" / "ru_by.toml"
OUTPUT = ROOT / "cluster" / "data" / "ru-by.parquet"

#: Balancing stops when every constraint holds to this relative error (a few ulps above rounding noise) ...
TOLERANCE = 1e-13
#: ... and fails if that takes more sweeps than this (it takes ~400).
MAX_SWEEPS = 5000
#: Prior links carrying less than this share of their supplier's output are dropped (zero in the table):
#: under USD 1 per USD 10 million of output; the balancing then works on the remaining links.
PRUNE = 1e-7
#: A rebuilt table must match the shipped one to this relative difference per flow (docs/data.md).
REBUILD_RTOL = 1e-12

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
BOOL = NDArray[np.bool_]

DOMESTIC_COUNTRIES = ("RU", "BY")


class CalibrationError(ValueError):
    """The calibration table is incomplete or inconsistent."""


# ----------------------------------------------------------------------------------------------- table


def load_table(path: Path = CALIBRATION) -> dict[str, Any]:
    """Parse the calibration table; refuse numbers without a source or flag and malformed entries."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    problems = list(unsourced(table))
    if problems:
        raise CalibrationError(f"{path}: numbers without a source or flag: " + "; ".join(problems))
    _check_structure(table, path)
    return table


def unsourced(node: Any, sources: dict[str, str] | None = None, where: str = "") -> Any:
    """Yield the places where a number is not the ``value`` of an entry with a known ``src`` or a flag."""
    if sources is None:
        sources = node.get("sources", {}) if isinstance(node, dict) else {}
    if isinstance(node, dict):
        if "value" in node:
            flag, src = node.get("flag"), node.get("src")
            if flag not in (None, "D", "E"):
                yield f"{where}: flag must be 'D' or 'E', got {flag!r}"
            if src is not None and src not in sources:
                yield f"{where}: unknown source {src!r}"
            if flag is None and src is None:
                yield f"{where}: neither src nor flag"
            if flag == "D" and src is None:
                yield f"{where}: a derived figure must name its source"
            return
        for key, value in node.items():
            if key != "sources":
                yield from unsourced(value, sources, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from unsourced(value, sources, f"{where}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield f"{where} = {node}"


def _check_structure(table: dict[str, Any], path: Path) -> None:
    regions, sectors = table.get("regions", []), table.get("sectors", [])
    ids = [g.get("id") for g in regions] + [s.get("id") for s in sectors]
    if len(set(ids)) != len(ids):
        raise CalibrationError(f"{path}: duplicated region or sector ids")
    needs = {"domestic": ("grp_share", "area_km2", "points"), "partner": ("gdp", "va_shares", "area_km2", "points")}
    for g in regions:
        kind = g.get("kind")
        if kind not in needs:
            raise CalibrationError(f"{path}: region {g.get('id')!r}: kind must be 'domestic' or 'partner'")
        missing = [k for k in (*needs[kind], "name", "country", "coalition", "friendly") if k not in g]
        if missing:
            raise CalibrationError(f"{path}: region {g['id']!r} lacks {missing}")
        if kind == "domestic" and g["country"] not in DOMESTIC_COUNTRIES:
            raise CalibrationError(f"{path}: domestic region {g['id']!r} must belong to one of {DOMESTIC_COUNTRIES}")
    for s in sectors:
        missing = [k for k in ("id", "name", "covers", "goods", "va_ratio", "input_mix") if k not in s]
        if missing:
            raise CalibrationError(f"{path}: sector {s.get('id')!r} lacks {missing}")


def canonical_hash(table: dict[str, Any]) -> str:
    """SHA-256 of the table's content (not of its bytes: comments, layout and line endings do not count)."""
    return hashlib.sha256(json.dumps(table, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def val(entry: dict[str, Any]) -> Any:
    """The value of a sourced entry."""
    return entry["value"]


def fval(entry: dict[str, Any]) -> float:
    return float(entry["value"])


# ------------------------------------------------------------------------------------------ calibration


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


def _ras(prior: F64, rows: F64, cols: F64, tol: float = 1e-14, sweeps: int = 10000) -> F64:
    """Two-dimensional RAS: scale ``prior`` to the row and column sums (which must agree in total)."""
    m = prior.copy()
    for _ in range(sweeps):
        m *= (rows / m.sum(axis=1))[:, None]
        m *= cols / m.sum(axis=0)
        if np.max(np.abs(m.sum(axis=1) / rows - 1.0)) <= tol:
            return m
    raise CalibrationError("the regional value-added structure does not balance")


def _by_sector(entry: dict[str, Any], sectors: tuple[str, ...], what: str, default: float | None = None) -> F64:
    values = val(entry)
    unknown = set(values) - set(sectors)
    if unknown:
        raise CalibrationError(f"{what}: unknown sectors {sorted(unknown)}")
    if default is None and set(values) != set(sectors):
        raise CalibrationError(f"{what}: missing sectors {sorted(set(sectors) - set(values))}")
    return np.array([float(values.get(s, default)) for s in sectors])


def _haversine(p: F64, q: F64) -> F64:
    """Great-circle distances (km) between point lists p (m, 2) and q (k, 2) in degrees."""
    lat1, lon1 = np.radians(p[:, 0])[:, None], np.radians(p[:, 1])[:, None]
    lat2, lon2 = np.radians(q[:, 0])[None, :], np.radians(q[:, 1])[None, :]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))  # type: ignore[no-any-return]


def distances(regions: list[dict[str, Any]], internal_factor: float) -> F64:
    """Effective distances (km): between two regions the weighted harmonic mean of the distances between
    their member points (Head & Mayer 2002 with theta = -1), never less than either region's internal
    distance; within a region the internal distance ``internal_factor * sqrt(area / pi)``."""
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
        spec = np.array([_by_sector(reg[i].get("specialisation", {"value": {}}), sectors,
                                    f"{regions[i]}.specialisation", 1.0) for i in rows])  # fmt: skip
        va[rows] = _ras(grp[:, None] * structure[None, :] * spec, grp, gdp * structure / structure.sum())
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
    return Targets(regions=regions, sectors=sectors, country=country, domestic=domestic, goods=goods, va=va, x=x,
                   a=a, fd_region=fd_region, fd_product=fd_product, dist=dist, trade=trade)  # fmt: skip


def derive_trade(table: dict[str, Any]) -> dict[str, Any]:
    """Trade targets (USD bn, percent) from the table's totals and shares; BY's share of Russia's trade comes
    from the Russia-Belarus total, ROW's is the remainder, other_manuf's share of a product mix too."""
    ru, rb, by = table["trade"]["russia"], table["trade"]["russia_belarus"], table["trade"]["belarus"]
    exports, imports = fval(ru["goods_exports"]), fval(ru["goods_imports"])
    turnover = exports + imports
    listed = [g["country"] for g in table["regions"] if g["kind"] == "partner" and g["country"] != "ROW"]
    if "ROW" not in [g["country"] for g in table["regions"]]:
        raise CalibrationError("the partners must include 'ROW' (it takes the remainder of the trade shares)")
    rb_total, by_to_ru = fval(rb["goods_total"]), fval(rb["belarus_to_russia"])

    def shares(block: dict[str, Any], by_share: float, what: str) -> dict[str, float]:
        out = {k: fval(e) for k, e in block.items()}
        if set(out) != set(listed):
            raise CalibrationError(f"trade.russia.{what}: give exactly the partners {sorted(listed)} "
                                   "(BY and ROW are derived)")  # fmt: skip
        out["BY"] = by_share
        out["ROW"] = 100.0 - sum(out.values())
        if out["ROW"] <= 0:
            raise CalibrationError(f"trade.russia.{what}: shares leave nothing for the rest of the world")
        return out

    t_share = shares(ru["turnover_share"], 100.0 * rb_total / turnover, "turnover_share")
    m_share = shares(ru["import_share"], 100.0 * by_to_ru / imports, "import_share")
    imp = {p: m_share[p] * imports / 100.0 for p in t_share}
    exp = {p: t_share[p] * turnover / 100.0 - imp[p] for p in t_share}
    bad = [p for p, value in exp.items() if value <= 0]
    if bad:
        raise CalibrationError(f"turnover and import shares imply non-positive Russian exports to {bad}")
    goods = [x["id"] for x in table["sectors"] if x["goods"]]

    def mix(block: dict[str, Any], what: str) -> dict[str, float]:
        out = {k: fval(e) for k, e in block.items()}
        if set(out) != set(goods) - {"other_manuf"}:
            raise CalibrationError(f"trade.russia.{what}: give every goods sector but other_manuf (the remainder)")
        out["other_manuf"] = 100.0 - sum(out.values())
        if out["other_manuf"] <= 0:
            raise CalibrationError(f"trade.russia.{what}: no room left for other_manuf")
        return out

    x_mix, m_mix = mix(ru["export_mix"], "export_mix"), mix(ru["import_mix"], "import_mix")
    mach = {p: fval(e) for p, e in ru["machinery_share_of_partner_exports"].items()}
    by_exports = by_to_ru / (fval(by["russia_share_of_exports"]) / 100.0)
    return {
        "ru_goods_exports": exports,
        "ru_goods_imports": imports,
        "ru_ng_exports": fval(ru["nongoods_exports"]),
        "ru_ng_imports": fval(ru["nongoods_imports"]),
        "turnover_share": t_share,
        "import_share": m_share,
        "exports_to": exp,
        "imports_from": imp,
        "export_mix": x_mix,
        "import_mix": m_mix,
        "exports_by_product": {k: v * exports / 100.0 for k, v in x_mix.items()},
        "imports_by_product": {k: v * imports / 100.0 for k, v in m_mix.items()},
        "machinery_share": mach,
        "machinery_from": {p: mach[p] * imp[p] / 100.0 for p in mach},
        "ru_by_goods": rb_total,
        "by_to_ru": by_to_ru,
        "by_to_ru_agri_share": fval(rb["agri_food_share_of_belarus_to_russia"]),
        "ru_to_by": rb_total - by_to_ru,
        "ru_by_nongoods": fval(rb["nongoods_total"]),
        "by_goods_exports": by_exports,
        "by_goods_imports": (rb_total - by_to_ru) / (fval(by["russia_share_of_imports"]) / 100.0),
        "by_to_eu": fval(by["goods_exports_to_eu"]),
        "by_refined_chem_share": fval(by["refined_chem_share_of_exports"]),
        "by_ng_exports": fval(by["nongoods_exports"]),
        "by_ng_imports": fval(by["nongoods_imports"]),
        "partner_exports_share": {
            g["id"]: fval(g["exports_share_of_gdp"]) for g in table["regions"] if "exports_share_of_gdp" in g
        },
    }


# ------------------------------------------------------------------------------------------- balancing


@dataclass(frozen=True)
class Block:
    """A constraint: the flows in the rectangles rows x cols of [Z | Y] sum to ``target``."""

    name: str
    parts: tuple[tuple[IDX, IDX], ...]
    target: float

    def total(self, m: F64) -> float:
        return float(sum(m[np.ix_(rows, cols)].sum() for rows, cols in self.parts))


def blocks(t: Targets) -> list[Block]:
    """The trade marginals as constraints on the (n, n + R) flow matrix [Z | Y] (step 5)."""
    r, s = len(t.regions), len(t.sectors)
    region_of_row = np.repeat(np.arange(r), s)
    sector_of_row = np.tile(np.arange(s), r)
    region_of_col = np.concatenate([region_of_row, np.arange(r)])  # industries, then final demand
    country = np.array(t.country)
    c_row, c_col = country[region_of_row], country[region_of_col]
    g_row = t.goods[sector_of_row]
    ru_row, by_row, ru_col, by_col = c_row == "RU", c_row == "BY", c_col == "RU", c_col == "BY"

    def idx(mask: BOOL) -> IDX:
        return np.flatnonzero(mask)

    def sector(name: str) -> BOOL:
        return sector_of_row == t.sectors.index(name)  # type: ignore[no-any-return]

    def one(name: str, rows: BOOL, cols: BOOL, target: float) -> Block:
        return Block(name, ((idx(rows), idx(cols)),), target)

    tr = t.trade
    out = [one(f"RU goods exports to {p}", ru_row & g_row, c_col == p, v) for p, v in tr["exports_to"].items()]
    out += [one(f"RU goods imports from {p}", (c_row == p) & g_row, ru_col, v) for p, v in tr["imports_from"].items()]
    out += [one(f"RU exports of {k}", ru_row & sector(k), ~ru_col, v) for k, v in tr["exports_by_product"].items()]
    out += [one(f"RU imports of {k}", ~ru_row & sector(k), ru_col, v) for k, v in tr["imports_by_product"].items()]
    mach = sector("machinery") | sector("electronics")
    out += [one(f"RU machinery+electronics imports from {p}", (c_row == p) & mach, ru_col, v)
            for p, v in tr["machinery_from"].items()]  # fmt: skip
    out.append(one("RU non-goods exports", ru_row & ~g_row, ~ru_col, tr["ru_ng_exports"]))
    out.append(one("RU non-goods imports", ~ru_row & ~g_row, ru_col, tr["ru_ng_imports"]))
    out.append(Block("RU-BY non-goods trade", ((idx(ru_row & ~g_row), idx(by_col)),
                                               (idx(by_row & ~g_row), idx(ru_col))), tr["ru_by_nongoods"]))  # fmt: skip
    out.append(one("BY agri_food exports to RU", by_row & sector("agri_food"), ru_col,
                   tr["by_to_ru_agri_share"] * tr["by_to_ru"] / 100.0))  # fmt: skip
    out.append(one("BY goods exports", by_row & g_row, ~by_col, tr["by_goods_exports"]))
    out.append(one("BY goods imports", ~by_row & g_row, by_col, tr["by_goods_imports"]))
    out.append(one("BY goods exports to EU", by_row & g_row, c_col == "EU", tr["by_to_eu"]))
    out.append(one("BY exports of refined_chem", by_row & sector("refined_chem"), ~by_col,
                   tr["by_refined_chem_share"] * tr["by_goods_exports"] / 100.0))  # fmt: skip
    out.append(one("BY non-goods exports", by_row & ~g_row, ~by_col, tr["by_ng_exports"]))
    out.append(one("BY non-goods imports", ~by_row & ~g_row, by_col, tr["by_ng_imports"]))
    for p, share in tr["partner_exports_share"].items():
        i = t.regions.index(p)
        out.append(one(f"{p} exports", region_of_row == i, region_of_col != i, share * float(t.va[i].sum()) / 100.0))
    return out


def prior_flows(t: Targets, table: dict[str, Any]) -> F64:
    """Step 4: the prior [Z | Y], shape (n, n + R)."""
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


@dataclass(frozen=True)
class Balanced:
    flows: F64  # (n, n + R) [Z | Y]
    sweeps: int
    residual: float


def balance(t: Targets, prior: F64, cons: list[Block]) -> Balanced:
    """Step 5: iterative proportional fitting, i.e. cyclic Kullback-Leibler projections of the prior onto each
    constraint in turn; converges to the table closest to the prior (in KL) that meets every constraint."""
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    x = t.x.reshape(n)
    use = t.a[:, np.tile(np.arange(s), r)] * x[None, :]  # (S, n)
    m = prior.copy()
    t3 = m.reshape(r, s, n + r)  # a view: t3[ro, k] is product k from region ro
    residual = math.inf
    for sweep in range(1, MAX_SWEEPS + 1):
        m *= (x / m.sum(axis=1))[:, None]  # output of each industry
        t3[:, :, :n] *= (use / t3[:, :, :n].sum(axis=0))[None, :, :]  # input of each product per industry
        fd = t3[:, :, n:]
        fd *= (t.fd_region / fd.sum(axis=(0, 1)))[None, None, :]  # final demand per region
        fd *= (t.fd_product / fd.sum(axis=(0, 2)))[None, :, None]  # world final demand per product
        for b in cons:
            f = b.target / b.total(m)
            for rows, cols in b.parts:
                m[np.ix_(rows, cols)] *= f
        residual = max_residual(t, m, cons)
        if residual <= TOLERANCE:
            return Balanced(m, sweep, residual)
    raise CalibrationError(f"balancing did not converge in {MAX_SWEEPS} sweeps (residual {residual:.3g}): "
                           "the targets are probably inconsistent (e.g. exports above what a product's output "
                           "leaves after domestic use)")  # fmt: skip


def max_residual(t: Targets, m: F64, cons: list[Block]) -> float:
    """Largest relative error of any constraint."""
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    x = t.x.reshape(n)
    use = t.a[:, np.tile(np.arange(s), r)] * x[None, :]
    t3 = m.reshape(r, s, n + r)
    errs = [
        np.max(np.abs(m.sum(axis=1) / x - 1.0)),
        np.max(np.abs(t3[:, :, :n].sum(axis=0) / use - 1.0)),
        np.max(np.abs(t3[:, :, n:].sum(axis=(0, 1)) / t.fd_region - 1.0)),
        np.max(np.abs(t3[:, :, n:].sum(axis=(0, 2)) / t.fd_product - 1.0)),
    ]
    errs += [abs(b.total(m) / b.target - 1.0) for b in cons]
    return float(max(errs))


# ----------------------------------------------------------------------------------------- marginals


def measure(econ: Economy, goods_sectors: list[str]) -> dict[str, Any]:
    """GDP and trade aggregates read off an economy tagged with countries RU, BY and partner codes."""
    r, s = len(econ.regions), len(econ.sectors)
    full = np.concatenate([econ.z, econ.y.reshape(r * s, r, -1).sum(axis=2)], axis=1)
    country = np.array(econ.country)
    c_row = np.repeat(country, s)
    c_col = np.concatenate([c_row, country])
    reg_row = np.repeat(np.array(econ.regions), s)
    reg_col = np.concatenate([reg_row, np.array(econ.regions)])
    sec = np.tile(np.array(econ.sectors), r)
    goods = np.isin(sec, goods_sectors)

    def flow(rows: BOOL, cols: BOOL) -> float:
        return float(full[np.ix_(rows, cols)].sum())

    va = econ.value_added.reshape(r, s).sum(axis=1)
    gdp = {c: float(va[country == c].sum()) for c in DOMESTIC_COUNTRIES}
    ru_r, ru_c, by_r, by_c = c_row == "RU", c_col == "RU", c_row == "BY", c_col == "BY"
    partners = [c for c in dict.fromkeys(econ.country) if c != "RU"]
    exp = {p: flow(ru_r & goods, c_col == p) for p in partners}
    imp = {p: flow((c_row == p) & goods, ru_c) for p in partners}
    ex_tot, im_tot = sum(exp.values()), sum(imp.values())
    mach = np.isin(sec, ["machinery", "electronics"])
    by_ex, by_im = flow(by_r & goods, ~by_c), flow(~by_r & goods, by_c)
    return {
        "gdp": gdp,
        "grp_share": {
            g: 100.0 * float(va[i]) / gdp[country[i]] for i, g in enumerate(econ.regions) if country[i] in gdp
        },
        "ru_exports": ex_tot,
        "ru_imports": im_tot,
        "turnover_share": {p: 100.0 * (exp[p] + imp[p]) / (ex_tot + im_tot) for p in partners},
        "import_share": {p: 100.0 * imp[p] / im_tot for p in partners},
        "export_mix": {k: 100.0 * flow(ru_r & (sec == k), ~ru_c) / ex_tot for k in goods_sectors},
        "import_mix": {k: 100.0 * flow(~ru_r & (sec == k), ru_c) / im_tot for k in goods_sectors},
        "machinery_share": {p: 100.0 * flow((c_row == p) & mach, ru_c) / imp[p] for p in partners},
        "ru_by_goods": exp["BY"] + imp["BY"],
        "by_to_ru": imp["BY"],
        "by_to_ru_agri_share": 100.0 * flow(by_r & (sec == "agri_food"), ru_c) / imp["BY"],
        "ru_share_of_by_exports": 100.0 * imp["BY"] / by_ex,
        "ru_share_of_by_imports": 100.0 * exp["BY"] / by_im,
        "by_to_eu": flow(by_r & goods, c_col == "EU"),
        "by_refined_chem_share": 100.0 * flow(by_r & (sec == "refined_chem"), ~by_c) / by_ex,
        "ru_ng_exports": flow(ru_r & ~goods, ~ru_c),
        "ru_ng_imports": flow(~ru_r & ~goods, ru_c),
        "ru_by_nongoods": flow(ru_r & ~goods, by_c) + flow(by_r & ~goods, ru_c),
        "by_ng_exports": flow(by_r & ~goods, ~by_c),
        "by_ng_imports": flow(~by_r & ~goods, by_c),
        "exports_share_of_gdp": {
            g: 100.0 * flow(reg_row == g, reg_col != g) / float(va[i]) for i, g in enumerate(econ.regions)
        },
    }


def marginals(econ: Economy, table: dict[str, Any]) -> list[dict[str, Any]]:
    """Every targeted marginal of a built economy next to its target."""
    t = derive_trade(table)
    m = measure(econ, [x["id"] for x in table["sectors"] if x["goods"]])
    by = table["trade"]["belarus"]
    rows: list[dict[str, Any]] = []

    def add(name: str, target: float, achieved: float, unit: str) -> None:
        rows.append({"name": name, "target": target, "achieved": achieved, "unit": unit})

    for code in DOMESTIC_COUNTRIES:
        add(f"{code} GDP", fval(table["countries"][code]["gdp"]), m["gdp"][code], "USD bn")
        regs = [g for g in table["regions"] if g["country"] == code]
        total = sum(fval(g["grp_share"]) for g in regs)
        for g in regs:
            add(f"{g['id']} share of {code} GDP", 100.0 * fval(g["grp_share"]) / total, m["grp_share"][g["id"]], "%")
    add("RU goods exports", t["ru_goods_exports"], m["ru_exports"], "USD bn")
    add("RU goods imports", t["ru_goods_imports"], m["ru_imports"], "USD bn")
    for p, share in t["turnover_share"].items():
        add(f"{p} share of RU goods turnover", share, m["turnover_share"][p], "%")
    for p, share in t["import_share"].items():
        add(f"{p} share of RU goods imports", share, m["import_share"][p], "%")
    for k, share in t["export_mix"].items():
        add(f"{k} share of RU goods exports", share, m["export_mix"][k], "%")
    for k, share in t["import_mix"].items():
        add(f"{k} share of RU goods imports", share, m["import_mix"][k], "%")
    for p, share in t["machinery_share"].items():
        add(f"machinery+electronics share of {p} goods exports to RU", share, m["machinery_share"][p], "%")
    add("RU non-goods exports", t["ru_ng_exports"], m["ru_ng_exports"], "USD bn")
    add("RU non-goods imports", t["ru_ng_imports"], m["ru_ng_imports"], "USD bn")
    add("RU-BY goods trade", t["ru_by_goods"], m["ru_by_goods"], "USD bn")
    add("BY goods exports to RU", t["by_to_ru"], m["by_to_ru"], "USD bn")
    add("agri_food share of BY goods exports to RU", t["by_to_ru_agri_share"], m["by_to_ru_agri_share"], "%")
    add("RU share of BY goods exports", fval(by["russia_share_of_exports"]), m["ru_share_of_by_exports"], "%")
    add("RU share of BY goods imports", fval(by["russia_share_of_imports"]), m["ru_share_of_by_imports"], "%")
    add("BY goods exports to EU", t["by_to_eu"], m["by_to_eu"], "USD bn")
    add("refined_chem share of BY goods exports", t["by_refined_chem_share"], m["by_refined_chem_share"], "%")
    add("RU-BY non-goods trade", t["ru_by_nongoods"], m["ru_by_nongoods"], "USD bn")
    add("BY non-goods exports", t["by_ng_exports"], m["by_ng_exports"], "USD bn")
    add("BY non-goods imports", t["by_ng_imports"], m["by_ng_imports"], "USD bn")
    for p, share in t["partner_exports_share"].items():
        add(f"{p} exports, % of GDP", share, m["exports_share_of_gdp"][p], "%")
    return rows


# ----------------------------------------------------------------------------------------------- build


def build(path: Path = CALIBRATION) -> Economy:
    """The economy described by the calibration table at ``path``, its marginals in the provenance."""
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
        "builder": "scripts/build_default_economy.py",
        "docs": "docs/data.md",
        "region_names": {g["id"]: g["name"] for g in reg},
        "sector_names": {x["id"]: x["name"] for x in sec},
        "sector_covers": {x["id"]: x["covers"] for x in sec},
        "goods_sectors": [x["id"] for x in sec if x["goods"]],
        "sources": dict(table["sources"]),
        "balancing": {"method": "iterative proportional fitting", "sweeps": result.sweeps,
                      "max_relative_residual": result.residual, "tolerance": TOLERANCE, "prune": PRUNE},
    }  # fmt: skip
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
    )
    provenance["marginals"] = marginals(econ, table)  # the dict is the economy's own: fill it in place
    return econ


def compare(built: Economy, shipped: Economy) -> float:
    """Largest relative difference between two economies' flows, cell by cell; inf if labels, tags or the
    pattern of non-zero flows differ."""
    tags = ("domestic", "coalition", "friendly")
    same = (built.regions == shipped.regions and built.sectors == shipped.sectors
            and built.country == shipped.country and built.fd_categories == shipped.fd_categories
            and built.unit == shipped.unit and built.id == shipped.id
            and all(np.array_equal(getattr(built, k), getattr(shipped, k)) for k in tags)
            and np.array_equal(built.z > 0, shipped.z > 0) and np.array_equal(built.y > 0, shipped.y > 0))  # fmt: skip
    if not same:
        return math.inf
    a = np.concatenate([built.z, built.y], axis=1)
    b = np.concatenate([shipped.z, shipped.y], axis=1)
    scale = np.maximum(np.abs(a), np.abs(b))
    nz = scale > 0
    return float((np.abs(a - b)[nz] / scale[nz]).max(initial=0.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the embedded economy 'ru-by' from its calibration table.")
    parser.add_argument("--calibration", type=Path, default=CALIBRATION, help="calibration table (TOML)")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="Parquet file to write (or to check)")
    parser.add_argument("--check", action="store_true", help="rebuild and compare with --out instead of writing")
    parser.add_argument("--quiet", action="store_true", help="do not print the marginals")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    econ = build(args.calibration)
    elapsed = time.perf_counter() - start
    bal = econ.provenance["balancing"]
    if not args.quiet:
        print(f"{'marginal':<55} {'target':>10} {'achieved':>16} {'rel. error':>10}")
        for row in econ.provenance["marginals"]:
            err = abs(row["achieved"] / row["target"] - 1.0)
            print(f"{row['name']:<55} {row['target']:>10.4f} {row['achieved']:>16.10f} {err:>10.1e}")
    nonzero = int((econ.z > 0).sum() + (econ.y > 0).sum())
    print(f"built {econ.id}: {len(econ.regions)} regions x {len(econ.sectors)} sectors, {nonzero} non-zero flows, "
          f"{bal['sweeps']} IPF sweeps, max residual {bal['max_relative_residual']:.1e}, {elapsed:.1f} s")  # fmt: skip
    if args.check:
        shipped = Economy.read_parquet(args.out)
        diff = compare(econ, shipped)
        fresh = shipped.provenance.get("calibration_sha256") == econ.provenance["calibration_sha256"]
        print(f"{args.out}: max relative difference {diff:.1e} (allowed {REBUILD_RTOL:.0e}); calibration table "
              f"{'unchanged' if fresh else 'CHANGED since the file was built: rebuild it'}")  # fmt: skip
        return 0 if diff <= REBUILD_RTOL and fresh else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    econ.to_parquet(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
