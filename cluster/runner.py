"""Executors: cut scenario ids into batches, run a job on each (here or on Ray), hand results back as they come.

A *job* (``Job``) knows how to simulate any consecutive run of scenario ids; the runner only decides which ids
go together, where they run, and when results come back. ``execute`` never keeps results: each batch goes
to ``on_batch`` as soon as it arrives, so the driver holds at most the batches in flight.

Ray is imported lazily, inside the functions that need it: ``import cluster.runner`` stays cheap and the
serial executor works on a machine without a running Ray.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from cluster.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CONNECT_TIMEOUT",
    "EXECUTORS",
    "IN_FLIGHT_PER_CPU",
    "MAX_BATCH",
    "MIN_BATCH",
    "TASKS_PER_CPU",
    "Job",
    "Progress",
    "RunStats",
    "auto_batch_size",
    "batches",
    "execute",
    "run_batch",
]

F64 = NDArray[np.float64]
Ids = NDArray[np.int64]
#: The executors ``execute`` knows (given as plain strings, as a command line passes them).
EXECUTORS = ("serial", "ray")
#: Called with (batch index, ids, *tables): the tables ``Job.run`` returned, in its order.
OnBatch = Callable[..., None]

#: Batch-size rule (``auto_batch_size``): about this many batches per CPU. Enough that CPUs finishing early
#: find more work (the tail of the run stays short) and the progress bar moves; few enough that each task is
#: coarse. After rounding the rule gives 4.5 to 10 tasks per CPU.
TASKS_PER_CPU = 6
#: Fewest scenarios in a batch: one block of the core (it pads batches to 8), about 1 s for a year of the
#: 220-industry economies; tasks under ~100 ms gain nothing from Ray.
MIN_BATCH = 8
#: Most scenarios in a batch, so that a run of many draws still reports progress often and a lost task
#: costs little. The core steps 64 scenarios at a time, so its memory does not grow with the batch.
MAX_BATCH = 1024
#: Tasks kept in flight per CPU: one running, one queued, so a CPU never waits for the driver.
IN_FLIGHT_PER_CPU = 2
#: Seconds each step of the address check (TCP connect, gRPC greeting) may take before ``ray.init`` is tried.
CONNECT_TIMEOUT = 3.0

#: Port of a Ray head's GCS, and of its Ray Client server (``ray://``), when an address names none.
_GCS_PORT = 6379
_CLIENT_PORT = 10001


class Job(Protocol):
    """What the runner runs: picklable, immutable; ``run`` must be a pure function of the ids."""

    @property
    def n_scenarios(self) -> int:
        """Scenario ids are 0 .. n_scenarios - 1."""
        ...

    def run(self, ids: Ids) -> tuple[pa.RecordBatch, ...]:
        """Simulate scenarios ``ids`` (int64, ascending, consecutive): its tables (results, params, ...), as Arrow
        record batches or in any picklable form (``store.EncodedJob``: Parquet bytes)."""
        ...


@dataclass(frozen=True)
class Progress:
    """How far a run is: scenarios done out of ``total`` after ``elapsed`` seconds of batches."""

    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Scenarios per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None before the first batch)."""
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass(frozen=True)
class RunStats:
    """What a run did and how long it took.

    ``elapsed`` runs from the first batch sent to the last result handed to ``on_batch`` (writes included);
    ``startup`` is the time spent starting or connecting to Ray before it; ``compute`` sums the seconds the
    job spent in ``run`` over all batches, wherever they ran, so ``compute / (elapsed * workers)`` is the
    share of the CPUs kept busy.
    """

    executor: str  # "serial" or "ray"
    address: str | None  # "local", the cluster's address, or None for the serial executor
    n_scenarios: int
    n_batches: int
    batch_size: int
    workers: int  # batches that could run at the same time (CPUs); 1 for the serial executor
    startup: float
    elapsed: float
    compute: float

    @property
    def rate(self) -> float:
        """Scenarios per second of ``elapsed``."""
        return self.n_scenarios / self.elapsed if self.elapsed > 0 else 0.0


