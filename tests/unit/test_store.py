"""The run folder through real Parquet: round trip, part order, atomic names, overwrite and failure rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster import __version__
from cluster.errors import InputError
from cluster.schema import RESULT_SCHEMA, RUN_FORMAT, params_schema, read_metadata, with_provenance
from cluster.store import EncodedJob, RunFolder, code_revision, encode, open_run

POLICIES = ["status_quo", "counter_trade"]
REGIONS = ["RU-CEN", "RU-NW", "BY"]
PARAMS = ["leakage", "substitutability"]
PROVENANCE = {"config_hash": "abc123", "seed": 7, "economy_id": "ru-by"}
#: What the store stamps: the run's provenance, the package version and the code revision.
STAMPED = {**PROVENANCE, "package_version": __version__, "code_revision": code_revision()}
RESULTS_SCHEMA = with_provenance(RESULT_SCHEMA, STAMPED)
PARAMS_SCHEMA = with_provenance(params_schema(PARAMS), STAMPED)


def results(ids: np.ndarray) -> pa.Table:
    """RESULT_SCHEMA rows (scenario, policy, region order) with values that depend on the scenario id only."""
    sid = np.repeat(ids, len(POLICIES) * len(REGIONS)).astype(np.int64)
    cols: dict[str, object] = {
        "scenario_id": sid,
        "policy": np.tile(np.repeat(POLICIES, len(REGIONS)), len(ids)),
        "region": np.tile(REGIONS, len(ids) * len(POLICIES)),
    }
    for k, field in enumerate(RESULT_SCHEMA):
        if field.name in cols:
            continue
        if field.name == "recovery_day":
            cols[field.name] = pa.array(sid % 300, pa.int32(), mask=sid % 5 == 0)
        else:
            cols[field.name] = sid * 1.5 + k + 0.25 * (np.arange(len(sid)) % (len(POLICIES) * len(REGIONS)))
    return pa.table(cols, schema=RESULTS_SCHEMA)


def params(ids: np.ndarray) -> pa.Table:
    sid = np.repeat(ids, len(POLICIES)).astype(np.int64)
    return pa.table(
        {
            "scenario_id": sid,
            "policy": np.tile(POLICIES, len(ids)),
            "leakage": sid / 1000,
            "substitutability": sid / 500,
        },
        schema=PARAMS_SCHEMA,
    )


def batch_ids(index: int, size: int = 50) -> np.ndarray:
    return np.arange(index * size, (index + 1) * size, dtype=np.int64)


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def write_run(path: Path, order: list[int], **kwargs: object) -> RunFolder:
    kwargs.setdefault("provenance", PROVENANCE)
    folder = RunFolder.create(str(path), **kwargs)  # type: ignore[arg-type]
    for i in order:
        folder.write_batch(i, results(batch_ids(i)), params(batch_ids(i)))
    return folder


def test_round_trip_keeps_rows_schema_and_scenario_order(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    folder = RunFolder.create(str(run_dir), info={"config": "eu_embargo.toml", "draws": 200}, provenance=PROVENANCE)
    assert folder.provenance == STAMPED
    for i in [2, 0, 3, 1]:  # batches finish out of order
        shard = folder.write_batch(i, results(batch_ids(i)).to_batches()[0], params(batch_ids(i)))
        assert (shard.index, shard.results_rows, shard.params_rows) == (i, 300, 100)
        assert shard.results == f"results/part-{i:06d}.parquet"
    folder.complete({"elapsed_s": 1.5})

    parts = [f"part-{i:06d}.parquet" for i in range(4)]
    assert files(run_dir) == ["manifest.json", *(f"params/{p}" for p in parts), *(f"results/{p}" for p in parts)]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["format"] == RUN_FORMAT
    assert manifest["status"] == "complete"
    assert manifest["config"] == "eu_embargo.toml"
    assert manifest["elapsed_s"] == 1.5
    assert "finished" in manifest
    assert [s["index"] for s in manifest["shards"]] == [0, 1, 2, 3]
    assert manifest["rows"] == {"results": 1200, "params": 400, "periods": 0, "trajectories": 0, "trade": 0}
    assert {k: manifest[k] for k in STAMPED} == STAMPED

    one = pq.read_table(run_dir / "results" / parts[2])
    assert one.schema.equals(RESULTS_SCHEMA, check_metadata=True)
    assert one.equals(results(batch_ids(2)))

    run = open_run(str(run_dir))
    ids = np.arange(200, dtype=np.int64)
    table = run.results_table()
    assert table.schema.equals(RESULTS_SCHEMA, check_metadata=True)
    assert table.equals(results(ids))
    assert run.params_table().equals(params(ids))
    assert run.params_table().schema.equals(PARAMS_SCHEMA, check_metadata=True)
    assert run.provenance is not None
    assert run.provenance["seed"] == 7
    projected = run.results().to_table(columns=["scenario_id", "va_loss"])
    assert projected.column_names == ["scenario_id", "va_loss"]
    assert projected["scenario_id"].equals(table["scenario_id"])


def test_parts_are_read_by_number_not_by_arrival(tmp_path: Path) -> None:
    write_run(tmp_path / "run", [11, 2, 10, 0, 1]).complete()
    ids = open_run(tmp_path / "run").results_table(columns=["scenario_id"])["scenario_id"].to_numpy()
    expected = np.concatenate([batch_ids(i) for i in [0, 1, 2, 10, 11]])
    np.testing.assert_array_equal(np.unique(ids), expected)
    np.testing.assert_array_equal(ids, np.repeat(expected, len(POLICIES) * len(REGIONS)))


def test_a_file_uri_works_like_a_path(tmp_path: Path) -> None:
    uri = (tmp_path / "run").as_uri()
    assert uri.startswith("file://")
    write_run(tmp_path / "run", [0]).complete()
    assert open_run(uri).results_table().equals(results(batch_ids(0)))
    folder = RunFolder.create((tmp_path / "other").as_uri())
    folder.write_batch(0, results(batch_ids(0)), params(batch_ids(0)))
    folder.complete()
    assert files(tmp_path / "other") == files(tmp_path / "run")


def test_a_running_folder_already_has_a_manifest_and_empty_part_folders(tmp_path: Path) -> None:
    RunFolder.create(str(tmp_path / "run"), info={"seed": 3})
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["status"], manifest["shards"], manifest["seed"]) == ("running", [], 3)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "manifest.json",
        "params",
        "periods",
        "results",
        "trade",
        "trajectories",
    ]


def test_an_existing_run_is_refused_without_overwrite(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir, [0, 1]).complete()
    with pytest.raises(InputError, match="--overwrite") as err:
        RunFolder.create(str(run_dir))
    assert str(run_dir) in str(err.value)
    assert "--out" in str(err.value)
    assert len(open_run(run_dir).shards) == 2  # untouched

    write_run(run_dir, [0], overwrite=True).complete()
    assert len(open_run(run_dir).shards) == 1
    assert "results/part-000001.parquet" not in files(run_dir)


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="not a run folder"):
        RunFolder.create(str(tmp_path), overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    with pytest.raises(InputError, match="is a file"):
        RunFolder.create(str(tmp_path / "thesis.tex"), overwrite=True)


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    write_run(tmp_path / "run", [0]).complete()
    assert open_run(tmp_path / "run").status == "complete"


def test_a_failure_before_the_first_shard_removes_the_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="worker died"), RunFolder.create(str(tmp_path / "run")):
        raise RuntimeError("worker died")
    assert not (tmp_path / "run").exists()

    (tmp_path / "empty").mkdir()  # a folder that was there stays, empty
    with pytest.raises(KeyboardInterrupt), RunFolder.create(str(tmp_path / "empty")):
        raise KeyboardInterrupt
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_user_error_removes_even_written_shards(tmp_path: Path) -> None:
    with pytest.raises(InputError), write_run(tmp_path / "run", [0, 1]):
        raise InputError("bad --draws")
    assert not (tmp_path / "run").exists()


def test_a_failure_after_shards_keeps_them_in_a_failed_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError), write_run(run_dir, [1, 0]):
        raise RuntimeError("node lost")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == "RuntimeError: node lost"
    assert [s["index"] for s in manifest["shards"]] == [0, 1]
    with pytest.raises(InputError, match=r"run .* failed \(RuntimeError: node lost\)"):
        open_run(run_dir)
    partial = open_run(run_dir, partial=True)
    assert partial.results_table().num_rows == 600


def test_a_killed_run_is_running_and_its_whole_shards_are_readable(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir, [0, 2])  # never completed: as if killed (but its driver, this process, is alive)
    (run_dir / "results" / ".part-000003.parquet.0123.tmp").write_bytes(b"half a file")
    with pytest.raises(InputError, match=r"is still running: its driver \(pid \d+ on .*\) is alive"):
        open_run(run_dir)
    run = open_run(run_dir, partial=True)
    assert [(s.index, s.results_rows, s.params_rows) for s in run.shards] == [(0, 300, 100), (2, 300, 100)]
    assert run.results_table().equals(results(np.concatenate([batch_ids(0), batch_ids(2)])))


def test_the_context_manager_completes_a_normal_run(tmp_path: Path) -> None:
    with write_run(tmp_path / "run", [0]) as folder:
        pass
    assert folder.status == "complete"
    assert open_run(tmp_path / "run").manifest["rows"]["results"] == 300
    with pytest.raises(RuntimeError, match="complete"):
        folder.write_batch(1, results(batch_ids(1)), params(batch_ids(1)))


def test_inconsistent_shards_are_refused(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", [0])
    with pytest.raises(ValueError, match="already written"):
        folder.write_batch(0, results(batch_ids(0)), params(batch_ids(0)))
    with pytest.raises(ValueError, match="results do not have the fields of its schema"):
        folder.write_batch(1, results(batch_ids(1)).drop_columns(["va_loss"]), params(batch_ids(1)))
    bare = results(batch_ids(1)).replace_schema_metadata(None)  # the store stamps the run's provenance itself
    folder.write_batch(1, bare, params(batch_ids(1)).replace_schema_metadata(None))
    for sub in ("results", "params"):
        meta = read_metadata(pq.read_schema(tmp_path / "run" / sub / "part-000001.parquet"))
        assert meta is not None
        assert {k: meta[k] for k in STAMPED} == folder.provenance
    with pytest.raises(ValueError, match="belong to the store"):
        RunFolder.create(str(tmp_path / "x"), info={"status": "mine"})
    folder.complete()
    assert files(tmp_path / "run") == [
        "manifest.json",
        "params/part-000000.parquet",
        "params/part-000001.parquet",
        "results/part-000000.parquet",
        "results/part-000001.parquet",
    ]


class _Tables:
    """A job of ``results`` and ``params`` tables, for ``EncodedJob``."""

    n_scenarios = 100

    def run(self, ids: np.ndarray) -> tuple[pa.RecordBatch | None, ...]:
        return results(ids).to_batches()[0], params(ids).to_batches()[0], None


def test_encoded_shards_are_the_files_of_their_tables(tmp_path: Path) -> None:
    write_run(tmp_path / "tables", [0, 1]).complete()
    folder = RunFolder.create(str(tmp_path / "encoded"), provenance=PROVENANCE)
    job = EncodedJob(_Tables(), folder.metadata)
    assert job.n_scenarios == 100
    for i in [1, 0]:
        encoded = job.run(batch_ids(i))
        assert encoded[2] is None
        assert [e.rows for e in encoded if e is not None] == [300, 100]
        shard = folder.write_batch(i, *encoded)
        assert (shard.results_rows, shard.params_rows) == (300, 100)
    folder.complete()
    assert files(tmp_path / "encoded") == files(tmp_path / "tables")
    for name in files(tmp_path / "tables"):
        if name.endswith(".parquet"):
            assert (tmp_path / "encoded" / name).read_bytes() == (tmp_path / "tables" / name).read_bytes()
    assert open_run(tmp_path / "encoded").results_table().equals(open_run(tmp_path / "tables").results_table())


def test_encoded_shards_are_checked_like_tables(tmp_path: Path) -> None:
    folder = RunFolder.create(str(tmp_path / "run"), provenance=PROVENANCE)
    meta = folder.metadata
    with pytest.raises(ValueError, match="results were not encoded with the run's metadata"):
        folder.write_batch(0, encode(results(batch_ids(0)), {b"shock": b"{}"}), encode(params(batch_ids(0)), meta))
    with pytest.raises(ValueError, match="results do not have the fields of its schema"):
        folder.write_batch(0, encode(results(batch_ids(0)).drop_columns(["va_loss"]), meta), params(batch_ids(0)))
    folder.write_batch(0, encode(results(batch_ids(0)), meta), encode(params(batch_ids(0)), meta))
    folder.write_batch(1, results(batch_ids(1)), params(batch_ids(1)))  # tables and bytes mix: the same schemas
    other = params(batch_ids(2)).rename_columns(["scenario_id", "policy", "leakage", "other"])
    with pytest.raises(ValueError, match="other tables or schemas"):
        folder.write_batch(2, encode(results(batch_ids(2)), meta), encode(other, meta))
    folder.complete()
    assert [s.index for s in open_run(tmp_path / "run").shards] == [0, 1]


def test_open_run_names_the_path_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(f"no run folder at {tmp_path / 'nowhere'}")):
        open_run(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'plain'} holds no manifest.json")):
        open_run(tmp_path / "plain")

    run_dir = tmp_path / "run"
    write_run(run_dir, [0, 1]).complete()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "format": "shock-run/0"}))
    wrong = f"{run_dir}/manifest.json has format 'shock-run/0', expected 'shock-run/1'"
    with pytest.raises(InputError, match=re.escape(wrong)):
        open_run(run_dir)
    (run_dir / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        open_run(run_dir)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    (run_dir / "params" / "part-000001.parquet").unlink()
    with pytest.raises(InputError, match=re.escape("lists params/part-000001.parquet, which is missing")):
        open_run(run_dir)


def test_unknown_columns_are_named(tmp_path: Path) -> None:
    write_run(tmp_path / "run", [0]).complete()
    with pytest.raises(InputError, match="no columns \\['gdp'\\]"):
        open_run(tmp_path / "run").results_table(columns=["gdp"])


def test_a_run_without_shards_reads_as_empty_tables(tmp_path: Path) -> None:
    RunFolder.create(str(tmp_path / "run")).complete()
    run = open_run(tmp_path / "run")
    assert run.results_table().num_rows == 0
    assert run.results_table().schema.equals(RESULT_SCHEMA)
    assert run.provenance is None
    assert read_metadata(run.params_table().schema) is None
