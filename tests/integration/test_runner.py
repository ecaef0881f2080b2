"""The runner: serial and Ray give the same bits, whatever the batch size or worker count; it fails fast and loud."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from cluster.core import METRICS, Baseline, CapacityEvents, ShockBatch, simulate
from cluster.economy import synthetic
from cluster.errors import InputError
from cluster.plan import rng_for
from cluster.runner import MAX_BATCH, MIN_BATCH, Progress, auto_batch_size, batches, execute
from cluster.schema import RESULT_SCHEMA, params_schema

pytestmark = pytest.mark.integration

POLICIES = ("status_quo", "fast_repair")
PARAMS = ("industry", "share", "onset", "duration", "recovery")
PARAMS_SCHEMA = params_schema(list(PARAMS))


@dataclass(frozen=True, eq=False)
class SmallJob:
    """A real job: capacity shocks drawn per scenario on a 6 x 4 economy, under two policies."""

    baseline: Baseline
    n_scenarios: int
    seed: int = 11
    days: int = 60
    fail_at: int | None = None  # a scenario whose batch raises, to see the error come back

    def run(self, ids: np.ndarray) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        if self.fail_at is not None and self.fail_at in ids:
            raise ValueError(f"boom at scenario {self.fail_at}")
        b, n = len(ids), self.baseline.n
        draws = np.zeros((b, len(PARAMS)))
        for row, i in enumerate(ids):
            g = rng_for(self.seed, int(i))
            draws[row] = (g.integers(n), g.uniform(0.1, 0.6), g.integers(0, 10), g.integers(5, 30), g.integers(10, 90))
        events = CapacityEvents(
            industry=draws[:, [0]].astype(np.int64),
            share=draws[:, [1]],
            onset=draws[:, [2]].astype(np.int64),
            duration=draws[:, [3]].astype(np.int64),
            recovery=draws[:, [4]].astype(np.int64),
        )
        shocks = replace(ShockBatch.quiet(self.baseline, b), events=events)
        regions = [f"R{j:02d}" for j in range(self.baseline.n_regions)]
        results, params = [], []
        for policy in POLICIES:
            if policy == "fast_repair":  # same draws, half the recovery time: common random numbers
                faster = replace(shocks.events, recovery=np.maximum(shocks.events.recovery // 2, 1))
                shocks = replace(shocks, events=faster)
            out = simulate(self.baseline, shocks, self.days)
            r = len(regions)
            cols: dict[str, Any] = {
                "scenario_id": np.repeat(ids, r),
                "policy": [policy] * (b * r),
                "region": regions * b,
            }
            for field in METRICS:
                if field == "recovery_day":
                    day = out.recovery_day.ravel().astype(np.int32)
                    cols[field] = pa.array(day, mask=~out.recovered.ravel())
                else:
                    cols[field] = out.metrics[field].ravel()
            results.append(pa.record_batch(cols, schema=RESULT_SCHEMA))
            p = {"scenario_id": ids, "policy": [policy] * b} | {k: draws[:, c] for c, k in enumerate(PARAMS)}
            params.append(pa.record_batch(p, schema=PARAMS_SCHEMA))
        res = pa.Table.from_batches(results).combine_chunks().to_batches()[0]
        par = pa.Table.from_batches(params).combine_chunks().to_batches()[0]
        return res, par


def _job(n: int, **kw: Any) -> SmallJob:
    return SmallJob(synthetic(6, 4, seed=1, n_domestic=2).baseline(), n, **kw)


class Collect:
    """``on_batch`` and ``on_progress`` for a test: keeps what a real store would write, and the progress."""

    def __init__(self) -> None:
        self.results: list[pa.RecordBatch] = []
        self.params: list[pa.RecordBatch] = []
        self.seen: dict[int, list[int]] = {}
        self.progress: list[Progress] = []

    def on_batch(self, index: int, ids: np.ndarray, results: pa.RecordBatch, params: pa.RecordBatch) -> None:
        assert index not in self.seen
        self.seen[index] = ids.tolist()
        self.results.append(results)
        self.params.append(params)

    def table(self, which: str = "results") -> pa.Table:
        parts = self.results if which == "results" else self.params
        keys = [("scenario_id", "ascending"), ("policy", "ascending")]
        if which == "results":
            keys.append(("region", "ascending"))
        return pa.Table.from_batches(parts).sort_by(keys)


def _bits(table: pa.Table) -> dict[str, Any]:
    """Every column as exact bits: floats as their uint64 patterns, nulls kept as nulls."""
    out: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_floating(col.type):
            out[name] = np.asarray(col.to_numpy(zero_copy_only=False)).view(np.uint64)
        else:
            out[name] = col.to_pylist()
    return out


def _same_bits(a: pa.Table, b: pa.Table) -> None:
    assert a.schema == b.schema
    ba, bb = _bits(a), _bits(b)
    for name in ba:
        assert np.array_equal(ba[name], bb[name]), name


def test_auto_batch_size_rule() -> None:
    """A multiple of 8, at least 8, at most MAX_BATCH; 4.5-10 batches per CPU whenever neither bound binds."""
    for cpus in (1, 2, 3, 8, 16, 64, 200):
        for n in (1, 7, 8, 50, 100, 333, 1000, 4096, 10_000, 123_457, 1_000_000):
            size = auto_batch_size(n, cpus)
            assert size % 8 == 0
            assert MIN_BATCH <= size <= MAX_BATCH
            per_cpu = len(batches(n, size)) / cpus
            if MIN_BATCH < size < MAX_BATCH:
                assert 3 <= per_cpu <= 10, (n, cpus, size, per_cpu)
    assert auto_batch_size(1000, 2) == 80  # 1000 / 12 = 83 -> 80: 13 batches, 6.5 per CPU
    assert auto_batch_size(20, 8) == MIN_BATCH  # small runs: never under 8 scenarios a task
    assert auto_batch_size(10**7, 4) == MAX_BATCH


def test_bad_arguments_are_input_errors() -> None:
    job = _job(8)
    with pytest.raises(InputError, match="executor"):
        execute(job, executor="threads", on_batch=Collect().on_batch)
    with pytest.raises(InputError, match="batch size"):
        execute(job, executor="serial", batch_size=0, on_batch=Collect().on_batch)
    with pytest.raises(InputError, match="workers"):
        execute(job, executor="serial", workers=0, on_batch=Collect().on_batch)


def test_serial_and_ray_give_identical_bits(ray_local: Any) -> None:
    """Batches of 8 in this process and of 16 on Ray: the same tables, bit for bit, sorted by scenario."""
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    job = _job(40)
    serial, on_ray = Collect(), Collect()
    stats_s = execute(
        job, executor="serial", batch_size=8, on_batch=serial.on_batch, on_progress=serial.progress.append
    )
    stats_r = execute(job, executor="ray", batch_size=16, on_batch=on_ray.on_batch, on_progress=on_ray.progress.append)
    assert (stats_s.n_batches, stats_r.n_batches) == (5, 3)
    assert sorted(serial.seen) == list(range(5))
    assert sorted(on_ray.seen) == list(range(3))
    assert on_ray.seen[2] == list(range(32, 40))  # consecutive ids, the last batch shorter
    _same_bits(serial.table(), on_ray.table())
    _same_bits(serial.table("params"), on_ray.table("params"))
    assert serial.table().num_rows == 40 * len(POLICIES) * 6
    for prog in (serial.progress, on_ray.progress):
        assert [p.done for p in prog] == sorted(p.done for p in prog)
        assert prog[-1].done == prog[-1].total == 40
        assert prog[-1].eta == 0.0
        assert prog[-1].rate > 0
    assert stats_r.workers == 2  # the fixture's CPUs, reused and left running
    assert ray_local.is_initialized()


def test_an_error_in_the_job_surfaces(ray_local: Any) -> None:
    """A bug in a task comes back as the job's own exception, naming the batch, with the remote traceback."""
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    job = _job(32, fail_at=20)
    for executor in ("serial", "ray"):
        collect = Collect()
        start = time.perf_counter()
        with pytest.raises(ValueError, match="boom at scenario 20") as info:
            execute(job, executor=executor, batch_size=8, on_batch=collect.on_batch)
        assert time.perf_counter() - start < 30
        notes = "\n".join(getattr(info.value, "__notes__", []))
        assert "batch 2 (scenarios 16..23)" in notes, notes
        if executor == "ray":
            assert "remote traceback" in notes
            assert "in run" in notes  # the worker's frames, not just the driver's
        assert 2 not in collect.seen