def batches(n_scenarios: int, batch_size: int) -> list[Ids]:
    """Scenario ids 0..n-1 cut into consecutive batches (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    ids = np.arange(n_scenarios, dtype=np.int64)
    return [ids[i : i + batch_size] for i in range(0, n_scenarios, batch_size)]


def _batch_ids(n_scenarios: int, batch_size: int, index: int) -> Ids:
    """The ids of batch ``index``, as ``batches`` cuts them (made on demand: nothing grows with the draws)."""
    return np.arange(index * batch_size, min(n_scenarios, (index + 1) * batch_size), dtype=np.int64)


def auto_batch_size(n_scenarios: int, cpus: int) -> int:
    """Scenarios per batch when none is given: ~``TASKS_PER_CPU`` batches per CPU, a multiple of 8.

    The ideal size n / (6 x cpus) is rounded to the nearest multiple of 8, then clamped to
    [``MIN_BATCH``, ``MAX_BATCH``]. Unclamped, that gives 4.5 to 10 batches per CPU. Small runs get fewer
    (never fewer than 8 scenarios a task); very large runs get more, of at most 1024 scenarios.
    """
    ideal = n_scenarios / (TASKS_PER_CPU * max(1, cpus))
    size = MIN_BATCH * int(ideal / MIN_BATCH + 0.5)
    return min(MAX_BATCH, max(MIN_BATCH, size))


def run_batch(job: Job, ids: Ids) -> tuple[tuple[pa.RecordBatch, ...], float]:
    """Run one batch with BLAS on one thread, as every executor does: (the job's tables, seconds in ``run``).

    Pinning BLAS keeps one task per CPU (no oversubscription on a Ray worker) and makes serial timings
    comparable with Ray's; the core's bits do not depend on it, but its speed does.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        start = time.perf_counter()
        tables = tuple(job.run(ids))
        seconds = time.perf_counter() - start
    return tables, seconds


def execute(
    job: Job,
    *,
    executor: str = "ray",
    batch_size: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    on_batch: OnBatch,
    on_progress: Callable[[Progress], None] | None = None,
    skip: Collection[int] = (),
    on_start: Callable[[int], None] | None = None,
) -> RunStats:
    """Run every scenario of ``job`` in batches; hand each batch's tables to ``on_batch`` as it finishes.

    Parameters
    ----------
    job
        What to run; its ``run`` is called once per batch (in this process or on a Ray worker).
    executor
        ``"serial"``: the batches one after another in this process. ``"ray"``: Ray tasks, see below.
    batch_size
        Scenarios per batch; by default ``auto_batch_size`` for the CPUs that will run them.
    workers
        Ray: the CPUs of the private local instance (default: every CPU of the machine), or, on an existing
        cluster, the most tasks in flight (default: 2 per CPU of the cluster). Serial: the batch size
        defaults to the one a local Ray run with this many workers would use, so timings compare.
    address
        Ray cluster to connect to (``host:port`` of its GCS, ``ray://host:port``, ``auto``); default
        ``RAY_ADDRESS`` (which ``ray job submit`` sets for its command), else a private local instance. A Ray
        already initialised in this process (a notebook, a test) is reused, with its address, and left running.
    on_batch
        Called in this process with (batch index, ids, *tables), the tables ``job.run`` returned, in completion
        order.
    on_progress
        Called after each batch with the scenarios done so far (those of skipped batches included).
    skip
        Batch indices not to run (a resumed run's finished batches; they need the batch size they were made with).
    on_start
        Called once with the batch size, before the first batch runs (a run folder records it, to resume).

    Raises
    ------
    InputError
        A bad argument, or a cluster address that does not answer (checked in seconds, not minutes).
    Exception
        Whatever ``job.run`` raised, with a note naming the batch (and the remote traceback on Ray).
    """
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}: use 'serial' or 'ray'")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    n = int(job.n_scenarios)
    if n < 0:
        raise InputError(f"a job needs n_scenarios >= 0, got {n}")
    if skip and batch_size is None:
        raise InputError("skipping batches needs the batch size they were made with")
    skipped = frozenset(skip)
    if executor == "serial" or n == 0:  # nothing to run: no Ray to start
        size = batch_size or auto_batch_size(n, workers or os.cpu_count() or 1)
        if on_start is not None:
            on_start(size)
        return _execute_serial(job, n, size, on_batch, on_progress, skipped)
    return _execute_ray(job, n, batch_size, workers, address, on_batch, on_progress, skipped, on_start)


