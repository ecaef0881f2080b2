"""``shock validate`` says what a run will write and take: rows exact, bytes and time from a calibration or the last
run, and a warning above a size the user sets. Checked against real runs of the same config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.config import load
from cluster.runs import estimate, run_config
from cluster.store import open_run

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"
DRAWS, DAYS = 12, 40


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the smoke config with weekly trajectories, whose manifest and files the estimates face."""
    folder = tmp_path_factory.mktemp("estimate")
    config = folder / "smoke_weekly.toml"
    config.write_text(SMOKE.read_text() + '\n[output]\ntrajectories = "weekly"\n')
    out = folder / "run"
    run_config(config, out=str(out), draws=DRAWS, days=DAYS, executor="serial", batch_size=4)
    return out


def _config(ran: Path, draws: int = DRAWS) -> object:
    return load(ran.parent / "smoke_weekly.toml", draws=draws, days=DAYS, out=str(ran))


def test_rows_are_those_the_run_wrote_and_scale_with_the_draws(ran: Path) -> None:
    manifest = json.loads((ran / "manifest.json").read_text())
    est = estimate(_config(ran), last_run=False)  # type: ignore[arg-type]
    assert est.rows == manifest["rows"]
    assert est.rows["trajectories"] > 0
    big = estimate(_config(ran, draws=DRAWS * 1000), last_run=False)  # type: ignore[arg-type]
    assert big.rows == {t: n * 1000 for t, n in manifest["rows"].items()}


def test_calibrated_bytes_and_time_are_near_the_real_run(ran: Path) -> None:
    run = open_run(ran)
    on_disk = sum(size for _, size in run.sizes().values())
    est = estimate(_config(ran), cores=1, last_run=False)  # type: ignore[arg-type]
    assert "calibrated here" in est.basis
    assert 0.5 < est.total_bytes / on_disk < 2.0, (est.bytes, run.sizes())
    wall = run.manifest["wall_seconds"]  # serial, one core
    assert 0.2 < est.seconds / wall < 5.0, (est.seconds, wall, est.basis)


def test_the_last_run_in_the_out_folder_gives_the_pace_and_the_bytes(ran: Path) -> None:
    run = open_run(ran)
    est = estimate(_config(ran, draws=DRAWS * 10))  # type: ignore[arg-type]
    assert est.basis.startswith(f"the last run in {ran}: {DRAWS} draws x {DAYS} days")
    for table, (rows, size) in run.sizes().items():
        if rows:
            assert est.bytes[table] == pytest.approx(size * 10, rel=1e-6)
    assert est.seconds == pytest.approx(run.manifest["wall_seconds"] * 10, rel=1e-3)


def test_validate_prints_the_estimate_and_warns_above_the_size_the_user_sets(ran: Path) -> None:
    path = str(ran.parent / "smoke_weekly.toml")
    res = CliRunner().invoke(cli, ["validate", path, "--draws", "100000", "--warn-above", "2GB"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stdout.splitlines() if line.startswith("estimate:")]
    assert len(lines) == 2
    assert " GB on disk (results " in lines[0]
    assert "trajectories" in lines[0]
    assert "of wall time" in lines[1]
    assert res.stderr.startswith("warning: this run would write about ")
    assert "more than --warn-above 2.0 GB" in res.stderr
    quiet = CliRunner().invoke(cli, ["validate", path, "--warn-above", "1TB"])
    assert quiet.exit_code == 0
    assert "would write" not in quiet.stderr  # (a small design may still be warned about: test_design_warnings)
    bare = CliRunner().invoke(cli, ["validate", path, "--no-estimate"])
    assert "estimate:" not in bare.stdout


@pytest.mark.parametrize("size", ["ten", "10XB", "-5GB", "0", "inf"])
def test_a_bad_size_is_refused(size: str) -> None:
    res = CliRunner().invoke(cli, ["validate", str(SMOKE), "--no-estimate", "--warn-above", size])
    assert res.exit_code == 2
    assert "is not a size" in res.stderr