@dataclass(frozen=True, eq=False)
class CountingJob:
    """Notes in the file ``log`` the process that unpickles it, each time; each batch's table names its process."""

    log: str
    n_scenarios: int

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(state["log"], "a") as f:
            f.write(f"{os.getpid()}\n")

    def run(self, ids: np.ndarray) -> tuple[pa.RecordBatch]:
        return (pa.RecordBatch.from_pydict({"pid": [os.getpid()] * len(ids)}),)


def test_each_ray_worker_unpickles_the_job_once(ray_local: Any, tmp_path: Path) -> None:
    """The job is unpickled once per worker (warmed before the clock starts), not once per batch."""
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    log = tmp_path / "unpickled"
    log.touch()
    ran: set[int] = set()
    job = CountingJob(str(log), 24)
    stats = execute(job, executor="ray", batch_size=2, on_batch=lambda i, ids, t: ran.update(t["pid"].tolist()))
    assert stats.n_batches == 12
    unpickled = log.read_text().split()
    assert sorted(unpickled) == sorted(set(unpickled))  # no process unpickled it twice
    assert ran <= {int(pid) for pid in unpickled}
    assert len(unpickled) < stats.n_batches


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_script(body: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    here = str(Path(__file__).parent)
    code = f"import sys\nsys.path.insert(0, {here!r})\n" + textwrap.dedent(body)
    base = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=base | (env or {}),
        check=False,
    )


