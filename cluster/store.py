"""The run folder: Parquet shards of results and drawn parameters, and a JSON manifest, written atomically.

A run folder is a local path or a URI that ``pyarrow.fs.FileSystem.from_uri`` accepts (``s3://``, ``gs://``,
``file://``)::

    RUN/manifest.json
    RUN/results/part-000000.parquet    RESULT_SCHEMA rows of batch 0
    RUN/params/part-000000.parquet     parameter rows (``params_schema``) of batch 0
    RUN/periods/part-000000.parquet    PERIODS_SCHEMA rows of batch 0 (quarters, years, the horizon; regions and
                                       countries), when the job writes them

Rules:

* ``RunFolder.create`` refuses a path that is a file, or a folder that is not empty, unless ``overwrite``;
  ``overwrite`` replaces a previous run folder (one with a ``manifest.json``) and never deletes a folder
  that is not one.
* The manifest is written first, with ``"status": "running"``, so every folder this module creates is
  recognisable as a run folder even after a crash. ``complete()`` rewrites it with ``"complete"``, the end
  time, the shard list (in part-number order) and the row totals.
* The store stamps provenance: ``create`` completes the run's provenance (config hash, seed, draws, economy
  id, ...) with the package version and the code revision, records it in the manifest and puts it in the
  schema metadata of every shard (``schema.with_provenance``).
* A shard's tables may come as Arrow tables, or as the bytes of their Parquet files (``Encoded``): an
  ``EncodedJob`` encodes them where the batch ran, stamped with the run's metadata (``RunFolder.metadata``), so
  that a driver only reads their footers and writes the bytes. The files are the same either way.
* Every file is written under a hidden temporary name in its final folder, then moved onto its name
  (``fs.move``; a rename on local disks). A part file that has its name is whole.
* A failure before the first shard, or a user error (``InputError``) at any time: ``abort()`` removes
  everything the run wrote (and the folder itself if ``create`` made it). A later failure: ``fail()``
  keeps the shards and records ``"status": "failed"``, the error and the shard list. Used as a context
  manager, ``RunFolder`` applies exactly this rule, and completes the run on a normal exit.
* ``open_run`` reads complete runs; a ``running`` (still going, or killed), ``interrupted`` or ``failed`` run
  only with ``partial=True``, from the shards that are whole on disk (``shock summarize RUN --partial``).
* An interruption (``Interrupted``, a signal noted by ``runs.run_config``, or ``KeyboardInterrupt``) records
  ``"status": "interrupted"`` and keeps the shards, like a failure.
* ``RunFolder.resume`` reopens a killed, interrupted or failed run: it keeps the whole shards, deletes what a
  killed writer left half-written, and refuses a run of another config, seed, draws or code revision. The batch size is
  recorded in the manifest when the executor has chosen it (``record``), so the batches still missing are
  those of the interrupted run, and a resumed run is never aborted (its earlier shards are not its own).

* A dead run looks dead: while running, the manifest records the driver's host and process id and a heartbeat
  (``RunFolder.beat``, every ``HEARTBEAT_SECONDS``); ``driver_state`` tells a live driver from a killed one (on
  its own host by the process id, elsewhere by the heartbeat's age). ``resume`` and ``overwrite`` refuse a run
  whose driver is alive, and ``overwrite`` says how many shards it deletes before it does.
* Storage faults (read-only, a path under a file, a full disk, a bucket that does not exist) are
  ``OutputError``: one line naming the folder, what was being written, the cause and the fix. A shard whose
  write fails is removed whole (its tables land together or not at all); the shards before it are kept.

Shards are numbered by batch index, so they may arrive in any order; readers read them by part number,
which keeps the scenario order.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from cluster import __version__
from cluster.errors import InputError, Interrupted, OutputError
from cluster.schema import (
    PERIODS_SCHEMA,
    RESULT_SCHEMA,
    RUN_FORMAT,
    TRADE_SCHEMA,
    TRAJECTORIES_SCHEMA,
    params_schema,
    read_metadata,
    with_provenance,
)

__all__ = [
    "DriverState",
    "Encoded",
    "EncodedJob",
    "Run",
    "RunFolder",
    "ShardInfo",
    "driver_state",
    "encode",
    "open_run",
]

MANIFEST = "manifest.json"
RESULTS = "results"
PARAMS = "params"
PERIODS = "periods"
TRAJECTORIES = "trajectories"
TRADE = "trade"
#: The tables a shard may hold, each in the subfolder of its name, with the schema its rows must have (params:
#: any, its columns come from the config). A job returns them in this order, the first two always.
TABLES: dict[str, pa.Schema | None] = {
    RESULTS: RESULT_SCHEMA,
    PARAMS: None,
    PERIODS: PERIODS_SCHEMA,
    TRAJECTORIES: TRAJECTORIES_SCHEMA,
    TRADE: TRADE_SCHEMA,
}

#: Keys of the manifest that the store owns; caller ``info`` may not set them.
_RESERVED = frozenset(
    {"format", "status", "started", "finished", "error", "shards", "rows", "driver", "heartbeat", "heartbeat_seconds"}
)
#: Seconds between two heartbeats of a running driver (``RunFolder.beat``); a run whose last heartbeat is older
#: than ``STALE_BEATS`` of them (plus a margin for clocks and slow stores) has lost its driver.
HEARTBEAT_SECONDS = 30.0
STALE_BEATS = 4
_MARGIN_SECONDS = 30.0
_PART = re.compile(r"^part-(\d+)\.parquet$")


@dataclass(frozen=True)
class ShardInfo:
    """One written batch: its index, and per table (``TABLES``) its file, relative to the run folder, and rows.

    ``results`` and ``params`` are in every shard; the other tables only when the job writes them.
    """

    index: int
    paths: Mapping[str, str]
    counts: Mapping[str, int]

    @property
    def results(self) -> str:
        return self.paths[RESULTS]

    @property
    def params(self) -> str:
        return self.paths[PARAMS]

    @property
    def results_rows(self) -> int:
        return self.counts[RESULTS]

    @property
    def params_rows(self) -> int:
        return self.counts[PARAMS]

    @property
    def files(self) -> tuple[str, ...]:
        """Every file of the shard."""
        return tuple(self.paths[t] for t in TABLES if t in self.paths)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index}
        for table in TABLES:
            if table in self.paths:
                data |= {table: self.paths[table], f"{table}_rows": self.counts[table]}
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> ShardInfo:
        try:
            present = [t for t in TABLES if t in data]
            if RESULTS not in present or PARAMS not in present:
                raise KeyError(RESULTS if RESULTS not in present else PARAMS)
            return cls(
                int(data["index"]),
                {t: str(data[t]) for t in present},
                {t: int(data[f"{t}_rows"]) for t in present},
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: malformed shard entry {data!r} ({err}); the manifest is damaged") from err


def code_revision() -> str:
    """The git commit of this package's checkout, or 'unknown' (an installed package has none)."""
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _filesystem(path: str | os.PathLike[str]) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the path inside it; plain paths are local (relative to the working directory)."""
    text = os.fspath(path)
    if "://" not in text:
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text))
    try:
        fs, inner = pafs.FileSystem.from_uri(text)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot open run folder {text}: {err}") from err
    return fs, inner.rstrip("/")


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def _move(fs: pafs.FileSystem, src: str, dest: str) -> None:
    try:
        fs.move(src, dest)
    except NotImplementedError:  # an object store without move: a copy is as good, objects appear whole
        fs.copy_file(src, dest)
        fs.delete_file(src)


def _tmp_name(base: str, name: str) -> str:
    """A hidden name beside ``name`` (dataset discovery and ``*.parquet`` globs skip it)."""
    return _join(base, f".{name}.{uuid.uuid4().hex}.tmp")


def _write_atomic(fs: pafs.FileSystem, folder: str, name: str, write: Any) -> None:
    tmp = _tmp_name(folder, name)
    try:
        with fs.open_output_stream(tmp) as out:
            write(out)
        _move(fs, tmp, _join(folder, name))
    except BaseException:
        if fs.get_file_info(tmp).type != pafs.FileType.NotFound:
            fs.delete_file(tmp)
        raise


def _as_table(data: pa.RecordBatch | pa.Table) -> pa.Table:
    return pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data


@dataclass(frozen=True)
class Encoded:
    """One table of a shard as the bytes of its Parquet file (``encode``), and its rows."""

    data: bytes = field(repr=False)
    rows: int


def encode(data: pa.RecordBatch | pa.Table, metadata: Mapping[bytes, bytes]) -> Encoded:
    """The Parquet file ``RunFolder.write_batch`` would write for ``data``, its schema carrying ``metadata``."""
    table = _as_table(data).replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return Encoded(sink.getvalue().to_pybytes(), table.num_rows)


class _Tables(Protocol):
    """A job whose batches are Arrow tables (``runner.Job``; ``plan.Plan``)."""

    @property
    def n_scenarios(self) -> int: ...

    def run(self, ids: Any) -> tuple[pa.RecordBatch | None, ...]: ...


@dataclass(frozen=True)
class EncodedJob:
    """``job`` with its tables encoded where it runs (``encode``, stamped with ``metadata``): a Ray worker returns
    compressed Parquet bytes, and the driver, which only writes them, neither decodes nor encodes a table."""

    job: _Tables
    metadata: Mapping[bytes, bytes]

    @property
    def n_scenarios(self) -> int:
        return self.job.n_scenarios

    def run(self, ids: Any) -> tuple[Encoded | None, ...]:
        return tuple(None if t is None else encode(t, self.metadata) for t in self.job.run(ids))


#: What to do about an output fault, by errno.
_FIXES = {
    errno.ENOSPC: "free space there, or choose another --out",
    errno.EDQUOT: "free space there (the quota is full), or choose another --out",
    errno.EROFS: "the storage is read-only: choose a writable --out",
    errno.EACCES: "you may not write there: choose a writable --out",
    errno.EPERM: "you may not write there: choose a writable --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another --out",
    errno.EISDIR: "a part of the path is a folder where a file must go: choose another --out",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter --out",
}


def _fault(path: str, doing: str, err: OSError) -> OutputError:
    """An ``OSError`` of the store (local disk or object store) as one line: the run folder, what was being done,
    the cause, and the fix."""
    if err.errno is not None and err.errno in _FIXES:
        cause, fix = os.strerror(err.errno), _FIXES[err.errno]
    else:  # object stores: no errno, the message says it (e.g. "Bucket 'x' not found"); keep its first line
        cause = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        cause = re.sub(r"^\[Errno \d+\] ", "", cause)
        fix = "check the path, its bucket and your access to it, or choose another --out"
    return OutputError(f"cannot write run folder {path} ({doing}): {cause}; {fix}")


@dataclass(frozen=True)
class DriverState:
    """Whether the driver of a run is alive: True (running), False (gone: killed, or stopped), None (cannot tell,
    a run that records no heartbeat); ``text`` says so for a person."""

    alive: bool | None
    text: str


def _seconds_since(stamp: Any) -> float | None:
    try:
        then = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return (datetime.now(UTC) - then).total_seconds() if then.tzinfo else None


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (macOS): the signal said it exists
        return True


def _ago(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def driver_state(manifest: Mapping[str, Any]) -> DriverState:
    """Whether the driver of the run with ``manifest`` is alive, from its host, process id and heartbeat.

    On the driver's own host the process id decides (and a heartbeat that stopped: a frozen process, or the id
    reused); from another host the heartbeat alone, stale after ``STALE_BEATS`` beats plus a margin.
    """
    status = manifest.get("status")
    if status != "running":
        return DriverState(False, f"{status}")
    driver = manifest.get("driver")
    age = _seconds_since(manifest.get("heartbeat"))
    if not isinstance(driver, dict) or age is None:
        return DriverState(None, "running, or its driver was killed: this run records no heartbeat")
    host, pid = driver.get("host"), driver.get("pid")
    every = manifest.get("heartbeat_seconds", HEARTBEAT_SECONDS)
    every = float(every) if isinstance(every, int | float) else HEARTBEAT_SECONDS
    stale = age > STALE_BEATS * every + _MARGIN_SECONDS
    who, beat = f"driver (pid {pid} on {host})", f"last heartbeat {_ago(age)}"
    if host == socket.gethostname() and isinstance(pid, int):
        if not _pid_alive(pid):
            return DriverState(False, f"interrupted: its {who} is gone, {beat}")
        if stale:
            return DriverState(False, f"interrupted: its {who} stopped beating, {beat}")
        return DriverState(True, f"running: its {who} is alive, {beat}")
    if stale:
        return DriverState(False, f"interrupted: its {who} is presumed dead, {beat}")
    return DriverState(True, f"running: its {who} beats, {beat}")


def _replace(fs: pafs.FileSystem, base: str, text: str, notify: Callable[[str], None] | None) -> None:
    """Empty the run folder ``text`` for ``--overwrite``: refused while its driver is alive; says first what goes."""
    try:
        manifest: dict[str, Any] = _read_manifest(fs, base, text)
    except InputError:  # a damaged manifest: still a run folder, and nobody can be writing it
        manifest = {"status": "damaged"}
    state = driver_state(manifest)
    if state.alive:
        raise InputError(
            f"run {text} is still {state.text}: --overwrite would delete it under its driver; stop that run first "
            "(or wait for it), or choose another --out"
        )
    shards = _shards_on_disk(fs, base)
    policies = manifest.get("policies")
    per_draw = len(policies) if isinstance(policies, list) and policies else 1
    draws = sum(s.params_rows for s in shards) // per_draw  # a params row per draw and policy
    if notify is not None:
        notify(
            f"--overwrite: deleting run {text} ({manifest.get('status')}, {len(shards)} whole shards, "
            f"{draws:,} of {manifest.get('draws', '?')} draws)"
        )
    try:
        fs.delete_dir_contents(base)
    except OSError as err:
        raise _fault(text, "deleting the run it replaces", err) from err


class RunFolder:
    """A run folder being written; build it with ``RunFolder.create``."""

    def __init__(
        self,
        path: str,
        fs: pafs.FileSystem,
        base: str,
        *,
        created: bool,
        info: dict[str, Any],
        provenance: dict[str, Any],
    ) -> None:
        self.path = path
        self.provenance = provenance
        self._metadata = with_provenance(RESULT_SCHEMA, provenance).metadata
        self._fs = fs
        self._base = base
        self._created = created  # create() made the folder itself: abort() removes it
        self._info = info
        self._started = _now()
        self._shards: dict[int, ShardInfo] = {}
        self._schemas: dict[str, pa.Schema] | None = None
        self._resumed = False  # a resumed run is never aborted: its earlier shards are not this process's to delete
        self._lock = threading.RLock()  # the heartbeat thread writes the manifest too
        self._stop_beat = threading.Event()
        self._every = HEARTBEAT_SECONDS
        self.status = "running"

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        info: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> RunFolder:
        """Make the folder and write a ``running`` manifest carrying ``info`` and the run's provenance.

        ``provenance`` (config hash, seed, draws, economy id, ...) is completed with ``package_version`` and
        ``code_revision``, recorded in the manifest beside ``info`` and stamped on every shard.

        Refuses (``InputError``) a file, a non-empty folder without ``overwrite``, and, even with it, a
        non-empty folder that holds no ``manifest.json`` and a run whose driver is alive (``driver_state``).
        ``overwrite`` says through ``notify`` what it deletes (the run's status, shards and draws) before it
        does. A folder that cannot be written (read-only, under a file, disk full, no such bucket):
        ``OutputError``, with nothing left behind.
        """
        text = os.fspath(path)
        stamped = {**(provenance or {}), "package_version": __version__, "code_revision": code_revision()}
        info = {**(info or {}), **stamped}
        if clash := sorted(_RESERVED & info.keys()):
            raise ValueError(f"manifest keys {clash} belong to the store")
        fs, base = _filesystem(text)
        try:
            found = fs.get_file_info(base)
        except OSError as err:
            raise _fault(text, "looking it up", err) from err
        if found.type == pafs.FileType.File:
            raise InputError(f"run folder {text} is a file: choose another --out")
        created = found.type == pafs.FileType.NotFound
        if not created and fs.get_file_info(pafs.FileSelector(base)):
            if not overwrite:
                raise InputError(
                    f"run folder {text} already exists and is not empty: "
                    "pass --overwrite to replace it, or choose another --out"
                )
            if fs.get_file_info(_join(base, MANIFEST)).type != pafs.FileType.File:
                raise InputError(
                    f"{text} is not empty and holds no {MANIFEST}, so it is not a run folder; "
                    "--overwrite only replaces run folders: choose another --out"
                )
            _replace(fs, base, text, notify)
        folder = cls(text, fs, base, created=created, info=info, provenance=stamped)
        try:
            fs.create_dir(base, recursive=True)
            folder._write_manifest()  # first, so that a crash leaves a recognisable run folder
            for table in TABLES:
                fs.create_dir(_join(base, table))
        except (OSError, OutputError) as err:
            with contextlib.suppress(OSError):
                folder.abort()
            if isinstance(err, OutputError):
                raise
            raise _fault(text, "creating it", err) from err
        except BaseException:
            folder.abort()
            raise
        return folder

    @classmethod
    def resume(cls, path: str | os.PathLike[str], *, provenance: dict[str, Any] | None = None) -> RunFolder:
        """Reopen an interrupted or failed run to finish it: its whole shards are kept, anything else a killed
        writer left (a shard without its results file, a temporary file) is removed, and the manifest says
        ``running`` again.

        Refuses (``InputError``) a path that is not a run folder, a complete run, one whose manifest does not
        record its batch size, and one whose config, seed, draws or code revision differ from ``provenance``
        (completed like ``create``'s), naming the difference.
        """
        text = os.fspath(path)
        fs, base = _filesystem(text)
        manifest = _read_manifest(fs, base, text)
        where = f"{text.rstrip('/')}/{MANIFEST}"
        status = manifest.get("status")
        if status == "complete":
            raise InputError(f"run {text} is complete: nothing to resume (drop --resume, or --overwrite to redo it)")
        if (state := driver_state(manifest)).alive:
            raise InputError(
                f"run {text} is still {state.text}: it needs no resume; wait for it, or stop it and then resume"
            )
        stamped = {**(provenance or {}), "package_version": __version__, "code_revision": code_revision()}
        for key in ("seed", "draws", "config_hash", "code_revision"):  # the config hash covers seed and draws
            if key in stamped and manifest.get(key) != stamped[key]:
                what = "config" if key == "config_hash" else key.replace("_", " ")
                raise InputError(
                    f"cannot resume {text}: its {what} differs from this run's ({key} {manifest.get(key)!r} vs "
                    f"{stamped[key]!r}); resume with the same config, seed, draws and code, or start a new run "
                    "(--overwrite)"
                )
        size = manifest.get("batch_size")
        if not isinstance(size, int) or size < 1:
            raise InputError(f"{where} records no batch size, so its batches cannot be matched: re-run (--overwrite)")
        info = {k: v for k, v in manifest.items() if k not in _RESERVED}
        folder = cls(text, fs, base, created=False, info=info, provenance=stamped)
        folder._started = str(manifest.get("started", folder._started))
        whole = {shard.index: shard for shard in _shards_on_disk(fs, base)}
        folder._shards = whole
        folder._resumed = True
        folder._info["resumed"] = [*manifest.get("resumed", []), _now()]
        try:
            for table in TABLES:  # what a killed writer left: parts of unfinished shards, temporary files
                found = fs.get_file_info(pafs.FileSelector(_join(base, table), allow_not_found=True))
                for f in found:
                    m = _PART.match(f.base_name)
                    if m is None or int(m.group(1)) not in whole:
                        fs.delete_file(f.path)
            folder._write_manifest()
        except OSError as err:
            raise _fault(text, "reopening it", err) from err
        return folder

    def record(self, **info: Any) -> None:
        """Add ``info`` to the manifest now (e.g. the batch size, once the executor has chosen it)."""
        self._check_running()
        if clash := sorted(_RESERVED & info.keys()):
            raise ValueError(f"manifest keys {clash} belong to the store")
        self._info.update(info)
        self._write_manifest()

    def beat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Rewrite the manifest every ``every`` seconds while the run is running, on a daemon thread, so that
        readers can tell a live driver from a dead one (``driver_state``); stops when the run ends.

        A beat that cannot be written is skipped (the next shard's write reports a storage fault)."""
        self._every = every
        self._write_manifest()

        def loop() -> None:
            while not self._stop_beat.wait(every):
                with self._lock:
                    if self.status != "running":
                        return
                    with contextlib.suppress(OutputError):
                        self._write_manifest()

        threading.Thread(target=loop, name=f"heartbeat {self.path}", daemon=True).start()

    @property
    def metadata(self) -> dict[bytes, bytes]:
        """The schema metadata of every shard (the run's provenance): what an ``EncodedJob`` must stamp."""
        return dict(self._metadata)

    @property
    def batch_size(self) -> int:
        """The batch size the run records (``record(batch_size=...)``); 0 before it is known."""
        size = self._info.get("batch_size", 0)
        return size if isinstance(size, int) else 0

    @property
    def done(self) -> list[int]:
        """The indices of the shards written (a resumed run's finished batches included)."""
        return sorted(self._shards)

    @property
    def shards(self) -> list[ShardInfo]:
        """The shards written so far, in part-number order."""
        return [self._shards[i] for i in sorted(self._shards)]

    def write_batch(self, index: int, *tables: pa.RecordBatch | pa.Table | Encoded | None, **named: Any) -> ShardInfo:
        """Write batch ``index``: one file ``TABLE/part-NNNNNN.parquet`` per table given.

        The tables come in the order of ``TABLES`` (results, params, then periods, trajectories, trade when the
        job writes them; None skips one), or by name, as Arrow tables or encoded (``Encoded``, written as they
        are: their schemas come from their footers, and must carry the run's metadata). Each must have its
        ``TABLES`` schema's fields, and every shard of a run the same schemas (the first shard sets them). Every
        file carries the run's provenance in its metadata. The results file is written last, so a shard whose
        results file exists is whole. Nothing is kept in memory but the counts.
        """
        self._check_running()
        if index < 0 or index in self._shards:
            raise ValueError(f"shard index {index} is negative or already written")
        if len(tables) > len(TABLES) or (unknown := sorted(set(named) - set(TABLES))):
            raise ValueError(f"write_batch takes the tables {list(TABLES)}; got {len(tables)} and {unknown}")
        given = {**dict(zip(TABLES, tables, strict=False)), **named}
        if given.get(RESULTS) is None or given.get(PARAMS) is None:
            raise ValueError("a shard needs its results and params tables")
        files = {t: self._file(t, v) for t, v in given.items() if v is not None}
        for table, (found, _, _) in files.items():
            schema = TABLES[table]
            if schema is not None and not found.equals(schema, check_metadata=False):
                raise ValueError(f"{table} do not have the fields of its schema:\n{found}\nexpected\n{schema}")
        schemas = {t: f[0] for t, f in files.items()}
        if self._schemas is None:
            self._schemas = schemas
        elif schemas != self._schemas:
            raise ValueError(f"shard {index} has other tables or schemas (or metadata) than the run's first shard")
        name = _part_name(index)
        written: list[str] = []
        try:
            for table in reversed(TABLES):  # the results file last
                if table in files:
                    _write_atomic(self._fs, _join(self._base, table), name, files[table][2])
                    written.append(table)
        except OSError as err:  # a shard lands whole or not at all
            for table in written:
                with contextlib.suppress(OSError):
                    self._fs.delete_file(_join(self._base, table, name))
            kept = len(self._shards)
            raise _fault(
                self.path, f"writing shard {index}; {kept} whole shards kept" if kept else f"writing shard {index}", err
            ) from err
        shard = ShardInfo(index, {t: f"{t}/{name}" for t in files}, {t: f[1] for t, f in files.items()})
        with self._lock:
            self._shards[index] = shard
        return shard

    def _file(self, table: str, value: pa.RecordBatch | pa.Table | Encoded) -> tuple[pa.Schema, int, Any]:
        """The schema, rows and writer (of an output stream) of one table of a shard."""
        if isinstance(value, Encoded):
            footer = pq.ParquetFile(pa.BufferReader(value.data))
            schema = footer.schema_arrow
            if schema.metadata != self._metadata:
                raise ValueError(f"{table} were not encoded with the run's metadata (RunFolder.metadata)")
            return schema, int(footer.metadata.num_rows), lambda out, data=value.data: out.write(data)
        data = _as_table(value).replace_schema_metadata(self._metadata)
        return data.schema, int(data.num_rows), lambda out, t=data: pq.write_table(t, out)

    def complete(self, info: dict[str, Any] | None = None) -> None:
        """Mark the run complete: end time, shard list and totals, plus ``info`` merged into the manifest."""
        self._check_running()
        if info and (clash := sorted(_RESERVED & info.keys())):
            raise ValueError(f"manifest keys {clash} belong to the store")
        self._info.update(info or {})
        self._end("complete")

    def fail(self, error: str) -> None:
        """Mark the run failed, keeping the shards written so far (listed in the manifest)."""
        self._check_running()
        self._end("failed", error)

    def interrupt(self, reason: str) -> None:
        """Mark the run interrupted (a signal), keeping the shards written so far: ``resume`` finishes it."""
        self._check_running()
        self._end("interrupted", reason)

    def _end(self, status: str, error: str | None = None) -> None:
        self._stop_beat.set()
        with self._lock:
            self.status = status
            self._write_manifest(error=error)

    def abort(self) -> None:
        """Remove everything this run wrote: the folder if ``create`` made it, else the folder's contents."""
        self._stop_beat.set()
        if self.status == "aborted":
            return
        with self._lock:
            self.status = "aborted"
        if self._created:
            self._fs.delete_dir(self._base)
        else:
            self._fs.delete_dir_contents(self._base)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Complete on a normal exit; on an exception, abort or fail by the module's rule, then re-raise."""
        if self.status != "running":
            return
        if exc is None:
            self.complete()
            return
        try:
            user_error = isinstance(exc, InputError) and not isinstance(exc, OutputError)  # output: keep the shards
            if (user_error or not self._shards) and not self._resumed:
                self.abort()
            elif isinstance(exc, Interrupted | KeyboardInterrupt):
                self.interrupt(str(exc) or "interrupted")
            else:
                self.fail(f"{type(exc).__name__}: {exc}")
        except (OSError, OutputError):  # best effort (a full disk): the original exception is the one to report
            pass

    def _check_running(self) -> None:
        if self.status != "running":
            raise RuntimeError(f"run folder {self.path} is {self.status}; nothing more can be written")

    def _write_manifest(self, error: str | None = None) -> None:
        """Write the manifest: status, times, the driver and its heartbeat while running, shards and totals."""
        with self._lock:
            data: dict[str, Any] = {"format": RUN_FORMAT, "status": self.status, "started": self._started}
            if self.status != "running":
                data["finished"] = _now()
            else:
                data["driver"] = {"host": socket.gethostname(), "pid": os.getpid()}
                data["heartbeat"], data["heartbeat_seconds"] = _now(), self._every
            if error is not None:
                data["error"] = error
            shards = self.shards
            data["rows"] = {t: sum(s.counts.get(t, 0) for s in shards) for t in TABLES}
            data["shards"] = [s.to_json() for s in shards]
            data.update(self._info)
            text = json.dumps(data, indent=2) + "\n"
            try:
                _write_atomic(self._fs, self._base, MANIFEST, lambda out: out.write(text.encode()))
            except OSError as err:
                raise _fault(self.path, f"writing its {MANIFEST}", err) from err


@dataclass(frozen=True)
class Run:
    """A run folder opened for reading; tables come back in part-number (hence scenario) order."""

    path: str
    manifest: dict[str, Any]
    shards: tuple[ShardInfo, ...]
    _fs: pafs.FileSystem
    _base: str

    @property
    def status(self) -> str:
        return str(self.manifest.get("status"))

    def results(self) -> ds.Dataset:
        """The results as a dataset: scan it with column projection and filters."""
        return self._dataset([s.results for s in self.shards], RESULT_SCHEMA)

    def coverage(self) -> str:
        """What the run's whole shards hold: ``run is 'interrupted': 40 of 96 draws, in 10 shards``."""
        ids = self.results_table(columns=["scenario_id"])["scenario_id"]
        done = len(pc.unique(ids)) if len(ids) else 0
        return (
            f"run is {driver_state(self.manifest).text}: {done} of {self.manifest.get('draws', '?')} draws, in "
            f"{len(self.shards)} whole shards"
        )

    def sizes(self) -> dict[str, tuple[int, int]]:
        """Rows and bytes on storage of each table, over the run's shards."""
        out: dict[str, tuple[int, int]] = {}
        for table in TABLES:
            files = [_join(self._base, s.paths[table]) for s in self.shards if table in s.paths]
            rows = sum(s.counts[table] for s in self.shards if table in s.paths)
            out[table] = (rows, sum(f.size or 0 for f in self._fs.get_file_info(files)) if files else 0)
        return out

    def results_table(self, columns: list[str] | None = None) -> pa.Table:
        """The results (only ``columns`` if given), read whole."""
        return self._read(self.results(), columns)

    def params(self) -> ds.Dataset:
        """The drawn parameters as a dataset, one row per (scenario, policy): scan it with projection and filters."""
        return self._dataset([s.params for s in self.shards], params_schema([]))

    def params_table(self, columns: list[str] | None = None) -> pa.Table:
        """The drawn parameters, one row per (scenario, policy)."""
        return self._read(self.params(), columns)

    @property
    def has_periods(self) -> bool:
        """Whether the run wrote period tables (runs of this version do)."""
        return bool(self.shards) and all(PERIODS in s.paths for s in self.shards)

    def periods(self) -> ds.Dataset:
        """The period rows (quarters, years, the horizon; regions and countries) as a dataset."""
        if self.shards and not self.has_periods:
            raise InputError(f"run {self.path} has no period tables: it was written by an older version; re-run it")
        return self._dataset([s.paths[PERIODS] for s in self.shards], PERIODS_SCHEMA)

    def trajectories(self) -> ds.Dataset:
        """The weekly paths of real value added, when the run's config asked for them."""
        if not self.shards or any(TRAJECTORIES not in s.paths for s in self.shards):
            raise InputError(
                f'run {self.path} has no trajectories: set [output] trajectories = "weekly" in its config and re-run'
            )
        return self._dataset([s.paths[TRAJECTORIES] for s in self.shards], TRAJECTORIES_SCHEMA)

    def trade(self) -> ds.Dataset:
        """Trade between countries by period (volume and value), for runs that wrote it."""
        if not self.shards or any(TRADE not in s.paths for s in self.shards):
            raise InputError(f"run {self.path} has no trade tables: it was written by an older version; re-run it")
        return self._dataset([s.paths[TRADE] for s in self.shards], TRADE_SCHEMA)

    def periods_table(self, columns: list[str] | None = None, filter: Any = None) -> pa.Table:
        """The period rows (only ``columns`` and the rows matching the pyarrow ``filter`` if given)."""
        dataset = self.periods()
        if columns is not None and (unknown := [c for c in columns if c not in dataset.schema.names]):
            raise InputError(f"run {self.path} has no period columns {unknown}; it has {dataset.schema.names}")
        return dataset.to_table(columns=columns, filter=filter)

    @property
    def provenance(self) -> dict[str, Any] | None:
        """The ``shock`` metadata of the result shards (None for a run without shards)."""
        return read_metadata(self.results().schema) if self.shards else None

    def _dataset(self, files: list[str], empty: pa.Schema) -> ds.Dataset:
        if not files:
            return ds.dataset(pa.table({f.name: pa.array([], f.type) for f in empty}, schema=empty))
        return ds.dataset([_join(self._base, f) for f in files], filesystem=self._fs, format="parquet")

    def _read(self, dataset: ds.Dataset, columns: list[str] | None) -> pa.Table:
        if columns is not None and (unknown := [c for c in columns if c not in dataset.schema.names]):
            raise InputError(f"run {self.path} has no columns {unknown}; it has {dataset.schema.names}")
        return dataset.to_table(columns=columns)


def open_run(path: str | os.PathLike[str], *, partial: bool = False) -> Run:
    """Open the run folder at ``path`` (a local path or a URI).

    A ``running`` run (still going, or killed) or a ``failed`` one is refused unless ``partial``: then its
    whole shards are read (those on disk, or those its manifest lists).
    """
    text = os.fspath(path)
    fs, base = _filesystem(text)
    where = f"{text.rstrip('/')}/{MANIFEST}"
    manifest = _read_manifest(fs, base, text)
    status = manifest.get("status")
    if status != "complete" and not partial:
        state = driver_state(manifest)
        partial_hint = f"`shock summarize {text} --partial` reads its finished shards"
        if state.alive:
            raise InputError(f"run {text} is still {state.text}: wait for it to finish; {partial_hint}")
        hint = f" ({manifest['error']})" if manifest.get("error") else ""
        wait = "wait for it to finish, or, if its driver is gone, " if state.alive is None else ""
        what = {"failed": "failed", "interrupted": "was interrupted"}.get(str(status), f"is {state.text}")
        raise InputError(
            f"run {text} {what}{hint}, not complete: {wait}finish it with "
            f"`shock run CONFIG --out {text} --resume` (the same config, seed and draws); {partial_hint}"
        )
    if status != "complete":  # a partial read: the shards that are whole on disk, whatever the manifest says
        shards = _shards_on_disk(fs, base)
    else:
        shards = [ShardInfo.from_json(s, where) for s in manifest.get("shards", [])]
        for shard in shards:
            for rel in shard.files:
                if fs.get_file_info(_join(base, rel)).type != pafs.FileType.File:
                    raise InputError(f"{where} lists {rel}, which is missing: the run folder is incomplete; re-run it")
    return Run(text, manifest, tuple(sorted(shards, key=lambda s: s.index)), fs, base)


def _read_manifest(fs: pafs.FileSystem, base: str, text: str) -> dict[str, Any]:
    """The manifest of the run folder ``text`` (at ``base`` on ``fs``); ``InputError`` when there is none, or it is
    damaged or of another format."""
    where = f"{text.rstrip('/')}/{MANIFEST}"
    if fs.get_file_info(base).type != pafs.FileType.Directory:
        raise InputError(f"no run folder at {text}: check the path (the --out of `shock run`)")
    if fs.get_file_info(_join(base, MANIFEST)).type != pafs.FileType.File:
        raise InputError(f"{text} holds no {MANIFEST}, so it is not a run folder (or its run never started)")
    try:
        with fs.open_input_stream(_join(base, MANIFEST)) as stream:
            manifest = json.loads(stream.read().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{where} is not valid JSON ({err}); the run folder is damaged: re-run it") from err
    if not isinstance(manifest, dict) or manifest.get("format") != RUN_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise InputError(
            f"{where} has format {found!r}, expected {RUN_FORMAT!r}: not a run folder of this "
            "version of shock; re-run it with this version"
        )
    return manifest


def _shards_on_disk(fs: pafs.FileSystem, base: str) -> list[ShardInfo]:
    """Shards whose results file exists (written last, so the shard is whole), with every file they have (row
    counts from the Parquet footers)."""

    def parts(sub: str) -> dict[int, str]:
        found = fs.get_file_info(pafs.FileSelector(_join(base, sub), allow_not_found=True))
        return {int(m.group(1)): f"{sub}/{m.group(0)}" for f in found if (m := _PART.match(f.base_name))}

    def rows(rel: str) -> int:
        with fs.open_input_file(_join(base, rel)) as f:
            return int(pq.ParquetFile(f).metadata.num_rows)

    found = {t: parts(t) for t in TABLES}
    shards = []
    for i in sorted(found[RESULTS].keys() & found[PARAMS].keys()):
        paths = {t: files[i] for t, files in found.items() if i in files}
        shards.append(ShardInfo(i, paths, {t: rows(rel) for t, rel in paths.items()}))
    return shards
