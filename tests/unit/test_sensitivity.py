"""Global sensitivity and scenario discovery (``cluster.sensitivity``): the Sobol' path recovers the Ishigami
function's analytic indices, a Saltelli run of the smoke economy gives consistent indices, PRIM finds a known box,
and bad requests are refused in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from cluster.analysis import loss_by_policy
from cluster.errors import InputError
from cluster.plan import saltelli
from cluster.runs import run_config
from cluster.sensitivity import (
    analyze,
    boxes_json,
    format_boxes,
    format_sensitivity,
    moment_free,
    outcome,
    prim_boxes,
    rank_correlations,
    sensitivity_json,
    sobol_indices,
)
from cluster.store import Run, open_run
from cluster.timeline import HORIZON

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"
#: The smoke embargo with six uncertain parameters (D = 6): 16 base points x 8 = 128 draws.
SALTELLI = """
[run]
name = "saltelli"
seed = 7
draws = 128
days = 40
design = "saltelli"

[economy]
id = "ru-by"

[sanctions]
onset = {uniform = [10, 30]}
import_ban = {default = 0.0, machinery = {uniform = [0.5, 1.0]}, electronics = {uniform = [0.5, 1.0]}}
export_ban = {default = 0.0, oil_gas_mining = {beta = [4, 2]}}
leakage = {default = 0.1, machinery = {uniform = [0.0, 0.3]}}
leakage_premium = 0.3
substitutability = 0.5
substitution_tau = 120

[policies.status_quo]

[policies.counter_trade]
counter_trade = {capacity = 0.02, efficiency = {uniform = [0.3, 0.9]}, discount = 0.15, lag_days = 15}
"""


@pytest.fixture(scope="module")
def salt(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("saltelli")
    (folder / "saltelli.toml").write_text(SALTELLI)
    run_config(folder / "saltelli.toml", out=str(folder / "run"), executor="serial")
    return open_run(folder / "run")


@pytest.fixture(scope="module")
def mc(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("mc") / "run"
    run_config(SMOKE, out=str(out), draws=48, days=40, executor="serial")
    return open_run(out)


# -- Sobol' on the Ishigami function -------------------------------------------------------------------------


def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])  # type: ignore[no-any-return]


def _ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """The analytic first-order and total indices of Ishigami's function on [-pi, pi]^3."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1, v2, v13 = 0.5 * (1 + b * pi4 / 5) ** 2, a * a / 8, 8 * b * b * pi8 / 225
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]


def test_sobol_indices_recover_ishigami_analytic_indices() -> None:
    n_base, d = 2048, 3
    u = saltelli(20220224, d, np.arange(n_base * (d + 2), dtype=np.int64))
    x = -math.pi + 2 * math.pi * u
    found = {s.name: s for s in sobol_indices({f"x{j + 1}": x[:, j] for j in range(d)}, _ishigami(x))}
    s1, st = _ishigami_indices()
    for j in range(d):
        got = found[f"x{j + 1}"]
        assert abs(got.s1 - s1[j]) <= got.s1_conf, (j, got, s1[j])
        assert abs(got.st - st[j]) <= got.st_conf, (j, got, st[j])
    assert [s.name for s in sobol_indices({f"x{j + 1}": x[:, j] for j in range(d)}, _ishigami(x))] == [
        "x1",
        "x2",
        "x3",
    ]  # sorted by total index


def test_sobol_indices_refuse_a_sample_that_is_not_saltelli() -> None:
    rng = np.random.default_rng(0)
    x = {"a": rng.random(40), "b": rng.random(40)}  # 40 = 10 x 4, but 10 is not a power of 2
    with pytest.raises(InputError, match="not a Saltelli sample"):
        sobol_indices(x, x["a"] + x["b"])
    x = {"a": rng.random(32), "b": rng.random(32)}  # 8 x 4, but not the layout
    with pytest.raises(InputError, match="not in the Saltelli layout"):
        sobol_indices(x, x["a"] + x["b"])


