"""Exports (``cluster.export``) round-trip through the real packages: EMA Workbench's ``load_results`` gives back
the experiments and outcomes, SALib reads the problem and analyses the outputs, the CSV files are the tables; an
export never overwrites unless told, and a failure leaves nothing behind."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from cluster.errors import InputError
from cluster.export import export
from cluster.runs import run_config
from cluster.sensitivity import outcome, sobol_indices
from cluster.store import Run, open_run

SALTELLI = """
[run]
name = "saltelli"
seed = 3
draws = 96
days = 30
design = "saltelli"

[economy]
id = "ru-by"

[sanctions]
onset = {uniform = [5, 20]}
import_ban = {default = 0.0, machinery = {uniform = [0.5, 1.0]}}
export_ban = {default = 0.0, oil_gas_mining = {beta = [4, 2]}}
leakage = 0.1
leakage_premium = 0.3
substitutability = 0.5
substitution_tau = 120

[policies.status_quo]

[policies.counter_trade]
counter_trade = {capacity = 0.02, efficiency = {uniform = [0.3, 0.9]}, discount = 0.15, lag_days = 15}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("export")
    (folder / "saltelli.toml").write_text(SALTELLI)
    run_config(folder / "saltelli.toml", out=str(folder / "run"), executor="serial")
    return open_run(folder / "run")


