"""Every output fault is one line and exit 2, and a shard's tables land together or not at all.

Real storage, no stand-ins: a read-only bind mount, a path under a regular file, a size-capped tmpfs that fills up
mid-run, and an S3 endpoint (moto's server, spoken to by pyarrow's S3 filesystem) without the bucket. The mounts
need root (CAP_SYS_ADMIN), as CI has; elsewhere those cases are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from cluster.runs import run_config
from cluster.store import TABLES, open_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "smoke.toml"
DRAWS, BATCH = 24, 4


def _shock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    run = [sys.executable, "-m", "cluster", *args]
    return subprocess.run(run, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def _run(out: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = ("run", str(CONFIG), "--draws", str(DRAWS), "--batch-size", str(BATCH), "--executor", "serial")
    return _shock(*args, "--out", out, *extra, env=env)


def _one_line_error(res: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The run ended with exit 2 and one ``error:`` line (progress lines aside) holding every ``expected``."""
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    errors = [line for line in res.stderr.splitlines() if not line.startswith("progress:")]
    assert len(errors) == 1, res.stderr
    assert errors[0].startswith("error: cannot write run folder"), errors[0]
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


@contextlib.contextmanager
def _mounted(*commands: list[str], at: Path) -> Iterator[Path]:
    at.mkdir(parents=True, exist_ok=True)
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            subprocess.run(["umount", str(at)], capture_output=True, check=False)
            pytest.skip(f"cannot mount here ({done.stderr.strip()}): the storage-fault cases need root")
    try:
        yield at
    finally:
        subprocess.run(["umount", "-l", str(at)], capture_output=True, check=False)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    source, at = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    bind = ["mount", "--bind", str(source), str(at)]
    with _mounted(bind, ["mount", "-o", "remount,bind,ro", str(at)], at=at) as path:
        yield path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 kB tmpfs: the manifest and two shards of the smoke config fit, the third does not."""
    at = tmp_path / "small"
    with _mounted(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(at)], at=at) as path:
        yield path


def _tables(path: str) -> dict[str, pa.Table]:
    run = open_run(path)
    return {"results": run.results_table(), "params": run.params_table(), "periods": run.periods().to_table()}


def test_a_read_only_folder_is_one_line_and_exit_2(read_only: Path) -> None:
    res = _run(str(read_only / "run"))
    _one_line_error(res, "Read-only file system", "choose a writable --out")
    assert not list(read_only.iterdir())


def test_a_path_under_a_regular_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    res = _run(str(tmp_path / "notes.txt" / "run"))
    _one_line_error(res, "a part of the path is a file")
    assert (tmp_path / "notes.txt").read_text() == "not a folder"


def test_a_disk_that_fills_mid_run_keeps_whole_shards_only_and_resumes_once_there_is_room(
    small_disk: Path, tmp_path: Path
) -> None:
    out = small_disk / "run"
    line = _one_line_error(_run(str(out)), "No space left on device", "whole shards kept", "--resume")
    assert "writing shard" in line
    parts = {t: sorted(p.name for p in (out / t).glob("part-*.parquet")) for t in TABLES if (out / t).is_dir()}
    assert 1 <= len(parts["results"]) < DRAWS // BATCH
    for table, names in parts.items():  # every shard whole: each table has exactly the results' parts
        if table != "trajectories":
            assert names == parts["results"], f"{table} parts {names} differ from results {parts['results']}"
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary file left
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "No space left on device" in manifest["error"]

    # With room again, the same command with --resume finishes it to the tables of an uninterrupted run.
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    res = _run(str(out), "--resume")
    assert res.returncode == 0, res.stderr
    run_config(CONFIG, out=str(tmp_path / "clean"), draws=DRAWS, executor="serial", batch_size=BATCH)
    clean, resumed = _tables(str(tmp_path / "clean")), _tables(str(out))
    for name, table in clean.items():
        assert resumed[name].replace_schema_metadata(None).equals(table.replace_schema_metadata(None)), name


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A real S3 endpoint on this machine (moto's server); yields the URI query that points pyarrow at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"endpoint_override={host}:{port}&scheme=http&region=us-east-1"
    finally:
        server.stop()


def _s3_env() -> dict[str, str]:
    return {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_a_bucket_that_does_not_exist_is_one_line_and_exit_2(s3: str) -> None:
    res = _run(f"s3://no-such-bucket/runs/x?{s3}", env=_s3_env())
    _one_line_error(res, "Bucket 'no-such-bucket' not found", "check the path, its bucket")


def test_a_run_lands_in_an_object_store_and_reads_back(s3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"s3://runs/smoke?{s3}&allow_bucket_creation=true"
    res = _run(uri, env=_s3_env())
    assert res.returncode == 0, res.stderr
    for key, value in _s3_env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    stored = _tables(uri)
    assert len(stored["results"]["scenario_id"].unique()) == DRAWS
    res = _shock("summarize", uri, env=_s3_env())
    assert res.returncode == 0, res.stderr
    assert "status_quo" in res.stdout
