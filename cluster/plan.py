"""A config compiled into a job the runner can run anywhere: draws by scenario index, the core's inputs, tables.

Scenario ``i`` of a run with seed ``s`` takes row ``i`` of its design, computed alone in O(d) (d: the uncertain
parameters; Sobol': O(d log i)), so its parameters never depend on batch size, worker count, retries or order,
and a batch costs the same however many draws the run has:

- Monte Carlo: ``SeedSequence(s, spawn_key=(i,))``'s stream;
- Sobol': point ``i`` of scipy's scrambled sequence (``qmc.Sobol(d, scramble=True, rng=default_rng(s))``, bit
  for bit), the shift xor the scrambled direction numbers of the Gray code of ``i``;
- Latin hypercube: in dimension j, stratum pi_j(i) of n equal strata, pi_j a keyed pseudo-random permutation
  of range(n) evaluated pointwise (a Feistel network), at a keyed uniform position within it (not scipy's
  ``LatinHypercube``, which needs every row at once; the same properties).
- Saltelli: SALib's ``sample.sobol.sample(..., calc_second_order=False)`` row layout, N base points of d + 2 rows
  (A, AB_1 .. AB_d, B) from point i // (d + 2) of the 2d-dimensional Sobol' sequence above (``saltelli``).

Every policy is simulated on the same draws (common random numbers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from cluster.config import Adaptation, Config, DemandShock, Policy, Project
from cluster.core import (
    FLOWS,
    METRICS,
    NEVER,
    Baseline,
    Demand,
    Extensions,
    Outcome,
    ShockBatch,
    embargo_links,
    simulate,
)
from cluster.distributions import Dist
from cluster.parameters import PARAMETERS, Param, column, declared
from cluster.schema import PERIODS_SCHEMA, RESULT_SCHEMA, TRADE_SCHEMA, TRAJECTORIES_SCHEMA, params_schema
from cluster.timeline import Calendar

__all__ = [
    "Column",
    "Plan",
    "describe_design",
    "dimension",
    "latin_hypercube",
    "rng_for",
    "saltelli",
    "saltelli_draws",
    "sobol",
]

F64 = NDArray[np.float64]
Ids = NDArray[np.int64]


def rng_for(seed: int, scenario_id: int) -> np.random.Generator:
    """The generator of one scenario: a pure function of the run seed and the scenario id."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(scenario_id),)))


#: Rounds of the Feistel network behind the Latin hypercube's permutations.
_ROUNDS = 8
#: ``spawn_key`` tag of the Latin hypercube's keys (Monte Carlo's scenario streams have ``spawn_key=(i,)``).
_LHS_TAG = 0x4C4853
_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser: a bijective avalanche of 64-bit words (wraps, as unsigned arithmetic does)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


@functools.lru_cache(maxsize=16)
def _lhs_keys(seed: int, d: int) -> NDArray[np.uint64]:
    """(d, rounds + 1) 64-bit keys: dimension j's Feistel round keys, then its jitter stream's key."""
    keys = np.array(
        [
            np.random.SeedSequence(seed, spawn_key=(_LHS_TAG, j)).generate_state(_ROUNDS + 1, np.uint64)
            for j in range(d)
        ],
        dtype=np.uint64,
    ).reshape(d, _ROUNDS + 1)
    keys.setflags(write=False)
    return keys


def _feistel(x: NDArray[np.uint64], keys: NDArray[np.uint64], bits: int) -> NDArray[np.uint64]:
    """A keyed bijection of [0, 2**bits), pointwise: ``keys[..., r]`` (broadcast with ``x``) keys round r.

    Each round splits x into a high part of ``hi`` bits and a low part of ``lo``, and maps it to
    ``lo << hi | (high ^ F(low))``: invertible whatever F, and with hi and lo swapping roles it also works
    for an odd number of bits.
    """
    hi, lo = bits // 2, bits - bits // 2
    for r in range(_ROUNDS):
        high, low = x >> _U64(lo), x & _U64((1 << lo) - 1)
        f = _mix(low + keys[..., r]) & _U64((1 << hi) - 1)
        x = (low << _U64(hi)) | (high ^ f)
        hi, lo = lo, hi
    return x


