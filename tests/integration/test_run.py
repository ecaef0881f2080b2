"""``shock run`` end to end: the real command, a real local Ray, real Parquet read back with pyarrow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster.schema import RESULT_SCHEMA, read_metadata
from cluster.store import open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"


def shock(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cluster", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The smoke config run three ways: Ray with 2 workers, Ray with 1, and serially in-process."""
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, extra in (
        ("ray2", ["--workers", "2"]),
        ("ray1", ["--workers", "1"]),
        ("serial", ["--executor", "serial"]),
    ):
        path = base / name
        res = shock("run", str(SMOKE), "--out", str(path), "--batch-size", "8", *extra)
        assert res.returncode == 0, res.stderr
        out[name] = path
    return out


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("scenario_id", "ascending"), ("policy", "ascending"), ("region", "ascending")])


def test_smoke_run_folder_is_complete(runs: dict[str, Path]) -> None:
    path = runs["ray2"]
    run = open_run(str(path))
    table = run.results_table()
    assert table.num_rows == 24 * 3 * 22  # draws x policies x regions
    assert table.schema.equals(RESULT_SCHEMA, check_metadata=False)
    for part in sorted((path / "results").glob("part-*.parquet")):
        schema = pq.read_schema(part)
        assert schema.equals(RESULT_SCHEMA, check_metadata=False)
        meta = read_metadata(schema)
        assert meta is not None
        assert {"config_hash", "seed", "package_version", "economy_id", "code_revision"} <= meta.keys()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    for key in (
        "config",
        "config_hash",
        "seed",
        "draws",
        "package_version",
        "economy_id",
        "code_revision",
        "shards",
        "started",
        "finished",
        "rows",
    ):
        assert key in manifest, key
    assert manifest["draws"] == 24
    assert manifest["economy_id"] == "ru-by"
    assert sum(s["results_rows"] for s in manifest["shards"]) == table.num_rows
    assert not list(path.rglob("*.tmp"))


def test_executors_and_worker_counts_give_identical_tables(runs: dict[str, Path]) -> None:
    tables = {name: _sorted(open_run(str(path)).results_table()) for name, path in runs.items()}
    assert tables["ray2"].equals(tables["serial"])
    assert tables["ray1"].equals(tables["serial"])
    keys = [("scenario_id", "ascending"), ("policy", "ascending")]
    params = {name: open_run(str(path)).params_table().sort_by(keys) for name, path in runs.items()}
    assert params["ray2"].equals(params["serial"])
    assert params["ray1"].equals(params["serial"])


def test_policies_are_paired(runs: dict[str, Path]) -> None:
    params = open_run(str(runs["ray2"])).params_table()
    columns = [c for c in params.column_names if c not in ("scenario_id", "policy")]
    by_scenario: dict[int, set[tuple[float, ...]]] = {}
    data = params.to_pydict()
    for i, sid in enumerate(data["scenario_id"]):
        by_scenario.setdefault(sid, set()).add(tuple(data[c][i] for c in columns))
    assert len(by_scenario) == 24
    assert all(len(values) == 1 for values in by_scenario.values())


def test_summarize_reads_the_run(runs: dict[str, Path]) -> None:
    res = shock("summarize", str(runs["ray2"]))
    assert res.returncode == 0, res.stderr
    assert "vs status_quo" in res.stdout
    lines = res.stdout.splitlines()
    totals = next(i for i, line in enumerate(lines) if line.startswith("country totals: "))
    assert sum(1 for line in lines[:totals] if line.startswith("counter_trade")) == 22  # a row per region
    assert sum(1 for line in lines[totals:] if line.startswith("counter_trade")) == 9  # a row per country
    assert [line.split(":")[0] for line in lines[-2:]] == ["RU", "BY"]  # a verdict per target country


def test_existing_folder_is_not_overwritten(runs: dict[str, Path]) -> None:
    res = shock("run", str(SMOKE), "--out", str(runs["serial"]), "--executor", "serial")
    assert res.returncode == 2
    assert "--overwrite" in res.stderr
    assert "Traceback" not in res.stderr