def _skipped_scenarios(n: int, size: int, skip: frozenset[int]) -> int:
    return sum(len(_batch_ids(n, size, i)) for i in skip if 0 <= i < -(-n // size))


def _execute_serial(
    job: Job,
    n: int,
    size: int,
    on_batch: OnBatch,
    on_progress: Callable[[Progress], None] | None,
    skip: frozenset[int] = frozenset(),
) -> RunStats:
    n_batches = -(-n // size)
    done, compute = _skipped_scenarios(n, size, skip), 0.0
    from cluster.core import fused

    fused.warm()  # the compiled kernels loaded before the clock starts, as on a Ray worker
    start = time.perf_counter()
    for index in range(n_batches):
        if index in skip:
            continue
        ids = _batch_ids(n, size, index)
        try:
            tables, seconds = run_batch(job, ids)
        except Exception as err:
            err.add_note(f"in {_describe(index, ids)} (serial executor)")
            raise
        on_batch(index, ids, *tables)
        del tables
        done += len(ids)
        compute += seconds
        if on_progress is not None:
            on_progress(Progress(done, n, time.perf_counter() - start))
    return RunStats("serial", None, n, n_batches, size, 1, 0.0, time.perf_counter() - start, compute)


def _execute_ray(
    job: Job,
    n: int,
    batch_size: int | None,
    workers: int | None,
    address: str | None,
    on_batch: OnBatch,
    on_progress: Callable[[Progress], None] | None,
    skip: frozenset[int] = frozenset(),
    on_start: Callable[[int], None] | None = None,
) -> RunStats:
    import ray

    begin = time.perf_counter()
    with _ray_session(address, workers) as (where, own_cpus):
        cpus = own_cpus or workers or _cluster_cpus(ray)
        size = batch_size or auto_batch_size(n, cpus)
        if on_start is not None:
            on_start(size)
        n_batches = -(-n // size)
        # On our own instance Ray runs `workers` tasks at once and we queue as many again; on a cluster,
        # `workers` caps the tasks in flight, else follow the cluster's CPUs (it may grow as it autoscales).
        fixed_cap = IN_FLIGHT_PER_CPU * own_cpus if own_cpus else workers
        remote = _remote_run_batch()
        job_ref = ray.put(job)  # once: every task gets the reference, not a copy of the job
        box = [job_ref]  # in a list, Ray hands the reference itself to the task: a worker unpickles the job once
        _warm_workers(ray, box, cpus)
        startup = time.perf_counter() - begin
        start = time.perf_counter()
        pending: dict[Any, int] = {}
        queue = iter(i for i in range(n_batches) if i not in skip)
        done, compute = _skipped_scenarios(n, size, skip), 0.0
        try:
            while True:
                cap = fixed_cap or IN_FLIGHT_PER_CPU * _cluster_cpus(ray)
                while len(pending) < cap and (nxt := next(queue, None)) is not None:
                    pending[remote.remote(box, _batch_ids(n, size, nxt))] = nxt
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready[0])
                ids = _batch_ids(n, size, index)
                try:
                    tables, seconds = ray.get(ready[0])
                except ray.exceptions.RayTaskError as err:
                    raise _task_failure(err, index, ids) from None
                del ready
                on_batch(index, ids, *tables)
                del tables
                done += len(ids)
                compute += seconds
                if on_progress is not None:
                    on_progress(Progress(done, n, time.perf_counter() - start))
        finally:
            for ref in pending:  # a failure or an interrupt: leave no work behind on a shared cluster
                with contextlib.suppress(Exception):  # best effort: the run is failing already
                    ray.cancel(ref)
            del job_ref, box
        elapsed = time.perf_counter() - start
    return RunStats("ray", where, n, n_batches, size, cpus, startup, elapsed, compute)


#: On a Ray worker: the job it unpickled last, under its object's id (one entry: a worker keeps one run's job).
_worker_job: dict[str, Job] = {}


def _job_on_worker(box: list[Any]) -> Job:
    """The job whose object reference is ``box[0]``, unpickled on the first task of the run on this worker."""
    import ray

    key = box[0].hex()
    job = _worker_job.get(key)
    if job is None:
        job = ray.get(box[0])
        _worker_job.clear()
        _worker_job[key] = job
    return job


def _run_on_worker(box: list[Any], ids: Ids) -> tuple[tuple[pa.RecordBatch, ...], float]:
    """``run_batch`` on a Ray worker, with the run's job unpickled once per worker."""
    return run_batch(_job_on_worker(box), ids)


def _warm(box: list[Any]) -> int:
    """Import the job's modules, unpickle it and load the core's compiled kernels on this worker; its process id."""
    from threadpoolctl import threadpool_limits  # noqa: F401  (imported by every batch)

    from cluster.core import fused

    _job_on_worker(box)
    fused.warm()
    return os.getpid()


def _warm_workers(ray: Any, box: list[Any], cpus: int) -> None:
    """One warm-up task per CPU, before the clock of the batches starts: the first batches do not pay a worker's
    imports and unpickling. Best effort: a worker the warm-up missed warms itself on its first batch."""
    with contextlib.suppress(ray.exceptions.RayError):  # a job that fails there fails its first batch, named
        ray.get([_remote_warm().remote(box) for _ in range(cpus)])


@functools.cache
def _remote_run_batch() -> Any:
    """The Ray task around ``run_batch``: made once, on first use, so that importing this module needs no Ray."""
    import ray

    return ray.remote(num_cpus=1)(_run_on_worker).options(name="run_batch")


@functools.cache
def _remote_warm() -> Any:
    import ray

    return ray.remote(num_cpus=1)(_warm)


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 0)))


