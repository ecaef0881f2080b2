"""``summarize`` on real run folders against numpy reference values: quantiles, CVaR, paired differences, nulls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cluster.analysis import METRICS, SUMMARY_SCHEMA, format_summary, summarize, summarize_table
from cluster.errors import InputError
from cluster.schema import RESULT_SCHEMA, params_schema, with_provenance
from cluster.store import RunFolder, open_run

S = 200
POLICIES = ["counter_trade", "status_quo", "import_subst"]  # the baseline is not the first policy
REGIONS = ["RU-CEN", "RU-NW", "BY"]
P, R = len(POLICIES), len(REGIONS)
RTOL = 1e-12


def draw(seed: int = 42) -> dict[str, np.ndarray]:
    """Metrics of shape (scenarios, policies, regions); NaN marks a null recovery day."""
    rng = np.random.default_rng(seed)
    shock = rng.gamma(2.0, 1.5, size=(S, 1, R))
    effect = np.array([0.7, 1.0, 0.85])[None, :, None]
    out = {name: rng.normal(size=(S, P, R)) for name in METRICS}
    out["va_loss_pct"] = shock * effect + rng.normal(scale=0.1, size=(S, P, R))
    days = np.round(shock * effect * 60 + rng.integers(0, 20, size=(S, P, R)))
    out["recovery_day"] = np.where(rng.random((S, P, R)) < 0.2, np.nan, days)
    return out


def to_table(metrics: dict[str, np.ndarray], ids: np.ndarray | None = None) -> pa.Table:
    """Rows in (scenario, policy, region) order for the scenarios ``ids`` (default: all)."""
    ids = np.arange(S) if ids is None else ids
    cols: dict[str, Any] = {
        "scenario_id": np.repeat(ids, P * R).astype(np.int64),
        "policy": np.tile(np.repeat(POLICIES, R), len(ids)),
        "region": np.tile(REGIONS, len(ids) * P),
    }
    for name, values in metrics.items():
        flat = values[ids].reshape(-1)
        if name == "recovery_day":
            cols[name] = pa.array(np.nan_to_num(flat).astype(np.int32), pa.int32(), mask=np.isnan(flat))
        else:
            cols[name] = flat
    return pa.table(cols, schema=with_provenance(RESULT_SCHEMA, {"seed": 42}))


@pytest.fixture(scope="module")
def metrics() -> dict[str, np.ndarray]:
    return draw()


@pytest.fixture(scope="module")
def run_dir(metrics: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("runs") / "run")
    schema = with_provenance(params_schema(["leakage"]), {"seed": 42})
    with RunFolder.create(path) as folder:
        for i in [3, 1, 0, 2]:
            ids = np.arange(i * 50, (i + 1) * 50)
            sid = np.repeat(ids, P)
            params = pa.table({"scenario_id": sid, "policy": np.tile(POLICIES, 50), "leakage": sid / S}, schema=schema)
            folder.write_batch(i, to_table(metrics, ids), params)
    return path


def reference(x: np.ndarray) -> dict[str, float]:
    """The statistics of the non-NaN values of ``x``, by numpy."""
    v = x[~np.isnan(x)]
    p5, p50, p95 = np.quantile(v, [0.05, 0.5, 0.95], method="linear")
    std = v.std(ddof=1)
    return {
        "n": len(v),
        "n_null": int(np.isnan(x).sum()),
        "mean": v.mean(),
        "std": std,
        "se": std / np.sqrt(len(v)),
        "p5": p5,
        "p50": p50,
        "p95": p95,
        "cvar95": v[v >= p95].mean(),
    }


def paired(x: np.ndarray, base: np.ndarray) -> dict[str, float]:
    d = x - base
    d = d[~np.isnan(d)]
    return {"diff_n": len(d), "diff_mean": d.mean(), "diff_se": d.std(ddof=1) / np.sqrt(len(d))}


def check(summary: pa.Table, metrics: dict[str, np.ndarray], metric: str, baseline: str | None) -> None:
    rows = summary.to_pylist()
    assert [(r["policy"], r["region"]) for r in rows] == [(p, r) for p in POLICIES for r in REGIONS]
    x = metrics[metric]
    for row in rows:
        p, r = POLICIES.index(row["policy"]), REGIONS.index(row["region"])
        expected: dict[str, Any] = reference(x[:, p, r])
        if baseline is None or row["policy"] == baseline:
            expected.update(diff_n=None, diff_mean=None, diff_se=None)
        else:
            expected.update(paired(x[:, p, r], x[:, POLICIES.index(baseline), r]))
        for name, value in expected.items():
            if value is None or isinstance(value, int):
                assert row[name] == value, (row["policy"], row["region"], name)
            else:
                np.testing.assert_allclose(row[name], value, rtol=RTOL, atol=0, err_msg=f"{row} {name}")


def test_summary_matches_numpy(run_dir: str, metrics: dict[str, np.ndarray]) -> None:
    summary = summarize(run_dir)
    assert summary.schema.equals(SUMMARY_SCHEMA)
    meta = json.loads(summary.schema.metadata[b"shock"])
    assert (meta["metric"], meta["baseline_policy"], meta["run"]) == ("va_loss_pct", "status_quo", run_dir)
    check(summary, metrics, "va_loss_pct", "status_quo")
    assert all(row["n"] == S and row["n_null"] == 0 for row in summary.to_pylist())
    # The policies really differ, and pairing makes the difference sharp.
    ct = summary.filter(pc.equal(summary["policy"], "counter_trade")).to_pylist()
    assert all(row["diff_mean"] < -5 * row["diff_se"] for row in ct)
    assert all(row["diff_se"] < row["se"] / 2 for row in ct)


def test_every_metric_matches_and_a_run_object_works(run_dir: str, metrics: dict[str, np.ndarray]) -> None:
    run = open_run(run_dir)
    for metric in ["va_loss", "worst_day_loss_pct", "capacity_online"]:
        check(summarize(run, metric=metric), metrics, metric, "status_quo")


def test_nulls_are_left_out_and_counted(run_dir: str, metrics: dict[str, np.ndarray]) -> None:
    summary = summarize(run_dir, metric="recovery_day")
    check(summary, metrics, "recovery_day", "status_quo")
    rows = summary.to_pylist()
    assert all(row["n"] + row["n_null"] == S for row in rows)
    assert all(0 < row["n_null"] < S / 2 for row in rows)
    assert all(row["diff_n"] is None or row["diff_n"] < row["n"] for row in rows)
    assert "never recovered" in format_summary(summary)[1]


def test_a_metric_with_only_nulls_gives_null_statistics(metrics: dict[str, np.ndarray]) -> None:
    nulls = {**metrics, "recovery_day": np.full((S, P, R), np.nan)}
    summary = summarize_table(to_table(nulls), metric="recovery_day")
    row = summary.to_pylist()[0]
    assert (row["n"], row["n_null"], row["mean"], row["p95"], row["cvar95"]) == (0, S, None, None, None)
    assert (row["diff_n"], row["diff_mean"], row["diff_se"]) == (0, None, None)


def test_row_order_of_the_input_does_not_matter(metrics: dict[str, np.ndarray]) -> None:
    table = to_table(metrics)
    shuffled = table.take(np.random.default_rng(1).permutation(table.num_rows))
    # Groups follow first appearance: restore the policy and region order by putting scenario 0 first.
    first = table.slice(0, P * R)
    rest = shuffled.filter(pc.not_equal(shuffled["scenario_id"], 0))
    assert summarize_table(pa.concat_tables([first, rest])).equals(summarize_table(table))


def test_a_named_baseline_and_no_baseline(metrics: dict[str, np.ndarray]) -> None:
    table = to_table(metrics)
    check(summarize_table(table, baseline_policy="import_subst"), metrics, "va_loss_pct", "import_subst")
    renamed = table.set_column(1, "policy", pc.replace_substring(table["policy"], "status_quo", "sq"))
    summary = summarize_table(renamed)
    assert summary["diff_mean"].null_count == summary.num_rows
    assert json.loads(summary.schema.metadata[b"shock"])["baseline_policy"] is None
    assert not any("vs" in line for line in format_summary(summary)[1:2])
    missing = "no policy 'status_quo' to use as the baseline; the run has counter_trade, sq, import_subst"
    with pytest.raises(InputError, match=missing):
        summarize_table(renamed, baseline_policy="status_quo")


def test_an_unknown_metric_lists_the_metrics(run_dir: str) -> None:
    with pytest.raises(InputError, match="unknown metric 'gdp'") as err:
        summarize(run_dir, metric="gdp")
    assert all(name in str(err.value) for name in METRICS)
    with pytest.raises(InputError, match="unknown metric 'policy'"):
        summarize(run_dir, metric="policy")


def test_unpaired_or_duplicate_scenarios_are_refused(metrics: dict[str, np.ndarray]) -> None:
    table = to_table(metrics)
    gone = pc.and_(pc.equal(table["scenario_id"], 17), pc.equal(table["policy"], "counter_trade"))
    with pytest.raises(InputError, match="policy 'counter_trade' and baseline 'status_quo' cover different scenarios"):
        summarize_table(table.filter(pc.invert(gone)), source="RUN")
    twice = pa.concat_tables([table, table.slice(0, 1)])
    with pytest.raises(InputError, match=re.escape("RUN: scenario 0 occurs twice under policy 'counter_trade'")):
        summarize_table(twice, source="RUN")


def test_a_missing_run_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no run folder"):
        summarize(str(tmp_path / "missing"))


def test_format_summary_aligns_columns(run_dir: str) -> None:
    lines = format_summary(summarize(run_dir))
    assert lines[0].startswith("va_loss_pct per policy and region")
    assert "vs status_quo: paired difference, policy - status_quo" in lines[0]
    assert lines[1].split() == [
        "policy",
        "region",
        "n",
        "mean",
        "se",
        "std",
        "p5",
        "p50",
        "p95",
        "cvar95",
        "vs",
        "status_quo",
        "se",
    ]
    assert len(lines) == 2 + P * R
    assert len({len(line) for line in lines[1:]}) == 1  # right-aligned numbers end in one column
    status_quo = [line for line in lines[2:] if line.startswith("status_quo")]
    assert len(status_quo) == R
    assert all(line.split()[-2:] == ["-", "-"] for line in status_quo)
