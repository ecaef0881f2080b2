"""The paired comparison (``shock compare``) and the verdicts of ``shock summarize``, on a real run folder:
every figure recomputed from the period rows read back with pyarrow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner
from scipy import stats

from cluster.analysis import compare, target_countries, verdicts
from cluster.cli import cli
from cluster.errors import InputError
from cluster.runs import run_config
from cluster.store import open_run

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"
DRAWS = 16


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "run"
    run_config(SMOKE, out=str(out), draws=DRAWS, days=60, executor="serial", batch_size=8)
    return out


def _values(run_dir: Path, level: str, unit: str, policy: str) -> np.ndarray:
    """The horizon's period rows of ``unit`` under ``policy`` by scenario, as a share of one year's baseline value
    added (the horizon's share times its days over 365), as the results have it."""
    periods = open_run(run_dir).periods().to_table(filter=pc.field("period") == "all")
    rows = periods.filter(pc.and_(pc.equal(periods["level"], level), pc.equal(periods["region"], unit)))
    mine = rows.filter(pc.equal(rows["policy"], policy)).sort_by("scenario_id")
    return np.asarray(mine["va_loss_pct"].to_numpy() * mine["days"].to_numpy() / 365)


def _paired(run_dir: Path, level: str, unit: str, policy: str, base: str) -> np.ndarray:
    return _values(run_dir, level, unit, policy) - _values(run_dir, level, unit, base)


def test_every_figure_is_the_paired_difference_of_the_period_rows(run_dir: Path) -> None:
    table = compare(run_dir)
    run = open_run(run_dir)
    targets = run.manifest["config"]["economy"]["targets"]
    policies = [p for p in run.manifest["policies"] if p != "status_quo"]
    regions = [
        r for lvl, r in zip(table["level"].to_pylist(), table["unit"].to_pylist(), strict=True) if lvl == "region"
    ]
    assert set(regions) == set(targets)  # every target region, and no other region
    assert table.num_rows == len(policies) * len(set(table["unit"].to_pylist()))
    for row in table.to_pylist():
        d = _paired(run_dir, row["level"], row["unit"], row["policy"], "status_quo")
        assert row["n"] == DRAWS
        assert row["mean"] == pytest.approx(d.mean(), rel=1e-12, abs=1e-15)
        half = stats.t.ppf(0.975, DRAWS - 1) * d.std(ddof=1) / math.sqrt(DRAWS)
        assert row["ci_low"] == pytest.approx(d.mean() - half, rel=1e-9, abs=1e-15)
        assert row["ci_high"] == pytest.approx(d.mean() + half, rel=1e-9, abs=1e-15)
        assert row["p_better"] == pytest.approx(np.mean(d < 0) + 0.5 * np.mean(d == 0))


def test_verdicts_name_the_best_policy_of_each_target_country_and_its_certainty(run_dir: Path) -> None:
    table = compare(run_dir)
    countries = target_countries(open_run(run_dir))
    assert countries == ["RU", "BY"]
    lines = verdicts(table, countries)
    assert [line.split(":")[0] for line in lines] == countries
    for country, line in zip(countries, lines, strict=True):
        rows = [r for r in table.to_pylist() if r["unit"] == country]
        best = min(rows, key=lambda r: r["mean"])
        assert best["policy"] in line
        certain = best["ci_high"] < 0
        assert ("larger than its uncertainty" in line) is (certain and best["mean"] < 0)


def test_a_comparison_that_cannot_be_made_is_refused(run_dir: Path) -> None:
    with pytest.raises(InputError, match="no policy 'nothing' to use as the baseline"):
        compare(run_dir, baseline="nothing")
    with pytest.raises(InputError, match="unknown metric 'recovery_day'"):
        compare(run_dir, metric="recovery_day")


def test_the_commands_print_the_comparison_and_the_summary_says_what_it_shows(run_dir: Path) -> None:
    res = CliRunner().invoke(cli, ["compare", str(run_dir), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["baseline_policy"] == "status_quo"
    assert {r["unit"] for r in data["rows"]} >= {"RU", "BY"}
    res = CliRunner().invoke(cli, ["compare", str(run_dir), "--baseline", "counter_trade"])
    assert res.exit_code == 0, res.output
    assert "each policy - counter_trade" in res.stdout
    res = CliRunner().invoke(cli, ["summarize", str(run_dir)])
    assert res.exit_code == 0, res.output
    out = res.stdout.splitlines()
    assert out[0].startswith("va_loss_pct: cumulative value-added loss over the horizon, as a share of one year's")
    assert "unit: % of a year's baseline value added" in out[0]
    totals = out.index(
        "country totals: va_loss_pct: loss of real value added over the whole horizon, as a share of one year's "
        "baseline value added; unit: % of a year's baseline value added"
    )
    ru = next(line.split() for line in out[totals:] if line.startswith("status_quo ") and line.split()[1] == "RU")
    assert float(ru[3]) == pytest.approx(_values(run_dir, "country", "RU", "status_quo").mean(), abs=0.006)
    assert out[-2].startswith("RU: ")
    assert out[-1].startswith("BY: ")
    res = CliRunner().invoke(cli, ["compare", str(run_dir), "--baseline", "nothing"])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ")
