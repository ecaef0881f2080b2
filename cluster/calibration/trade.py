"""The trade targets (USD bn, percent) derived from the table's totals and shares."""

from __future__ import annotations

from typing import Any

from cluster.calibration.table import CalibrationError, fval

__all__ = ["derive_trade"]


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
            raise CalibrationError(
                f"trade.russia.{what}: give exactly the partners {sorted(listed)} (BY and ROW are derived)"
            )
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
