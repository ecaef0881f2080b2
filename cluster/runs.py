"""The library entry points: run a config to a run folder, or in memory. The ``shock`` commands call these.

    >>> from cluster import run_config
    >>> result = run_config("configs/smoke.toml", out="runs/smoke", executor="serial", overwrite=True)
    >>> result.rows, result.stats.elapsed

A notebook, a test or a job script calls the same functions as the command line; nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cluster.config import Config, from_dict, load
from cluster.economies import EMBEDDED
from cluster.errors import InputError, Interrupted, OutputError
from cluster.plan import Plan, describe_design
from cluster.runner import Progress, RunStats, execute
from cluster.store import Encoded, EncodedJob, RunFolder, encode
from cluster.timeline import Calendar

__all__ = [
    "Estimate",
    "InMemoryRun",
    "RunResult",
    "builtin_config",
    "describe",
    "estimate",
    "format_bytes",
    "run_config",
    "run_in_memory",
]


@dataclass(frozen=True)
class RunResult:
    """What ``run_config`` did: the config it ran, where the run folder is, and the executor's figures."""

    config: Config
    out: str
    stats: RunStats

    @property
    def rows(self) -> int:
        """Result rows written: draws x policies x regions."""
        cfg = self.config
        return cfg.draws * len(cfg.policies) * len(cfg.economy.regions)


@dataclass(frozen=True)
class InMemoryRun:
    """What ``run_in_memory`` returns: the result, parameter and period tables, in scenario order, and the
    executor's figures."""

    config: Config
    results: pa.Table
    params: pa.Table
    periods: pa.Table
    stats: RunStats
    trajectories: pa.Table | None = None
    trade: pa.Table | None = None


def _config(config: Config | str | os.PathLike[str], overrides: Mapping[str, Any]) -> Config:
    if isinstance(config, Config):
        return config.with_overrides(**overrides) if any(v is not None for v in overrides.values()) else config
    return load(config, **overrides)