def latin_hypercube(seed: int, n: int, d: int, ids: Ids) -> F64:
    """Rows ``ids`` of a Latin hypercube of ``n`` points in ``d`` dimensions, each computed alone, (len(ids), d).

    In dimension j, row i falls in stratum pi_j(i) of the n equal strata of [0, 1), where pi_j is a keyed
    pseudo-random permutation of range(n) evaluated pointwise (a Feistel network over the next power of two,
    cycle-walking back into range(n)), and sits at a uniform position within it (a keyed counter-based
    stream, SplitMix64 at counter i). Every dimension's keys come from ``SeedSequence(seed, spawn_key=(tag,
    j))``. So each column has exactly one point per stratum, and row i depends on nothing but (seed, i, n, d).
    """
    if not 1 <= n <= 2**40:  # the position within a stratum keeps 53 - 40 bits
        raise ValueError(f"a Latin hypercube needs 1 to 2**40 points, got {n}")
    ids = np.asarray(ids, dtype=np.int64)
    keys = _lhs_keys(seed, d)
    bits = (n - 1).bit_length()  # strata are numbered in [0, 2**bits) before the walk
    x = np.broadcast_to(ids.astype(np.uint64)[:, None], (len(ids), d))
    stratum = _feistel(x, keys, bits)
    out = np.flatnonzero(stratum >= _U64(n))  # cycle-walk: at most 2**bits / n steps on average (< 2)
    while out.size:
        col = out % d
        walked = _feistel(stratum.flat[out], keys[col], bits)
        stratum.flat[out] = walked
        out = out[walked >= _U64(n)]
    # The position in the stratum has 53 - bits fractional bits, so stratum + jitter is exact and below
    # stratum + 1, and its quotient by n stays in the stratum and below 1.
    counter = ids.astype(np.uint64)[:, None] * _GOLDEN + keys[:, _ROUNDS]
    frac = 53 - bits
    jitter = (_mix(counter) >> _U64(64 - frac)).astype(np.float64) * 2.0**-frac
    return (stratum.astype(np.float64) + jitter) / n


@functools.lru_cache(maxsize=16)
def _sobol_engine(seed: int, d: int) -> tuple[NDArray[np.uint32], NDArray[np.uint32], float]:
    """Scipy's scrambled Sobol' engine for (seed, d), taken apart: direction numbers (d, bits), shift (d,), scale.

    Checked against the engine's own first points, so that a scipy whose internals differ fails loudly.
    """
    from scipy.stats import qmc

    engine = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed))
    parts = (engine._sv.copy(), engine._shift.copy(), float(engine._scale))
    for a in parts[:2]:
        a.setflags(write=False)
    ids = np.arange(8, dtype=np.int64)
    if not np.array_equal(_sobol_points(*parts, ids), engine.random(8)):
        raise RuntimeError("scipy's Sobol' engine changed: the design cannot be computed by scenario")
    return parts


def _sobol_points(sv: NDArray[np.uint32], shift: NDArray[np.uint32], scale: float, ids: Ids) -> F64:
    """Points ``ids`` of a scrambled Sobol' sequence: the shift xor the direction numbers of Gray code bits."""
    gray = ids ^ (ids >> 1)
    quasi = np.broadcast_to(shift, (len(ids), len(shift))).copy()
    for b in range(int(gray.max()).bit_length() if len(ids) else 0):
        quasi[(gray >> b) & 1 == 1] ^= sv[:, b]
    return (quasi * scale).astype(np.float64, copy=False)


def sobol(seed: int, d: int, ids: Ids) -> F64:
    """Rows ``ids`` of scipy's scrambled Sobol' design, each computed alone, (len(ids), d).

    Bit-identical to ``qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random_base2(m)[ids]``
    for any ``m`` with 2**m > max(ids), in O(len(ids) d log(max(ids))).
    """
    return _sobol_points(*_sobol_engine(seed, d), np.asarray(ids, dtype=np.int64))


def saltelli_draws(d: int, n_base: int) -> int:
    """The draws of a Saltelli design of ``n_base`` base points over ``d`` parameters: N x (d + 2)."""
    return n_base * (d + 2)


