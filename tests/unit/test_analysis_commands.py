"""The ``shock sensitivity`` and ``shock export`` commands on a real run folder: output, JSON, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.runs import run_config
from cluster.store import open_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("commands") / "run"
    run_config(ROOT / "configs" / "smoke.toml", out=str(out), draws=64, days=60, executor="serial", batch_size=32)
    return out


def test_sensitivity_prints_indices_and_prim_boxes_as_text_and_json(run_dir: Path) -> None:
    res = CliRunner().invoke(cli, ["sensitivity", str(run_dir), "--country", "RU", "--prim"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("va_loss_pct under status_quo in country RU: 64 scenarios (monte_carlo)")
    assert "PAWN indices" in res.stdout
    assert "Spearman rank correlations" in res.stdout
    assert "PRIM box" in res.stdout  # boxes, or "no PRIM box ... reaches the density asked for"
    res = CliRunner().invoke(cli, ["sensitivity", str(run_dir), "--region", "BY-MI", "--json", "--prim"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["unit"] == "BY-MI"
    assert isinstance(data["prim"], list)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--region", "XX"], "unknown region 'XX'"),
        (["--country", "RU", "--policy", "nothing"], "unknown policy 'nothing'"),
        (["--country", "RU", "--metric", "nothing"], "unknown metric 'nothing'"),
    ],
)
def test_sensitivity_refuses_what_the_run_does_not_have(run_dir: Path, args: list[str], expected: str) -> None:
    res = CliRunner().invoke(cli, ["sensitivity", str(run_dir), *args])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ")
    assert expected in res.stderr


def test_export_writes_csv_that_reads_back_and_refuses_to_overwrite(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    res = CliRunner().invoke(cli, ["export", str(run_dir), "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [f"wrote {out / 'results.csv'}", f"wrote {out / 'params.csv'}"]
    assert pacsv.read_csv(out / "results.csv").num_rows == open_run(run_dir).results_table().num_rows
    res = CliRunner().invoke(cli, ["export", str(run_dir), "--format", "csv", "--out", str(out)])
    assert res.exit_code == 2
    assert "--overwrite" in res.stderr
