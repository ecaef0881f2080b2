"""The targeted marginals (GDP, trade totals, shares and mixes) measured on an economy, next to their targets."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.table import DOMESTIC_COUNTRIES, fval
from cluster.calibration.trade import derive_trade
from cluster.economy import Economy

__all__ = ["marginals", "measure"]

BOOL = NDArray[np.bool_]


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