def saltelli(seed: int, d: int, ids: Ids) -> F64:
    """Rows ``ids`` of a Saltelli design over ``d`` parameters, each computed alone, (len(ids), d).

    Row i takes base point b = i // (d + 2) of the 2d-dimensional scrambled Sobol' sequence (``sobol(seed, 2d,
    ...)``), whose first d coordinates are A and last d are B, and is, by k = i % (d + 2): A (k = 0), A with
    column k - 1 from B (AB_k, 1 <= k <= d), or B (k = d + 1). That is the layout of SALib's
    ``SALib.sample.sobol.sample(problem, N, calc_second_order=False, seed=np.random.default_rng(seed))``, bit for
    bit, which ``SALib.analyze.sobol.analyze(..., calc_second_order=False)`` reads. (An int ``seed`` there seeds
    scipy's scrambling directly, a Generator is spawned from, as in ``sobol``: the points differ, not the layout.)
    """
    ids = np.asarray(ids, dtype=np.int64)
    base, k = np.divmod(ids, d + 2)
    points = sobol(seed, 2 * d, base)
    rows = points[:, :d].copy()
    take_b = (k[:, None] == d + 1) | (k[:, None] - 1 == np.arange(d)[None, :])
    rows[take_b] = points[:, d:][take_b]
    return rows


@dataclass(frozen=True)
class Column:
    """One recorded parameter: its column name, declaration, owner (project or policy), label and distribution."""

    name: str
    param: Param
    owner: str | None
    label: str | None
    dist: Dist


def _columns(config: Config) -> tuple[Column, ...]:
    """Every recorded parameter of a config, in the declaration order of ``cluster.parameters``."""
    cols: list[Column] = []

    def add(p: Param, dist: Dist | Any | None, owner: str | None = None) -> None:
        if dist is None and p.optional:  # absent: another parameter stands for it
            return
        if isinstance(dist, dict):
            cols.extend(Column(column(p, owner=owner, label=lab), p, owner, lab, d) for lab, d in dist.items())
        else:  # "forever" is recorded as -1
            cols.append(Column(column(p, owner=owner), p, owner, None, dist or Dist("fixed", (-1.0,))))

    def recorded(section: str) -> list[Param]:
        return [p for p in declared(section) if p.recorded]

    for package in config.packages:  # package-major; the [sanctions] table's own package has bare names
        for p in recorded("package"):
            add(p, package.values.items[p.key], package.name)
    for p in recorded("sanctions"):
        add(p, config.sanctions.items[p.key])
    for p in recorded("ario"):
        add(p, config.ario.items[p.key])
    for proj in config.projects.values():  # project-major: a project's parameters side by side
        for p in recorded("project"):
            add(p, proj.values.items[p.key], proj.name)
    for pol in config.policies:
        if pol.counter_trade is not None:
            for p in recorded("counter_trade"):
                add(p, pol.counter_trade.values.items[p.key], pol.name)
    for p in recorded("prices"):
        add(p, config.prices.items[p.key])
    for shock in config.demand:
        for p in recorded("demand"):
            add(p, shock.values.items[p.key], shock.name)
    if config.adaptation is not None:  # last, and only when given: a run without it keeps its columns
        for p in recorded("adaptation"):
            add(p, config.adaptation.values.items[p.key])
    placed = {"package", "sanctions", "ario", "project", "counter_trade", "prices", "demand", "adaptation"}
    if stray := [p.key for p in PARAMETERS if p.recorded and p.section not in placed]:
        raise AssertionError(f"recorded parameters {stray} have no place in the plan")
    return tuple(cols)


def dimension(config: Config) -> int:
    """The dimension of a config's design: its uncertain parameters (those that take a column of uniforms)."""
    return sum(1 for c in _columns(config) if c.dist.uncertain)  # config.uncertain_count counts the same