def _load_ema(path: str) -> tuple[object, dict[str, np.ndarray]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA Workbench warns about optional packages it lacks
        from ema_workbench import load_results

        return load_results(path)  # type: ignore[no-any-return]


def test_ema_archive_round_trips(run: Run, tmp_path: Path) -> None:
    out = str(tmp_path / "run.tar.gz")
    assert export(run, "ema", out, metrics=["va_loss_pct", "recovery_day"]) == [out]
    experiments, outcomes = _load_ema(out)
    params = run.params_table()
    policies = run.manifest["policies"]
    assert len(experiments) == params.num_rows == 96 * len(policies)  # type: ignore[arg-type]
    assert list(experiments["policy"][: len(policies)]) == policies  # type: ignore[index]
    assert set(experiments["model"]) == {"saltelli"}  # type: ignore[index]
    for name in [n for n in params.column_names if n not in ("scenario_id", "policy")]:
        for policy in policies:
            mine = params.filter(pc.equal(params["policy"], policy)).sort_by("scenario_id")
            rows = experiments[experiments["policy"] == policy].sort_values("scenario")  # type: ignore[index]
            assert np.array_equal(rows["scenario"].to_numpy(), mine["scenario_id"].to_numpy())
            assert np.array_equal(rows[name].to_numpy(), mine[name].to_numpy()), name
    regions = run.manifest["regions"]
    assert set(outcomes) == {f"{m}.{r}" for m in ("va_loss_pct", "recovery_day") for r in regions}
    results = run.results_table()
    for policy in policies:
        at = np.flatnonzero(experiments["policy"].to_numpy() == policy)  # type: ignore[index]
        for region in ("RU-CEN", "BY-MI", "EU"):
            mine = results.filter(pc.and_(pc.equal(results["policy"], policy), pc.equal(results["region"], region)))
            mine = mine.sort_by("scenario_id")
            assert np.array_equal(outcomes[f"va_loss_pct.{region}"][at], mine["va_loss_pct"].to_numpy())
            day = mine["recovery_day"].cast("float64").fill_null(np.nan).to_numpy()
            assert np.array_equal(outcomes[f"recovery_day.{region}"][at], day, equal_nan=True)


def test_salib_problem_and_outputs_feed_salib(run: Run, tmp_path: Path) -> None:
    from SALib.analyze import sobol
    from SALib.util import read_param_file

    out = tmp_path / "salib"
    files = export(run, "salib", str(out), metrics=["va_loss"], policy="status_quo")
    assert sorted(Path(f).name for f in files) == ["X.csv", "Y.csv", "meta.json", "problem.json", "problem.txt"]
    problem = json.loads((out / "problem.json").read_text())
    from_txt = read_param_file(str(out / "problem.txt"))
    assert from_txt["names"] == problem["names"]
    assert from_txt["num_vars"] == problem["num_vars"] == 4
    assert np.allclose(from_txt["bounds"], problem["bounds"], rtol=0, atol=0)
    x = np.loadtxt(out / "X.csv", delimiter=",", skiprows=1)
    y = np.loadtxt(out / "Y.csv", delimiter=",", skiprows=1)
    assert (out / "Y.csv").read_text().splitlines()[0].split(",") == run.manifest["regions"]
    drawn, ru = outcome(run, "va_loss", policy="status_quo", region="RU-CEN")
    assert np.array_equal(x, np.column_stack(list(drawn.values())))
    assert np.array_equal(y[:, 0], ru)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = sobol.analyze(from_txt, y[:, 0], calc_second_order=False, num_resamples=1000, seed=0)
    ours = {s.name: s for s in sobol_indices(drawn, ru)}
    for j, name in enumerate(problem["names"]):
        assert found["S1"][j] == pytest.approx(ours[name].s1)
        assert found["ST"][j] == pytest.approx(ours[name].st)
    assert json.loads((out / "meta.json").read_text())["design"] == "saltelli"


def test_csv_files_are_the_tables(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    files = export(run, "csv", str(out), policy="counter_trade", metrics=["va_loss"])
    assert [Path(f).name for f in files] == ["results.csv", "params.csv"]
    results = pacsv.read_csv(out / "results.csv")
    assert results.column_names == ["scenario_id", "policy", "region", "va_loss"]
    assert set(results["policy"].to_pylist()) == {"counter_trade"}
    assert results.num_rows == 96 * len(run.manifest["regions"])
    params = pacsv.read_csv(out / "params.csv")
    mine = run.params_table().filter(pc.equal(run.params_table()["policy"], "counter_trade"))
    assert params.num_rows == mine.num_rows
    assert params.column_names == mine.column_names
    assert np.array_equal(params["onset"].to_numpy(), mine["onset"].to_numpy())


def test_exports_never_overwrite_unless_told(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    export(run, "csv", str(out))
    before = (out / "results.csv").stat().st_size
    with pytest.raises(InputError, match="exists: choose another path, or overwrite it"):
        export(run, "csv", str(out), policy="status_quo")
    export(run, "csv", str(out), policy="status_quo", overwrite=True)
    assert (out / "results.csv").stat().st_size < before
    archive = tmp_path / "a.tar.gz"
    archive.write_text("not mine")
    with pytest.raises(InputError, match="exists"):
        export(run, "ema", str(archive))
    assert archive.read_text() == "not mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz", "csv"]


def test_a_failed_export_leaves_nothing(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, real = 0, np.savetxt

    def savetxt(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # X.csv is written, Y.csv fails
            raise OSError(28, "No space left on device")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "savetxt", savetxt)
    with pytest.raises(InputError, match=r"cannot write the export .*No space left on device"):
        export(run, "salib", str(tmp_path / "salib"), policy="status_quo")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "kwargs", "match"),
    [
        ("xlsx", {}, "unknown export format 'xlsx': choose one of ema, salib, csv"),
        ("csv", {"metrics": ["nope"]}, "unknown metric 'nope'"),
        ("csv", {"policy": "nope"}, "unknown policy 'nope'.*status_quo, counter_trade"),
        ("salib", {}, "a SALib export is of one policy: name one of status_quo, counter_trade"),
        ("salib", {"policy": "status_quo", "metrics": ["va_loss", "income_loss"]}, "takes one metric"),
    ],
)
def test_bad_exports_are_refused_in_one_line(
    run: Run, tmp_path: Path, fmt: str, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(InputError, match=match) as err:
        export(run, fmt, str(tmp_path / "out"), **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="local path"):
        export(run, "csv", "s3://bucket/out")