# -- a Saltelli run ------------------------------------------------------------------------------------------


def test_saltelli_run_total_indices_are_at_least_first_order(salt: Run) -> None:
    res = analyze(salt, "va_loss_pct", policy="status_quo", country="RU")
    assert res.method == "sobol"
    assert res.design == "saltelli"
    assert res.n == 128
    assert len(res.sobol) == 6
    assert not res.pawn
    for s in res.sobol:
        assert s.st >= s.s1 - s.s1_conf, s  # the total index is never below the first-order one beyond its interval
        assert s.st_conf >= 0
        assert s.s1_conf >= 0
    assert res.sobol[0].name in ("onset", "export_ban.oil_gas_mining")
    assert {r.name for r in res.ranks} == {s.name for s in res.sobol}
    lines = format_sensitivity(res)
    assert lines[0].startswith("va_loss_pct under status_quo in country RU: 128 scenarios (saltelli)")
    assert any(line.startswith("Sobol' indices") for line in lines)
    data = json.loads(sensitivity_json(res))
    assert data["method"] == "sobol"
    assert len(data["sobol"]) == 6
    assert data["pawn"] == []


def test_outcome_reads_the_varying_parameters_and_the_metric(salt: Run) -> None:
    x, y = outcome(salt, "va_loss_pct", policy="counter_trade", region="BY-MI")
    assert list(x) == [
        "onset",
        "import_ban.machinery",
        "import_ban.electronics",
        "export_ban.oil_gas_mining",
        "leakage.machinery",
        "policy.counter_trade.counter_trade.efficiency",
    ]
    results = salt.results_table(columns=["scenario_id", "policy", "region", "va_loss_pct"])
    mine = results.filter(pc.and_(pc.equal(results["policy"], "counter_trade"), pc.equal(results["region"], "BY-MI")))
    assert np.array_equal(y, mine.sort_by("scenario_id")["va_loss_pct"].to_numpy())
    params = salt.params_table().filter(pc.equal(salt.params_table()["policy"], "counter_trade")).sort_by("scenario_id")
    assert all(np.array_equal(x[n], params[n].to_numpy()) for n in x)
    _, by = outcome(salt, "va_loss", policy="status_quo", country="BY")
    periods = salt.periods_table(columns=["scenario_id", "policy", "region", "level", "period", "va_loss"])
    assert np.array_equal(by, loss_by_policy(periods, ["BY"], metric="va_loss", period=HORIZON)["status_quo"])


# -- any other design ----------------------------------------------------------------------------------------


def test_monte_carlo_run_gets_pawn_and_rank_correlations(mc: Run) -> None:
    res = analyze(mc, "va_loss_pct", policy="status_quo", region="RU-CEN")
    assert res.method == "pawn"
    assert res.design == "monte_carlo"
    assert res.n == 48
    assert not res.sobol
    assert res.pawn
    assert all(0 <= p.minimum <= p.median <= p.maximum <= 1 for p in res.pawn)
    assert [p.median for p in res.pawn] == sorted((p.median for p in res.pawn), reverse=True)
    assert [abs(r.rho) for r in res.ranks] == sorted((abs(r.rho) for r in res.ranks), reverse=True)
    assert all(r.low <= r.rho <= r.high for r in res.ranks)
    assert any(line.startswith("PAWN indices") for line in format_sensitivity(res))
    json.loads(sensitivity_json(res))


def test_rank_correlations_and_pawn_rank_a_monotone_driver_first() -> None:
    rng = np.random.default_rng(1)
    x = {"noise": rng.random(500), "driver": rng.random(500), "weak": rng.random(500)}
    y = np.exp(3 * x["driver"]) + 5 * x["weak"] + 0.01 * rng.random(500)
    ranks = rank_correlations(x, y)
    assert ranks[0].name == "driver"
    assert ranks[0].rho > 0.85
    assert ranks[0].high <= 1
    assert ranks[-1].name == "noise"
    assert ranks[-1].low < 0 < ranks[-1].high
    pawn = moment_free(x, y)
    assert pawn[0].name == "driver"
    assert pawn[-1].name == "noise"
    assert pawn[-1].median < pawn[-1].critical < pawn[0].median