def _describe(index: int, ids: Ids) -> str:
    return f"batch {index} (scenarios {int(ids[0])}..{int(ids[-1])})"


def _task_failure(err: Any, index: int, ids: Ids) -> BaseException:
    """The job's own exception out of a failed Ray task, noting the batch and the remote traceback."""
    cause = getattr(err, "cause", None)
    where = f"in {_describe(index, ids)} on a Ray worker"
    if isinstance(cause, Exception):
        # str() of Ray's error is the worker's traceback (task name, pid, node, frames, message).
        cause.add_note(f"{where}; remote traceback:\n{err}")
        return cause
    return RuntimeError(f"{where}:\n{err}")


@contextmanager
def _ray_session(address: str | None, workers: int | None) -> Iterator[tuple[str, int | None]]:
    """Ray for one run: (where it runs, CPUs of our own local instance or None on a cluster).

    Reuses a Ray already initialised in this process and leaves it running; otherwise starts a private
    local instance (no address, no ``RAY_ADDRESS``) or connects to the given cluster, and shuts down (or
    disconnects) at the end.
    """
    import ray

    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address, None
        return
    source = "address" if address else "RAY_ADDRESS"
    target = address or os.environ.get("RAY_ADDRESS") or None
    if target in (None, "local"):
        cpus = workers or os.cpu_count() or 1
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, configure_logging=False)
        where, own = "local", cpus
    else:
        assert target is not None
        _check_reachable(target, source)
        try:
            ray.init(address=target, configure_logging=False)
        except (ConnectionError, ray.exceptions.AuthenticationError) as err:
            if ray.is_initialized():
                ray.shutdown()
            raise InputError(_cannot_connect(target, source, str(err), head_answers=True)) from None
        where, own = target, None
    try:
        yield where, own
    finally:
        ray.shutdown()