def run_config(
    config: Config | str | os.PathLike[str],
    *,
    out: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    executor: str = "ray",
    workers: int | None = None,
    address: str | None = None,
    batch_size: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
    days: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every draw of a config under every policy; results and parameters to Parquet shards in ``out``.

    ``config`` is a validated ``Config`` or the path of a config file; ``out``, ``draws``, ``seed`` and ``days``
    override the config's. ``executor``, ``workers``, ``address`` and ``batch_size`` are ``runner.execute``'s.
    The run folder's manifest and every shard carry the run's provenance (``store.RunFolder``).

    ``resume``: finish the interrupted or failed run in ``out`` — keep its whole shards, run only the batches it
    is missing, with the batch size it recorded — so that its tables are those of an uninterrupted run. Refused
    when its config, seed, draws or code revision differ, or while its driver is alive.

    ``on_notice`` receives what the run does that the caller should hear of (``overwrite`` deleting a run's
    shards, before it does). The manifest records the driver's host and process id, with a heartbeat every
    ``store.HEARTBEAT_SECONDS``, so that readers tell a running run from a dead one.

    Raises
    ------
    InputError
        A bad config, an output folder that cannot be used, or a Ray cluster that does not answer;
        ``OutputError`` when the run folder cannot be written (its whole shards are kept, for ``resume``).
    """
    cfg = _config(config, {"draws": draws, "seed": seed, "days": days, "out": out})
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ and "://" not in cfg.out and not os.path.isabs(cfg.out):
        raise InputError(
            f"--out {cfg.out} is relative, and this runs as a Ray job, in a temporary copy of the working "
            "directory that is deleted afterwards: give an absolute path on shared storage or a URI (s3://...)"
        )
    plan = Plan.from_config(cfg)
    provenance = {"config_hash": cfg.config_hash, "seed": cfg.seed, "draws": cfg.draws, "economy_id": cfg.economy.id}
    info = {
        "name": cfg.name,
        "config": cfg.resolved,
        "policies": [p.name for p in cfg.policies],
        "regions": list(cfg.economy.regions),
        "region_names": list(cfg.economy.region_names),
        "region_countries": list(cfg.economy.country),
        "executor": executor,
    }
    if resume and overwrite:
        raise InputError("--resume and --overwrite contradict each other: resume keeps the run's shards")
    if resume:
        folder = RunFolder.resume(cfg.out, provenance=provenance)
        recorded = folder.batch_size
        if batch_size is not None and batch_size != recorded:
            raise InputError(
                f"cannot resume {cfg.out} with --batch-size {batch_size}: it was made in batches of {recorded}; "
                "drop --batch-size"
            )
        batch_size = recorded
    else:
        folder = RunFolder.create(cfg.out, overwrite=overwrite, info=info, provenance=provenance, notify=on_notice)
    given = "".join(f" --{k} {v}" for k, v in (("draws", draws), ("seed", seed), ("days", days)) if v is not None)
    resume_hint = f"`shock run {cfg.path}{given} --out {cfg.out} --resume`"
    try:
        stats = _fill(folder, plan, cfg, resume_hint, executor, batch_size, workers, address, on_progress)
    except OutputError as err:
        if folder.done:
            raise OutputError(f"{err}; then finish the run with {resume_hint}") from err
        raise
    return RunResult(cfg, cfg.out, stats)


def _fill(
    folder: RunFolder,
    plan: Plan,
    cfg: Config,
    resume_hint: str,
    executor: str,
    batch_size: int | None,
    workers: int | None,
    address: str | None,
    on_progress: Callable[[Progress], None] | None,
) -> RunStats:
    """Run the plan's missing batches into ``folder`` (with a heartbeat, and signals deferred to shard ends)."""
    with folder, _deferred_stop() as stop:
        folder.beat()

        def write(index: int, ids: Any, *tables: Encoded | None) -> None:
            folder.write_batch(index, *tables)
            if stop.signum is not None:  # a signal came: stop now that this shard is whole
                kept, total = len(folder.done), -(-plan.n_scenarios // max(folder.batch_size, 1))
                name = signal.Signals(stop.signum).name
                raise Interrupted(
                    f"interrupted by {name}: {kept} of {total} batches kept in {cfg.out}; finish the run with "
                    f"{resume_hint}",
                    stop.signum,
                )

        stats = execute(
            EncodedJob(plan, folder.metadata),  # the tables come back as Parquet bytes, for the driver to write
            executor=executor,
            batch_size=batch_size or cfg.batch_size,
            workers=workers,
            address=address,
            on_batch=write,
            on_progress=on_progress,
            skip=folder.done,
            on_start=lambda size: folder.record(batch_size=size),
        )
        folder.complete({"batch_size": stats.batch_size, "wall_seconds": round(stats.elapsed, 3)})
    return stats


@dataclass
class _Stop:
    signum: int | None = None


@contextlib.contextmanager
def _deferred_stop() -> Iterator[_Stop]:
    """While a run writes its folder: the first SIGINT or SIGTERM is noted (``_Stop.signum``), so that the run
    stops after the shard being written is whole; a second one stops at once. Only in the main thread (signal
    handlers can be set nowhere else); the previous handlers come back afterwards."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def note(signum: int, frame: Any) -> None:
        if stop.signum is not None:
            raise KeyboardInterrupt
        stop.signum = signum

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_in_memory(
    config: Config | str | os.PathLike[str],
    *,
    executor: str = "serial",
    batch_size: int | None = None,
    workers: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
    days: int | None = None,
) -> InMemoryRun:
    """Run a config through the same plan and executor as ``run_config``, keeping the tables in memory.

    For small runs (a smoke run, a notebook, a test): nothing is written, every table is held.
    """
    cfg = _config(config, {"draws": draws, "seed": seed, "days": days})
    plan = Plan.from_config(cfg)
    parts: dict[int, tuple[pa.RecordBatch | None, ...]] = {}

    def keep(index: int, ids: Any, *tables: pa.RecordBatch | None) -> None:
        parts[index] = tables

    stats = execute(plan, executor=executor, batch_size=batch_size or cfg.batch_size, workers=workers, on_batch=keep)
    order = sorted(parts)
    first = parts[order[0]]
    tables: list[pa.Table | None] = [None] * (len(first) + 3)  # room for the tables a job may leave out
    for k, table in enumerate(first):
        if table is not None:
            tables[k] = pa.Table.from_batches([parts[i][k] for i in order], schema=table.schema)
    results, params, periods = tables[0], tables[1], tables[2]
    assert results is not None
    assert params is not None
    assert periods is not None
    return InMemoryRun(cfg, results, params, periods, stats, tables[3], tables[4])


#: Bytes a trajectory row takes in Parquet: 15.6 measured (smoke config, 64 draws, a year), rounded up for margin.
TRAJECTORY_ROW_BYTES = 20
#: The calibration runs of ``estimate``: one draw for up to a year (its period, trade and trajectory tables give
#: their bytes per row: the days after the shock compress worse than those before), and a batch of this many for
#: this many days (its results and parameters give theirs).
CALIBRATION_BATCH, CALIBRATION_DAYS, CALIBRATION_BYTES_DAYS = 16, 60, 365


def _parquet_bytes(data: pa.RecordBatch) -> int:
    """Bytes of the Parquet file the store would write for ``data``."""
    return len(encode(data, data.schema.metadata or {}).data)


@dataclass(frozen=True)
class Estimate:
    """What a run of a config will write and take (``estimate``): rows and bytes per table, and wall time."""

    rows: dict[str, int]
    bytes: dict[str, int]
    seconds: float
    cores: int
    basis: str  # where the rate and sizes come from, for a person

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


def format_bytes(n: float) -> str:
    """``1.5 GB``: decimal units, as disks and object stores bill them."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _rows_per_draw(cfg: Config, plan: Plan) -> dict[str, int]:
    """Rows each table of ``store.TABLES`` gets per draw (every policy), from the config's shape alone."""
    n_pol, n_reg, n_cty = len(cfg.policies), len(cfg.economy.regions), len(plan.countries)
    n_per = len(cfg.calendar.periods)
    return {
        "results": n_pol * n_reg,
        "params": n_pol,
        "periods": n_pol * (n_reg + n_cty) * n_per,
        "trajectories": n_pol * (n_reg + n_cty) * (cfg.days // 7) if cfg.trajectories else 0,
        "trade": n_pol * n_per * n_cty * n_cty,
    }


def _last_run(cfg: Config) -> tuple[float, dict[str, float], str] | None:
    """The rate (scenario-days per second) and bytes per row of each table of the complete run of this config's
    name and economy in its ``out`` folder, if there is one."""
    from cluster.store import open_run

    try:
        run = open_run(cfg.out)
    except InputError:
        return None
    m = run.manifest
    days = (m.get("config") or {}).get("run", {}).get("days")
    wall, draws = m.get("wall_seconds"), m.get("draws")
    same = m.get("name") == cfg.name and m.get("economy_id") == cfg.economy.id
    if not (same and isinstance(wall, int | float) and wall > 0 and isinstance(days, int) and isinstance(draws, int)):
        return None
    sizes = {table: size / rows for table, (rows, size) in run.sizes().items() if rows}
    basis = f"the last run in {cfg.out}: {draws:,} draws x {days} days in {wall:,.0f} s ({m.get('executor')})"
    return draws * days / wall, sizes, basis


def estimate(cfg: Config, *, cores: int | None = None, last_run: bool = True) -> Estimate:
    """Rows, bytes on disk and wall time of running ``cfg`` on ``cores`` CPUs (default: this machine's).

    Rows are exact (the config's shape). Bytes per row and the pace come from the last complete run of the config
    in its ``out`` folder when there is one (and ``last_run``), else from a short calibration here, timed on one
    core: one draw for the first ``CALIBRATION_BYTES_DAYS`` days and a batch of ``CALIBRATION_BATCH`` draws for
    the first ``CALIBRATION_DAYS`` days, their tables written to Parquet in memory for the bytes per row and per
    file. A day of a batch costs a + b x (batch size); the two runs give a and b, and the run's own batch size
    (``runner.auto_batch_size`` for ``cores``) its time, spread over ``cores``. A rough figure: the machine's
    load moves it by tens of percent.
    """
    import time

    from cluster.runner import auto_batch_size, run_batch
    from cluster.store import TABLES

    cores = cores or os.cpu_count() or 1
    plan = Plan.from_config(cfg)
    per_draw = _rows_per_draw(cfg, plan)
    rows = {t: per_draw[t] * cfg.draws for t in TABLES}
    found = _last_run(cfg) if last_run else None
    row_bytes: dict[str, float] = {}
    file_bytes: dict[str, float] = {}  # per-file overhead, times the files (calibration only)
    if found is not None:
        rate, row_bytes, basis = found
        seconds = cfg.draws * cfg.days / rate  # at the last run's pace, on its executor and cores
    else:
        start_day = cfg.calendar.start

        def timed(n: int, steps: int) -> tuple[tuple[pa.RecordBatch | None, ...], float]:
            """The tables of a batch of n over the first ``steps`` days, and its seconds per day."""
            short = replace(plan, steps=steps, calendar=Calendar(start_day, steps))
            start = time.perf_counter()
            out, _ = run_batch(short, np.arange(n, dtype=np.int64))
            return out, (time.perf_counter() - start) / steps

        timed(1, min(cfg.days, 2))  # warm the caches
        tables, one = timed(1, min(cfg.days, CALIBRATION_BYTES_DAYS))
        n = min(cfg.draws, CALIBRATION_BATCH)
        batch, many = timed(n, min(cfg.days, CALIBRATION_DAYS)) if n > 1 else (tables, one)
        slope = max((many - one) / (n - 1), 0.0) if n > 1 else one
        fixed = max(one - slope, 0.0)
        size = min(cfg.batch_size or auto_batch_size(cfg.draws, cores), cfg.draws)
        batches = -(-cfg.draws // size)
        seconds = -(-batches // cores) * cfg.days * (fixed + slope * size)
        basis = (
            f"calibrated here on one core: a day of one draw in {one * 1e3:.1f} ms, of {n} in {many * 1e3:.1f} ms; "
            f"{batches:,} batches of {size} on {cores} cores"
        )
        for table, long, wide in zip(TABLES, tables, batch, strict=False):
            # results and params: one row per draw, whatever the horizon; the batch's file is like the run's.
            # The others: rows per period or week, whose values change after the shock; the long run's.
            data = wide if table in ("results", "params") else long
            if data is not None and data.num_rows:
                empty = _parquet_bytes(data.slice(0, 0))  # the schema and footer every file carries
                row_bytes[table] = (_parquet_bytes(data) - empty) / data.num_rows
                file_bytes[table] = empty * batches
    sizes = {
        t: int(rows[t] * row_bytes.get(t, TRAJECTORY_ROW_BYTES if t == "trajectories" else 0) + file_bytes.get(t, 0))
        for t in rows
    }
    return Estimate(rows, sizes, seconds, cores, basis)


#: A design whose columns correlate above this (absolute Pearson correlation of two columns' uniforms) makes
#: sensitivity measures and scenario discovery mistake one parameter for another: ``design_warnings`` says so.
DESIGN_CORRELATION_LIMIT = 0.5
#: Designs are checked up to this many draws (an O(draws x dimensions^2) computation); larger ones are fine.
_DESIGN_CHECK_DRAWS = 2**16


def _max_correlation(plan: Plan, draws: int) -> tuple[float, int, int]:
    """The largest absolute correlation between two columns of the design's first ``draws`` rows, and the two."""
    u = replace(plan, n_scenarios=draws).uniforms(np.arange(draws, dtype=np.int64))
    if u.shape[1] < 2 or draws < 3:
        return 0.0, 0, 0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.abs(np.corrcoef(u, rowvar=False))
    corr = np.nan_to_num(corr, nan=1.0)  # a constant column (one draw per stratum...) is as bad as a copy
    np.fill_diagonal(corr, 0.0)
    i, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    return float(corr[i, j]), int(i), int(j)


def design_warnings(cfg: Config) -> list[str]:
    """Warnings about a design too small for its dimension: two of its columns correlate above
    ``DESIGN_CORRELATION_LIMIT`` (measured on the design itself), and the smallest number of draws (doubling)
    that brings them below it."""
    plan = Plan.from_config(cfg)
    d = len(plan.uncertain)
    if d < 2 or cfg.draws > _DESIGN_CHECK_DRAWS or cfg.design not in ("monte_carlo", "latin_hypercube", "sobol"):
        return []
    worst, i, j = _max_correlation(plan, cfg.draws)
    if worst <= DESIGN_CORRELATION_LIMIT:
        return []
    names = [plan.columns[k].name for k in plan.uncertain]
    enough, fix = cfg.draws, ""
    while enough < _DESIGN_CHECK_DRAWS:
        enough = 2 ** int(np.ceil(np.log2(enough + 1)))
        if (found := _max_correlation(plan, enough)[0]) <= DESIGN_CORRELATION_LIMIT:
            fix = f"use at least {enough:,} draws (largest correlation then {found:.2f})"
            break
    return [
        f"design {cfg.design} with {cfg.draws:,} draws in {d} dimensions: its columns {names[i]} and {names[j]} "
        f"correlate at {worst:.2f}, so rank correlations, sensitivity indices and PRIM can name a parameter that "
        f"does not act in place of one that does: {fix or 'use many more draws'}"
    ]


def describe(cfg: Config) -> list[str]:
    """What a config will run, as text lines (``shock validate``): the economy, the design and the size of its
    tables, the sanction packages, every uncertain parameter with its distribution and unit, the policies."""
    plan = Plan.from_config(cfg)
    eco, cal = cfg.economy, cfg.calendar
    n_pol, n_units = len(cfg.policies), len(eco.regions) + len(plan.countries)
    lines = [
        f"config {cfg.path}: valid",
        f"economy {eco.id}: {len(eco.regions)} regions x {len(eco.sectors)} sectors; targets {', '.join(cfg.targets)}",
        f"design {cfg.design}, seed {cfg.seed}: {cfg.draws} draws x {n_pol} policies x {cfg.days} days"
        + (f" from {cfg.start.isoformat()}" if cfg.start else "")
        + f" -> {cfg.draws * n_pol * len(eco.regions):,} result rows, "
        f"{cfg.draws * n_pol * n_units * len(cal.periods):,} period rows; output {cfg.out}",
        *describe_design(cfg),
    ]
    if cfg.trajectories:
        rows = cfg.draws * n_pol * n_units * (cfg.days // 7)
        lines.append(
            f"weekly trajectories: {rows:,} rows, about {rows * TRAJECTORY_ROW_BYTES / 1e6:,.0f} MB in Parquet"
        )
    lines.append("sanction packages:")
    for package in cfg.packages:
        onset, duration = package.values.dist("onset"), package.values.dist("duration")
        assert onset is not None
        when = f"from day {onset.describe()}" + (f" for {duration.describe()} days" if duration else ", for good")
        lines.append(f"  {package.name or '[sanctions]':<24} {when}")
    lines.append(f"parameters: {len(plan.columns)} recorded, {len(plan.uncertain)} uncertain:")
    for j in plan.uncertain:
        c = plan.columns[j]
        lines.append(f"  {c.name:<48} {c.dist.describe():<28} {c.param.unit}")
    lines.append("policies:")
    lines += [f"  {pol.name:<24} {pol.describe()}" for pol in cfg.policies]
    return lines


def builtin_config(
    economy: str,
    *,
    kind: str = "auto",
    concordance: str | None = None,
    domestic: tuple[str, ...] = (),
    draws: int = 64,
    days: int = 365,
    seed: int = 0,
) -> Config:
    """The stylised sanctions package of ``shock simulate``, on any economy.

    Targets are the economy's domestic regions (the first region when none is tagged). The coalition is the
    economy's coalition tags, or each other region with probability 0.6 when it has none. Each sector's imports
    and exports are banned with probability 0.5 each; leakage ~ U(0, 0.3) at a premium ~ U(0.1, 0.4);
    substitutability ~ Beta(2, 2) ramping over ~ U(60, 360) days; onset on day 30 (or the last day of a shorter
    horizon), for good. One policy,
    ``levers``: counter-trade up to 2% of the baseline trade with the friendly partners (the economy's tags,
    else every partner), efficiency ~ U(0.2, 0.8), discount 0.15, 30 days' lag; cooperation weight and speed-up 2.
    """
    if economy in EMBEDDED:
        eco: dict[str, Any] = {"id": economy}
    else:
        eco = {"path": str(Path(economy).resolve()), "kind": kind}
    if concordance is not None:
        eco["concordance"] = str(Path(concordance).resolve())
    if domestic:
        eco["domestic"] = list(domestic)
    raw: dict[str, Any] = {
        "run": {"name": "simulate", "seed": seed, "draws": draws, "days": days},
        "economy": eco,
        "sanctions": {
            "onset": min(30, days - 1),
            "import_ban": {"default": {"bernoulli": 0.5}},
            "export_ban": {"default": {"bernoulli": 0.5}},
            "leakage": {"default": {"uniform": [0.0, 0.3]}},
            "leakage_premium": {"default": {"uniform": [0.1, 0.4]}},
            "substitutability": {"default": {"beta": [2.0, 2.0]}},
            "substitution_tau": {"default": {"uniform": [60.0, 360.0]}},
        },
        "policies": {
            "levers": {
                "counter_trade": {
                    "capacity": 0.02,
                    "efficiency": {"uniform": [0.2, 0.8]},
                    "discount": 0.15,
                    "lag_days": 30,
                },
                "cooperation": {"weight": 2.0, "speedup": 2.0},
            }
        },
    }
    where = "the built-in config of `shock simulate`"
    # A first reading learns the economy's tags (with a coalition, so that it bans something whatever they are).
    probe = {**raw, "sanctions": {**raw["sanctions"], "coalition": {"default": 0.6}}}
    first = from_dict(probe, source=where, base=Path.cwd(), name="simulate")
    untagged = not first.economy.domestic.any()
    if untagged:
        eco["targets"] = [first.economy.regions[0]]
    if not first.economy.coalition.any():
        raw["sanctions"]["coalition"] = {"default": 0.6}
    if not first.economy.friendly.any():
        targets = set(eco.get("targets", first.targets))
        raw["policies"]["levers"]["counter_trade"]["friendly"] = [r for r in first.economy.regions if r not in targets]
    return from_dict(raw, source=where, base=Path.cwd(), name="simulate")