def test_one_and_two_workers_give_identical_bits(tmp_path: Path) -> None:
    """Private local Ray instances of 1 and 2 CPUs, each started and shut down by ``execute``, in a fresh process."""
    body = """
        import pyarrow as pa, ray, test_runner as t
        from cluster.runner import execute

        ray.cloudpickle.register_pickle_by_value(t)
        job = t._job(48)
        for workers, path in ((1, sys.argv[1]), (2, sys.argv[2])):
            collect = t.Collect()
            stats = execute(job, workers=workers, on_batch=collect.on_batch)
            assert (stats.workers, stats.address, stats.batch_size) == (workers, "local", 8), stats
            assert not ray.is_initialized()  # started by execute, so shut down by it
            with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, collect.table().schema) as w:
                w.write_table(collect.table())
    """
    one, two = tmp_path / "one.arrow", tmp_path / "two.arrow"
    out = _run_script(body, str(one), str(two))
    assert out.returncode == 0, out.stderr[-3000:]
    tables = [pa.ipc.open_file(pa.memory_map(str(p))).read_all() for p in (one, two)]
    assert tables[0].num_rows == 48 * len(POLICIES) * 6
    _same_bits(tables[0], tables[1])


@contextmanager
def _http1_server() -> Iterator[str]:
    """Something else on the port (the dashboard, say): it accepts and answers HTTP/1."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(64)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.mark.parametrize("case", ["argument", "environment", "other-service"])
def test_a_stale_address_fails_fast(case: str) -> None:
    """No Ray head at the address: an InputError naming it within seconds, not a ray.init hanging for minutes."""
    body = """
        import time, test_runner as t
        from cluster.errors import InputError
        from cluster.runner import execute

        address = sys.argv[1] if sys.argv[2] != "environment" else None
        start = time.perf_counter()
        try:
            execute(t._job(8), address=address, on_batch=t.Collect().on_batch)
        except InputError as err:
            print(f"{time.perf_counter() - start:.2f}")
            print(err)
        else:
            raise SystemExit("no error")
    """
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(_http1_server()) if case == "other-service" else f"127.0.0.1:{_free_port()}"
        env = {"RAY_ADDRESS": address} if case == "environment" else None
        start = time.perf_counter()
        out = _run_script(body, address, case, env=env)
        assert time.perf_counter() - start < 15
    assert out.returncode == 0, out.stderr[-3000:]
    seconds, message = out.stdout.split("\n", 1)
    assert float(seconds) < 10
    assert address in message
    assert ("RAY_ADDRESS" if case == "environment" else "--address") in message
    assert "ray start --head" in message
    if case == "other-service":
        assert "HTTP/1" in message


def test_importing_the_runner_starts_no_ray() -> None:
    """The serial path and ``import cluster.runner`` need neither ray nor pyarrow loaded."""
    out = _run_script("""
        import cluster.runner
        assert "ray" not in sys.modules and "pyarrow" not in sys.modules, "imported at module level"
    """)
    assert out.returncode == 0, out.stderr[-3000:]


CLUSTER = Path(__file__).resolve().parents[2] / "configs" / "cluster"


def test_ray_up_file_passes_rays_own_checks() -> None:
    """``ray up`` fills in defaults and validates against its schema; the file also keeps token auth on."""
    yaml = pytest.importorskip("yaml")
    util = pytest.importorskip("ray.autoscaler._private.util")
    config = yaml.safe_load((CLUSTER / "ray-up.yaml").read_text())
    util.validate_config(util.prepare_config(config))
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    assert all("RAY_AUTH_MODE=token" in cmd for cmd in starts if "ray start" in cmd)
    assert any("pip install" in cmd and "/home/ray/shock" in cmd for cmd in config["setup_commands"])


def test_rayjob_manifest_parses() -> None:
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    assert "shock run configs/eu_embargo.toml --out s3://" in spec["entrypoint"]
    cluster = spec["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token"}
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    images = {c["image"] for g in groups for c in g["template"]["spec"]["containers"]}
    assert len(images) == 1  # head and workers run the same code
    for group in groups:  # Kubernetes wants strings here
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
