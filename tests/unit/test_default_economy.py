"""The embedded economy ``ru-by``: rebuilt from its calibration table, it matches the shipped file; its
marginals match the table; it runs in the model and stays at baseline without a shock.

Tolerances (docs/data.md, "Checks"):
- rebuild vs shipped file: every flow to 1e-12 relative (same pattern of non-zero flows, same labels and tags);
- every balanced marginal (GDP shares, partner shares, Russia-Belarus trade, product mixes, ...): 1e-9 relative
  (the builder balances to 1e-13; the margin absorbs summation-order differences);
- a quiet run: production and value added stay within 1e-10 of baseline for a year.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cluster
from cluster.calibration import CalibrationError, build, compare, load_table, marginals, ras, unsourced
from cluster.core import ShockBatch, simulate
from cluster.economy import Economy
from cluster.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = Path(cluster.__file__).parent / "data" / "ru-by.parquet"
TABLE = ROOT / "configs" / "calibration" / "ru_by.toml"
REL = 1e-9

RU_DISTRICTS = ("RU-CEN", "RU-NW", "RU-SOU", "RU-NCA", "RU-VOL", "RU-URA", "RU-SIB", "RU-FE")
BY_REGIONS = ("BY-BR", "BY-VI", "BY-HO", "BY-HR", "BY-MI", "BY-MA", "BY-HM")
PARTNERS = ("EU", "OSP", "CN", "IN", "TR", "KZCA", "ROW")
SECTORS = (
    "agri_food",
    "oil_gas_mining",
    "refined_chem",
    "metals",
    "machinery",
    "electronics",
    "vehicles",
    "other_manuf",
    "construction",
    "services",
)
GOODS = SECTORS[:8]


@pytest.fixture(scope="module")
def econ() -> Economy:
    return Economy.read_parquet(SHIPPED)


@pytest.fixture(scope="module")
def rebuilt() -> Economy:
    return build(TABLE)


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    with open(TABLE, "rb") as fh:
        return tomllib.load(fh)


def v(entry: dict[str, Any]) -> float:
    return float(entry["value"])


class Flows:
    """Annual flows aggregated to [origin region, product, destination region] (intermediate + final)."""

    def __init__(self, e: Economy) -> None:
        r, s = len(e.regions), len(e.sectors)
        z = e.z.reshape(r, s, r, s).sum(axis=3)
        y = e.y.reshape(r, s, r, -1).sum(axis=3)
        self.g = z + y
        self.regions = e.regions
        self.sectors = e.sectors

    def sum(self, origins: Any, products: Any, destinations: Any) -> float:
        o = [self.regions.index(x) for x in origins]
        k = [self.sectors.index(x) for x in products]
        d = [self.regions.index(x) for x in destinations]
        return float(self.g[np.ix_(o, k, d)].sum())


def close(achieved: float, target: float) -> bool:
    return abs(achieved / target - 1.0) <= REL


def same_marginals(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Same names, units and targets; achieved values equal to 1e-12 relative."""
    return len(a) == len(b) and all(
        x["name"] == y["name"]
        and x["unit"] == y["unit"]
        and x["target"] == y["target"]
        and abs(x["achieved"] - y["achieved"]) <= 1e-12 * abs(y["achieved"])
        for x, y in zip(a, b, strict=True)
    )


# -------------------------------------------------------------------------------------- rebuild, table


def test_shipped_file_matches_a_rebuild(rebuilt: Economy, econ: Economy) -> None:
    """Rebuilding from the table reproduces the shipped flows to 1e-12 relative, with the same labels, tags,
    non-zero pattern and calibration-table hash (so editing the table without rebuilding fails here)."""
    assert compare(rebuilt, econ) <= 1e-12
    assert rebuilt.provenance["calibration_sha256"] == econ.provenance["calibration_sha256"]
    assert same_marginals(rebuilt.provenance["marginals"], econ.provenance["marginals"])


