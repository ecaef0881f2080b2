"""Resume: a driver killed with SIGKILL mid-run, resumed with ``--resume``, gives the tables of an uninterrupted run.

Real processes: ``shock run`` in a subprocess, killed by the operating system once a few shards are on disk (a
preempted head, a closed laptop), then the same command with ``--resume``. Its tables — every one the run folder
holds, read back with pyarrow — must equal, bit for bit, those of the same config run to the end in one go.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from cluster.runs import run_config
from cluster.store import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "smoke.toml"
DRAWS, BATCH = 96, 4


def _shock(*args: str) -> list[str]:
    return [sys.executable, "-m", "cluster", *args]


def _tables(path: Path) -> dict[str, pa.Table]:
    """Every table of the run folder, read back with pyarrow, sorted by its keys (the shards' order may differ)."""
    run = open_run(path)
    tables = {"results": run.results_table(), "params": run.params_table()}
    if run.has_periods:
        tables["periods"] = run.periods().to_table()
        tables["trade"] = run.trade().to_table()
    keys = ("scenario_id", "policy", "region", "level", "period", "origin", "destination")
    return {
        name: t.sort_by([(k, "ascending") for k in keys if k in t.column_names]).replace_schema_metadata(None)
        for name, t in tables.items()
    }


def _resume(out: Path) -> subprocess.CompletedProcess[str]:
    """``shock run CONFIG --draws DRAWS --out OUT --resume`` (no --batch-size: the run's own is used)."""
    args = ("run", str(CONFIG), "--draws", str(DRAWS), "--executor", "serial", "--out", str(out), "--resume")
    return subprocess.run(_shock(*args), capture_output=True, text=True, timeout=600)


def _parts(path: Path) -> int:
    folder = path / "results"
    return len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pa.Table]:
    out = tmp_path_factory.mktemp("clean") / "run"
    run_config(CONFIG, out=str(out), draws=DRAWS, executor="serial", batch_size=BATCH)
    return _tables(out)


def test_a_driver_killed_mid_run_resumes_to_the_tables_of_an_uninterrupted_run(
    tmp_path: Path, clean: dict[str, pa.Table]
) -> None:
    out = tmp_path / "run"
    args = ["run", str(CONFIG), "--draws", str(DRAWS), "--batch-size", str(BATCH), "--executor", "serial"]
    proc = subprocess.Popen(_shock(*args, "--out", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _parts(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: make it longer"

    # While its driver lives, the run is running: not resumed, not overwritten, read only with --partial.
    res = subprocess.run(_shock("summarize", str(out)), capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert f"is still running: its driver (pid {proc.pid} on " in res.stderr
    res = _resume(out)
    assert res.returncode == 2
    assert "needs no resume" in res.stderr
    assert proc.poll() is None, "the run ended before it could be killed: make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = _parts(out)
    assert 3 <= written < DRAWS // BATCH
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"  # what a killed driver leaves
    assert manifest["batch_size"] == BATCH

    # Reading it: refused with the way out, or read partially, saying what it covers.
    res = subprocess.run(_shock("summarize", str(out)), capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert f"--out {out} --resume" in res.stderr
    assert "--partial" in res.stderr
    res = subprocess.run(_shock("summarize", str(out), "--partial"), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    whole = _parts(out)
    gone = f"partial: run is interrupted: its driver (pid {proc.pid} on "
    assert gone in res.stderr
    assert f": {whole * BATCH} of {DRAWS} draws, in {whole} whole shards" in res.stderr

    # Resume without --batch-size: the run's own is used.
    res = _resume(out)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert len(manifest["resumed"]) == 1
    assert len(manifest["shards"]) == DRAWS // BATCH
    resumed = _tables(out)
    assert resumed.keys() == clean.keys()
    for name, table in clean.items():
        assert resumed[name].equals(table), f"{name} differs from the uninterrupted run"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--seed", "8"], "its seed differs from this run's (seed 7 vs 8)"),
        (["--draws", "64"], "its draws differs from this run's (draws 32 vs 64)"),
        (["--batch-size", "8"], "it was made in batches of 4"),
        (["--overwrite"], "--resume and --overwrite contradict each other"),
    ],
)
def test_resume_refuses_another_run_naming_the_difference(tmp_path: Path, extra: list[str], expected: str) -> None:
    out = tmp_path / "run"
    run_config(CONFIG, out=str(out), draws=32, executor="serial", batch_size=BATCH)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["status"] = "failed"  # as a run that failed half-way leaves it
    manifest_path.write_text(json.dumps(manifest))
    args = ["run", str(CONFIG), "--draws", "32", "--executor", "serial", "--out", str(out), "--resume"]
    if "--draws" in extra:
        args = args[:2] + args[4:]
    res = subprocess.run(_shock(*args, *extra), capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert len(list((out / "results").glob("part-*.parquet"))) == 32 // BATCH  # nothing deleted


def test_resume_refuses_a_complete_run_and_a_missing_one(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_config(CONFIG, out=str(out), draws=8, executor="serial", batch_size=BATCH)
    common = ["run", str(CONFIG), "--draws", "8", "--executor", "serial", "--resume", "--out"]
    res = subprocess.run(_shock(*common, str(out)), capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert "is complete: nothing to resume" in res.stderr
    res = subprocess.run(_shock(*common, str(tmp_path / "nowhere")), capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert "no run folder at" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_keeps_the_whole_shards_says_how_to_resume_and_the_resumed_run_is_whole(
    tmp_path: Path, clean: dict[str, pa.Table], sig: signal.Signals, code: int
) -> None:
    """SIGTERM (a scheduler's preemption) or SIGINT (Ctrl-C): the run stops once the shard being written is whole,
    records ``interrupted``, exits 128 + the signal with one line naming ``--resume``; resumed, it is the
    uninterrupted run."""
    out = tmp_path / "run"
    args = ["run", str(CONFIG), "--draws", str(DRAWS), "--batch-size", str(BATCH), "--executor", "serial"]
    proc = subprocess.Popen(
        _shock(*args, "--out", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while _parts(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the signal: make it longer"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = [line for line in err.splitlines() if line and not line.startswith("progress:")]
    assert len(lines) == 1, err
    assert f"interrupted by {sig.name}" in lines[0]
    assert f"--out {out} --resume" in lines[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = len(manifest["shards"])
    assert kept == _parts(out) >= 2
    res = _resume(out)
    assert res.returncode == 0, res.stderr
    resumed = _tables(out)
    for name, table in clean.items():
        assert resumed[name].equals(table), f"{name} differs from the uninterrupted run"