def _split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a GCS or Ray Client address; None for ``auto``, which Ray resolves itself."""
    if address == "auto":
        return None
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    if scheme in ("http", "https"):
        raise InputError(
            f"Ray address {address!r} is an HTTP address (the dashboard's, for `ray job submit`); connecting "
            f"needs the head's GCS address, host:{_GCS_PORT}, or ray://host:{_CLIENT_PORT}"
        )
    if scheme not in ("", "ray"):
        raise InputError(f"Ray address {address!r}: unknown scheme {scheme!r}; use host:port or ray://host:port")
    rest = rest.rstrip("/")
    if rest.startswith("["):  # [IPv6]:port
        host, _, tail = rest[1:].partition("]")
        port_text = tail.removeprefix(":")
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    else:
        host, port_text = rest, ""
    default = _CLIENT_PORT if scheme == "ray" else _GCS_PORT
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        raise InputError(f"Ray address {address!r}: port {port_text!r} is not a number") from None
    if not host or not 0 < port < 65536:
        raise InputError(f"Ray address {address!r} is not host:port")
    return host, port


def _check_reachable(address: str, source: str) -> None:
    """Fail in seconds when no Ray head answers at ``address``: ``ray.init`` would retry for minutes.

    Two steps, each bounded by ``CONNECT_TIMEOUT``: a TCP connect, then the HTTP/2 connection preface that
    every gRPC server (a GCS, a Ray Client server) answers with a SETTINGS frame. The second step catches a
    port held by something else (a Redis on 6379, the dashboard on 8265). Skipped with ``RAY_USE_TLS``.
    """
    hostport = _split_address(address)
    if hostport is None:
        return
    where = f"{hostport[0]}:{hostport[1]}"
    try:
        sock = socket.create_connection(hostport, timeout=CONNECT_TIMEOUT)
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        what = f"nothing answers at {where} within {CONNECT_TIMEOUT:g} s ({reason})"
        raise InputError(_cannot_connect(address, source, what)) from None
    with sock:
        if os.environ.get("RAY_USE_TLS", "0").lower() not in ("0", "false", ""):
            return
        try:
            sock.sendall(_H2_PREFACE)
            reply = _read_some(sock, 9)
        except OSError:
            reply = b""
    if len(reply) < 9 or reply[3] != _H2_SETTINGS:
        seen = "answers as an HTTP/1 server" if reply.startswith(b"HTTP/") else "gives no gRPC answer"
        what = f"{where} accepts connections but {seen}: it is not a Ray head's GCS (port {_GCS_PORT} by default)"
        raise InputError(_cannot_connect(address, source, what))


#: A client's HTTP/2 connection preface and an empty SETTINGS frame; the server's first frame is SETTINGS.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 4


def _read_some(sock: socket.socket, size: int) -> bytes:
    """Up to ``size`` bytes: fewer when the peer closes; a timeout raises."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _cannot_connect(address: str, source: str, reason: str, *, head_answers: bool = False) -> str:
    """The message for an address without a usable Ray head: what was tried, where it came from, the fix."""
    named = "--address" if source == "address" else "the environment variable RAY_ADDRESS"
    text = f"cannot connect to the Ray cluster at {address!r} (from {named}): {reason}."
    if not head_answers:
        return (
            f"{text} Fix: start the head there (`ray start --head`), pass the right --address, or unset "
            f"RAY_ADDRESS and omit --address to run on a private local Ray."
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return (
            f"{text} A Ray head answers there; it most likely wants a token (Ray's default): set RAY_AUTH_MODE=token "
            f"and give the cluster's token in RAY_AUTH_TOKEN, in a file named by RAY_AUTH_TOKEN_PATH, or in "
            f"~/.ray/auth_token (docs/cluster.md)."
        )
    return (
        f"{text} A Ray head answers there: check that the token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or "
        f"~/.ray/auth_token) is the cluster's, and that Ray and Python here are the versions the cluster runs."
    )
