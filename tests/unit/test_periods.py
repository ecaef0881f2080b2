"""Calendar periods: quarters and years from ``[run] start``, country rows, and sums that add up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cluster.config import ConfigError, load
from cluster.runs import run_in_memory
from cluster.timeline import HORIZON, Calendar

SMOKE = Path(__file__).parents[2] / "configs" / "smoke.toml"
FLOWS = ("va_loss", "unmet_final_demand", "exports_lost", "ct_exports", "ct_imports", "leakage_premium")


def test_calendar_quarters_and_years() -> None:
    cal = Calendar(dt.date(2022, 1, 1), 730)
    assert cal.quarters == tuple(f"{y}Q{q}" for y in (2022, 2023) for q in (1, 2, 3, 4))
    assert cal.years == ("2022", "2023")
    assert cal.periods[-1] == HORIZON
    days = np.bincount(cal.quarter_of_day)
    assert days.tolist() == [90, 91, 92, 92, 90, 91, 92, 92]
    assert cal.day(dt.date(2022, 2, 24)) == 54
    assert cal.year_of_quarter.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    mid = Calendar(dt.date(2022, 2, 24), 100)  # starts mid-quarter, ends mid-quarter
    assert mid.quarters == ("2022Q1", "2022Q2")
    assert np.bincount(mid.quarter_of_day).tolist() == [36, 64]  # 24 Feb - 31 Mar; 1 Apr - 3 Jun
    rel = Calendar(None, 400)
    assert rel.quarters == ("Y1Q1", "Y1Q2", "Y1Q3", "Y1Q4", "Y2Q1")
    assert rel.years == ("Y1", "Y2")
    assert np.bincount(rel.quarter_of_day).tolist() == [91, 91, 91, 92, 35]


@pytest.mark.parametrize(("value", "hint"), [("'24 Feb 2022'", "expected a date"), ("2022-02-24T10:00:00", "time")])
def test_a_bad_start_date_is_refused(tmp_path: Path, value: str, hint: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[run]\nstart = {value}\n[economy]\nid = 'synthetic'\n")
    with pytest.raises(ConfigError, match=hint) as err:
        load(path)
    assert "[run.start]" in str(err.value)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, pa.Table]:
    """The smoke config from 2022-02-10 for 200 days (quarters cut at both ends), 16 draws."""
    text = SMOKE.read_text().replace("[run]\n", "[run]\nstart = 2022-02-10\n", 1)
    path = tmp_path_factory.mktemp("cfg") / "smoke.toml"
    path.write_text(text)
    out = run_in_memory(path, draws=16, days=200, batch_size=8)
    return out.results, out.periods


def _values(periods: pa.Table, name: str, **where: str) -> np.ndarray:
    mask = None
    for key, value in where.items():
        cond = pc.equal(periods[key], value)
        mask = cond if mask is None else pc.and_(mask, cond)
    rows = periods.filter(mask).sort_by(
        [("scenario_id", "ascending"), ("policy", "ascending"), ("region", "ascending")]
    )
    return rows[name].to_numpy()


def test_period_labels_and_days(run: tuple[pa.Table, pa.Table]) -> None:
    _, periods = run
    labels = periods.filter(pc.and_(pc.equal(periods["scenario_id"], 0), pc.equal(periods["region"], "RU-CEN")))
    labels = labels.filter(pc.equal(labels["policy"], "status_quo"))
    assert labels["period"].to_pylist() == ["2022Q1", "2022Q2", "2022Q3", "2022", HORIZON]
    assert labels["days"].to_pylist() == [50, 91, 59, 200, 200]  # 10 Feb - 31 Mar, Q2, 1 Jul - 28 Aug


def test_periods_add_up_to_the_horizon_totals(run: tuple[pa.Table, pa.Table]) -> None:
    results, periods = run
    for name in FLOWS:
        total = _values(periods, name, period=HORIZON, level="region")
        quarters = sum(_values(periods, name, period=q, level="region") for q in ("2022Q1", "2022Q2", "2022Q3"))
        year = _values(periods, name, period="2022", level="region")
        scale = max(1.0, float(np.abs(total).max()))
        np.testing.assert_allclose(quarters, total, rtol=1e-12, atol=1e-12 * scale, err_msg=name)
        np.testing.assert_allclose(year, total, rtol=1e-12, atol=1e-12 * scale, err_msg=name)
        ordered = results.sort_by([("scenario_id", "ascending"), ("policy", "ascending"), ("region", "ascending")])
        np.testing.assert_allclose(total, ordered[name].to_numpy(), rtol=1e-12, atol=1e-12 * scale, err_msg=name)
    assert np.abs(_values(periods, "va_loss", period=HORIZON, level="region")).max() > 0


def test_country_rows_are_the_sums_of_their_regions(run: tuple[pa.Table, pa.Table]) -> None:
    _, periods = run
    for country, prefix in (("RU", "RU-"), ("BY", "BY-")):
        for name in FLOWS:
            got = _values(periods, name, region=country, level="country", period="2022Q2")
            rows = periods.filter(
                pc.and_(
                    pc.and_(pc.starts_with(periods["region"], prefix), pc.equal(periods["period"], "2022Q2")),
                    pc.equal(periods["level"], "region"),
                )
            )
            summed = rows.group_by(["scenario_id", "policy"]).aggregate([(name, "sum")])
            summed = summed.sort_by([("scenario_id", "ascending"), ("policy", "ascending")])
            np.testing.assert_allclose(got, summed[f"{name}_sum"].to_numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    eu = _values(periods, "va_loss", region="EU", level="country", period=HORIZON)
    np.testing.assert_array_equal(eu, _values(periods, "va_loss", region="EU", level="region", period=HORIZON))


def test_period_loss_is_a_share_of_the_period_baseline(run: tuple[pa.Table, pa.Table]) -> None:
    results, periods = run
    # The horizon's share of the horizon's baseline = the results' share of a year's baseline x 365 / days.
    pct = _values(periods, "va_loss_pct", period=HORIZON, level="region")
    ordered = results.sort_by([("scenario_id", "ascending"), ("policy", "ascending"), ("region", "ascending")])
    np.testing.assert_allclose(pct, ordered["va_loss_pct"].to_numpy() * 365 / 200, rtol=1e-12)
    q1 = periods.filter(pc.and_(pc.equal(periods["period"], "2022Q1"), pc.equal(periods["level"], "country")))
    q1_pct = q1["va_loss_pct"].to_numpy()
    assert np.all(np.isfinite(q1_pct))


def test_summarize_by_quarter_and_country_in_text_and_json(tmp_path: Path) -> None:
    """``shock summarize --by quarter --countries`` prints each country's quarterly loss; ``--json`` the same
    numbers; both read the run folder's period tables."""
    import json

    from click.testing import CliRunner

    from cluster.cli import cli

    config = tmp_path / "smoke.toml"
    config.write_text(SMOKE.read_text().replace("[run]\n", "[run]\nstart = 2022-01-01\n", 1))
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["run", str(config), "--out", str(out), "--executor", "serial", "--draws", "8"])
    assert res.exit_code == 0, res.output
    text = CliRunner().invoke(cli, ["summarize", str(out), "--by", "quarter", "--countries"])
    assert text.exit_code == 0, text.output
    rows = [line.split() for line in text.output.splitlines() if line.startswith("status_quo ")]
    got = {(row[1], row[2]): row[4] for row in rows}  # (country, quarter) -> the mean as printed
    assert {c for c, _ in got} == {"RU", "BY", "EU", "OSP", "CN", "IN", "TR", "KZCA", "ROW"}
    assert {q for _, q in got} == {"2022Q1", "2022Q2"}  # 120 days from 1 January
    as_json = CliRunner().invoke(cli, ["summarize", str(out), "--by", "quarter", "--countries", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["metric"] == "va_loss_pct"
    means = {(r["region"], r["period"]): r["mean"] for r in data["rows"] if r["policy"] == "status_quo"}
    assert set(means) == set(got)
    for key, mean in means.items():  # the same number, printed with the table's decimals
        decimals = len(got[key].partition(".")[2])
        assert f"{mean:,.{decimals}f}" == got[key], key
    assert means[("RU", "2022Q2")] > 0
    years = CliRunner().invoke(cli, ["summarize", str(out), "--by", "year", "--json"])
    assert {r["period"] for r in json.loads(years.output)["rows"]} == {"2022"}
    bad = CliRunner().invoke(cli, ["summarize", str(out), "--by", "quarter", "--metric", "recovery_day"])
    assert bad.exit_code == 2
    assert "unknown metric 'recovery_day' (by quarter)" in bad.output


def test_weekly_trajectories_of_regions_and_countries(tmp_path: Path) -> None:
    """``[output] trajectories = "weekly"``: a row per scenario, policy, region or country and whole week, dated;
    the index is 1 before anything happens and the countries' paths are the sums of their regions'."""
    text = (
        SMOKE.read_text().replace("[run]\n", "[run]\nstart = 2022-01-03\n", 1) + '\n[output]\ntrajectories = "weekly"\n'
    )
    path = tmp_path / "smoke.toml"
    path.write_text(text)
    out = run_in_memory(path, draws=8, days=120, batch_size=8)
    tra = out.trajectories
    assert tra is not None
    assert tra.num_rows == 8 * 3 * (22 + 9) * (120 // 7)
    first = tra.filter(pc.equal(tra["week"], 0))
    np.testing.assert_allclose(first["va_index"].to_numpy(), 1.0, rtol=1e-12)  # onset is day 10 or later
    assert first["date"].to_pylist()[0] == dt.date(2022, 1, 3)
    ru = tra.filter(pc.and_(pc.equal(tra["region"], "RU"), pc.equal(tra["level"], "country")))
    regions = tra.filter(pc.and_(pc.starts_with(tra["region"], "RU-"), pc.equal(tra["level"], "region")))
    summed = regions.group_by(["scenario_id", "policy", "week"]).aggregate([("va", "sum")])
    keys = [("scenario_id", "ascending"), ("policy", "ascending"), ("week", "ascending")]
    np.testing.assert_allclose(ru.sort_by(keys)["va"].to_numpy(), summed.sort_by(keys)["va_sum"].to_numpy(), rtol=1e-12)
    late = tra.filter(pc.and_(pc.equal(tra["week"], 15), pc.equal(tra["region"], "RU")))
    assert late["va_index"].to_numpy().min() < 1.0  # the embargo bites