def describe_design(config: Config) -> list[str]:
    """The design of a config as text lines (``shock validate``): for a Saltelli design
    ``saltelli: N base points x (D+2) = draws (D = d uncertain parameters)``; for the others nothing."""
    if config.design != "saltelli":
        return []
    d = dimension(config)
    return [
        f"saltelli: {config.draws // (d + 2):,} base points x ({d}+2) = {config.draws:,} draws "
        f"(D = {d} uncertain parameters; first-order and total Sobol' indices)"
    ]


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to simulate any scenario of a config run (a picklable, immutable job)."""

    baseline: Baseline
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    policies: tuple[Policy, ...]
    columns: tuple[Column, ...]  # every recorded parameter, in column order
    design: str
    seed: int
    n_scenarios: int
    steps: int
    target: NDArray[np.bool_]
    packages: tuple[str | None, ...]  # the sanction packages' names (None: the [sanctions] table's own)
    package_target: NDArray[np.bool_]  # (K, R): the targets each package applies to (some of ``target``)
    demand: tuple[DemandShock, ...]
    projects: tuple[Project, ...]
    project_industry: tuple[int, ...]
    extensions: Extensions
    calendar: Calendar
    countries: tuple[str, ...]  # the economy's countries, in order of first appearance
    country_of: tuple[int, ...]  # each region's index into ``countries``
    trajectories: str | None = None  # "weekly": also weekly paths of real value added
    adaptation: Adaptation | None = None  # [adaptation]: buyers and recorded columns; None: the quiet values

    @classmethod
    def from_config(cls, config: Config, *, extensions: Extensions | None = None) -> Plan:
        """Compile a validated config into a plan; ``extensions`` overrides the switches the config implies."""
        eco = config.economy
        projects = tuple(config.projects.values())
        ext = extensions or Extensions(
            sanctions=True,
            leakage=True,
            substitution=True,
            counter_trade=any(p.counter_trade is not None for p in config.policies),
            projects=any(p.projects for p in config.policies),
            cooperation=any(p.cooperates for p in config.policies),
        )
        return cls(
            baseline=eco.baseline(),
            regions=eco.regions,
            sectors=eco.sectors,
            policies=config.policies,
            columns=_columns(config),
            design=config.design,
            seed=config.seed,
            n_scenarios=config.draws,
            steps=config.days,
            target=np.isin(eco.regions, config.targets),
            packages=tuple(p.name for p in config.packages),
            package_target=np.stack([np.isin(eco.regions, p.targets) for p in config.packages]),
            demand=config.demand,
            projects=projects,
            project_industry=tuple(eco.industry(p.region, p.sector) for p in projects),
            extensions=ext,
            calendar=config.calendar,
            countries=tuple(dict.fromkeys(eco.country)),
            country_of=tuple(list(dict.fromkeys(eco.country)).index(c) for c in eco.country),
            trajectories=config.trajectories,
            adaptation=config.adaptation,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The recorded parameters' column names."""
        return tuple(c.name for c in self.columns)

    @functools.cached_property
    def links(self) -> NDArray[np.bool_]:
        """(R_o, R_d): every link some package could close in some scenario of the design, its targets and the
        regions that may join its coalition (an uncertain membership, or a fixed one), both ways. The core groups
        its closed links in blocks over these for every batch, so that a scenario's bits do not depend on which
        links its companions close (``simulate``'s ``links``)."""
        r = len(self.regions)
        out = np.zeros((r, r), dtype=bool)
        p = {q.key: q for q in declared("package")}
        for k, name in enumerate(self.packages):
            may = np.zeros(r, dtype=bool)
            for c in self.columns:
                if c.param == p["coalition"] and c.owner == name and c.label is not None:
                    may[self.regions.index(c.label)] |= c.dist.uncertain or c.dist.fixed_value() > 0.5
            tgt = self.target & self.package_target[k]
            may &= ~tgt
            out |= np.outer(may, tgt) | np.outer(tgt, may)
        return out

    @property
    def uncertain(self) -> tuple[int, ...]:
        """Positions of the parameters that take a dimension of the design."""
        return tuple(i for i, c in enumerate(self.columns) if c.dist.uncertain)

    def uniforms(self, ids: Ids) -> F64:
        """The design's uniforms for scenarios ``ids`` (any order, each in [0, n_scenarios)), (len(ids), d).

        Row ``i`` is a pure function of the seed, ``i``, the number of scenarios and the dimension ``d`` (the
        number of uncertain parameters), computed alone: the cost is O(len(ids) d) for every design (Sobol':
        times the number of bits of the largest id), whatever the number of scenarios.
        """
        ids = np.asarray(ids, dtype=np.int64)
        d = len(self.uncertain)
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.n_scenarios):
            raise ValueError(f"scenario ids must be in [0, {self.n_scenarios}), got {ids.min()}..{ids.max()}")
        if d == 0 or ids.size == 0:
            return np.zeros((len(ids), d))
        if self.design == "monte_carlo":
            return np.stack([rng_for(self.seed, int(i)).random(d) for i in ids])
        if self.design == "latin_hypercube":
            return latin_hypercube(self.seed, self.n_scenarios, d, ids)
        if self.design == "saltelli":
            return saltelli(self.seed, d, ids)
        return sobol(self.seed, d, ids)

    def draw(self, ids: Ids) -> F64:
        """Every recorded parameter of scenarios ``ids``, (len(ids), len(columns))."""
        u = self.uniforms(ids)
        values = np.empty((len(ids), len(self.columns)))
        col = dict(zip(self.uncertain, range(len(self.uncertain)), strict=True))
        for j, c in enumerate(self.columns):
            values[:, j] = c.dist.ppf(u[:, col[j]]) if j in col else c.dist.fixed_value()
        return values

    def shocks(self, ids: Ids, values: F64) -> ShockBatch:
        """The core's inputs for scenarios ``ids`` under every policy, scenario-major (B = ids x policies)."""
        return _Compiler(self, ids, values).batch()

    def run(self, ids: Ids) -> tuple[pa.RecordBatch | None, ...]:
        """Simulate scenarios ``ids`` under every policy: the tables of ``store.TABLES`` as Arrow record batches,
        in its order (results, drawn parameters, periods, trajectories or None, trade between countries)."""
        ids = np.asarray(ids, dtype=np.int64)
        values = self.draw(ids)
        out = simulate(
            self.baseline,
            self.shocks(ids, values),
            self.steps,
            extensions=self.extensions,
            periods=self.calendar.quarter_of_day,
            trajectories="weekly" if self.trajectories == "weekly" else None,
            links=self.links,
        )
        n_pol, r = len(self.policies), len(self.regions)
        policy_names = [p.name for p in self.policies]
        rows = len(ids) * n_pol * r
        columns: dict[str, Any] = {
            "scenario_id": np.repeat(ids, n_pol * r),
            "policy": np.tile(np.repeat(np.array(policy_names, dtype=object), r), len(ids)),
            "region": np.tile(np.array(self.regions, dtype=object), len(ids) * n_pol),
        }
        for metric in METRICS.values():
            if metric.kind == "day":  # "never" is -1 in the core, null in the table
                day = out.metrics[metric.name].reshape(rows)
                columns[metric.name] = pa.array(day.astype(np.int32), mask=day < 0, type=pa.int32())
            else:
                columns[metric.name] = out.metrics[metric.name].reshape(rows)
        results = pa.RecordBatch.from_pydict(columns, schema=RESULT_SCHEMA)
        p_cols: dict[str, Any] = {
            "scenario_id": np.repeat(ids, n_pol),
            "policy": np.tile(np.array(policy_names, dtype=object), len(ids)),
        }
        for j, name in enumerate(self.names):
            p_cols[name] = np.repeat(values[:, j], n_pol)
        params = pa.RecordBatch.from_pydict(p_cols, schema=params_schema(list(self.names)))
        trajectories = None if self.trajectories is None else self._trajectories(ids, out)
        return results, params, self._periods(ids, out), trajectories, self._trade(ids, out)

    def _trade(self, ids: Ids, out: Outcome) -> pa.RecordBatch:
        """Trade between countries by period (quarters, years, the horizon): volume and value."""
        assert out.period_trade_volume is not None
        assert out.period_trade_value is not None
        cal = self.calendar
        to_country, _, _ = self._units()

        def by_country(q: F64) -> F64:  # (B, Q, R, R) -> (B, P, C, C)
            summed: F64 = np.einsum("bpod,oc,de->bpce", cal.by_period(q), to_country, to_country)
            return summed

        volume, value = by_country(out.period_trade_volume), by_country(out.period_trade_value)
        days = cal.period_days.astype(np.int32)
        b, n_p, n_c, _ = volume.shape
        countries = np.array(self.countries, dtype=object)
        policy_names = np.array([p.name for p in self.policies], dtype=object)
        columns: dict[str, Any] = {
            "scenario_id": np.repeat(ids, len(self.policies) * n_p * n_c * n_c),
            "policy": np.tile(np.repeat(policy_names, n_p * n_c * n_c), len(ids)),
            "period": np.tile(np.repeat(np.array(cal.periods, dtype=object), n_c * n_c), b),
            "origin": np.tile(np.repeat(countries, n_c), b * n_p),
            "destination": np.tile(countries, b * n_p * n_c),
            "days": np.tile(np.repeat(days, n_c * n_c), b),
            "volume": volume.reshape(-1),
            "value": value.reshape(-1),
        }
        return pa.RecordBatch.from_pydict(columns, schema=TRADE_SCHEMA)

    def _units(self) -> tuple[F64, NDArray[np.object_], NDArray[np.object_]]:
        """Regions then countries: the (R, C) map of regions to countries, the labels, the levels."""
        to_country = np.zeros((len(self.regions), len(self.countries)))
        to_country[np.arange(len(self.regions)), self.country_of] = 1.0
        units = np.array([*self.regions, *self.countries], dtype=object)
        levels = np.array(["region"] * len(self.regions) + ["country"] * len(self.countries), dtype=object)
        return to_country, units, levels

    def _unit_keys(
        self, ids: Ids, units: NDArray[np.object_], levels: NDArray[np.object_], inner: int
    ) -> dict[str, Any]:
        """Key columns of rows ordered (scenario, policy, region or country, ``inner`` rows: periods or weeks)."""
        policy_names = np.array([p.name for p in self.policies], dtype=object)
        b = len(ids) * len(self.policies)
        return {
            "scenario_id": np.repeat(ids, len(self.policies) * len(units) * inner),
            "policy": np.tile(np.repeat(policy_names, len(units) * inner), len(ids)),
            "region": np.tile(np.repeat(units, inner), b),
            "level": np.tile(np.repeat(levels, inner), b),
        }

    def _trajectories(self, ids: Ids, out: Outcome) -> pa.RecordBatch:
        """Weekly mean daily real value added of every region and country, and its index to the baseline."""
        assert out.va_path is not None
        to_country, units, levels = self._units()
        va = np.concatenate([out.va_path, out.va_path @ to_country], axis=2)  # (B, W, U)
        va0 = np.concatenate([out.va0, out.va0 @ to_country])
        with np.errstate(divide="ignore", invalid="ignore"):
            index = np.where(va0 > 0, va / va0, np.nan)
        b, n_w, n_u = va.shape
        weeks = np.arange(n_w, dtype=np.int32)
        dates = [self.calendar.date(7 * int(w)) for w in weeks]
        columns: dict[str, Any] = {
            **self._unit_keys(ids, units, levels, n_w),
            "week": np.tile(weeks, b * n_u),
            "date": pa.array(dates * (b * n_u), type=pa.date32()),
            "va": va.transpose(0, 2, 1).reshape(-1),
            "va_index": index.transpose(0, 2, 1).reshape(-1),
        }
        return pa.RecordBatch.from_pydict(columns, schema=TRAJECTORIES_SCHEMA)

    def _periods(self, ids: Ids, out: Outcome) -> pa.RecordBatch:
        """The period table of a batch: quarters, years and the horizon, for every region and country."""
        assert out.period_metrics is not None
        cal = self.calendar
        to_country, units, levels = self._units()

        def by_period(q: F64) -> F64:  # (B, Q, R) -> (B, P, U): quarters, years, horizon; regions, countries
            p = cal.by_period(q)
            return np.concatenate([p, p @ to_country], axis=2)

        days = cal.period_days
        va0 = np.concatenate([out.va0, out.va0 @ to_country])  # (U,) daily baseline value added
        flows = {name: by_period(out.period_metrics[name]) for name in FLOWS}
        base = va0[None, :] * days[:, None]  # (P, U)
        with np.errstate(divide="ignore", invalid="ignore"):
            for name in ("va_loss", "income_loss"):
                flows[f"{name}_pct"] = np.where(base > 0, 100.0 * flows[name] / base, np.nan)
        b, n_p, n_u = flows["va_loss"].shape
        columns: dict[str, Any] = {
            **self._unit_keys(ids, units, levels, n_p),
            "period": np.tile(np.array(cal.periods, dtype=object), b * n_u),
            "days": np.tile(days.astype(np.int32), b * n_u),
        }
        for name, value in flows.items():
            columns[name] = value.transpose(0, 2, 1).reshape(-1)  # (B, U, P): unit-major within a row block
        return pa.RecordBatch.from_pydict(columns, schema=PERIODS_SCHEMA)