def test_every_number_in_the_table_has_a_source_or_flag(table: dict[str, Any]) -> None:
    assert list(unsourced(table)) == []
    load_table(TABLE)  # also checks the structure
    bad = {
        "sources": {"a": "somewhere"},
        "x": {"value": 1.0},
        "y": {"value": 2.0, "src": "b"},
        "z": 3,
        "ok": {"value": [1, 2], "flag": "E"},
        "d": {"value": 4.0, "flag": "D"},
    }
    problems = " ".join(unsourced(bad))
    for where in ("x:", "y:", "z =", "d:"):
        assert where in problems
    assert "ok" not in problems


def test_an_unsourced_number_is_refused(tmp_path: Path) -> None:
    """A bare number in the table is an input error naming the file and the key."""
    text = TABLE.read_text(encoding="utf-8")
    sourced = 'gdp = { value = 1780.0, src = "rosstat_gdp" }'
    assert text.count(sourced) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(sourced, "gdp = 1780.0"), encoding="utf-8")
    with pytest.raises(InputError, match=r"countries\.RU\.gdp = 1780\.0") as err:
        load_table(bad)
    assert isinstance(err.value, CalibrationError)
    assert "bad.toml" in str(err.value)
    with pytest.raises(CalibrationError, match=r"countries\.RU\.gdp"):
        build(bad)


# ---------------------------------------------------------------------------------------- labels, tags


def test_labels_tags_and_metadata(econ: Economy, table: dict[str, Any]) -> None:
    assert econ.id == "ru-by"
    assert econ.regions == RU_DISTRICTS + BY_REGIONS + PARTNERS
    assert econ.sectors == SECTORS
    assert econ.country == ("RU",) * 8 + ("BY",) * 7 + PARTNERS
    assert econ.domestic.tolist() == [True] * 15 + [False] * 7
    assert econ.coalition.tolist() == [False] * 15 + [True, True] + [False] * 5
    assert econ.friendly.tolist() == [False] * 17 + [True] * 5
    assert econ.unit == "USD billion (2021)"  # annual flows
    assert "not an official" in econ.source
    prov = econ.provenance
    assert "illustrative calibration" in prov["disclaimer"].lower()
    assert set(prov["region_names"]) == set(econ.regions)
    assert set(prov["sector_names"]) == set(econ.sectors)
    assert prov["goods_sectors"] == list(GOODS)
    assert prov["balancing"]["max_relative_residual"] <= prov["balancing"]["tolerance"]
    assert set(prov["sources"]) == set(table["sources"])


def test_long_names(econ: Economy, rebuilt: Economy, table: dict[str, Any], tmp_path: Path) -> None:
    """Every region and sector has a distinct long name from the table, in the built economy, the shipped file
    and a Parquet round trip; the provenance keeps them by label."""
    names = dict(zip(rebuilt.regions, rebuilt.region_names, strict=True))
    assert names["RU-CEN"] == "Central Federal District"
    assert names["RU-FE"] == "Far Eastern Federal District"
    assert "Gomel" in names["BY-HO"]
    assert names["BY-HM"] == "Minsk city"
    assert names["BY-MI"] == "Minsk region"
    assert "European Union" in names["EU"]
    assert rebuilt.region_names == tuple(g["name"] for g in table["regions"])
    assert rebuilt.sector_names == tuple(x["name"] for x in table["sectors"])
    assert dict(zip(rebuilt.sectors, rebuilt.sector_names, strict=True))["machinery"] == "Machinery and equipment"
    for long, labels in ((rebuilt.region_names, rebuilt.regions), (rebuilt.sector_names, rebuilt.sectors)):
        assert len(set(long)) == len(long) == len(labels)
        assert all(name and name != label for name, label in zip(long, labels, strict=True))
    assert rebuilt.provenance["region_names"] == names
    assert (econ.region_names, econ.sector_names) == (rebuilt.region_names, rebuilt.sector_names)
    path = tmp_path / "ru-by.parquet"
    rebuilt.to_parquet(path)
    back = Economy.read_parquet(path)
    assert (back.region_names, back.sector_names) == (rebuilt.region_names, rebuilt.sector_names)


