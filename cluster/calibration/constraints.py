"""The trade marginals as constraints on the flow matrix [Z | Y] (step 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.targets import Targets

__all__ = ["Block", "blocks"]

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
BOOL = NDArray[np.bool_]


@dataclass(frozen=True)
class Block:
    """A constraint: the flows in the rectangles rows x cols of [Z | Y] sum to ``target``."""

    name: str
    parts: tuple[tuple[IDX, IDX], ...]
    target: float

    def total(self, m: F64) -> float:
        """The constrained flows' sum in ``m``, shape (n, n + R)."""
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
        mask: BOOL = sector_of_row == t.sectors.index(name)
        return mask

    def one(name: str, rows: BOOL, cols: BOOL, target: float) -> Block:
        return Block(name, ((idx(rows), idx(cols)),), target)

    tr = t.trade
    out = [one(f"RU goods exports to {p}", ru_row & g_row, c_col == p, v) for p, v in tr["exports_to"].items()]
    out += [one(f"RU goods imports from {p}", (c_row == p) & g_row, ru_col, v) for p, v in tr["imports_from"].items()]
    out += [one(f"RU exports of {k}", ru_row & sector(k), ~ru_col, v) for k, v in tr["exports_by_product"].items()]
    out += [one(f"RU imports of {k}", ~ru_row & sector(k), ru_col, v) for k, v in tr["imports_by_product"].items()]
    mach = sector("machinery") | sector("electronics")
    out += [
        one(f"RU machinery+electronics imports from {p}", (c_row == p) & mach, ru_col, v)
        for p, v in tr["machinery_from"].items()
    ]
    out.append(one("RU non-goods exports", ru_row & ~g_row, ~ru_col, tr["ru_ng_exports"]))
    out.append(one("RU non-goods imports", ~ru_row & ~g_row, ru_col, tr["ru_ng_imports"]))
    out.append(
        Block(
            "RU-BY non-goods trade",
            ((idx(ru_row & ~g_row), idx(by_col)), (idx(by_row & ~g_row), idx(ru_col))),
            tr["ru_by_nongoods"],
        )
    )
    out.append(
        one(
            "BY agri_food exports to RU",
            by_row & sector("agri_food"),
            ru_col,
            tr["by_to_ru_agri_share"] * tr["by_to_ru"] / 100.0,
        )
    )
    out.append(one("BY goods exports", by_row & g_row, ~by_col, tr["by_goods_exports"]))
    out.append(one("BY goods imports", ~by_row & g_row, by_col, tr["by_goods_imports"]))
    out.append(one("BY goods exports to EU", by_row & g_row, c_col == "EU", tr["by_to_eu"]))
    out.append(
        one(
            "BY exports of refined_chem",
            by_row & sector("refined_chem"),
            ~by_col,
            tr["by_refined_chem_share"] * tr["by_goods_exports"] / 100.0,
        )
    )
    out.append(one("BY non-goods exports", by_row & ~g_row, ~by_col, tr["by_ng_exports"]))
    out.append(one("BY non-goods imports", ~by_row & ~g_row, by_col, tr["by_ng_imports"]))
    for p, share in tr["partner_exports_share"].items():
        i = t.regions.index(p)
        out.append(one(f"{p} exports", region_of_row == i, region_of_col != i, share * float(t.va[i].sum()) / 100.0))
    return out