# -- PRIM ----------------------------------------------------------------------------------------------------


def test_prim_finds_a_known_box() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    x = {"x1": rng.random(n), "x2": rng.random(n), "x3": rng.random(n)}
    y = ((x["x1"] > 0.7) & (x["x2"] < 0.3)).astype(float) + 0.1 * rng.random(n)
    boxes = prim_boxes(x, y, threshold=0.5)
    assert boxes, "no box"
    box = boxes[0]
    limits = {lim.name: lim for lim in box.limits}
    assert set(limits) == {"x1", "x2"}, box
    assert limits["x1"].high is None
    assert limits["x1"].low == pytest.approx(0.7, abs=0.03)
    assert limits["x2"].low is None
    assert limits["x2"].high == pytest.approx(0.3, abs=0.03)
    assert box.coverage >= 0.9
    assert box.density >= 0.9
    assert box.k == round(box.density * box.n)
    assert box.threshold == 0.5
    text = format_boxes(boxes, metric="y")
    assert text[0].startswith("PRIM boxes")
    assert any("x1" in line for line in text)
    assert json.loads(boxes_json(boxes))[0]["limits"]


def test_prim_default_threshold_is_the_95th_percentile() -> None:
    rng = np.random.default_rng(4)
    x = {"a": rng.random(2000), "b": rng.random(2000)}
    boxes = prim_boxes(x, x["a"] + 0.05 * x["b"])
    assert boxes
    assert boxes[0].threshold == pytest.approx(np.quantile(x["a"] + 0.05 * x["b"], 0.95))
    assert {lim.name for lim in boxes[0].limits} >= {"a"}


# -- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "kwargs", "match"),
    [
        ("nope", {"policy": "status_quo", "region": "RU-CEN"}, "unknown metric 'nope'.*va_loss_pct"),
        ("va_loss", {"policy": "nope", "region": "RU-CEN"}, "unknown policy 'nope'.*status_quo, counter_trade"),
        ("va_loss", {"policy": "status_quo", "region": "Mars"}, "unknown region 'Mars'.*RU-CEN"),
        ("va_loss", {"policy": "status_quo", "country": "Mars"}, "unknown country 'Mars'.*RU, BY"),
        ("recovery_day", {"policy": "status_quo", "country": "RU"}, "unknown metric 'recovery_day' \\(countries\\)"),
        ("va_loss", {"policy": "status_quo"}, "name a region or a country"),
        ("va_loss", {"policy": "status_quo", "region": "RU-CEN", "country": "RU"}, "name a region or a country"),
    ],
)
def test_bad_requests_are_refused_in_one_line(salt: Run, metric: str, kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(InputError, match=match) as err:
        outcome(salt, metric, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_unanalysable_metrics_are_refused() -> None:
    x = {"a": np.linspace(0, 1, 50)}
    for y, match in [
        (np.ones(50), "in every scenario"),
        (np.where(x["a"] > 0.5, np.nan, 1.0), "null or not finite in 25 of 50"),
        (np.ones(3), "50 rows"),
    ]:
        with pytest.raises(InputError, match=match):
            rank_correlations(x, y)
    with pytest.raises(InputError, match="nothing to attribute"):
        rank_correlations({}, np.arange(5.0))
    with pytest.raises(InputError, match="quantile"):
        prim_boxes(x, x["a"], quantile=1.5)
    with pytest.raises(InputError, match="no scenario has the metric at or above 2"):
        prim_boxes(x, x["a"], threshold=2.0)