# ------------------------------------------------------------------------------------------------- RAS


def test_ras_meets_row_and_column_targets() -> None:
    """Two-dimensional RAS on a tiny matrix: rows and columns hit their targets, zero cells stay zero, the prior
    is left alone."""
    prior = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0], [2.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    rows = np.array([4.0, 3.0, 2.0, 1.0])
    cols = np.array([5.0, 3.0, 2.0])
    kept = prior.copy()
    m = ras(prior, rows, cols)
    assert np.allclose(m.sum(axis=1), rows, rtol=1e-13, atol=0)
    assert np.allclose(m.sum(axis=0), cols, rtol=1e-13, atol=0)
    assert np.array_equal(m == 0, prior == 0)
    assert (m[prior > 0] > 0).all()
    assert np.array_equal(prior, kept)


def test_ras_zero_row() -> None:
    """A row of zeros in the prior: the scalings divide by its zero sum, so ``ras`` refuses it rather than
    return NaN, whether its target is positive or zero (the calibration never hands it one)."""
    prior = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]])
    for rows, cols in (([2.0, 1.0, 4.0], [4.0, 3.0]), ([2.0, 0.0, 4.0], [3.5, 2.5])):
        with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(CalibrationError):
            ras(prior, np.array(rows), np.array(cols), sweeps=50)


def test_technology_and_value_added(econ: Economy, table: dict[str, Any]) -> None:
    """Every industry has positive value added at its sector's value-added ratio and the generic input mix."""
    r, s = len(econ.regions), len(econ.sectors)
    x = econ.x
    assert (econ.value_added > 0).all()
    ratio = (econ.value_added / x).reshape(r, s)
    a_c = econ.z.reshape(r, s, r * s).sum(axis=0) / x[None, :]  # (S, n)
    for j, sec in enumerate(table["sectors"]):
        assert ratio[:, j] == pytest.approx(v(sec["va_ratio"]), rel=REL)
        mix = sec["input_mix"]["value"]
        expected = np.array([mix[k] for k in SECTORS]) * (1.0 - v(sec["va_ratio"]))
        assert np.allclose(a_c[:, j::s], expected[:, None], rtol=REL, atol=0)


# ------------------------------------------------------------------------------------------- marginals


def test_regional_gdp_shares(econ: Economy, table: dict[str, Any]) -> None:
    """Gross regional product (value added) by federal district and by Belarusian region: shares and totals."""
    s = len(econ.sectors)
    va = econ.value_added.reshape(-1, s).sum(axis=1)
    for code, names in (("RU", RU_DISTRICTS), ("BY", BY_REGIONS)):
        rows = [econ.regions.index(g) for g in names]
        total = va[rows].sum()
        assert close(total, v(table["countries"][code]["gdp"]))
        cited = {g["id"]: v(g["grp_share"]) for g in table["regions"] if g["country"] == code}
        for g in names:
            assert close(va[econ.regions.index(g)] / total, cited[g] / sum(cited.values())), g
    for g in table["regions"]:
        if g["kind"] == "partner":
            assert close(va[econ.regions.index(g["id"])], v(g["gdp"])), g["id"]