class _Compiler:
    """Turns the drawn values of a batch into a ``ShockBatch``: direct targets generically, the rest by name."""

    def __init__(self, plan: Plan, ids: Ids, values: F64) -> None:
        self.plan, self.values = plan, values
        self.n, self.n_pol = len(ids), len(plan.policies)
        self.index = {c.name: j for j, c in enumerate(plan.columns)}

    def scalar(self, p: Param, owner: str | None = None) -> F64:
        """A per-scenario parameter, (n,)."""
        return self.values[:, self.index[column(p, owner=owner)]]

    def per(self, p: Param, labels: tuple[str, ...], owner: str | None = None) -> F64:
        """A per-label parameter, (n, len(labels))."""
        return self.values[:, [self.index[column(p, owner=owner, label=lab)] for lab in labels]]

    def rep(self, a: Any) -> Any:
        """Scenario rows repeated for every policy (scenario-major)."""
        return np.repeat(a, self.n_pol, axis=0)

    def batch(self) -> ShockBatch:
        plan, bl = self.plan, self.plan.baseline
        b = self.n * self.n_pol
        base = ShockBatch.quiet(
            bl,
            b,
            events=1,
            projects=max(len(plan.projects), 1),
            packages=len(plan.packages),
            demand=max(len(plan.demand), 1),
        )
        sections = ("sanctions", "ario", "prices", "adaptation")
        groups: dict[str, dict[str, Any]] = {name: {} for name in sections}
        # Parameters that set a core field as drawn: one per scenario, or one per sector. Without [adaptation]
        # its fields keep their quiet values (no diversion, no expansion) and it has no columns.
        for section in sections if plan.adaptation is not None else sections[:-1]:
            for p in declared(section):
                if p.target is None:
                    continue
                group, name = p.target.split(".")
                current = getattr(getattr(base, group), name)
                value = self.per(p, plan.sectors) if p.over == "sector" else self.scalar(p)
                if value.ndim == 1 and current.ndim == 2:  # one value for every sector
                    value = np.repeat(value[:, None], current.shape[1], axis=1)
                if current.dtype.kind == "i":  # a day: drawn as a number, rounded as every day is
                    value = np.rint(value).astype(np.int64)
                groups[group][name] = self.rep(value)
        sanctions = replace(base.sanctions, **groups["sanctions"], **self._packages())
        ario = replace(base.ario, **groups["ario"])
        prices = replace(base.prices, **groups["prices"])
        adaptation = replace(base.adaptation, **groups["adaptation"])
        if plan.adaptation is not None:  # the friendly buyers of diverted exports, the same for every row
            buyers = np.isin(plan.regions, plan.adaptation.buyers)
            adaptation = replace(adaptation, buyers=np.repeat(buyers[None, :], b, axis=0))
        return replace(
            base,
            target=plan.target,
            sanctions=sanctions,
            ario=ario,
            prices=prices,
            adaptation=adaptation,
            demand=self._demand(base),
            **self._policies(base),
        )

    def _demand(self, base: ShockBatch) -> Demand:
        """The final-demand shocks: each one's drawn change on its regions' demand for its sectors' products."""
        plan = self.plan
        if not plan.demand:
            return base.demand
        p = {q.key: q for q in declared("demand")}
        n_j, r, s = len(plan.demand), len(plan.regions), len(plan.sectors)
        change = np.zeros((self.n, n_j, r, s))
        onset = np.zeros((self.n, n_j), dtype=np.int64)
        end = np.full((self.n, n_j), NEVER, dtype=np.int64)
        ramp = np.zeros((self.n, n_j), dtype=np.int64)
        for j, shock in enumerate(plan.demand):
            mask = np.zeros((r, s))
            rows = [plan.regions.index(x) for x in shock.regions]
            mask[np.ix_(rows, [plan.sectors.index(k) for k in shock.sectors])] = 1.0
            change[:, j] = self.scalar(p["change"], shock.name)[:, None, None] * mask
            onset[:, j] = np.rint(self.scalar(p["onset"], shock.name)).astype(np.int64)
            dur = self.scalar(p["duration"], shock.name)
            end[:, j] = np.where(dur < 0, NEVER, onset[:, j] + np.rint(np.maximum(dur, 0.0)).astype(np.int64))
            ramp[:, j] = int(shock.values.number("ramp_days"))
        return Demand(change=self.rep(change), onset=self.rep(onset), end=self.rep(end), ramp=self.rep(ramp))

    def _packages(self) -> dict[str, Any]:
        """Per package (axis K): the window from onset and duration, the embargo on the links of its targets from
        its coalition draw and its bans, its leakage and the divertible share of the exports it blocks."""
        plan = self.plan
        p = {q.key: q for q in declared("package")}
        run_leakage = _param("sanctions", "leakage")
        onsets, ends, embargoes, leakages, divertible = [], [], [], [], []
        for k, name in enumerate(plan.packages):
            coalition = np.zeros((self.n, len(plan.regions)), dtype=bool)
            for c in plan.columns:
                if c.param == p["coalition"] and c.owner == name and c.label is not None:
                    coalition[:, plan.regions.index(c.label)] = self.values[:, self.index[c.name]] > 0.5
            onset = np.rint(self.scalar(p["onset"], name)).astype(np.int64)
            dur = self.scalar(p["duration"], name)
            onsets.append(onset)
            ends.append(np.where(dur < 0, NEVER, onset + np.rint(np.maximum(dur, 0.0)).astype(np.int64)))
            bans = (self.per(p["import_ban"], plan.sectors, name), self.per(p["export_ban"], plan.sectors, name))
            embargoes.append(embargo_links(plan.target & plan.package_target[k], coalition, *bans))
            own = column(p["leakage"], owner=name, label=plan.sectors[0]) in self.index
            leakages.append(self.per(p["leakage"], plan.sectors, name) if own else self.per(run_leakage, plan.sectors))
            divertible.append(self.scalar(p["divertible"], name))
        return {
            "onset": self.rep(np.stack(onsets, axis=1)),
            "end": self.rep(np.stack(ends, axis=1)),
            "embargo": self.rep(np.stack(embargoes, axis=1)),
            "leakage": self.rep(np.stack(leakages, axis=1)),
            "divertible": self.rep(np.stack(divertible, axis=1)),
        }

    def _policies(self, base: ShockBatch) -> dict[str, Any]:
        """The policy levers, row by row: cooperation, counter-trade channels, projects."""
        plan, bl = self.plan, self.plan.baseline
        ct, coop, proj = base.counter_trade, base.cooperation, base.projects
        friendly, weight, speedup = ct.friendly.copy(), coop.weight.copy(), coop.speedup.copy()
        direct = [q for q in declared("counter_trade") if q.target is not None]
        drawn = {q.key: getattr(ct, _field(q)).copy() for q in direct}
        lag, tau = ct.lag.copy(), ct.tau.copy()
        fields = ("industry", "capacity", "online", "ramp", "success", "capex", "signed", "capex_mix")
        pj = {name: getattr(proj, name).copy() for name in fields}
        p = {q.key: q for q in declared("project")}
        # Projects count their lead time from the day they are signed; by default the first package's onset
        # (the sanctions' start).
        starts = [self.scalar(_param("package", "onset"), name) for name in plan.packages]
        onset = np.rint(np.min(np.stack(starts, axis=1), axis=1)).astype(np.int64)
        for k, pol in enumerate(plan.policies):
            rows = np.arange(self.n) * self.n_pol + k
            weight[rows] = pol.cooperation.number("weight")
            speedup[rows] = pol.cooperation.number("speedup")
            if pol.counter_trade is not None:
                c = pol.counter_trade
                cols = np.array([plan.regions.index(reg) for reg in c.friendly], dtype=np.int64)
                friendly[np.ix_(rows, cols)] = True
                for q in direct:
                    drawn[q.key][rows] = self.scalar(q, pol.name)
                lag[rows], tau[rows] = int(c.values.number("lag_days")), c.values.number("ramp_days")
            for j, project in enumerate(plan.projects):
                f = plan.project_industry[j]
                pj["industry"][rows, j] = f
                if project.name not in pol.projects:
                    continue
                v = project.values
                capacity = v.number("capacity")
                daily = capacity / 365.0 if capacity > 0 else v.number("capacity_share") * bl.x0[f]
                lead = np.rint(self.scalar(p["lead_time_years"], project.name) * 365.0).astype(np.int64)
                signed = onset if project.signed is None else np.full(self.n, round(project.signed), dtype=np.int64)
                pj["capacity"][rows, j] = daily
                pj["signed"][rows, j] = signed
                pj["online"][rows, j] = signed + lead
                pj["ramp"][rows, j] = int(v.number("ramp_days"))
                pj["success"][rows, j] = self.scalar(p["success"], project.name) > 0.5
                pj["capex"][rows, j] = v.number("capex")
                for sector, share in project.capex_sectors.items():
                    pj["capex_mix"][rows, j, plan.sectors.index(sector)] = share
        targets = {_field(q): drawn[q.key] for q in direct}
        return {
            "cooperation": replace(coop, weight=weight, speedup=speedup),
            "counter_trade": replace(ct, friendly=friendly, lag=lag, tau=tau, **targets),
            "projects": replace(proj, **pj),
        }


def _param(section: str, key: str) -> Param:
    return next(p for p in declared(section) if p.key == key)


def _field(p: Param) -> str:
    """The field of its ``ShockBatch`` group that a directly targeted parameter sets."""
    assert p.target is not None, p.key
    return p.target.split(".", 1)[1]