def test_partner_shares_of_russian_trade(econ: Economy, table: dict[str, Any]) -> None:
    """Russia's goods exports and imports and each partner's share of turnover and of imports."""
    f = Flows(econ)
    ru, rb = table["trade"]["russia"], table["trade"]["russia_belarus"]
    partners = {p: (p,) for p in PARTNERS} | {"BY": BY_REGIONS}
    exports = {p: f.sum(RU_DISTRICTS, GOODS, d) for p, d in partners.items()}
    imports = {p: f.sum(o, GOODS, RU_DISTRICTS) for p, o in partners.items()}
    assert close(sum(exports.values()), v(ru["goods_exports"]))
    assert close(sum(imports.values()), v(ru["goods_imports"]))
    turnover = v(ru["goods_exports"]) + v(ru["goods_imports"])
    t_share = {p: v(e) for p, e in ru["turnover_share"].items()}
    t_share["BY"] = 100.0 * v(rb["goods_total"]) / turnover
    t_share["ROW"] = 100.0 - sum(t_share.values())
    m_share = {p: v(e) for p, e in ru["import_share"].items()}
    m_share["BY"] = 100.0 * v(rb["belarus_to_russia"]) / v(ru["goods_imports"])
    m_share["ROW"] = 100.0 - sum(m_share.values())
    assert set(t_share) == set(m_share) == set(partners)
    for p in partners:
        assert close(100.0 * (exports[p] + imports[p]) / turnover, t_share[p]), p
        assert close(100.0 * imports[p] / v(ru["goods_imports"]), m_share[p]), p
    # The 2022 stylized fact's denominator: partners that later sanctioned ~54% of turnover.
    assert 100.0 * sum(exports[p] + imports[p] for p in ("EU", "OSP")) / turnover == pytest.approx(54.0, abs=1e-9)


def test_russia_belarus_trade(econ: Economy, table: dict[str, Any]) -> None:
    f = Flows(econ)
    rb, by = table["trade"]["russia_belarus"], table["trade"]["belarus"]
    to_ru = f.sum(BY_REGIONS, GOODS, RU_DISTRICTS)
    to_by = f.sum(RU_DISTRICTS, GOODS, BY_REGIONS)
    assert close(to_ru + to_by, v(rb["goods_total"]))
    assert close(to_ru, v(rb["belarus_to_russia"]))
    not_by = RU_DISTRICTS + PARTNERS
    assert close(100.0 * to_ru / f.sum(BY_REGIONS, GOODS, not_by), v(by["russia_share_of_exports"]))
    assert close(100.0 * to_by / f.sum(not_by, GOODS, BY_REGIONS), v(by["russia_share_of_imports"]))
    assert close(f.sum(BY_REGIONS, GOODS, ("EU",)), v(by["goods_exports_to_eu"]))
    nongoods = ("construction", "services")
    both = f.sum(BY_REGIONS, nongoods, RU_DISTRICTS) + f.sum(RU_DISTRICTS, nongoods, BY_REGIONS)
    assert close(both, v(rb["nongoods_total"]))
    assert close(
        100.0 * f.sum(BY_REGIONS, ("agri_food",), RU_DISTRICTS) / to_ru, v(rb["agri_food_share_of_belarus_to_russia"])
    )


def test_every_recorded_marginal_within_tolerance(econ: Economy, table: dict[str, Any]) -> None:
    """All targeted marginals (product mixes, machinery shares, non-goods trade, partner openness, ...) as the
    builder measures them on the shipped file; the provenance records the same values."""
    fresh = marginals(econ, table)
    assert len(fresh) >= 60  # 69 with the current table
    for row in fresh:
        assert close(row["achieved"], row["target"]), row
    assert same_marginals(fresh, econ.provenance["marginals"])


# ---------------------------------------------------------------------------------------------- model


def test_quiet_run_stays_at_baseline(econ: Economy) -> None:
    """With no shock, a year in the model leaves production and value added at baseline (1e-10)."""
    bl = econ.baseline()
    out = simulate(bl, ShockBatch.quiet(bl, 4), 365, trajectories="daily")
    assert out.production_path is not None
    assert out.va_path is not None
    x0 = bl.x0.reshape(bl.n_regions, bl.n_sectors).sum(axis=1)
    assert np.max(np.abs(out.production_path / x0 - 1.0)) <= 1e-10
    assert np.max(np.abs(out.va_path / out.va0 - 1.0)) <= 1e-10
    assert bl.needed.all()  # every generic input is a real constraint in the model
